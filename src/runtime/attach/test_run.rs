//! Programs run once through `BPF_PROG_TEST_RUN` (BEGIN and END): raw-tracepoint
//! programs given an empty context.

use libbpf_rs::{ProgramInput, ProgramMut};

/// Runs `prog` once; returns what it returned.
pub fn run_once(prog: &ProgramMut<'_>) -> Result<u32, String> {
    let mut ctx = [0u8; 8];
    let input = ProgramInput {
        context_in: Some(&mut ctx),
        ..Default::default()
    };
    prog.test_run(input)
        .map(|o| o.return_value)
        .map_err(|e| format!("BPF_PROG_TEST_RUN: {}", super::reason(&e)))
}
