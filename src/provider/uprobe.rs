//! User-space function probes: the spec (`uprobe:PATH:FUNC[+OFF]`, `uretprobe:…`) and the
//! description of a binary's functions that sema matches it against. Reading the ELF
//! file is the catalog's job (`runtime::binary`).

/// A function symbol of a binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Func {
    /// Symbol name.
    pub name: String,
    /// Virtual address (`st_value`).
    pub addr: u64,
    /// Size in bytes (0 when unknown).
    pub size: u64,
    /// Offset of its first byte in the file (what uprobes attach to).
    pub file_offset: u64,
}

/// A binary with its function symbols.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Binary {
    /// The path as resolved (absolute).
    pub path: String,
    /// Defined functions, sorted by name, one per name.
    pub funcs: Vec<Func>,
    /// Loadable segments `(vaddr, memsz, file offset)`, to map raw addresses.
    pub segments: Vec<(u64, u64, u64)>,
}

impl Binary {
    /// File offset of virtual address `addr`, if a loadable segment holds it.
    pub fn file_offset(&self, addr: u64) -> Option<u64> {
        self.segments
            .iter()
            .find(|(va, sz, _)| (*va..va + sz).contains(&addr))
            .map(|(va, _, off)| addr - va + off)
    }
}

/// Where in a binary to attach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A function name or a wildcard pattern over names, plus a byte offset into it.
    Func {
        /// Name or pattern.
        pattern: String,
        /// Bytes into the function (`func+0x10`).
        offset: u64,
    },
    /// A raw virtual address (`0x401000`).
    Addr(u64),
}

/// Parses the part after `uprobe:`: `PATH:FUNC`, `PATH:FUNC+OFF` or `PATH:0xADDR`.
pub fn parse(rest: &str) -> Result<(String, Target), String> {
    let (path, func) = rest
        .rsplit_once(':')
        .filter(|(p, f)| !p.is_empty() && !f.is_empty())
        .ok_or("expected `PATH:FUNCTION`")?;
    if let Some(hex) = func.strip_prefix("0x") {
        let addr = u64::from_str_radix(hex, 16).map_err(|_| format!("bad address `{func}`"))?;
        return Ok((path.to_string(), Target::Addr(addr)));
    }
    let (name, offset) = match func.split_once('+') {
        Some((name, off)) => {
            let off = match off.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16),
                None => off.parse(),
            }
            .map_err(|_| format!("bad offset `{off}`"))?;
            if super::has_wildcard(name) {
                return Err("an offset cannot follow a wildcard".into());
            }
            (name, off)
        }
        None => (func, 0),
    };
    Ok((
        path.to_string(),
        Target::Func {
            pattern: name.to_string(),
            offset,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(
            parse("/bin/bash:readline"),
            Ok((
                "/bin/bash".into(),
                Target::Func {
                    pattern: "readline".into(),
                    offset: 0
                }
            ))
        );
        assert_eq!(
            parse("libc:malloc+0x10"),
            Ok((
                "libc".into(),
                Target::Func {
                    pattern: "malloc".into(),
                    offset: 16
                }
            ))
        );
        assert_eq!(
            parse("./a.out:0x1000"),
            Ok(("./a.out".into(), Target::Addr(0x1000)))
        );
        assert!(parse("/bin/bash").is_err());
        assert!(parse("/bin/bash:f*+4").is_err());
        let b = Binary {
            segments: vec![(0x1000, 0x500, 0x200)],
            ..Binary::default()
        };
        assert_eq!(b.file_offset(0x1010), Some(0x210));
        assert_eq!(b.file_offset(0x1500), None);
    }
}
