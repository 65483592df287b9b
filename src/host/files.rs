//! Reading the files a user names (a program file, a binary to probe) safely: only
//! regular files, opened without blocking (a FIFO never hangs scry), up to a size
//! limit (`/dev/zero` is no endless read).

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;

/// The whole of the regular file `path`, at most `limit` bytes.
pub fn read_regular(path: &std::path::Path, limit: u64) -> Result<Vec<u8>, String> {
    let mut f = open_regular(path)?;
    let size = f.metadata().map_err(|e| e.to_string())?.len();
    if size > limit {
        return Err(format!(
            "it is {size} bytes, more than the {limit} bytes scry reads"
        ));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    // A file that grows while being read is still cut at the limit.
    f.by_ref()
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// `path` opened for reading when it is a regular file (checked on the open file).
pub fn open_regular(path: &std::path::Path) -> Result<std::fs::File, String> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| e.to_string())?;
    let kind = f.metadata().map_err(|e| e.to_string())?.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo_like() {
            "a FIFO or socket"
        } else {
            "a device or special file"
        };
        return Err(format!("it is {what}, not a regular file"));
    }
    Ok(f)
}

trait FifoLike {
    fn is_fifo_like(&self) -> bool;
}

impl FifoLike for std::fs::FileType {
    fn is_fifo_like(&self) -> bool {
        use std::os::unix::fs::FileTypeExt;
        self.is_fifo() || self.is_socket()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_limit() {
        let dir = std::env::temp_dir().join(format!("scry-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f");
        std::fs::write(&file, b"hello").unwrap();
        assert_eq!(read_regular(&file, 100).unwrap(), b"hello");
        assert!(read_regular(&file, 3).unwrap_err().contains("more than"));
        assert!(read_regular(&dir, 100).unwrap_err().contains("directory"));
        assert!(
            read_regular(std::path::Path::new("/dev/zero"), 100)
                .unwrap_err()
                .contains("device")
        );
        let fifo = dir.join("p");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Returns at once instead of waiting for a writer.
        assert!(read_regular(&fifo, 100).unwrap_err().contains("FIFO"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
