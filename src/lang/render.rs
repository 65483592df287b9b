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
}

impl Rendered {
    /// Size in bytes.
    pub fn size(&self) -> u32 {
        match self {
            Rendered::Inet => 24,
            _ => 8,
        }
    }

    /// True for the kinds held in memory (bytes), false for those that are an integer
    /// in a register.
    pub fn in_memory(&self) -> bool {
        matches!(self, Rendered::Inet | Rendered::MacAddr)
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
