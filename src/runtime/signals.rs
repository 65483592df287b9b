//! The signals that stop scry, and an stdout that never keeps scry from stopping.
//!
//! SIGINT, SIGTERM, SIGHUP and SIGQUIT are blocked from the start of a run and read
//! through one signalfd, so none kills scry half-way (during attach, or while maps
//! print) and every one ends the run the same way: END, the last events, the maps,
//! detach. Standard output is written only when poll says it takes data; once a stop
//! signal is pending, scry waits at most [`GRACE`] for a reader that does not read
//! (`scry … | sleep 20`), then gives up on the output and ends.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long output may keep a stopping scry waiting.
pub const GRACE: Duration = Duration::from_secs(1);

/// The signalfd of the stop signals, which are blocked from the first call on.
pub fn stop_fd() -> io::Result<RawFd> {
    static FD: OnceLock<Result<OwnedFd, String>> = OnceLock::new();
    let fd = FD.get_or_init(|| {
        // SAFETY: plain libc signal-set manipulation on a local, then signalfd creation.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
                libc::sigaddset(&mut set, sig);
            }
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
            if fd < 0 {
                return Err(io::Error::last_os_error().to_string());
            }
            Ok(OwnedFd::from_raw_fd(fd))
        }
    });
    match fd {
        Ok(fd) => Ok(fd.as_raw_fd()),
        Err(e) => Err(io::Error::other(format!("signalfd: {e}"))),
    }
}

/// True when a stop signal is pending (it stays pending for the event loop).
pub fn stop_requested() -> bool {
    let Ok(fd) = stop_fd() else {
        return false;
    };
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd; no wait.
    unsafe { libc::poll(&mut p, 1, 0) > 0 && p.revents & libc::POLLIN != 0 }
}

/// Standard output, written only when it takes data (see the module doc).
pub struct Stdout {
    /// When a stop signal was first seen while output waited.
    stopping: Option<Instant>,
    /// A pipe or socket, which a reader may leave full; files and terminals are
    /// written as they are.
    pipe: bool,
}

impl Stdout {
    /// Standard output, the stop signals blocked.
    pub fn new() -> io::Result<Stdout> {
        stop_fd()?;
        // SAFETY: fstat of fd 1 into a zeroed stat.
        let pipe = unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            libc::fstat(1, &mut st) == 0
                && matches!(st.st_mode & libc::S_IFMT, libc::S_IFIFO | libc::S_IFSOCK)
        };
        Ok(Stdout {
            stopping: None,
            pipe,
        })
    }
}

impl io::Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.pipe {
            // SAFETY: writing a valid buffer to stdout.
            let w = unsafe { libc::write(1, buf.as_ptr().cast(), buf.len()) };
            return if w < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(w as usize)
            };
        }
        let sig = stop_fd()?;
        loop {
            let timeout = match self.stopping {
                None => -1,
                Some(t) => {
                    let left = GRACE.saturating_sub(t.elapsed());
                    if left.is_zero() {
                        return Err(io::Error::new(
                            io::ErrorKind::BrokenPipe,
                            "the output is not read",
                        ));
                    }
                    left.as_millis() as i32 + 1
                }
            };
            let mut fds = [
                libc::pollfd {
                    fd: 1,
                    events: libc::POLLOUT,
                    revents: 0,
                },
                libc::pollfd {
                    fd: sig,
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: a valid array of two pollfds.
            let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if fds[0].revents != 0 {
                // A pipe that polls writable takes PIPE_BUF bytes without blocking.
                let n = buf.len().min(libc::PIPE_BUF);
                // SAFETY: writing n bytes of a valid buffer to stdout.
                let w = unsafe { libc::write(1, buf.as_ptr().cast(), n) };
                if w >= 0 {
                    return Ok(w as usize);
                }
                let e = io::Error::last_os_error();
                if !matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                ) {
                    return Err(e);
                }
            }
            if fds[1].revents != 0 && self.stopping.is_none() {
                self.stopping = Some(Instant::now());
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
