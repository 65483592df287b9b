//! `interval:UNIT:N` (also `i:` and `interval:Nms`): fires on one CPU every period, for
//! periodic output. A software `cpu-clock` perf event on the first online CPU.

use super::list::{self, Listed, Query};
use super::perf::{self, Rate};
use super::{Context, Cpus, Point, Provider, Sample, SpecError, Target};
use crate::host::Host;

/// The `interval` provider.
pub struct Interval;

impl Provider for Interval {
    fn name(&self) -> &'static str {
        "interval"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["i"]
    }

    fn list(&self, q: &Query, _host: &dyn Host) -> Result<Vec<Listed>, SpecError> {
        Ok(list::list_names("interval", q.rest, perf::UNITS))
    }

    fn expand(&self, text: &str, rest: &str, _host: &dyn Host) -> Result<Vec<Point>, SpecError> {
        let period_ns = match perf::parse_rate(rest) {
            Ok(Rate::PeriodNs(ns)) => ns,
            Ok(Rate::Hz(hz)) => 1_000_000_000 / hz,
            Err(m) => {
                return Err(SpecError::new(
                    "E0203",
                    format!("invalid interval `{text}`: {m}"),
                    "e.g. `interval:s:1` or `interval:ms:100`",
                ));
            }
        };
        Ok(vec![Point {
            provider: "interval",
            display: text.to_string(),
            tag: "interval",
            target: Target::PerfEvent {
                type_: perf::TYPE_SOFTWARE,
                config: perf::SW_CPU_CLOCK,
                sample: Sample::Period(period_ns),
                cpus: Cpus::First,
                follow_pid: false,
            },
            context: Context::default(),
        }])
    }
}
