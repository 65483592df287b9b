//! The real machine's facts: tracepoints read from tracefs (located via /proc/mounts;
//! debugfs is not required), binaries read from disk. Nothing is read until asked.

use std::path::PathBuf;

use super::tracepoint::parse_format;
use super::{Binary, Host, TracepointFormat};

/// tracefs at its mount point, found on first use (programs without tracepoints never
/// read /proc/mounts).
#[derive(Default)]
pub struct System {
    root: std::cell::OnceCell<PathBuf>,
}

impl System {
    /// A catalog that finds tracefs when first asked.
    pub fn new() -> System {
        System::default()
    }

    /// The tracefs mount (mounted at /sys/kernel/tracing when absent).
    fn root(&self) -> &PathBuf {
        self.root.get_or_init(|| {
            let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
            mounts
                .lines()
                .filter_map(|l| {
                    let mut f = l.split_whitespace();
                    let (_dev, dir, fs) = (f.next()?, f.next()?, f.next()?);
                    match fs {
                        "tracefs" => Some(PathBuf::from(dir)),
                        "debugfs" => Some(PathBuf::from(dir).join("tracing")),
                        _ => None,
                    }
                })
                .find(|p| p.join("events").is_dir())
                .unwrap_or_else(ensure_mounted)
        })
    }
}

/// Mounts tracefs at /sys/kernel/tracing when nothing provides it (fresh VMs often
/// boot without it); failure is left for the first tracepoint lookup to report.
pub fn ensure_mounted() -> PathBuf {
    let dir = PathBuf::from("/sys/kernel/tracing");
    if !dir.join("events").is_dir() {
        // SAFETY: mount(2) with valid NUL-terminated strings and no data.
        unsafe {
            libc::mount(
                c"nodev".as_ptr(),
                c"/sys/kernel/tracing".as_ptr(),
                c"tracefs".as_ptr(),
                0,
                std::ptr::null(),
            );
        }
    }
    dir
}

impl Host for System {
    fn tracepoint_format(&self, category: &str, name: &str) -> Option<TracepointFormat> {
        if category.contains(['/', '.']) || name.contains(['/', '.']) {
            return None;
        }
        let text = std::fs::read_to_string(
            self.root()
                .join("events")
                .join(category)
                .join(name)
                .join("format"),
        )
        .ok()?;
        parse_format(&text)
    }

    fn tracepoints(&self) -> Vec<(String, String)> {
        let text =
            std::fs::read_to_string(self.root().join("available_events")).unwrap_or_default();
        let mut all: Vec<(String, String)> = text
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(c, n)| (c.to_string(), n.to_string()))
            .collect();
        all.sort();
        all.dedup();
        all
    }

    fn binary(&self, path: &str) -> Result<Binary, String> {
        super::elf::read(path)
    }
}
