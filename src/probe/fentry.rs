//! BTF trampolines: `fentry:[MODULE:]FUNC` and `fexit:[MODULE:]FUNC` (also `kfunc:`/
//! `kretfunc:`, and `f:`/`fr:`), FUNC a wildcard over the functions vmlinux BTF
//! describes. The context is the function's arguments as 64-bit slots, typed by its
//! BTF prototype: `args.NAME` (and `arg0`…), `retval` after them on return, `func` the
//! function's name. The program is `BPF_PROG_TYPE_TRACING`, its section
//! `fentry/FUNC` (`fexit/FUNC`), from which libbpf finds the attach BTF id.
//!
//! Kernels without BPF trampolines refuse to load such programs: the host's check says
//! so before anything is compiled, naming the alternatives.

use super::rawtracepoint::slot_context;
use super::{Access, AddrSpace, Context, Point, Provider, SpecError, Target};
use crate::host::{Host, KernelFeature};

/// `fentry` (`ret: false`) or `fexit`.
pub struct Fentry {
    /// Fires on return.
    pub ret: bool,
}

impl Provider for Fentry {
    fn name(&self) -> &'static str {
        if self.ret { "fexit" } else { "fentry" }
    }

    fn aliases(&self) -> &'static [&'static str] {
        if self.ret {
            &["fr", "kretfunc"]
        } else {
            &["f", "kfunc"]
        }
    }

    fn expand(&self, text: &str, rest: &str, host: &dyn Host) -> Result<Vec<Point>, SpecError> {
        let kind = self.name();
        let (module, func) = match rest.split_once(':') {
            Some((m, f)) => (Some(m), f),
            None => (None, rest),
        };
        if func.is_empty() || func.contains(':') || module.is_some_and(str::is_empty) {
            return Err(SpecError::new(
                "E0202",
                format!("malformed {kind} `{text}`"),
                format!("write `{kind}:FUNCTION`, e.g. `{kind}:vfs_read`"),
            ));
        }
        if let Err(checked) = host.check(KernelFeature::Fentry) {
            return Err(SpecError::new(
                "E0204",
                format!("this kernel cannot run `{kind}` probes ({checked})"),
                "use a tracepoint (`tracepoint:CATEGORY:NAME`) or a raw tracepoint (`rawtracepoint:EVENT`, with BTF-typed `args`) instead",
            ));
        }
        let Some(btf) = host.btf() else {
            return Err(SpecError::new(
                "E0204",
                format!(
                    "`{kind}` probes need the kernel's BTF (/sys/kernel/btf/vmlinux), which this kernel lacks"
                ),
                "use a tracepoint (`tracepoint:CATEGORY:NAME`) instead",
            ));
        };
        let names: Vec<String> = if super::has_wildcard(func) {
            btf.functions()
                .into_iter()
                .filter(|f| super::wildcard_match(func, f))
                .collect()
        } else {
            vec![func.to_string()]
        };
        let mut points = Vec::new();
        for name in names {
            let Some(proto) = btf.function(&name) else {
                return Err(SpecError::new(
                    "E0201",
                    format!("vmlinux BTF describes no function `{name}`"),
                    "fentry/fexit attach to functions BTF describes; `bpftool btf dump file /sys/kernel/btf/vmlinux` lists them",
                )
                .labeled("no such function"));
            };
            let (fields, args) = slot_context(&proto.params);
            let slots: u32 = proto.params.iter().map(|p| p.size.div_ceil(8).max(1)).sum();
            let ret = self.ret;
            points.push(Point {
                provider: kind,
                display: format!("{kind}:{name}"),
                tag: kind,
                context: Context {
                    fields: Some(fields),
                    args,
                    retval: (ret && proto.ret.is_some()).then_some(Access::Ctx {
                        off: slots * 8,
                        size: 8,
                    }),
                    func: Some(name.clone()),
                    space: AddrSpace::Kernel,
                    args_complete: false,
                },
                target: Target::Btf { func: name, ret },
            });
        }
        if points.is_empty() {
            return Err(SpecError::new(
                "E0201",
                format!("no function in vmlinux BTF matches `{func}`"),
                "fentry/fexit attach to functions BTF describes",
            )
            .labeled("matches nothing"));
        }
        Ok(points)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::abi::ProgKind;
    use crate::host::fake::Fake;

    #[test]
    fn typed_arguments_and_sections() {
        let p = Fentry { ret: true }
            .expand("fexit:vfs_*", "vfs_*", &Fake)
            .unwrap();
        assert_eq!(p.len(), 1);
        let f = p[0].context.fields.as_ref().unwrap();
        let names: Vec<_> = f.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["file", "buf", "count", "pos"]);
        assert_eq!(f[2].c_type, "size_t");
        assert_eq!(p[0].context.retval, Some(Access::Ctx { off: 32, size: 8 }));
        assert_eq!(
            p[0].target.program(),
            (ProgKind::Tracing, "fexit/vfs_read".to_string())
        );
        let e = Fentry { ret: false }
            .expand("fentry:nope", "nope", &Fake)
            .unwrap_err();
        assert_eq!(e.code, "E0201");
    }
}
