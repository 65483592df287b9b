//! User-space function probes: `uprobe:PATH:FUNC[+OFF]`, `uprobe:PATH:0xADDR`,
//! `uretprobe:…` (also `u:`/`ur:`). PATH is a path, a command in `$PATH` or a library
//! name; FUNC may be a wildcard. The binary's functions come from the host
//! (`host::elf`), which also decides when an entry probe can skip an `endbr64` pad.

use super::arch::x86_64 as arch;
use super::list::{self, Listed, Query, Scope};
use super::{Access, AddrSpace, Context, Point, Provider, SpecError, Target};
use crate::host::Host;
use crate::host::elf::{Lang, demangle};

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

    fn list(&self, q: &Query, host: &dyn Host) -> Result<Vec<Listed>, SpecError> {
        let kind = self.name();
        let (target, func) = q.rest.rsplit_once(':').unwrap_or(("*", q.rest));
        let paths = if super::has_wildcard(target) {
            let Some(pid) = q.pid else {
                return Err(SpecError::new(
                    "E0221",
                    format!("listing `{kind}:{target}:…` needs the process whose objects to list"),
                    format!(
                        "give -p PID to list the functions of every object it maps, or name a binary: `{kind}:/bin/bash:{func}`"
                    ),
                )
                .labeled("which binaries?"));
            };
            let objects = host.process_objects(pid).map_err(|e| {
                SpecError::new(
                    "E0507",
                    e,
                    "check that the -p process is alive and that scry may read its /proc files",
                )
                .labeled("while listing this")
            })?;
            objects
                .into_iter()
                .filter(|p| super::wildcard_match(target, p))
                .collect()
        } else {
            vec![target.to_string()]
        };
        let mut out = Vec::new();
        for path in paths {
            let binary = match host.binary(&path) {
                Ok(b) => b,
                // An object the process maps but that cannot be read (deleted, not
                // ELF) has nothing to list; a binary the pattern names is an error.
                Err(_) if super::has_wildcard(target) => continue,
                Err(e) => return Err(binary_error(e)),
            };
            let names = binary.funcs.iter().map(|f| f.name.clone());
            out.extend(
                list::matching(func, names)
                    .into_iter()
                    .map(|f| Listed::new(format!("{kind}:{}:{f}", binary.path))),
            );
        }
        Ok(out)
    }

    fn list_scope(&self) -> Scope {
        if self.ret { Scope::Named } else { Scope::User }
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
        let binary = host.binary(&path).map_err(binary_error)?;
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
        // A probe in the middle of an instruction would corrupt the code it patches.
        let mid_instruction = |addr: u64, what: String| match binary.instruction_at(addr) {
            Some(Err(start)) => Err(SpecError::new(
                "E0226",
                format!(
                    "{what} is inside an instruction of `{}`: the one at 0x{start:x}",
                    binary.path
                ),
                "probe an address where an instruction starts (see `objdump -d`)",
            )
            .labeled("not an instruction boundary")),
            _ => Ok(()),
        };
        match place {
            Place::Addr(addr) => match binary.file_offset(addr) {
                Some(off) => {
                    mid_instruction(addr, format!("address 0x{addr:x}"))?;
                    Ok(vec![point(format!("0x{addr:x}"), off)])
                }
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
            Place::Func {
                pattern,
                offset,
                lang,
            } => {
                // A wildcard leaves out functions whose first instruction the kernel
                // cannot probe; a function named on its own is an error then.
                let wild = super::has_wildcard(&pattern);
                // The name a point is known by: its symbol, or with a language its
                // demangled name (the symbol must be of that language).
                let name_of = |f: &crate::host::elf::Func| -> Option<String> {
                    match lang {
                        None => Some(f.name.clone()),
                        Some(l) => demangle(&f.name).filter(|(fl, _)| *fl == l).map(|(_, d)| d),
                    }
                };
                if !wild
                    && offset == 0
                    && let Some(f) = binary
                        .funcs
                        .iter()
                        .find(|f| name_of(f).as_deref() == Some(pattern.as_str()))
                    && let Some(prefix) = f.entry_prefix
                {
                    return Err(SpecError::new(
                        "E0225",
                        format!(
                            "`{pattern}` in `{}` cannot be probed: its first instruction has a {prefix} prefix, which uprobes refuse",
                            binary.path
                        ),
                        format!("probe a later instruction: `{pattern}+OFFSET` (see `objdump -d`), or its caller"),
                    )
                    .labeled("the kernel cannot probe it"));
                }
                if offset > 0
                    && let Some(f) = binary
                        .funcs
                        .iter()
                        .find(|f| name_of(f).as_deref() == Some(pattern.as_str()))
                {
                    if f.size > 0 && offset >= f.size {
                        return Err(SpecError::new(
                            "E0226",
                            format!(
                                "`{pattern}+{offset}` is past the end of `{pattern}` ({} bytes)",
                                f.size
                            ),
                            "give an offset inside the function (see `objdump -d`)",
                        )
                        .labeled("not in the function"));
                    }
                    mid_instruction(f.addr + offset, format!("`{pattern}+{offset}`"))?;
                }
                let found: Vec<Point> = binary
                    .funcs
                    .iter()
                    .filter_map(|f| Some((f, name_of(f)?)))
                    .filter(|(_, n)| super::wildcard_match(&pattern, n))
                    .filter(|(f, _)| !(wild && offset == 0 && f.entry_prefix.is_some()))
                    .map(|(f, n)| {
                        let name = if offset > 0 {
                            format!("{n}+{offset}")
                        } else {
                            n
                        };
                        // Past an `endbr64` landing pad when that is provably safe:
                        // emulated instead of single-stepped, ~20× cheaper a hit.
                        let skip = if offset == 0 { f.entry_skip } else { 0 };
                        point(name, f.file_offset + offset + skip)
                    })
                    .collect();
                if found.is_empty() {
                    let listed =
                        format!("`scry -l '{kind}:{}:*'` lists its functions", binary.path);
                    let near = if super::has_wildcard(&pattern) {
                        Vec::new()
                    } else {
                        super::suggest::near(
                            &pattern,
                            binary.funcs.iter().map(|f| f.name.as_str()),
                            3,
                        )
                    };
                    let (message, label, help) = match super::suggest::did_you_mean(&near) {
                        Some(d) => (
                            format!("`{}` has no function `{pattern}`", binary.path),
                            "no such function",
                            format!("{d} ({listed})"),
                        ),
                        None => (
                            format!("no function of `{}` matches `{pattern}`", binary.path),
                            "matches nothing",
                            listed,
                        ),
                    };
                    return Err(SpecError::new("E0201", message, help).labeled(label));
                }
                Ok(found)
            }
        }
    }
}

/// E0206: the binary cannot be found or read.
fn binary_error(e: String) -> SpecError {
    SpecError::new(
        "E0206",
        e,
        "give a path to an ELF executable or library, a command in $PATH, or a library name such as `libc`",
    )
    .labeled("binary not found")
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
        /// `cpp:` / `rust:`: the pattern matches demangled names.
        lang: Option<Lang>,
    },
    /// A raw virtual address (`0x401000`).
    Addr(u64),
}

/// Parses the part after `uprobe:`: `PATH:FUNC`, `PATH:FUNC+OFF`, `PATH:0xADDR`, or
/// with a language, `PATH:cpp:"ns::Class::f"` (bpftrace's newest) and `PATH:rust:NAME`,
/// whose name (quoted when it holds `:`) is matched against demangled names.
pub fn parse(rest: &str) -> Result<(String, Place), String> {
    let (path, func) = match rest.strip_suffix('"') {
        Some(open) => {
            let at = open.rfind('"').ok_or("unterminated quote")?;
            let path = open[..at]
                .strip_suffix(':')
                .ok_or("expected `PATH:\"NAME\"`")?;
            (path, &open[at + 1..])
        }
        None => rest
            .rsplit_once(':')
            .filter(|(p, f)| !p.is_empty() && !f.is_empty())
            .ok_or("expected `PATH:FUNCTION`")?,
    };
    let (path, lang) = match path.rsplit_once(':') {
        Some((p, "cpp")) => (p, Some(Lang::Cpp)),
        Some((p, "rust")) => (p, Some(Lang::Rust)),
        _ => (path, None),
    };
    if path.is_empty() || func.is_empty() {
        return Err("expected `PATH:FUNCTION`".into());
    }
    if func.contains('"') {
        return Err("unbalanced quote in the function name".into());
    }
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
            lang,
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
                    offset: 0,
                    lang: None,
                }
            ))
        );
        assert_eq!(
            parse("libc:malloc+0x10"),
            Ok((
                "libc".into(),
                Place::Func {
                    pattern: "malloc".into(),
                    offset: 16,
                    lang: None,
                }
            ))
        );
        assert_eq!(
            parse("./a.out:0x1000"),
            Ok(("./a.out".into(), Place::Addr(0x1000)))
        );
        assert_eq!(
            parse(r#"/opt/app:cpp:"MyApp::Server::*""#),
            Ok((
                "/opt/app".into(),
                Place::Func {
                    pattern: "MyApp::Server::*".into(),
                    offset: 0,
                    lang: Some(Lang::Cpp),
                }
            ))
        );
        assert_eq!(
            parse("./a.out:rust:main"),
            Ok((
                "./a.out".into(),
                Place::Func {
                    pattern: "main".into(),
                    offset: 0,
                    lang: Some(Lang::Rust),
                }
            ))
        );
        assert!(parse("/bin/bash:\"f").is_err());
        assert!(parse("/bin/bash").is_err());
        assert!(parse("/bin/bash:f*+4").is_err());
    }
}
