//! `hardware:EVENT[:PERIOD]` (also `h:`): CPU performance counters on every online CPU,
//! firing every PERIOD events. Needs a hardware PMU, which virtual machines often lack:
//! the host is asked whether the event opens, so the error names what was checked.

use super::list::{self, Listed, Query, Scope};
use super::perf::{self, Event};
use super::{Context, Cpus, Point, Provider, Sample, SpecError, Target};
use crate::host::{Host, KernelFeature};

/// Name, alias, `PERF_COUNT_HW_*`, default period (bpftrace's).
const EVENTS: &[Event] = &[
    ("backend-stalls", "", 8, 1_000_000),
    ("branch-instructions", "branches", 4, 100_000),
    ("branch-misses", "", 5, 100_000),
    ("bus-cycles", "", 6, 100_000),
    ("cache-misses", "", 3, 1_000_000),
    ("cache-references", "", 2, 1_000_000),
    ("cpu-cycles", "cycles", 0, 1_000_000),
    ("frontend-stalls", "", 7, 1_000_000),
    ("instructions", "", 1, 1_000_000),
    ("ref-cycles", "", 9, 1_000_000),
];

/// The `hardware` provider.
pub struct Hardware;

impl Provider for Hardware {
    fn name(&self) -> &'static str {
        "hardware"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["h"]
    }

    fn list(&self, q: &Query, _host: &dyn Host) -> Result<Vec<Listed>, SpecError> {
        let items: Vec<(&str, &str)> = EVENTS.iter().map(|e| (e.0, e.1)).collect();
        Ok(list::list_names("hardware", q.rest, &items))
    }

    fn list_scope(&self) -> Scope {
        Scope::Kernel
    }

    fn expand(&self, text: &str, rest: &str, host: &dyn Host) -> Result<Vec<Point>, SpecError> {
        let (name, config, period) = perf::parse_event("hardware", text, rest, EVENTS)?;
        let type_ = perf::TYPE_HARDWARE;
        host.check(KernelFeature::PerfEvent { type_, config })
            .map_err(|checked| {
                SpecError::new(
                    "E0204",
                    format!(
                        "this machine has no hardware performance counter for `{name}` (checked: {checked})"
                    ),
                    "virtual machines often expose no PMU; `software:cpu-clock` or `profile:hz:99` sample without one",
                )
            })?;
        Ok(vec![Point {
            provider: "hardware",
            display: text.to_string(),
            tag: "hw",
            target: Target::PerfEvent {
                type_,
                config,
                sample: Sample::Period(period),
                cpus: Cpus::All,
                follow_pid: true,
            },
            context: Context::default(),
        }])
    }
}
