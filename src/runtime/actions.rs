//! The runtime actions events ask for besides printing: `cat()` reads a file, `system()`
//! runs a command. Both run in the event loop, so their output lands in order with the
//! program's printf output; both report failure rather than skip silently.

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};

/// Most bytes `cat()` prints of one file (bpftrace's `max_cat_bytes` default).
pub const MAX_CAT_BYTES: u64 = 10240;

/// The first [`MAX_CAT_BYTES`] bytes of the file at `path`, or why it cannot be read
/// (bpftrace's wording: `failed to open file '/x': No such file or directory`).
///
/// Only regular files are read (procfs and sysfs files are regular too): a FIFO, a
/// socket or a device such as `/dev/zero` is refused. The file is opened non-blocking,
/// so opening a FIFO with no writer cannot hang the event loop.
pub fn cat(path: &[u8]) -> Result<Vec<u8>, String> {
    let shown = String::from_utf8_lossy(path);
    let fail = |why: String| format!("failed to open file '{shown}': {why}");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(OsStr::from_bytes(path))
        .map_err(|e| fail(os_error(&e)))?;
    let kind = file.metadata().map_err(|e| fail(os_error(&e)))?.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "a device"
        };
        return Err(fail(format!("{what}, not a regular file")));
    }
    let mut bytes = Vec::new();
    file.take(MAX_CAT_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("failed to read file '{shown}': {}", os_error(&e)))?;
    Ok(bytes)
}

/// What a `system()` command printed on its standard output (its standard error goes to
/// scry's), once it has finished; the error says how it failed, with what it printed.
pub fn system(command: &[u8]) -> Result<Vec<u8>, (Vec<u8>, String)> {
    let shown = String::from_utf8_lossy(command);
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(OsStr::from_bytes(command))
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| {
            (
                Vec::new(),
                format!("cannot run `{shown}`: {}", os_error(&e)),
            )
        })?;
    use std::os::unix::process::ExitStatusExt;
    match (out.status.code(), out.status.signal()) {
        (Some(0), _) => Ok(out.stdout),
        (Some(code), _) => Err((
            out.stdout,
            format!("command `{shown}` exited with code {code}"),
        )),
        (None, sig) => Err((
            out.stdout,
            format!(
                "command `{shown}` was killed by signal {}",
                sig.unwrap_or(0)
            ),
        )),
    }
}

/// An I/O error as strerror(3) says it (`No such file or directory`).
fn os_error(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        // SAFETY: strerror returns a NUL-terminated static (or thread-local) string.
        Some(n) => unsafe { std::ffi::CStr::from_ptr(libc::strerror(n)) }
            .to_string_lossy()
            .into_owned(),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cat_reads_regular_files_only() {
        let dir = std::env::temp_dir().join(format!("scry-cat-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("f.txt");
        std::fs::write(&f, b"one\ntwo\n").unwrap();
        assert_eq!(
            super::cat(f.as_os_str().as_encoded_bytes()).unwrap(),
            b"one\ntwo\n"
        );
        let big = dir.join("big");
        std::fs::write(&big, vec![b'x'; 20000]).unwrap();
        assert_eq!(
            super::cat(big.as_os_str().as_encoded_bytes())
                .unwrap()
                .len() as u64,
            super::MAX_CAT_BYTES
        );
        assert_eq!(
            super::cat(b"/nonexistent/x").unwrap_err(),
            "failed to open file '/nonexistent/x': No such file or directory"
        );
        assert!(super::cat(b"/dev/zero").unwrap_err().contains("a device"));
        assert!(
            super::cat(dir.as_os_str().as_encoded_bytes())
                .unwrap_err()
                .contains("a directory")
        );
        let fifo = dir.join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(
            super::cat(fifo.as_os_str().as_encoded_bytes())
                .unwrap_err()
                .contains("a FIFO")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn system_waits_and_reports_failure() {
        assert_eq!(
            super::system(b"echo hi; echo there").unwrap(),
            b"hi\nthere\n"
        );
        let (out, why) = super::system(b"echo partial; exit 3").unwrap_err();
        assert_eq!(out, b"partial\n");
        assert_eq!(why, "command `echo partial; exit 3` exited with code 3");
    }
}
