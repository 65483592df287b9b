//! `profile:hz:N`, `profile:s|ms|us:N` (also `p:`): samples every online CPU, one
//! `cpu-clock` perf event per CPU, at a frequency (`hz`, the kernel adjusts the period)
//! or a fixed period. With `-p`/`-c` only that process is sampled, as bpftrace does.

use super::list::{self, Listed, Query};
use super::perf::{self, Rate};
use super::{Context, Cpus, Point, Provider, Sample, SpecError, Target};
use crate::host::Host;

/// The `profile` provider.
pub struct Profile;

impl Provider for Profile {
    fn name(&self) -> &'static str {
        "profile"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["p"]
    }

    fn list(&self, q: &Query, _host: &dyn Host) -> Result<Vec<Listed>, SpecError> {
        Ok(list::list_names("profile", q.rest, perf::UNITS))
    }

    fn expand(&self, text: &str, rest: &str, _host: &dyn Host) -> Result<Vec<Point>, SpecError> {
        let sample = match perf::parse_rate(rest) {
            Ok(Rate::PeriodNs(ns)) => Sample::Period(ns),
            Ok(Rate::Hz(hz)) => Sample::Freq(hz),
            Err(m) => {
                return Err(SpecError::new(
                    "E0203",
                    format!("invalid profile rate `{text}`: {m}"),
                    "e.g. `profile:hz:99` or `profile:ms:10`",
                ));
            }
        };
        Ok(vec![Point {
            provider: "profile",
            display: text.to_string(),
            tag: "profile",
            target: Target::PerfEvent {
                type_: perf::TYPE_SOFTWARE,
                config: perf::SW_CPU_CLOCK,
                sample,
                cpus: Cpus::All,
                follow_pid: true,
            },
            context: Context::default(),
        }])
    }
}
