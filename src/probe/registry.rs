//! The registry: the one place a probe kind is matched. A spec's text before the first
//! `:` picks the provider; kinds scry knows of but does not implement yet get an honest
//! error, decided by asking the host whether the kernel has what they need.

use super::hardware::Hardware;
use super::interval::Interval;
use super::profile::Profile;
use super::software::Software;
use super::special::Special;
use super::tracepoint::Tracepoint;
use super::uprobe::Uprobe;
use super::usdt::Usdt;
use super::{Point, Provider, RunAt, SpecError, TailTable};
use crate::host::{Host, KernelFeature};

/// Every implemented probe type.
static PROVIDERS: &[&dyn Provider] = &[
    &Special { at: RunAt::Begin },
    &Special { at: RunAt::End },
    &Special { at: RunAt::Test },
    &Tracepoint,
    &Uprobe { ret: false },
    &Uprobe { ret: true },
    &Usdt,
    &Interval,
    &Profile,
    &Software,
    &Hardware,
];

/// A probe type of bpftrace that scry does not implement yet.
struct Planned {
    name: &'static str,
    aliases: &'static [&'static str],
    /// The kernel facility it needs, if one can be checked.
    needs: Option<KernelFeature>,
    /// What to use instead.
    instead: &'static str,
}

const PLANNED: &[Planned] = &[
    Planned {
        name: "kprobe",
        aliases: &["k"],
        needs: Some(KernelFeature::Kprobes),
        instead: "use a tracepoint (listed in /sys/kernel/tracing/available_events), e.g. `tracepoint:syscalls:sys_enter_openat`",
    },
    Planned {
        name: "kretprobe",
        aliases: &["kr"],
        needs: Some(KernelFeature::Kprobes),
        instead: "use a tracepoint, e.g. `tracepoint:syscalls:sys_exit_*` for syscall returns",
    },
    Planned {
        name: "rawtracepoint",
        aliases: &["rt"],
        needs: None,
        instead: "use `tracepoint:CATEGORY:NAME`",
    },
    Planned {
        name: "fentry",
        aliases: &["f", "kfunc"],
        needs: None,
        instead: "use a tracepoint",
    },
    Planned {
        name: "fexit",
        aliases: &["fr", "kretfunc"],
        needs: None,
        instead: "use a tracepoint",
    },
    Planned {
        name: "watchpoint",
        aliases: &["w"],
        needs: None,
        instead: "use a uprobe on the code that writes the variable",
    },
    Planned {
        name: "asyncwatchpoint",
        aliases: &["aw"],
        needs: None,
        instead: "use a uprobe on the code that writes the variable",
    },
    Planned {
        name: "iter",
        aliases: &["it"],
        needs: None,
        instead: "read /proc, or trace the events that change what you want to list",
    },
];

/// Every implemented provider, in registry order.
pub fn providers() -> &'static [&'static dyn Provider] {
    PROVIDERS
}

/// The implemented provider named (or aliased) `kind`.
pub fn provider(kind: &str) -> Option<&'static dyn Provider> {
    PROVIDERS
        .iter()
        .copied()
        .find(|p| p.name() == kind || p.aliases().contains(&kind))
}

/// Expands one spec as written (e.g. `t:syscalls:sys_enter_*`) into attach points.
pub fn resolve(text: &str, host: &dyn Host) -> Result<Vec<Point>, SpecError> {
    let (kind, rest) = text.split_once(':').unwrap_or((text, ""));
    if let Some(p) = provider(kind) {
        return p.expand(text, rest, host);
    }
    if let Some(p) = PLANNED
        .iter()
        .find(|p| p.name == kind || p.aliases.contains(&kind))
    {
        let name = p.name;
        if let Some(feature) = p.needs
            && let Err(checked) = host.check(feature)
        {
            return Err(SpecError::new(
                "E0204",
                format!("this kernel lacks what `{name}` probes need (checked: {checked})"),
                p.instead,
            ));
        }
        return Err(SpecError::new(
            "E0207",
            format!("scry does not implement `{name}` probes yet"),
            p.instead,
        ));
    }
    let known: Vec<String> = PROVIDERS
        .iter()
        .map(|p| match p.aliases() {
            [] => p.name().to_string(),
            a => format!("{} ({})", p.name(), a.join(", ")),
        })
        .collect();
    Err(SpecError::new(
        "E0200",
        format!("unknown probe type `{kind}`"),
        format!("known probe types: {}", known.join(", ")),
    ))
}

/// Lets each provider rewrite its points of the whole program (see [`Provider::plan`]);
/// returns the program arrays the rewritten points use.
pub fn plan(points: &mut [Point]) -> Vec<TailTable> {
    let mut tables = Vec::new();
    for p in PROVIDERS {
        let mut mine: Vec<&mut Point> = points
            .iter_mut()
            .filter(|q| q.provider == p.name())
            .collect();
        if !mine.is_empty() {
            p.plan(&mut mine, &mut tables);
        }
    }
    tables
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fake::Fake;

    /// A host whose kernel lacks kprobes and a PMU.
    struct Bare;
    impl Host for Bare {
        fn check(&self, f: KernelFeature) -> Result<(), String> {
            Err(format!("{f:?} missing"))
        }
        fn tracepoint_format(&self, _: &str, _: &str) -> Option<crate::host::TracepointFormat> {
            None
        }
        fn tracepoints(&self) -> Vec<(String, String)> {
            Vec::new()
        }
    }

    #[test]
    fn kinds_and_honest_errors() {
        assert_eq!(resolve("BEGIN", &Fake).unwrap()[0].display, "BEGIN");
        assert_eq!(resolve("end", &Fake).unwrap()[0].display, "END");
        assert_eq!(resolve("bogus:x", &Fake).unwrap_err().code, "E0200");
        // Implemented nowhere yet, but the kernel has what it needs: scry's gap.
        let e = resolve("kprobe:do_sys_open", &Fake).unwrap_err();
        assert_eq!(e.code, "E0207");
        assert!(e.message.contains("does not implement"), "{}", e.message);
        // The kernel lacks it: say so, with what was checked.
        let e = resolve("k:do_sys_open", &Bare).unwrap_err();
        assert_eq!(e.code, "E0204");
        assert!(e.message.contains("Kprobes missing"), "{}", e.message);
        assert_eq!(resolve("rt:sched_switch", &Bare).unwrap_err().code, "E0207");
        let e = resolve("hardware:cycles", &Bare).unwrap_err();
        assert_eq!(e.code, "E0204");
        assert!(resolve("h:cycles:1000", &Fake).is_ok());
        assert_eq!(resolve("software:nope", &Fake).unwrap_err().code, "E0208");
        assert_eq!(resolve("profile:hz:0", &Fake).unwrap_err().code, "E0203");
    }
}
