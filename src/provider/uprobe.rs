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
    /// Bytes an entry probe skips: 4 when the function starts with an `endbr64` landing
    /// pad that provably nothing jumps past ([`landing_pads`]), else 0.
    pub entry_skip: u64,
}

/// `endbr64`, the CET landing pad compilers put first in functions (-fcf-protection).
pub const ENDBR64: [u8; 4] = [0xf3, 0x0f, 0x1e, 0xfa];

/// A loaded, executable piece of the binary: its virtual address and bytes.
pub struct Code<'a> {
    /// Virtual address of `bytes[0]`.
    pub addr: u64,
    /// The bytes.
    pub bytes: &'a [u8],
}

impl Code<'_> {
    fn at(&self, addr: u64, len: u64) -> Option<&[u8]> {
        let start = addr.checked_sub(self.addr)? as usize;
        self.bytes.get(start..start.checked_add(len as usize)?)
    }
}

/// Decides [`Func::entry_skip`] for every function: a uprobe on `endbr64` is
/// single-stepped out of line (≈ 11 µs a hit here), one on the next instruction (usually
/// `push`, emulated) costs ≈ 0.6 µs. Probing past the pad is safe when no branch can
/// land on that next instruction, since it would then fire without a call:
/// - no direct branch anywhere in the executable code targets it (every byte offset is
///   tried as the start of a `call`/`jmp`/`jcc`/`loop` with a relative target, so a
///   real branch cannot be missed; a false match only costs the optimisation);
/// - the function itself holds nothing that looks like an indirect `jmp` (a jump table
///   could target it) and has a known size.
///
/// Function pointers always point at the pad itself, never past it.
pub fn landing_pads(code: &[Code<'_>], funcs: &mut [Func]) {
    let mut wanted: std::collections::HashMap<u64, bool> = Default::default();
    for f in funcs.iter() {
        let starts_with_pad = code.iter().any(|c| c.at(f.addr, 4) == Some(&ENDBR64[..]));
        if !starts_with_pad || f.size <= 4 {
            continue;
        }
        let body = code.iter().find_map(|c| c.at(f.addr, f.size));
        let indirect = body.is_none_or(|b| {
            b.windows(2)
                .any(|w| w[0] == 0xff && matches!((w[1] >> 3) & 7, 4 | 5))
        });
        if !indirect {
            wanted.insert(f.addr + 4, true);
        }
    }
    if wanted.is_empty() {
        return;
    }
    for c in code {
        let b = c.bytes;
        for i in 0..b.len() {
            let at = c.addr + i as u64;
            let rel8 = |n: usize| {
                b.get(i + n - 1)
                    .map(|&r| (at + n as u64).wrapping_add(r as i8 as u64))
            };
            let rel32 = |n: usize| {
                b.get(i + n - 4..i + n).map(|r| {
                    let r = i32::from_le_bytes([r[0], r[1], r[2], r[3]]);
                    (at + n as u64).wrapping_add(r as i64 as u64)
                })
            };
            let target = match b[i] {
                0x70..=0x7f | 0xeb | 0xe0..=0xe3 => rel8(2),
                0xe8 | 0xe9 => rel32(5),
                0x0f if b.get(i + 1).is_some_and(|&o| (0x80..=0x8f).contains(&o)) => rel32(6),
                _ => None,
            };
            if let Some(t) = target
                && let Some(safe) = wanted.get_mut(&t)
            {
                *safe = false;
            }
        }
    }
    for f in funcs.iter_mut() {
        if wanted.get(&(f.addr + 4)) == Some(&true) {
            f.entry_skip = 4;
        }
    }
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

    fn func(name: &str, addr: u64, size: u64) -> Func {
        Func {
            name: name.into(),
            addr,
            size,
            file_offset: addr,
            entry_skip: 0,
        }
    }

    #[test]
    fn landing_pads_skipped_only_when_nothing_lands_past_them() {
        // f: endbr64; push rbp; pop rbp; ret        (0x1000..0x1007)
        // g: endbr64; push rbp; jmp g+4 (eb f9)      (0x1007..0x1010)
        // h: endbr64; push rbp; jmp *rax (ff e0)     (0x1010..0x1019)
        // k: push rbp; ret                           (0x1019..0x101b)
        // m: endbr64; push; ret, reached by `call m+4` from k2 below
        let mut bytes = Vec::new();
        bytes.extend(ENDBR64);
        bytes.extend([0x55, 0x5d, 0xc3]);
        bytes.extend(ENDBR64);
        bytes.extend([0x55, 0xeb, 0xfd, 0x90]);
        bytes.extend(ENDBR64);
        bytes.extend([0x55, 0xff, 0xe0, 0x5d, 0xc3]);
        bytes.extend([0x55, 0xc3]);
        let m = 0x1000 + bytes.len() as u64;
        bytes.extend(ENDBR64);
        bytes.extend([0x55, 0xc3]);
        let k2 = 0x1000 + bytes.len() as u64;
        // call rel32 to m + 4: rel = (m + 4) - (k2 + 5)
        let rel = ((m + 4) as i64 - (k2 + 5) as i64) as i32;
        bytes.push(0xe8);
        bytes.extend(rel.to_le_bytes());
        let code = [Code {
            addr: 0x1000,
            bytes: &bytes,
        }];
        let mut funcs = vec![
            func("f", 0x1000, 7),
            func("g", 0x1007, 9),
            func("h", 0x1010, 9),
            func("k", 0x1019, 2),
            func("m", m, 6),
        ];
        landing_pads(&code, &mut funcs);
        let skips: Vec<u64> = funcs.iter().map(|f| f.entry_skip).collect();
        assert_eq!(skips, [4, 0, 0, 0, 0]);
    }
}
