//! User-space function probes: `uprobe:PATH:FUNC[+OFF]`, `uprobe:PATH:0xADDR`,
//! `uretprobe:…` (also `u:`/`ur:`). PATH is a path, a command in `$PATH` or a library
//! name; FUNC may be a wildcard. The binary's functions come from the host
//! (`host::elf`), which also decides when an entry probe can skip an `endbr64` pad.

use super::arch::x86_64 as arch;
use super::{Access, AddrSpace, Context, Point, Provider, SpecError, Target};
use crate::host::Host;

/// `uprobe` (`ret: false`) or `uretprobe`.
pub struct Uprobe {
    /// Fires on return.
    pub ret: bool,
}

impl Provider for Uprobe {
    fn name(&self) -> &'static str {
        if self.ret { "uretprobe" } else { "uprobe" }
    }

    fn aliases(&self) -> &'static [&'static str] {
        if self.ret { &["ur"] } else { &["u"] }
    }

    fn expand(&self, text: &str, rest: &str, host: &dyn Host) -> Result<Vec<Point>, SpecError> {
        let kind = self.name();
        let (path, place) = parse(rest).map_err(|m| {
            SpecError::new(
                "E0202",
                format!("malformed {kind} `{text}`: {m}"),
                "write `uprobe:PATH:FUNCTION`, e.g. `uprobe:/bin/bash:readline`",
            )
        })?;
        let binary = host.binary(&path).map_err(|e| {
            SpecError::new(
                "E0206",
                e,
                "give a path to an ELF executable or library, a command in $PATH, or a library name such as `libc`",
            )
            .labeled("binary not found")
        })?;
        let ret = self.ret;
        let point = |func: String, offset: u64| Point {
            provider: kind,
            display: format!("{kind}:{}:{func}", binary.path),
            tag: kind,
            target: Target::Uprobe {
                path: binary.path.clone(),
                offset,
                ret,
                ref_ctr: None,
            },
            context: Context {
                fields: None,
                args: if ret {
                    Vec::new()
                } else {
                    arch::FUNC_ARGS
                        .iter()
                        .map(|&off| Access::Ctx { off, size: 8 })
                        .collect()
                },
                retval: ret.then_some(Access::Ctx {
                    off: arch::AX,
                    size: 8,
                }),
                func: Some(func),
                space: AddrSpace::User,
                args_complete: false,
            },
        };
        match place {
            Place::Addr(addr) => match binary.file_offset(addr) {
                Some(off) => Ok(vec![point(format!("0x{addr:x}"), off)]),
                None => Err(SpecError::new(
                    "E0201",
                    format!(
                        "address 0x{addr:x} is not in an executable segment of `{}`",
                        binary.path
                    ),
                    "give a function name, or an address from `nm` / `objdump -d`",
                )
                .labeled("no code there")),
            },
            Place::Func { pattern, offset } => {
                let found: Vec<Point> = binary
                    .funcs
                    .iter()
                    .filter(|f| super::wildcard_match(&pattern, &f.name))
                    .map(|f| {
                        let name = if offset > 0 {
                            format!("{}+{offset}", f.name)
                        } else {
                            f.name.clone()
                        };
                        // Past an `endbr64` landing pad when that is provably safe:
                        // emulated instead of single-stepped, ~20× cheaper a hit.
                        let skip = if offset == 0 { f.entry_skip } else { 0 };
                        point(name, f.file_offset + offset + skip)
                    })
                    .collect();
                if found.is_empty() {
                    return Err(SpecError::new(
                        "E0201",
                        format!("no function of `{}` matches `{pattern}`", binary.path),
                        format!(
                            "functions are listed by `nm -D {}` (or `nm` when it has a symbol table)",
                            binary.path
                        ),
                    )
                    .labeled("matches nothing"));
                }
                Ok(found)
            }
        }
    }
}

/// Where in a binary to attach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
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
pub fn parse(rest: &str) -> Result<(String, Place), String> {
    let (path, func) = rest
        .rsplit_once(':')
        .filter(|(p, f)| !p.is_empty() && !f.is_empty())
        .ok_or("expected `PATH:FUNCTION`")?;
    if let Some(hex) = func.strip_prefix("0x") {
        let addr = u64::from_str_radix(hex, 16).map_err(|_| format!("bad address `{func}`"))?;
        return Ok((path.to_string(), Place::Addr(addr)));
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
        Place::Func {
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
                Place::Func {
                    pattern: "readline".into(),
                    offset: 0
                }
            ))
        );
        assert_eq!(
            parse("libc:malloc+0x10"),
            Ok((
                "libc".into(),
                Place::Func {
                    pattern: "malloc".into(),
                    offset: 16
                }
            ))
        );
        assert_eq!(
            parse("./a.out:0x1000"),
            Ok(("./a.out".into(), Place::Addr(0x1000)))
        );
        assert!(parse("/bin/bash").is_err());
        assert!(parse("/bin/bash:f*+4").is_err());
    }
}
