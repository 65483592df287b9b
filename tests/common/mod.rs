//! Shared helpers for end-to-end tests: run the built `scry` binary with a timeout and
//! locate the workload program (built by cargo as an example).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
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

/// Runs scry with `args`, killing it after `timeout`. Output is drained while it runs
/// (a full pipe would otherwise stall a chatty run).
pub fn run_with_timeout(args: &[&str], timeout: Duration) -> Run {
    let mut command = Command::new(scry());
    command.args(args);
    run_command(&mut command, timeout).unwrap_or_else(|e| panic!("scry {args:?}: {e}"))
}

/// Runs `command` with stdin closed, draining stdout and stderr while it runs; an error
/// when it cannot start or outlives `timeout` (then it is killed; the error holds its
/// output).
pub fn run_command(command: &mut Command, timeout: Duration) -> Result<Run, String> {
    use std::io::Read;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {:?}: {e}", command.get_program()))?;
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "timed out after {timeout:?}\nstdout:\n{}\nstderr:\n{}",
                out.join().unwrap_or_default(),
                err.join().unwrap_or_default()
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok(Run {
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        code: status.code(),
    })
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

/// The non-empty lines of the output after the `Attaching` line.
pub fn lines(stdout: &str) -> Vec<String> {
    body(stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// `tracepoint:syscalls:sys_enter_NAME` for eight syscalls: enough for the
/// `raw_syscalls` plan.
pub fn eight_syscall_tracepoints() -> Vec<String> {
    [
        "read", "write", "openat", "close", "getpid", "getppid", "dup", "pipe",
    ]
    .iter()
    .map(|n| format!("tracepoint:syscalls:sys_enter_{n}"))
    .collect()
}
