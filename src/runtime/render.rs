//! The machine's side of rendering values in userspace ([`crate::lang::render::Facts`]):
//! errno strings from the C library, user names from /etc/passwd, cgroup paths found by
//! walking the mounted cgroup hierarchies (a cgroup's id is its directory's inode
//! number), and wall-clock time from a boot-clock timestamp. Lookups are cached; a
//! cached cgroup path is checked again before it is used, as ids can be reused.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::lang::render::{Facts, Process, wildcard_match};

/// The running machine's facts, for one run.
pub struct Machine {
    /// Wall-clock time at boot (`CLOCK_REALTIME` − `CLOCK_BOOTTIME`), in nanoseconds.
    boot_realtime: i128,
    /// uid → name, read from /etc/passwd on first need.
    users: RefCell<Option<BTreeMap<u64, String>>>,
    /// (id, hierarchy root) → path found there.
    cgroups: RefCell<BTreeMap<(u64, PathBuf), String>>,
    /// Stack frames' symbols.
    pub symbols: super::symbols::Symbols,
}

impl Default for Machine {
    fn default() -> Self {
        Machine::new()
    }
}

impl Machine {
    /// Measures the boot time now; nothing else is read until asked.
    pub fn new() -> Machine {
        Machine {
            boot_realtime: boot_realtime(),
            users: RefCell::new(None),
            cgroups: RefCell::new(BTreeMap::new()),
            symbols: super::symbols::Symbols::new(),
        }
    }

    /// The path of cgroup `id` below `root` ("/" for the root itself; empty when absent).
    fn cgroup_path_in(&self, id: u64, root: &Path) -> String {
        let key = (id, root.to_path_buf());
        if let Some(p) = self.cgroups.borrow().get(&key) {
            let full = root.join(p.trim_start_matches('/'));
            if std::fs::metadata(&full).is_ok_and(|m| m.ino() == id) {
                return p.clone();
            }
        }
        let found = if std::fs::metadata(root).is_ok_and(|m| m.ino() == id) {
            Some("/".to_string())
        } else {
            find_inode(root, id).and_then(|p| {
                let rel = p.strip_prefix(root).ok()?;
                Some(format!("/{}", rel.display()))
            })
        };
        match found {
            Some(p) => {
                self.cgroups.borrow_mut().insert(key, p.clone());
                p
            }
            None => String::new(),
        }
    }
}

impl Facts for Machine {
    fn strerror(&self, errno: i64) -> String {
        let e = i32::try_from(errno).unwrap_or(i32::MAX);
        // SAFETY: strerror returns a pointer to a NUL-terminated string that stays
        // valid until the next call; it is copied out at once (one thread renders).
        unsafe { std::ffi::CStr::from_ptr(libc::strerror(e)) }
            .to_string_lossy()
            .into_owned()
    }

    fn username(&self, uid: u64) -> String {
        let mut users = self.users.borrow_mut();
        let table = users.get_or_insert_with(|| {
            let text = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
            passwd(&text)
        });
        table.get(&uid).cloned().unwrap_or_default()
    }

    fn cgroup_paths(&self, id: u64, filter: &str) -> Vec<(String, String)> {
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        let (mut v1, v2) = hierarchies(&mounts);
        v1.sort();
        let wanted = |name: &str| filter.is_empty() || wildcard_match(filter, name);
        // cgroup2 first, then the v1 hierarchies by name, as bpftrace lists them.
        v2.into_iter()
            .map(|root| ("unified".to_string(), root))
            .chain(v1)
            .filter(|(name, root)| wanted(name) && root.is_dir())
            .map(|(name, root)| {
                let path = self.cgroup_path_in(id, &root);
                (name, path)
            })
            .collect()
    }

    fn strftime(&self, format: &str, ns: u64) -> Vec<u8> {
        let t = self.boot_realtime + ns as i128;
        let (secs, nsec) = (t.div_euclid(1_000_000_000), t.rem_euclid(1_000_000_000));
        strftime(format, secs as i64, nsec as i64)
    }

    fn stack_frames(&self, depth: u32, id: u64) -> Vec<u64> {
        self.symbols.stack_frames(depth, id)
    }

    fn kernel_frames(&self, addrs: &[u64]) -> Vec<crate::lang::render::Frame> {
        self.symbols.kernel_frames(addrs)
    }

    fn user_frames(&self, p: Process, addrs: &[u64]) -> Vec<crate::lang::render::Frame> {
        self.symbols.user_frames(p, addrs)
    }

    fn remember_process(&self, p: Process) {
        self.symbols.record(p)
    }
}

/// uid → name of the lines of an /etc/passwd (`name:x:uid:...`); the first line of a
/// uid wins.
fn passwd(text: &str) -> BTreeMap<u64, String> {
    let mut users = BTreeMap::new();
    for line in text.lines() {
        let mut f = line.split(':');
        if let (Some(name), Some(_), Some(uid)) = (f.next(), f.next(), f.next())
            && let Ok(uid) = uid.parse::<u64>()
        {
            users.entry(uid).or_insert_with(|| name.to_string());
        }
    }
    users
}

/// The cgroup v1 hierarchies (named by their mount directory's last component) and
/// the cgroup2 mounts of a /proc/mounts.
fn hierarchies(mounts: &str) -> (Vec<(String, PathBuf)>, Vec<PathBuf>) {
    let (mut v1, mut v2) = (Vec::new(), Vec::new());
    for line in mounts.lines() {
        let mut f = line.split_whitespace();
        let (Some(_), Some(dir), Some(fs)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let dir = PathBuf::from(dir);
        match fs {
            "cgroup" => {
                let name = dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                v1.push((name, dir));
            }
            "cgroup2" => v2.push(dir),
            _ => {}
        }
    }
    (v1, v2)
}

/// The directory below `root` whose inode number is `ino`, depth first in name order.
fn find_inode(root: &Path, ino: u64) -> Option<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(root)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    entries.sort();
    for dir in entries {
        if std::fs::metadata(&dir).is_ok_and(|m| m.ino() == ino) {
            return Some(dir);
        }
        if let Some(found) = find_inode(&dir, ino) {
            return Some(found);
        }
    }
    None
}

fn clock(id: libc::clockid_t) -> libc::timespec {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to fill.
    unsafe { libc::clock_gettime(id, &mut ts) };
    ts
}

fn nanos(ts: &libc::timespec) -> i128 {
    ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
}

/// `CLOCK_REALTIME` − `CLOCK_BOOTTIME` in nanoseconds: the boot clock read between two
/// reads of the real-time clock, the closest of five tries (bpftrace's "triple vdso
/// sandwich").
fn boot_realtime() -> i128 {
    let mut best: Option<(i128, i128)> = None;
    for _ in 0..5 {
        let before = nanos(&clock(libc::CLOCK_REALTIME));
        let boot = nanos(&clock(libc::CLOCK_BOOTTIME));
        let after = nanos(&clock(libc::CLOCK_REALTIME));
        let spread = after - before;
        if spread >= 0 && best.is_none_or(|(s, _)| spread < s) {
            best = Some((spread, (before + after) / 2 - boot));
        }
    }
    best.map_or(0, |(_, d)| d)
}

/// The real-time clock `secs`.`nsec` as local time in `strftime(3)`'s `format`, with
/// bpftrace's `%f` (microseconds, six digits) filled in first.
pub fn strftime(format: &str, secs: i64, nsec: i64) -> Vec<u8> {
    let mut fmt = String::with_capacity(format.len());
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('%', Some('f')) => {
                chars.next();
                fmt.push_str(&format!("{:06}", nsec / 1000));
            }
            ('%', Some('%')) => {
                chars.next();
                fmt.push_str("%%");
            }
            (c, _) => fmt.push(c),
        }
    }
    let Ok(cfmt) = std::ffi::CString::new(fmt) else {
        return Vec::new();
    };
    let time: libc::time_t = secs;
    // SAFETY: `tm` is plain data, filled by localtime_r from a valid time_t.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe { libc::localtime_r(&time, &mut tm) };
    let mut buf = vec![0u8; 256 + format.len() * 8];
    // SAFETY: buf has buf.len() bytes; cfmt is NUL-terminated; tm was filled above.
    let n = unsafe {
        libc::strftime(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            cfmt.as_ptr(),
            &tm,
        )
    };
    buf.truncate(n);
    buf
}

/// The real-time clock now, as `(seconds, nanoseconds)`.
pub fn now() -> (i64, i64) {
    let ts = clock(libc::CLOCK_REALTIME);
    (ts.tv_sec, ts.tv_nsec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lines_name_their_uids() {
        let users =
            passwd("root:x:0:0:root:/root:/bin/bash\n# junk\nbin:x:2:2::/:\nalias:x:0:0::/:\n");
        assert_eq!(users.get(&0).map(String::as_str), Some("root"));
        assert_eq!(users.get(&2).map(String::as_str), Some("bin"));
        assert_eq!(users.len(), 2);
    }

    #[test]
    fn hierarchies_of_a_hybrid_mount_table() {
        let (v1, v2) = hierarchies(
            "tmpfs /sys/fs/cgroup tmpfs rw 0 0\n\
             cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n\
             cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n",
        );
        assert_eq!(
            v1,
            [("cpu".to_string(), PathBuf::from("/sys/fs/cgroup/cpu"))]
        );
        assert_eq!(v2, [PathBuf::from("/sys/fs/cgroup/unified")]);
    }

    #[test]
    fn errno_text_and_time_format() {
        let m = Machine::new();
        assert_eq!(m.strerror(2), "No such file or directory");
        assert_eq!(m.strerror(200), "Unknown error 200");
        assert_eq!(
            strftime("%Y|%f|%%f", 1_700_000_000, 123_456_789),
            b"2023|123456|%f".to_vec()
        );
    }
}
