//! Values the program carries as raw bytes and scry turns into text in userspace: IP
//! addresses (`ntop`), MAC addresses (`macaddr`), errno strings (`strerror`), cgroup
//! paths (`cgroup_path`), user names (`username`) and formatted timestamps
//! (`strftime`). [`Rendered`] is the kind (part of the value's [`super::ty::Ty`]),
//! [`text`] the one place their text is made, for printf `%s`, `print`, map keys and
//! values, text and JSON alike.
//!
//! What needs the machine (the errno table, /etc/passwd, the cgroup file system, the
//! boot time) is asked through [`Facts`], which the runtime implements; everything
//! here stays pure and testable.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// `AF_INET`.
pub const AF_INET: u64 = 2;
/// `AF_INET6`.
pub const AF_INET6: u64 = 10;

/// A kind of value rendered in userspace, with its layout in keys, values and events.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rendered {
    /// `ntop()`: the address family (u64), then 16 address bytes (IPv4 in the first 4),
    /// 24 bytes in memory.
    Inet,
    /// `macaddr()`: 6 address bytes and 2 zero bytes, 8 bytes in memory.
    MacAddr,
    /// `strerror()`: an errno value (i64, in a register).
    Strerror,
    /// `cgroup_path(id[, filter])`: a cgroup id (u64, in a register), looked up in the
    /// hierarchies whose names match the `filter` wildcard (all when empty).
    CgroupPath {
        /// The wildcard over hierarchy names (`unified` is cgroup2).
        filter: String,
    },
    /// `username`: a user id (u64, in a register).
    Username,
    /// `strftime(fmt, ns)`: nanoseconds since boot (u64, in a register), printed as
    /// wall-clock time in `strftime(3)`'s `format` (with `%f`, microseconds).
    Timestamp {
        /// The format.
        format: String,
    },
    /// `ksym(addr)`, ply's `caller` in kprobes: a kernel address (u64, in a register),
    /// printed as the name of its function.
    Ksym,
    /// `usym(addr)`, `caller` in uprobes: a user address after its process (a user
    /// stack's 16-byte header, then the address: 24 bytes in memory), printed as the
    /// name of its function.
    Usym,
    /// `kstack`/`ustack`: the stack's id (u64) in the program's stack table of its
    /// `depth`, which holds its frames (0: the empty stack); a user stack starts with
    /// its process: the pid (u32), its `execve` count (u32) and its start time (u64,
    /// boot-clock nanoseconds), so a reused pid or a new program makes other keys.
    Stack {
        /// `ustack` (true) or `kstack`.
        user: bool,
        /// How it prints.
        mode: StackMode,
        /// Frames kept.
        depth: u32,
    },
}

/// How a stack prints (bpftrace's stack modes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StackMode {
    /// One `symbol+offset` per line, indented.
    Bpftrace,
    /// As `perf script` prints frames: a tab, the address in hex, the symbol and, for
    /// user frames, the object in parentheses.
    Perf,
    /// The addresses in hex, unsymbolized.
    Raw,
}

impl StackMode {
    /// The mode named `name` (`bpftrace`, `perf` or `raw`).
    pub fn named(name: &str) -> Option<StackMode> {
        match name {
            "bpftrace" => Some(StackMode::Bpftrace),
            "perf" => Some(StackMode::Perf),
            "raw" => Some(StackMode::Raw),
            _ => None,
        }
    }
}

/// The bytes before a user stack's frames: pid, `execve` count, process start time.
pub const USER_STACK_HEADER: u32 = 16;

/// A process as a user stack names it: which pid, which program (its `execve` count)
/// and since when (its start time), so a reused pid or an `execve` is another process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Process {
    /// The pid.
    pub pid: u32,
    /// The group leader's `self_exec_id` (0 when unknown).
    pub exec: u32,
    /// The group leader's start time, boot-clock nanoseconds (0 when unknown).
    pub start: u64,
}

impl Process {
    /// The process of a 16-byte user-stack header (shorter bytes read as zeroes).
    pub fn from_header(bytes: &[u8]) -> Process {
        let mut h = [0u8; 16];
        let n = bytes.len().min(16);
        h[..n].copy_from_slice(&bytes[..n]);
        Process {
            pid: u32::from_le_bytes(h[0..4].try_into().expect("4 bytes")),
            exec: u32::from_le_bytes(h[4..8].try_into().expect("4 bytes")),
            start: u64::from_le_bytes(h[8..16].try_into().expect("8 bytes")),
        }
    }
}

/// One frame of a stack, symbolized as far as the machine could.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Frame {
    /// The instruction address.
    pub addr: u64,
    /// The function it lies in, when known.
    pub symbol: Option<Symbol>,
}

/// A frame's function.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol {
    /// The (demangled) name, shared by every frame in the function.
    pub name: std::sync::Arc<str>,
    /// The address's distance from the function's start.
    pub offset: u64,
    /// The object file it is in (user frames), for `perf` mode.
    pub module: Option<std::sync::Arc<str>>,
}

/// A stack as decoded: its raw bytes (entries sort by them), mode and frames.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Stack {
    /// The bytes as the program stored them.
    pub raw: Vec<u8>,
    /// `ustack` (true) or `kstack`.
    pub user: bool,
    /// How it prints.
    pub mode: StackMode,
    /// The frames, innermost first.
    pub frames: Vec<Frame>,
}

impl Stack {
    /// The stack of kind `kind` laid out in `bytes`, its frames symbolized by `facts`
    /// (not for `raw` mode).
    pub fn decode(
        user: bool,
        mode: StackMode,
        depth: u32,
        bytes: &[u8],
        facts: &dyn Facts,
    ) -> Stack {
        let word = |at: usize| {
            let mut raw = [0u8; 8];
            if let Some(b) = bytes.get(at..at + 8) {
                raw.copy_from_slice(b);
            }
            u64::from_le_bytes(raw)
        };
        let first = if user { USER_STACK_HEADER as usize } else { 0 };
        let id = word(first);
        let addrs = if id == 0 {
            Vec::new()
        } else {
            facts.stack_frames(depth, id)
        };
        let frames = if mode == StackMode::Raw || addrs.is_empty() {
            addrs
                .iter()
                .map(|&addr| Frame { addr, symbol: None })
                .collect()
        } else if user {
            facts.user_frames(Process::from_header(bytes), &addrs)
        } else {
            facts.kernel_frames(&addrs)
        };
        Stack {
            raw: bytes.to_vec(),
            user,
            mode,
            frames,
        }
    }

    /// The text bpftrace prints for it: a newline, then one line per frame, indented by
    /// `indent` spaces in `bpftrace` mode (8 in printf and `print`, 4 in map keys).
    pub fn text(&self, indent: usize) -> Vec<u8> {
        use std::io::Write;
        let mut out = vec![b'\n'];
        for f in &self.frames {
            match self.mode {
                StackMode::Raw => _ = writeln!(out, "{:x}", f.addr),
                StackMode::Bpftrace => {
                    out.resize(out.len() + indent, b' ');
                    match &f.symbol {
                        Some(s) => _ = writeln!(out, "{}+{}", s.name, s.offset),
                        None => _ = writeln!(out, "{:#x}", f.addr),
                    }
                }
                StackMode::Perf => {
                    _ = write!(out, "\t{:x} ", f.addr);
                    match (&f.symbol, self.user) {
                        (Some(s), false) => _ = writeln!(out, "{}+{}", s.name, s.offset),
                        (Some(s), true) => {
                            let module = s.module.as_deref().unwrap_or("[unknown]");
                            _ = writeln!(out, "{}+{} ({module})", s.name, s.offset)
                        }
                        (None, false) => _ = writeln!(out, "{:#x}", f.addr),
                        (None, true) => _ = writeln!(out, "{:#x} ([unknown])", f.addr),
                    }
                }
            }
        }
        out
    }

    /// The function names, outermost first, as folded stacks and flame graphs name
    /// frames (unknown frames as their address).
    pub fn names(&self) -> impl DoubleEndedIterator<Item = String> + '_ {
        self.frames.iter().rev().map(|f| match &f.symbol {
            Some(s) => s.name.to_string(),
            None => format!("{:#x}", f.addr),
        })
    }
}

impl Rendered {
    /// Size in bytes.
    pub fn size(&self) -> u32 {
        match self {
            Rendered::Inet | Rendered::Usym => 24,
            Rendered::Stack { user: true, .. } => USER_STACK_HEADER + 8,
            _ => 8,
        }
    }

    /// True for the kinds held in memory (bytes), false for those that are an integer
    /// in a register.
    pub fn in_memory(&self) -> bool {
        matches!(
            self,
            Rendered::Inet | Rendered::MacAddr | Rendered::Usym | Rendered::Stack { .. }
        )
    }
}

impl fmt::Display for Rendered {
    /// The type's name, as bpftrace names it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rendered::Inet => "inet",
            Rendered::MacAddr => "macaddr_t",
            Rendered::Strerror => "strerror_t",
            Rendered::CgroupPath { .. } => "cgroup_path_t",
            Rendered::Username => "username_t",
            Rendered::Timestamp { .. } => "timestamp",
            Rendered::Ksym => "ksym_t",
            Rendered::Usym => "usym_t",
            Rendered::Stack { user: false, .. } => "kstack",
            Rendered::Stack { user: true, .. } => "ustack",
        })
    }
}

/// What rendering needs to know about the machine.
pub trait Facts {
    /// The C library's text for `errno` (`strerror(3)`).
    fn strerror(&self, errno: i64) -> String;
    /// The name of user `uid` (from /etc/passwd; empty when it has none).
    fn username(&self, uid: u64) -> String;
    /// The paths of cgroup `id` in each hierarchy whose name matches `filter` (all when
    /// empty), as `(hierarchy, path)` with cgroup2 first (named `unified`).
    fn cgroup_paths(&self, id: u64, filter: &str) -> Vec<(String, String)>;
    /// `ns` nanoseconds since boot as local wall-clock time in `strftime(3)`'s `format`
    /// (`%f` is microseconds).
    fn strftime(&self, format: &str, ns: u64) -> Vec<u8>;
    /// The frames (instruction addresses, innermost first) of stack `id` in the stack
    /// table of `depth` (none when it has no such stack).
    fn stack_frames(&self, depth: u32, id: u64) -> Vec<u64>;
    /// Kernel frames at `addrs`, symbolized from the kernel's symbols.
    fn kernel_frames(&self, addrs: &[u64]) -> Vec<Frame>;
    /// User frames at `addrs` of `process`, symbolized through the mappings recorded
    /// for it.
    fn user_frames(&self, process: Process, addrs: &[u64]) -> Vec<Frame>;
    /// The program saw `process` for the first time: remember what its user frames need
    /// (its mappings) while it runs.
    fn remember_process(&self, process: Process);
}

/// The text of a value of kind `kind` laid out in `bytes`.
pub fn text(kind: &Rendered, bytes: &[u8], facts: &dyn Facts) -> Vec<u8> {
    let word = |i: usize| {
        let mut raw = [0u8; 8];
        if let Some(b) = bytes.get(8 * i..8 * i + 8) {
            raw.copy_from_slice(b);
        }
        u64::from_le_bytes(raw)
    };
    let byte_array = |from: usize, n: usize| {
        let mut a = [0u8; 16];
        for (i, slot) in a.iter_mut().take(n).enumerate() {
            *slot = bytes.get(from + i).copied().unwrap_or(0);
        }
        a
    };
    match kind {
        Rendered::Inet => inet(word(0), &byte_array(8, 16)).into_bytes(),
        Rendered::MacAddr => {
            let a = byte_array(0, 6);
            format!(
                "{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}",
                a[0], a[1], a[2], a[3], a[4], a[5]
            )
            .into_bytes()
        }
        Rendered::Strerror => facts.strerror(word(0) as i64).into_bytes(),
        Rendered::Username => facts.username(word(0)).into_bytes(),
        Rendered::CgroupPath { filter } => {
            // As bpftrace prints them: `hierarchy:path` of every hierarchy the id was
            // found in, joined by commas.
            let found: Vec<String> = facts
                .cgroup_paths(word(0), filter)
                .into_iter()
                .filter(|(_, p)| !p.is_empty())
                .map(|(h, p)| format!("{h}:{p}"))
                .collect();
            found.join(",").into_bytes()
        }
        Rendered::Timestamp { format } => facts.strftime(format, word(0)),
        Rendered::Stack { user, mode, depth } => {
            Stack::decode(*user, *mode, *depth, bytes, facts).text(8)
        }
        Rendered::Ksym => function_name(&facts.kernel_frames(&[word(0)])),
        Rendered::Usym => {
            let process = Process::from_header(bytes);
            function_name(&facts.user_frames(process, &[word(2)]))
        }
    }
}

/// The name of the function of the one frame `frames` holds, as `ksym()` and `usym()`
/// print it: without the offset, or the address in hex when it is unknown.
fn function_name(frames: &[Frame]) -> Vec<u8> {
    match frames.first() {
        Some(Frame {
            symbol: Some(s), ..
        }) => s.name.as_bytes().to_vec(),
        Some(f) => format!("{:#x}", f.addr).into_bytes(),
        None => Vec::new(),
    }
}

/// An address of family `af` as `inet_ntop(3)` writes it (empty for another family).
pub fn inet(af: u64, addr: &[u8; 16]) -> String {
    match af {
        AF_INET => Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]).to_string(),
        AF_INET6 => Ipv6Addr::from(*addr).to_string(),
        _ => String::new(),
    }
}

/// `pton(text)`: the bytes of an IPv4 (4 bytes) or IPv6 (16 bytes) address in network
/// order; which one by a `:` in the text, as bpftrace decides.
pub fn pton(text: &str) -> Option<Vec<u8>> {
    if text.contains(':') {
        text.parse::<Ipv6Addr>().ok().map(|a| a.octets().to_vec())
    } else {
        text.parse::<Ipv4Addr>().ok().map(|a| a.octets().to_vec())
    }
}

/// `pattern` (with `*` wildcards) matches all of `name`.
pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    if !name.ends_with(last) {
        return false;
    }
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Machine;
    impl Facts for Machine {
        fn strerror(&self, errno: i64) -> String {
            format!("error {errno}")
        }
        fn username(&self, uid: u64) -> String {
            if uid == 0 {
                "root".into()
            } else {
                String::new()
            }
        }
        fn cgroup_paths(&self, id: u64, filter: &str) -> Vec<(String, String)> {
            let all = [("unified", format!("/c{id}")), ("cpu", String::new())];
            all.into_iter()
                .filter(|(h, _)| filter.is_empty() || wildcard_match(filter, h))
                .map(|(h, p)| (h.to_string(), p))
                .collect()
        }
        fn strftime(&self, format: &str, ns: u64) -> Vec<u8> {
            format!("{format}@{ns}").into_bytes()
        }
        fn stack_frames(&self, depth: u32, id: u64) -> Vec<u64> {
            let all: &[u64] = match id {
                1 => &[0x20, 0x31, 0x42],
                2 => &[0x10, 0x11],
                _ => &[],
            };
            all.iter().copied().take(depth as usize).collect()
        }
        fn kernel_frames(&self, addrs: &[u64]) -> Vec<Frame> {
            // Even addresses are in `k<addr/16>`, odd ones unknown.
            let symbol = |a: u64| Symbol {
                name: format!("k{}", a / 16).into(),
                offset: a % 16,
                module: None,
            };
            addrs
                .iter()
                .map(|&addr| Frame {
                    addr,
                    symbol: (addr % 2 == 0).then(|| symbol(addr)),
                })
                .collect()
        }
        fn remember_process(&self, _: Process) {}
        fn user_frames(&self, p: Process, addrs: &[u64]) -> Vec<Frame> {
            let symbol = |a: u64| Symbol {
                name: format!("u{}_{}_{}_{a}", p.pid, p.exec, p.start).into(),
                offset: 3,
                module: Some("/bin/w".into()),
            };
            addrs
                .iter()
                .map(|&addr| Frame {
                    addr,
                    symbol: (addr % 2 == 0).then(|| symbol(addr)),
                })
                .collect()
        }
    }

    fn render(kind: Rendered, bytes: &[u8]) -> String {
        String::from_utf8(text(&kind, bytes, &Machine)).unwrap()
    }

    #[test]
    fn addresses_render_as_inet_ntop_does() {
        let mut v4 = 2u64.to_le_bytes().to_vec();
        v4.extend([127, 0, 0, 1]);
        v4.resize(24, 0);
        assert_eq!(render(Rendered::Inet, &v4), "127.0.0.1");
        let mut v6 = 10u64.to_le_bytes().to_vec();
        v6.extend(pton("::1").unwrap());
        assert_eq!(render(Rendered::Inet, &v6), "::1");
        v6[..8].copy_from_slice(&7u64.to_le_bytes());
        assert_eq!(render(Rendered::Inet, &v6), "");
        assert_eq!(
            inet(AF_INET6, &[1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            "102:304::"
        );
        assert_eq!(
            render(Rendered::MacAddr, &[0x18, 0xc0, 0x4d, 8, 0x2e, 0xbb, 0, 0]),
            "18:C0:4D:08:2E:BB"
        );
    }

    #[test]
    fn pton_parses_both_families_and_rejects_the_rest() {
        assert_eq!(pton("127.0.0.1"), Some(vec![127, 0, 0, 1]));
        assert_eq!(pton("fe80::1").map(|b| b.len()), Some(16));
        assert_eq!(pton("1.2.3"), None);
        assert_eq!(pton("::g"), None);
        assert_eq!(pton(""), None);
    }

    #[test]
    fn machine_facts_are_asked() {
        let w = |v: u64| v.to_le_bytes();
        assert_eq!(render(Rendered::Strerror, &w(2)), "error 2");
        assert_eq!(render(Rendered::Username, &w(0)), "root");
        let all = Rendered::CgroupPath {
            filter: String::new(),
        };
        assert_eq!(render(all, &w(5)), "unified:/c5");
        let none = Rendered::CgroupPath {
            filter: "cp*".into(),
        };
        assert_eq!(render(none, &w(5)), "");
        let ts = Rendered::Timestamp {
            format: "%H".into(),
        };
        assert_eq!(render(ts, &w(9)), "%H@9");
    }

    #[test]
    fn stacks_print_in_each_mode_as_bpftrace_prints_them() {
        let words = |ws: &[u64]| ws.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>();
        let k = |mode| Rendered::Stack {
            user: false,
            mode,
            depth: 4,
        };
        // Kernel stack 1 of the table: three frames.
        let kernel = words(&[1]);
        assert_eq!(
            render(k(StackMode::Bpftrace), &kernel),
            "\n        k2+0\n        0x31\n        k4+2\n"
        );
        assert_eq!(
            render(k(StackMode::Perf), &kernel),
            "\n\t20 k2+0\n\t31 0x31\n\t42 k4+2\n"
        );
        assert_eq!(render(k(StackMode::Raw), &kernel), "\n20\n31\n42\n");
        // A user stack: pid 7, exec count 2, start time 9, stack 2 (two frames).
        let user = words(&[(2 << 32) | 7, 9, 2]);
        let u = Rendered::Stack {
            user: true,
            mode: StackMode::Perf,
            depth: 3,
        };
        assert_eq!(u.size(), 24);
        assert_eq!(
            render(u, &user),
            "\n\t10 u7_2_9_16+3 (/bin/w)\n\t11 0x11 ([unknown])\n"
        );
        let s = Stack::decode(true, StackMode::Bpftrace, 3, &user, &Machine);
        assert_eq!(s.text(4), b"\n    u7_2_9_16+3\n    0x11\n");
        assert_eq!(s.names().collect::<Vec<_>>(), ["0x11", "u7_2_9_16"]);
        // Id 0 (no stack was kept) and an id the table lacks: only the newline.
        assert_eq!(render(k(StackMode::Bpftrace), &words(&[0])), "\n");
        assert_eq!(render(k(StackMode::Bpftrace), &words(&[5])), "\n");
        // The depth asked caps the frames.
        let two = Rendered::Stack {
            user: false,
            mode: StackMode::Raw,
            depth: 2,
        };
        assert_eq!(render(two, &kernel), "\n20\n31\n");
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("unified", "unified"));
        assert!(wildcard_match("*", "cpu"));
        assert!(wildcard_match("cpu*", "cpuacct"));
        assert!(wildcard_match("*acct", "cpuacct"));
        assert!(wildcard_match("c*a*t", "cpuacct"));
        assert!(!wildcard_match("cpu", "cpuacct"));
        assert!(!wildcard_match("m*y*z", "memory"));
        assert!(!wildcard_match("ab*ba", "aba"));
    }
}
