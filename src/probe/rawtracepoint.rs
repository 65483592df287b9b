//! Raw tracepoints: `rawtracepoint:[MODULE:]EVENT` (also `rt:`), EVENT a wildcard over
//! the events vmlinux BTF declares (`btf_trace_EVENT`). The context is the
//! tracepoint's arguments as 64-bit slots (`bpf_raw_tracepoint_args`): `arg0`… each
//! slot, and `args.NAME` typed by the prototype BTF gives the event (`args.prev` of
//! `sched_switch` is a `struct task_struct *`, `args.id` of `sys_enter` a `long`).
//! Pointers point into kernel memory.

use super::{Access, AddrSpace, Context, Field, Point, Provider, SpecError, Target};
use crate::host::{BtfParam, Host};

/// The `rawtracepoint` provider.
pub struct RawTracepoint;

/// The context of a function whose parameters are 64-bit slots of the context
/// (raw tracepoints and BTF trampolines): `args.NAME` fields and `arg0`…`arg5`.
pub fn slot_context(params: &[BtfParam]) -> (Vec<Field>, Vec<Access>) {
    let mut fields = Vec::new();
    let mut args = Vec::new();
    let mut slot = 0u32;
    for p in params {
        let size = if matches!(p.size, 1 | 2 | 4 | 8) {
            p.size
        } else {
            8
        };
        let access = Access::Ctx {
            off: slot * 8,
            size,
        };
        if !p.name.is_empty() {
            fields.push(Field {
                name: p.name.clone(),
                c_type: p.c_type.clone(),
                size: p.size,
                signed: p.signed,
                access,
            });
        }
        if args.len() < 6 {
            args.push(Access::Ctx {
                off: slot * 8,
                size: 8,
            });
        }
        // A structure passed by value takes as many slots as it has 8-byte words.
        slot += p.size.div_ceil(8).max(1);
    }
    (fields, args)
}

impl Provider for RawTracepoint {
    fn name(&self) -> &'static str {
        "rawtracepoint"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["rt"]
    }

    fn list(
        &self,
        query: &super::list::Query,
        host: &dyn Host,
    ) -> Result<Vec<super::list::Listed>, SpecError> {
        super::list_kernel::raw_tracepoints(query, host)
    }

    fn list_scope(&self) -> super::list::Scope {
        super::list::Scope::Kernel
    }

    fn expand(&self, text: &str, rest: &str, host: &dyn Host) -> Result<Vec<Point>, SpecError> {
        let (module, event) = match rest.split_once(':') {
            Some((m, e)) => (Some(m), e),
            None => (None, rest),
        };
        if event.is_empty() || event.contains(':') || module.is_some_and(str::is_empty) {
            return Err(SpecError::new(
                "E0202",
                format!("malformed raw tracepoint `{text}`"),
                "write `rawtracepoint:EVENT`, e.g. `rawtracepoint:sched_switch`",
            ));
        }
        let btf = host.btf();
        let events: Vec<String> = if super::has_wildcard(event) {
            btf.map(|b| b.tracepoints())
                .unwrap_or_default()
                .into_iter()
                .filter(|e| super::wildcard_match(event, e))
                .collect()
        } else {
            let known = btf.is_some_and(|b| b.tracepoint(event).is_some())
                || host.tracepoints().iter().any(|(_, n)| n == event);
            if known {
                vec![event.to_string()]
            } else {
                Vec::new()
            }
        };
        if events.is_empty() {
            return Err(SpecError::new(
                "E0201",
                format!("no raw tracepoint matches `{event}`"),
                "raw tracepoints are the tracepoints' event names (`sched_switch`, `sys_enter`); vmlinux BTF declares each as `btf_trace_NAME`",
            )
            .labeled("matches nothing"));
        }
        Ok(events
            .into_iter()
            .map(|e| {
                let params = btf.and_then(|b| b.tracepoint(&e));
                let (fields, args) = params.as_deref().map(slot_context).unzip();
                Point {
                    provider: "rawtracepoint",
                    display: match module {
                        Some(m) => format!("rawtracepoint:{m}:{e}"),
                        None => format!("rawtracepoint:{e}"),
                    },
                    tag: "rawtp",
                    context: Context {
                        fields,
                        args: args.unwrap_or_default(),
                        retval: None,
                        func: None,
                        space: AddrSpace::Kernel,
                        args_complete: false,
                    },
                    target: Target::RawTracepoint { name: e },
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fake::Fake;

    #[test]
    fn btf_typed_arguments() {
        let p = RawTracepoint
            .expand("rt:sys_enter", "sys_enter", &Fake)
            .unwrap();
        assert_eq!(p[0].display, "rawtracepoint:sys_enter");
        let fields = p[0].context.fields.as_ref().unwrap();
        assert_eq!(fields[1].name, "id");
        assert_eq!(fields[1].access, Access::Ctx { off: 8, size: 8 });
        assert!(fields[1].signed);
        assert_eq!(fields[0].c_type, "struct pt_regs *");
        assert_eq!(p[0].context.args.len(), 2);
        let s = RawTracepoint
            .expand("rt:sched_*", "sched_*", &Fake)
            .unwrap();
        let f = s[0].context.fields.as_ref().unwrap();
        let names: Vec<_> = f.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["preempt", "prev", "next", "prev_state"]);
        assert_eq!(f[0].access, Access::Ctx { off: 0, size: 1 });
        assert_eq!(f[3].access, Access::Ctx { off: 24, size: 4 });
        let m = RawTracepoint
            .expand("rt:vmlinux:sys_enter", "vmlinux:sys_enter", &Fake)
            .unwrap();
        assert_eq!(
            m[0].target,
            Target::RawTracepoint {
                name: "sys_enter".into()
            }
        );
        let e = RawTracepoint.expand("rt:nope", "nope", &Fake).unwrap_err();
        assert_eq!(e.code, "E0201");
        assert_eq!(
            RawTracepoint.expand("rt:", "", &Fake).unwrap_err().code,
            "E0202"
        );
    }
}
