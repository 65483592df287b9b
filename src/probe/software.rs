//! `software:EVENT[:PERIOD]` (also `s:`): kernel software perf events on every online
//! CPU, firing every PERIOD occurrences (bpftrace's defaults when omitted).

use super::list::{self, Listed, Query, Scope};
use super::perf::{self, Event};
use super::{Context, Cpus, Point, Provider, Sample, SpecError, Target};
use crate::host::Host;

/// Name, alias, `PERF_COUNT_SW_*`, default period (bpftrace's).
const EVENTS: &[Event] = &[
    ("alignment-faults", "", 7, 1),
    ("context-switches", "cs", 3, 1000),
    ("cpu-clock", "cpu", 0, 1_000_000),
    ("cpu-migrations", "", 4, 1),
    ("dummy", "", 9, 1),
    ("emulation-faults", "", 8, 1),
    ("major-faults", "", 6, 1),
    ("minor-faults", "", 5, 100),
    ("page-faults", "faults", 2, 100),
    ("task-clock", "", 1, 1),
];

/// The `software` provider.
pub struct Software;

impl Provider for Software {
    fn name(&self) -> &'static str {
        "software"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["s"]
    }

    fn list(&self, q: &Query, _host: &dyn Host) -> Result<Vec<Listed>, SpecError> {
        let items: Vec<(&str, &str)> = EVENTS.iter().map(|e| (e.0, e.1)).collect();
        Ok(list::list_names("software", q.rest, &items))
    }

    fn list_scope(&self) -> Scope {
        Scope::Kernel
    }

    fn expand(&self, text: &str, rest: &str, _host: &dyn Host) -> Result<Vec<Point>, SpecError> {
        let (_, config, period) = perf::parse_event("software", text, rest, EVENTS)?;
        Ok(vec![Point {
            provider: "software",
            display: text.to_string(),
            tag: "sw",
            target: Target::PerfEvent {
                type_: perf::TYPE_SOFTWARE,
                config,
                sample: Sample::Period(period),
                cpus: Cpus::All,
                follow_pid: true,
            },
            context: Context::default(),
        }])
    }
}
