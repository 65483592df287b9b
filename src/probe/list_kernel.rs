//! Listing for the kernel's own probe points that no provider here attaches to yet:
//! kprobe and kretprobe targets (the kernel functions the host reads from
//! `available_filter_functions`, or `/proc/kallsyms` where that is unreadable) and raw
//! tracepoints (the ones vmlinux BTF describes). The providers for these kinds call
//! these functions from their [`Provider::list`](super::Provider::list); until they
//! exist the registry does. Output as bpftrace's newest: `kprobe:vfs_read` (or
//! `kprobe:MODULE:FUNC` when the pattern names a module), `rawtracepoint:vmlinux:NAME`;
//! with `-v` the BTF prototype (`struct file * arg0`, `ssize_t retval`,
//! `struct task_struct * prev`).

use super::SpecError;
use super::list::{self, Listed, Query};
use crate::host::Host;
use crate::host::btf_names::RAW_TRACEPOINT_PREFIXES;

/// `kprobe:` targets.
pub fn kprobes(q: &Query, host: &dyn Host) -> Result<Vec<Listed>, SpecError> {
    kernel_functions(q, host, "kprobe", false)
}

/// `kretprobe:` targets.
pub fn kretprobes(q: &Query, host: &dyn Host) -> Result<Vec<Listed>, SpecError> {
    kernel_functions(q, host, "kretprobe", true)
}

/// The kernel functions `q` matches: against `MODULE:FUNC` lines when the pattern
/// names a module, else against bare names.
fn kernel_functions(
    q: &Query,
    host: &dyn Host,
    kind: &str,
    ret: bool,
) -> Result<Vec<Listed>, SpecError> {
    // Unreadable lists leave nothing to list, as bpftrace leaves them (a wildcard kind
    // still lists the others).
    let funcs = host.listed_kernel_functions().unwrap_or_default();
    let with_module = q.rest.contains(':');
    let lines = funcs.iter().map(|(m, f)| {
        if with_module {
            format!("{m}:{f}")
        } else {
            f.clone()
        }
    });
    Ok(list::matching(q.rest, lines)
        .into_iter()
        .map(|m| {
            let func = m.rsplit(':').next().unwrap_or(&m);
            let params = if q.verbose {
                kprobe_params(host, func, ret)
            } else {
                Vec::new()
            };
            Listed {
                name: format!("{kind}:{m}"),
                params,
            }
        })
        .collect())
}

/// `TYPE argN` for each integer or pointer argument of `func` (floating-point ones
/// travel in other registers), or `TYPE retval` / `void` on return.
fn kprobe_params(host: &dyn Host, func: &str, ret: bool) -> Vec<String> {
    let Some(proto) = host.kernel_prototype(func) else {
        return Vec::new();
    };
    if ret {
        return vec![match proto.ret {
            Some(t) => format!("{t} retval"),
            None => "void".into(),
        }];
    }
    proto
        .params
        .iter()
        .filter(|p| !p.float)
        .enumerate()
        .map(|(i, p)| format!("{} arg{i}", p.c_type))
        .collect()
}

/// `rawtracepoint:` points.
pub fn raw_tracepoints(q: &Query, host: &dyn Host) -> Result<Vec<Listed>, SpecError> {
    let lines = host
        .raw_tracepoints()
        .into_iter()
        .map(|(m, n)| format!("{m}:{n}"));
    Ok(list::matching(&q.with_target(), lines)
        .into_iter()
        .map(|m| {
            let name = m.split_once(':').map_or(m.as_str(), |(_, n)| n);
            let params = if q.verbose {
                raw_tracepoint_params(host, name)
            } else {
                Vec::new()
            };
            Listed {
                name: format!("rawtracepoint:{m}"),
                params,
            }
        })
        .collect())
}

/// The arguments of raw tracepoint `name` (its BTF stub's parameters after the
/// leading `void *__data`), as `TYPE NAME`.
pub fn raw_tracepoint_params(host: &dyn Host, name: &str) -> Vec<String> {
    RAW_TRACEPOINT_PREFIXES
        .iter()
        .find_map(|p| host.kernel_prototype(&format!("{p}{name}")))
        .map(|proto| {
            proto
                .params
                .iter()
                .skip(1)
                .map(|p| format!("{} {}", p.c_type, p.name))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{Param, Proto, TracepointFormat};

    struct Kernel;
    impl Host for Kernel {
        fn tracepoint_format(&self, _: &str, _: &str) -> Option<TracepointFormat> {
            None
        }
        fn tracepoints(&self) -> Vec<(String, String)> {
            Vec::new()
        }
        fn listed_kernel_functions(&self) -> Result<Vec<(String, String)>, String> {
            Ok(vec![
                ("kvm".into(), "kvm_read".into()),
                ("vmlinux".into(), "vfs_read".into()),
                ("vmlinux".into(), "vfs_write".into()),
                ("vmlinux".into(), "vfs_read.part.0".into()),
            ])
        }
        fn raw_tracepoints(&self) -> Vec<(String, String)> {
            vec![("vmlinux".into(), "sched_switch".into())]
        }
        fn kernel_prototype(&self, name: &str) -> Option<Proto> {
            let p = |t: &str, n: &str, float| Param {
                c_type: t.into(),
                name: n.into(),
                float,
            };
            match name {
                "vfs_read" => Some(Proto {
                    params: vec![p("struct file *", "file", false), p("double", "d", true)],
                    ret: Some("ssize_t".into()),
                }),
                "__probestub_sched_switch" => Some(Proto {
                    params: vec![p("void *", "__data", false), p("bool", "preempt", false)],
                    ret: None,
                }),
                _ => None,
            }
        }
    }

    fn q(rest: &str, verbose: bool) -> Query<'_> {
        Query {
            rest,
            verbose,
            pid: None,
        }
    }

    #[test]
    fn kernel_functions_with_and_without_modules() {
        let names = |r| -> Vec<String> {
            kprobes(&q(r, false), &Kernel)
                .unwrap()
                .into_iter()
                .map(|l| l.name)
                .collect()
        };
        assert_eq!(names("*_read"), ["kprobe:kvm_read", "kprobe:vfs_read"]);
        assert_eq!(
            names("vmlinux:vfs_*"),
            ["kprobe:vmlinux:vfs_read", "kprobe:vmlinux:vfs_write"]
        );
        let v = kprobes(&q("vfs_read", true), &Kernel).unwrap();
        assert_eq!(v[0].params, ["struct file * arg0"]);
        let r = kretprobes(&q("vfs_read", true), &Kernel).unwrap();
        assert_eq!(r[0].params, ["ssize_t retval"]);
    }

    #[test]
    fn raw_tracepoints_with_arguments() {
        let l = raw_tracepoints(&q("sched_*", true), &Kernel).unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].name, "rawtracepoint:vmlinux:sched_switch");
        assert_eq!(l[0].params, ["bool preempt"]);
        assert!(
            raw_tracepoints(&q("kvm:*", false), &Kernel)
                .unwrap()
                .is_empty()
        );
    }
}
