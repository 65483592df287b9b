//! Shared helpers for end-to-end tests: run the built `scry` binary with a timeout and
//! locate the workload program (built by cargo as an example).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Path of the `scry` binary under test.
pub fn scry() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_scry"))
}

/// Path of the workload example (target/<profile>/examples/workload). `cargo test` builds
/// examples only under hashed names, so tools/test.sh builds it first.
pub fn workload() -> String {
    let bin = scry();
    let dir = bin.parent().expect("binary has a directory");
    let w = dir.join("examples").join("workload");
    assert!(
        w.exists(),
        "workload example not built at {}; run `cargo build --example workload` (tools/test.sh does)",
        w.display()
    );
    w.display().to_string()
}

/// Result of one run.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: Option<i32>,
}

/// Runs scry with `args`, killing it after `timeout`.
pub fn run_with_timeout(args: &[&str], timeout: Duration) -> Run {
    let mut child = Command::new(scry())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scry");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "scry {args:?} timed out after {timeout:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out: Output = child.wait_with_output().expect("output");
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code(),
    }
}

/// Runs scry with a 30 s timeout.
pub fn run(args: &[&str]) -> Run {
    run_with_timeout(args, Duration::from_secs(30))
}

/// The output with the `Attaching N probes...` line removed.
pub fn body(stdout: &str) -> String {
    stdout
        .lines()
        .filter(|l| !l.starts_with("Attaching "))
        .map(|l| format!("{l}\n"))
        .collect()
}
