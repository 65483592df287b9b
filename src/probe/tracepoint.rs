//! Tracepoints: `tracepoint:CATEGORY:NAME` (also `t:`, ply's `tracepoint:cat/name`),
//! wildcards in either part. Fields (`args.NAME`) come from the tracepoint's `format`
//! file through the host.
//!
//! The plan: when eight or more `syscalls:sys_enter_*` (or `sys_exit_*`) points name
//! distinct syscalls, each is served from the `raw_syscalls` raw tracepoint instead: its
//! program sits in a program array at its syscall number, and one dispatcher per
//! direction tail-calls it. Detaching hundreds of classic tracepoints costs the kernel
//! ~75 ms each; two raw tracepoints cost ~0.1 ms. The served program's context is then
//! `bpf_raw_tracepoint_args` (`regs`, `id`/`ret`), so its fields are re-described as
//! reads of the saved registers.

use std::collections::HashMap;

use super::arch::x86_64 as arch;
use super::list::{self, Listed, Query, Scope};
use super::suggest;
use super::{
    Access, AddrSpace, Context, Dispatch, Field, Point, Provider, SpecError, TailTable, Target,
};
use crate::host::Host;

/// Syscall tracepoints of one direction from which a `raw_syscalls` dispatcher serves
/// them: below this, classic tracepoints (no cost for other syscalls) win; above it,
/// their serial ~75 ms detach each dominates.
pub const RAW_SYSCALLS_MIN: usize = 8;

/// The `tracepoint` provider.
pub struct Tracepoint;

impl Provider for Tracepoint {
    fn name(&self) -> &'static str {
        "tracepoint"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["t"]
    }

    fn expand(&self, text: &str, rest: &str, host: &dyn Host) -> Result<Vec<Point>, SpecError> {
        let (category, name) = rest
            .split_once(':')
            .or_else(|| rest.split_once('/'))
            .filter(|(c, n)| !c.is_empty() && !n.is_empty() && !n.contains(':'))
            .ok_or_else(|| {
                SpecError::new(
                    "E0202",
                    format!("malformed tracepoint `{text}`"),
                    "write `tracepoint:CATEGORY:NAME`, e.g. `tracepoint:syscalls:sys_enter_openat`",
                )
            })?;
        let names: Vec<(String, String)> =
            if super::has_wildcard(category) || super::has_wildcard(name) {
                host.tracepoints()
                    .into_iter()
                    .filter(|(c, n)| {
                        super::wildcard_match(category, c) && super::wildcard_match(name, n)
                    })
                    .collect()
            } else {
                vec![(category.to_string(), name.to_string())]
            };
        if names.is_empty() {
            return Err(SpecError::new(
                "E0201",
                format!("no tracepoint matches `{category}:{name}`"),
                "tracepoints are listed under /sys/kernel/tracing/events/",
            )
            .labeled("matches nothing"));
        }
        let mut points = Vec::new();
        for (c, n) in names {
            let Some(format) = host.tracepoint_format(&c, &n) else {
                let all: Vec<String> = host
                    .tracepoints()
                    .into_iter()
                    .map(|(c, n)| format!("{c}:{n}"))
                    .collect();
                let wanted = format!("{c}:{n}");
                let near = suggest::near(&wanted, all.iter().map(String::as_str), 3);
                let help = match suggest::did_you_mean(&near) {
                    Some(d) => format!("{d} (`scry -l 'tracepoint:{c}:*'` lists `{c}`)"),
                    None if all.iter().any(|t| t.starts_with(&format!("{c}:"))) => format!(
                        "`{c}` has no `{n}`; `scry -l 'tracepoint:{c}:*'` lists what it has"
                    ),
                    None => format!(
                        "there is no category `{c}`; `scry -l 'tracepoint:*'` lists every tracepoint"
                    ),
                };
                return Err(
                    SpecError::new("E0201", format!("unknown tracepoint `{c}:{n}`"), help)
                        .labeled("no such tracepoint"),
                );
            };
            let fields = format
                .fields
                .into_iter()
                .map(|f| Field {
                    access: Access::Ctx {
                        off: f.offset,
                        size: f.size,
                    },
                    name: f.name,
                    c_type: f.c_type,
                    size: f.size,
                    signed: f.signed,
                })
                .collect();
            points.push(Point {
                provider: "tracepoint",
                display: format!("tracepoint:{c}:{n}"),
                tag: "tp",
                // Syscall arguments are the caller's pointers.
                context: Context {
                    fields: Some(fields),
                    space: if c == "syscalls" {
                        AddrSpace::User
                    } else {
                        AddrSpace::Kernel
                    },
                    ..Context::default()
                },
                target: Target::Tracepoint {
                    category: c,
                    name: n,
                },
            });
        }
        Ok(points)
    }

    fn list(&self, q: &Query, host: &dyn Host) -> Result<Vec<Listed>, SpecError> {
        // ply's `cat/name` reads as `cat:name`.
        let rest = if q.rest.contains(':') {
            q.rest.to_string()
        } else {
            q.rest.replacen('/', ":", 1)
        };
        let search = Query { rest: &rest, ..*q }.with_target();
        let all = host
            .tracepoints()
            .into_iter()
            .map(|(c, n)| format!("{c}:{n}"));
        Ok(list::matching(&search, all)
            .into_iter()
            .map(|m| {
                let params = match m.split_once(':') {
                    Some((c, n)) if q.verbose => host
                        .tracepoint_format(c, n)
                        .map(|f| f.fields.into_iter().map(|f| f.decl).collect())
                        .unwrap_or_default(),
                    _ => Vec::new(),
                };
                Listed {
                    name: format!("tracepoint:{m}"),
                    params,
                }
            })
            .collect())
    }

    fn list_scope(&self) -> Scope {
        Scope::Kernel
    }

    fn plan(&self, points: &mut [&mut Point], tables: &mut Vec<TailTable>) {
        // A syscall probed more than once stays a classic tracepoint: a slot of the
        // program array holds one program.
        let mut seen: HashMap<(bool, u32), usize> = HashMap::new();
        for p in points.iter() {
            if let Some(k) = syscall(p) {
                *seen.entry(k).or_default() += 1;
            }
        }
        for enter in [true, false] {
            let served: Vec<usize> = (0..points.len())
                .filter(|&i| syscall(points[i]).is_some_and(|k| k.0 == enter && seen[&k] == 1))
                .collect();
            if served.len() < RAW_SYSCALLS_MIN {
                continue;
            }
            let table = tables.len();
            tables.push(TailTable {
                name: if enter { "tails_enter" } else { "tails_exit" }.into(),
                size: arch::limit(),
                tracepoint: if enter { "sys_enter" } else { "sys_exit" }.into(),
                dispatch: Dispatch::Syscall { enter },
            });
            for i in served {
                let p = &mut *points[i];
                let (_, nr) = syscall(p).expect("filtered above");
                p.target = Target::TailSlot { table, key: nr };
                p.tag = "sc";
                for f in p.context.fields.iter_mut().flatten() {
                    f.access = raw_syscall_access(enter, &f.access);
                }
                // Syscall kprobes served here read their arguments as arg0… (and
                // retval).
                let ctx = &mut p.context;
                for a in ctx.args.iter_mut().chain(ctx.retval.iter_mut()) {
                    *a = raw_syscall_access(enter, a);
                }
            }
        }
    }
}

/// `(entry, syscall number)` when `p` is `syscalls:sys_enter_*` or `sys_exit_*` of a
/// known syscall.
fn syscall(p: &Point) -> Option<(bool, u32)> {
    let Target::Tracepoint { category, name } = &p.target else {
        return None;
    };
    if category != "syscalls" {
        return None;
    }
    let (enter, call) = match name.strip_prefix("sys_enter_") {
        Some(call) => (true, call),
        None => (false, name.strip_prefix("sys_exit_")?),
    };
    Some((enter, arch::number(call)?))
}

/// Where a syscall tracepoint field lives in a `raw_syscalls` context: `__syscall_nr`
/// at 8, then the arguments in 8-byte slots (entry), or `ret` at 16 (exit). The entry
/// number and the return value are `ctx->args[1]`; the rest are registers saved in the
/// `pt_regs` that `ctx->args[0]` points to.
fn raw_syscall_access(enter: bool, access: &Access) -> Access {
    let Access::Ctx { off, .. } = *access else {
        return *access;
    };
    let direct = if enter { off == 8 } else { off == 16 };
    if direct {
        return Access::Ctx { off: 8, size: 8 };
    }
    let reg = if off == 8 {
        arch::ORIG_AX
    } else {
        arch::SYSCALL_ARGS[(off.saturating_sub(16) / 8) as usize % 6]
    };
    Access::CtxPtr {
        ptr: 0,
        off: reg,
        size: 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fake::Fake;

    #[test]
    fn expands_wildcards_and_reads_fields() {
        let points = Tracepoint
            .expand("t:syscalls:sys_enter_*", "syscalls:sys_enter_*", &Fake)
            .unwrap();
        let names: Vec<&str> = points.iter().map(|p| p.display.as_str()).collect();
        assert_eq!(
            names,
            [
                "tracepoint:syscalls:sys_enter_openat",
                "tracepoint:syscalls:sys_enter_read"
            ]
        );
        let read = &points[1];
        assert_eq!(read.context.space, AddrSpace::User);
        let fd = &read.context.fields.as_ref().unwrap()[1];
        assert_eq!(fd.name, "fd");
        assert_eq!(fd.access, Access::Ctx { off: 16, size: 8 });
        let sched = Tracepoint
            .expand("t:sched/sched_switch", "sched/sched_switch", &Fake)
            .unwrap();
        assert_eq!(sched[0].context.space, AddrSpace::Kernel);
        assert_eq!(
            Tracepoint.expand("t:x", "x", &Fake).unwrap_err().code,
            "E0202"
        );
        assert_eq!(
            Tracepoint.expand("t:a:b", "a:b", &Fake).unwrap_err().code,
            "E0201"
        );
    }

    #[test]
    fn raw_syscall_fields() {
        let ctx = |off| Access::Ctx { off, size: 8 };
        let regs = |off| Access::CtxPtr {
            ptr: 0,
            off,
            size: 8,
        };
        assert_eq!(raw_syscall_access(true, &ctx(8)), ctx(8));
        assert_eq!(raw_syscall_access(true, &ctx(16)), regs(112));
        assert_eq!(raw_syscall_access(true, &ctx(40)), regs(56));
        assert_eq!(raw_syscall_access(false, &ctx(16)), ctx(8));
        assert_eq!(raw_syscall_access(false, &ctx(8)), regs(120));
    }
}
