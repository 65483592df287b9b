//! BTF trampolines (`fentry`/`fexit`): libbpf found the attach BTF id from the section
//! name when it loaded the program; attaching makes the link.

use libbpf_rs::{Link, ProgramMut};

/// Attaches the fentry/fexit program `prog` to the function it was loaded for.
pub fn attach(prog: &ProgramMut<'_>, func: &str) -> Result<Link, String> {
    prog.attach_trace()
        .map_err(|e| format!("fentry/fexit on {func}: {}", super::reason(&e)))
}
