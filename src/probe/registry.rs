//! The registry: the one place a probe kind is matched. A spec's text before the first
//! `:` picks the provider; kinds scry knows of but does not implement yet get an honest
//! error, decided by asking the host whether the kernel has what they need.

use super::fentry::Fentry;
use super::hardware::Hardware;
use super::interval::Interval;
use super::kprobe::Kprobe;
use super::list::{self, Kind, ListFn, Lister, Scope};
use super::profile::Profile;
use super::rawtracepoint::RawTracepoint;
use super::software::Software;
use super::special::Special;
use super::tracepoint::Tracepoint;
use super::uprobe::Uprobe;
use super::usdt::Usdt;
use super::watchpoint::Watchpoint;
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
    &Kprobe { ret: false },
    &Kprobe { ret: true },
    &RawTracepoint,
    &Fentry { ret: false },
    &Fentry { ret: true },
    &Watchpoint,
];

/// A probe type of bpftrace that scry does not implement yet.
struct Planned {
    name: &'static str,
    aliases: &'static [&'static str],
    /// The kernel facility it needs, if one can be checked.
    needs: Option<KernelFeature>,
    /// What to use instead.
    instead: &'static str,
    /// Which wildcard kinds list it, and how (`-l`), until its provider does.
    scope: Scope,
    list: Option<ListFn>,
}

const PLANNED: &[Planned] = &[
    Planned {
        name: "asyncwatchpoint",
        aliases: &["aw"],
        needs: None,
        instead: "use a uprobe on the code that writes the variable",
        scope: Scope::Named,
        list: None,
    },
    Planned {
        name: "iter",
        aliases: &["it"],
        needs: None,
        instead: "read /proc, or trace the events that change what you want to list",
        scope: Scope::Kernel,
        list: None,
    },
];

/// Every implemented provider, in registry order.
pub fn providers() -> &'static [&'static dyn Provider] {
    PROVIDERS
}

/// Every kind `-l` knows: the providers and the kinds still planned.
pub fn listable() -> Vec<Kind> {
    let providers = PROVIDERS.iter().map(|&p| Kind {
        name: p.name(),
        aliases: p.aliases(),
        scope: p.list_scope(),
        list: Some(Lister::Provider(p)),
    });
    let planned = PLANNED.iter().map(|p| Kind {
        name: p.name,
        aliases: p.aliases,
        scope: p.scope,
        list: p.list.map(Lister::Fn),
    });
    providers.chain(planned).collect()
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
    Err(list::unknown_kind(kind, &listable()))
}

/// The note the provider of spec `text` has about how its `points` are served (see
/// [`Provider::note`]).
pub fn note(text: &str, points: &[Point], host: &dyn Host) -> Option<String> {
    let (kind, rest) = text.split_once(':').unwrap_or((text, ""));
    provider(kind)?.note(rest, points, host)
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
        let e = resolve("iter:task", &Fake).unwrap_err();
        assert_eq!(e.code, "E0207");
        assert!(e.message.contains("does not implement"), "{}", e.message);
        // The kernel lacks it: say so, with what was checked.
        let e = resolve("U:/bin/sh:x", &Bare).unwrap_err();
        assert_eq!(e.code, "E0204");
        assert!(e.message.contains("Uprobes missing"), "{}", e.message);
        let e = resolve("fentry:vfs_read", &Bare).unwrap_err();
        assert_eq!(e.code, "E0204");
        assert!(e.message.contains("Fentry missing"), "{}", e.message);
        assert_eq!(resolve("rt:sched_switch", &Fake).unwrap().len(), 1);
        assert_eq!(resolve("kr:vfs_read", &Fake).unwrap().len(), 1);
        assert_eq!(resolve("kfunc:vfs_read", &Fake).unwrap().len(), 1);
        assert_eq!(resolve("w:0x1000:8:w", &Bare).unwrap_err().code, "E0204");
        let e = resolve("hardware:cycles", &Bare).unwrap_err();
        assert_eq!(e.code, "E0204");
        assert!(resolve("h:cycles:1000", &Fake).is_ok());
        assert_eq!(resolve("software:nope", &Fake).unwrap_err().code, "E0208");
        assert_eq!(resolve("profile:hz:0", &Fake).unwrap_err().code, "E0203");
    }
}
