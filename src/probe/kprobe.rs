//! Kernel function probes: `kprobe:[MODULE:]FUNC[+OFF]` and `kretprobe:[MODULE:]FUNC`
//! (also `k:`/`kr:`), FUNC a wildcard over the kernel's functions (the host's list:
//! tracefs's `available_filter_functions`, else `/proc/kallsyms`). The context is the
//! probed task's `struct pt_regs`: `arg0`…`arg5` in the argument registers, `retval`
//! in `ax`, `func` the function's name.
//!
//! Syscall entry points written as kprobes (`SyS_*`, `sys_*`, `__x64_sys_*`,
//! `__se_sys_*`, as scripts written before and after Linux 4.17 name them) run on the
//! syscall tracepoints instead when the kernel has no kprobes or the pattern matches no
//! kernel function: one `syscalls:sys_enter_NAME` (`sys_exit_NAME` for kretprobes) point
//! per syscall, with the syscall's arguments as `arg0`… and its return value as
//! `retval`, and `func` the kernel's name for it (`__x64_sys_read`). They are the
//! tracepoint provider's points, so its plan serves many of them from `raw_syscalls`.

use super::arch::x86_64 as arch;
use super::{Access, AddrSpace, Context, Point, Provider, SpecError, Target};
use crate::host::{Host, KernelFeature};

/// `kprobe` (`ret: false`) or `kretprobe`.
pub struct Kprobe {
    /// Fires on return.
    pub ret: bool,
}

/// How syscall entry points were and are named, longest first.
const SYSCALL_PREFIXES: &[&str] = &["__x64_sys_", "__se_sys_", "SyS_", "sys_"];

/// What follows `kprobe:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// The module (`ext4:ext4_file_open`); `None` for vmlinux and modules alike.
    pub module: Option<String>,
    /// The function or a wildcard pattern.
    pub pattern: String,
    /// Bytes into the function.
    pub offset: u64,
}

/// Parses `[MODULE:]FUNC[+OFF]`.
pub fn parse(rest: &str) -> Result<Spec, String> {
    let (module, func) = match rest.split_once(':') {
        Some((m, f)) if !m.is_empty() && !f.contains(':') => (Some(m.to_string()), f),
        Some(_) => return Err("expected `[MODULE:]FUNCTION`".into()),
        None => (None, rest),
    };
    let (pattern, offset) = match func.split_once('+') {
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
    if pattern.is_empty()
        || !pattern
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"_*?.".contains(&c))
    {
        return Err(format!("`{pattern}` is not a kernel function name"));
    }
    Ok(Spec {
        module,
        pattern: pattern.to_string(),
        offset,
    })
}

/// The syscall-name pattern of a syscall entry point pattern (`SyS_read` → `read`).
pub fn syscall_pattern(pattern: &str) -> Option<&str> {
    SYSCALL_PREFIXES
        .iter()
        .find_map(|p| pattern.strip_prefix(p))
        .filter(|rest| !rest.is_empty())
}

impl Provider for Kprobe {
    fn name(&self) -> &'static str {
        if self.ret { "kretprobe" } else { "kprobe" }
    }

    fn aliases(&self) -> &'static [&'static str] {
        if self.ret { &["kr"] } else { &["k"] }
    }

    fn list(
        &self,
        query: &super::list::Query,
        host: &dyn Host,
    ) -> Result<Vec<super::list::Listed>, SpecError> {
        if self.ret {
            super::list_kernel::kretprobes(query, host)
        } else {
            super::list_kernel::kprobes(query, host)
        }
    }

    fn list_scope(&self) -> super::list::Scope {
        // `-l '*:…'` lists kprobes; kretprobes only when named (as bpftrace does).
        if self.ret {
            super::list::Scope::Named
        } else {
            super::list::Scope::Kernel
        }
    }

    fn expand(&self, text: &str, rest: &str, host: &dyn Host) -> Result<Vec<Point>, SpecError> {
        let kind = self.name();
        let spec = parse(rest).map_err(|m| {
            SpecError::new(
                "E0202",
                format!("malformed {kind} `{text}`: {m}"),
                format!("write `{kind}:FUNCTION`, e.g. `{kind}:vfs_read` (kernel functions are listed in /proc/kallsyms)"),
            )
        })?;
        let calls =
            syscall_pattern(&spec.pattern).filter(|_| spec.module.is_none() && spec.offset == 0);
        // Without kprobes, syscalls need no function list (122,000 lines of kallsyms).
        if let Some(calls) = calls
            && host.check(KernelFeature::Kprobes).is_err()
        {
            return self.syscalls(calls, &spec.pattern, host);
        }
        let functions = host.kernel_functions();
        let found: Vec<_> = functions
            .iter()
            .filter(|(m, f)| {
                spec.module
                    .as_ref()
                    .is_none_or(|want| m.as_ref() == Some(want))
                    && super::wildcard_match(&spec.pattern, f)
            })
            .collect();
        if let Some(calls) = calls
            && found.is_empty()
        {
            return self.syscalls(calls, &spec.pattern, host);
        }
        if found.is_empty() {
            let near = near_names(&spec.pattern, &functions);
            return Err(SpecError::new(
                "E0201",
                match &spec.module {
                    Some(m) => format!(
                        "no function of kernel module `{m}` matches `{}`",
                        spec.pattern
                    ),
                    None => format!("no kernel function matches `{}`", spec.pattern),
                },
                if near.is_empty() {
                    "kernel functions are listed in /proc/kallsyms (type t or T)".to_string()
                } else {
                    format!("similar kernel functions: {}", near.join(", "))
                },
            )
            .labeled("matches nothing"));
        }
        let ret = self.ret;
        Ok(found
            .into_iter()
            .map(|(module, f)| {
                let func = match module {
                    Some(m) if spec.module.is_some() => format!("{m}:{f}"),
                    _ => f.clone(),
                };
                let name = if spec.offset > 0 {
                    format!("{func}+{}", spec.offset)
                } else {
                    func.clone()
                };
                Point {
                    provider: kind,
                    display: format!("{kind}:{name}"),
                    tag: kind,
                    target: Target::Kprobe {
                        func,
                        offset: spec.offset,
                        ret,
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
                        func: Some(f.clone()),
                        space: AddrSpace::Kernel,
                        args_complete: false,
                    },
                }
            })
            .collect())
    }

    fn note(&self, rest: &str, points: &[Point], host: &dyn Host) -> Option<String> {
        if points.is_empty()
            || !points
                .iter()
                .all(|p| matches!(p.target, Target::Tracepoint { .. }))
        {
            return None;
        }
        let why = match host.check(KernelFeature::Kprobes) {
            Err(checked) => format!("this kernel has no kprobes (CONFIG_KPROBES; {checked})"),
            Ok(()) => format!(
                "no kernel function matches `{rest}` (syscall entry points are named {}* since Linux 4.17)",
                arch::SYSCALL_PREFIX
            ),
        };
        let n = points.len();
        Some(format!(
            "{}:{rest} runs on {n} syscall tracepoint{}: {why}",
            self.name(),
            if n == 1 { "" } else { "s" }
        ))
    }
}

/// Up to five function names that share the longest prefix (at least 3 characters)
/// with the pattern's text before any wildcard, shortest first.
fn near_names<'a>(pattern: &str, functions: &'a [crate::host::KernelFunc]) -> Vec<&'a str> {
    let stem = pattern.split(['*', '?']).next().unwrap_or_default();
    let common = |f: &str| {
        stem.bytes()
            .zip(f.bytes())
            .take_while(|(a, b)| a == b)
            .count()
    };
    let best = functions.iter().map(|(_, f)| common(f)).max().unwrap_or(0);
    if best < 3 {
        return Vec::new();
    }
    let mut near: Vec<&str> = functions
        .iter()
        .map(|(_, f)| f.as_str())
        .filter(|f| common(f) == best)
        .collect();
    near.sort_by_key(|f| (f.len(), *f));
    near.dedup();
    near.truncate(5);
    near
}

impl Kprobe {
    /// The points of syscalls matching `calls` (a pattern over syscall names), on the
    /// syscall tracepoints.
    fn syscalls(
        &self,
        calls: &str,
        pattern: &str,
        host: &dyn Host,
    ) -> Result<Vec<Point>, SpecError> {
        let kind = self.name();
        let dir = if self.ret { "sys_exit_" } else { "sys_enter_" };
        let mut points = Vec::new();
        for (_, name) in host
            .tracepoints()
            .into_iter()
            .filter(|(c, _)| c == "syscalls")
        {
            let Some(call) = name.strip_prefix(dir) else {
                continue;
            };
            if !super::wildcard_match(calls, call) {
                continue;
            }
            let Some(format) = host.tracepoint_format("syscalls", &name) else {
                continue;
            };
            let func = format!("{}{call}", arch::SYSCALL_PREFIX);
            // Entry: the fields after `__syscall_nr` are the arguments, 8 bytes each;
            // the record holds no more, so later ones read as 0. Exit: `ret`.
            let (args, retval) = if self.ret {
                let ret = format.fields.iter().find(|f| f.name == "ret");
                (
                    Vec::new(),
                    ret.map(|f| Access::Ctx {
                        off: f.offset,
                        size: 8,
                    }),
                )
            } else {
                let mut args: Vec<Access> = format
                    .fields
                    .iter()
                    .filter(|f| f.name != "__syscall_nr")
                    .take(6)
                    .map(|f| Access::Ctx {
                        off: f.offset,
                        size: 8,
                    })
                    .collect();
                args.resize(6, Access::Zero);
                (args, None)
            };
            points.push(Point {
                provider: "tracepoint",
                display: format!("{kind}:{func}"),
                tag: "tp",
                context: Context {
                    fields: None,
                    args,
                    retval,
                    func: Some(func),
                    space: AddrSpace::User,
                    args_complete: false,
                },
                target: Target::Tracepoint {
                    category: "syscalls".into(),
                    name,
                },
            });
        }
        if points.is_empty() {
            return Err(SpecError::new(
                "E0201",
                format!("no syscall matches `{pattern}`"),
                "syscalls are listed under /sys/kernel/tracing/events/syscalls/ (sys_enter_NAME)",
            )
            .labeled("matches nothing"));
        }
        Ok(points)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fake::Fake;

    #[test]
    fn specs() {
        let s = parse("ext4:ext4_file_open").unwrap();
        assert_eq!(s.module.as_deref(), Some("ext4"));
        assert_eq!(parse("vfs_read+0x10").unwrap().offset, 16);
        assert!(parse("vfs_*+4").is_err());
        assert!(parse("a:b:c").is_err());
        assert!(parse("").is_err());
        assert!(parse("x/y").is_err());
        assert_eq!(syscall_pattern("SyS_*"), Some("*"));
        assert_eq!(syscall_pattern("__x64_sys_read"), Some("read"));
        assert_eq!(syscall_pattern("vfs_read"), None);
    }

    #[test]
    fn functions_and_syscalls() {
        let k = Kprobe { ret: false };
        let p = k.expand("kprobe:vfs_*", "vfs_*", &Fake).unwrap();
        let names: Vec<_> = p.iter().map(|p| p.display.as_str()).collect();
        assert_eq!(names, ["kprobe:vfs_read", "kprobe:vfs_write"]);
        assert_eq!(p[0].context.args[0], Access::Ctx { off: 112, size: 8 });
        assert!(p[0].target.has_pt_regs());
        let m = k.expand("k:ext4:ext4_*", "ext4:ext4_*", &Fake).unwrap();
        assert_eq!(
            m[0].target,
            Target::Kprobe {
                func: "ext4:ext4_file_open".into(),
                offset: 0,
                ret: false
            }
        );
        assert_eq!(k.expand("k:nope", "nope", &Fake).unwrap_err().code, "E0201");
        let e = k.expand("k:vfs_readx", "vfs_readx", &Fake).unwrap_err();
        assert_eq!(e.help, "similar kernel functions: vfs_read");
        // The fake kernel has kprobes and `__x64_sys_read`: a real kprobe.
        let real = k
            .expand("k:__x64_sys_read", "__x64_sys_read", &Fake)
            .unwrap();
        assert!(matches!(real[0].target, Target::Kprobe { .. }));
        // `SyS_*` matches no function there: syscall tracepoints.
        let sc = k.expand("k:SyS_*", "SyS_*", &Fake).unwrap();
        let names: Vec<_> = sc.iter().map(|p| p.display.as_str()).collect();
        assert_eq!(names, ["kprobe:__x64_sys_openat", "kprobe:__x64_sys_read"]);
        assert_eq!(sc[1].context.func.as_deref(), Some("__x64_sys_read"));
        assert_eq!(sc[1].context.args[0], Access::Ctx { off: 16, size: 8 });
        assert_eq!(sc[1].context.args[3], Access::Zero);
        assert_eq!(sc[1].context.space, AddrSpace::User);
        let note = k.note("SyS_*", &sc, &Fake).unwrap();
        assert!(note.contains("2 syscall tracepoints"), "{note}");
        assert_eq!(k.note("vfs_*", &p, &Fake), None);
        assert_eq!(
            k.expand("k:SyS_nope", "SyS_nope", &Fake).unwrap_err().code,
            "E0201"
        );
    }
}
