//! The `-c` command: forked at once but held (stopped) before `exec` until the probes
//! are attached, so tracing sees it from its first instruction and none of the hold;
//! its pid is known before compilation (`cpid`). It dies with scry (a parent-death
//! signal) and starts with default signal dispositions. Also watches processes for exit
//! through pidfds.

use std::ffi::CString;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// A forked command waiting to exec.
pub struct Child {
    pid: u32,
    /// Stopped before `exec`, waiting for [`Child::release`].
    held: bool,
    reaped: bool,
}

/// Splits a command line shell-style: whitespace separates words; single and double
/// quotes group; backslash escapes the next character outside single quotes.
pub fn split_command(cmd: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = cmd.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => cur.push(chars.next().ok_or("dangling backslash")?),
                        Some(ch) => cur.push(ch),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.push(chars.next().ok_or("dangling backslash")?);
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    if words.is_empty() {
        return Err("the command is empty".into());
    }
    Ok(words)
}

/// Resolves `prog` like execvp would, so a missing command fails before anything attaches.
fn resolve(prog: &str) -> Result<CString, String> {
    let executable = |p: &std::path::Path| {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    let path = if prog.contains('/') {
        let p = std::path::PathBuf::from(prog);
        if !executable(&p) {
            return Err(format!("`{prog}` does not exist or is not executable"));
        }
        p
    } else {
        let search =
            std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
        search
            .split(':')
            .map(|d| std::path::Path::new(d).join(prog))
            .find(|p| executable(p))
            .ok_or_else(|| format!("`{prog}` was not found in PATH"))?
    };
    CString::new(path.into_os_string().into_encoded_bytes())
        .map_err(|_| "the command contains a NUL byte".into())
}

impl Child {
    /// Forks `cmd`, held before exec.
    pub fn spawn(cmd: &str) -> Result<Child, String> {
        let words = split_command(cmd)?;
        let path = resolve(&words[0])?;
        let argv: Vec<CString> = words
            .iter()
            .map(|w| CString::new(w.as_bytes()))
            .collect::<Result<_, _>>()
            .map_err(|_| "NUL byte")?;
        let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        argv_ptrs.push(std::ptr::null());
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: fork in a process that has not started other threads yet; the child
        // only calls async-signal-safe functions before exec.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!("fork: {}", io::Error::last_os_error()));
        }
        if pid == 0 {
            // SAFETY: async-signal-safe calls on pointers prepared before fork.
            unsafe {
                // Killed with scry, however scry ends (SIGKILL included).
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                if libc::getppid() != parent {
                    libc::_exit(127);
                }
                // The command starts with default dispositions and no signal blocked.
                for sig in 1..=64 {
                    if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                        libc::signal(sig, libc::SIG_DFL);
                    }
                }
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
                // Held stopped until the probes are attached: the stop comes after the
                // `kill` system call returns, so no system call of the hold is traced
                // (a pipe read would be: the command's first `read`). Stopped as the
                // tracee of scry where ptrace allows it, so that scry resumes it with
                // PTRACE_DETACH rather than with a SIGCONT, a signal the trace would see.
                libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
                libc::kill(libc::getpid(), libc::SIGSTOP);
                libc::execv(path.as_ptr(), argv_ptrs.as_ptr());
                libc::_exit(127);
            }
        }
        // Wait until it is stopped.
        let mut status = 0;
        // SAFETY: waitpid on our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WUNTRACED) };
        if r != pid || !libc::WIFSTOPPED(status) {
            return Err(format!(
                "the command did not start: {}",
                io::Error::last_os_error()
            ));
        }
        Ok(Child {
            pid: pid as u32,
            held: true,
            reaped: false,
        })
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Lets the child exec.
    pub fn release(&mut self) {
        if std::mem::take(&mut self.held) {
            // SAFETY: resuming our own stopped child (its SIGSTOP discarded), or, when it
            // could not become our tracee, signalling it.
            unsafe {
                if libc::ptrace(libc::PTRACE_DETACH, self.pid as i32, 0, 0) != 0 {
                    libc::kill(self.pid as i32, libc::SIGCONT);
                }
            }
        }
    }

    /// Reaps the child if it exited; returns its wait status.
    pub fn try_reap(&mut self) -> Option<i32> {
        if self.reaped {
            return Some(0);
        }
        let mut status = 0;
        // SAFETY: waitpid on our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(self.pid as i32, &mut status, libc::WNOHANG) };
        if r == self.pid as i32 {
            self.reaped = true;
            return Some(status);
        }
        None
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        // Never started (compile error, failed attach) or still running at exit: a held
        // child is killed; a running one is left to run, as bpftrace does, but reaped if done.
        if self.held {
            // SAFETY: signalling and reaping our own child.
            unsafe {
                libc::kill(self.pid as i32, libc::SIGKILL);
                libc::waitpid(self.pid as i32, std::ptr::null_mut(), 0);
            }
        } else {
            let _ = self.try_reap();
        }
    }
}

/// A pidfd for `pid` (readable once it exits).
pub fn pidfd(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a new fd we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

#[cfg(test)]
mod tests {
    use super::split_command;

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(split_command("ls -l  /tmp").unwrap(), ["ls", "-l", "/tmp"]);
        assert_eq!(
            split_command(r#"sh -c 'echo "hi there"'"#).unwrap(),
            ["sh", "-c", "echo \"hi there\""]
        );
        assert_eq!(split_command(r#"a\ b "c d""#).unwrap(), ["a b", "c d"]);
        assert!(split_command("'open").is_err());
        assert!(split_command("   ").is_err());
    }
}
