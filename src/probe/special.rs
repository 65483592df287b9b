//! `BEGIN` and `END` (also `begin`/`end`): run once, through `BPF_PROG_TEST_RUN`, after
//! everything is attached and before the maps are printed. `test:NAME`: run once each
//! in test mode (`--test`), a test that passes when the probe returns 0.

use super::list::{Listed, Query};
use super::{Context, Point, Provider, RunAt, SpecError, Target};
use crate::host::Host;

/// `BEGIN` or `END`.
pub struct Special {
    /// When it runs.
    pub at: RunAt,
}

impl Provider for Special {
    fn name(&self) -> &'static str {
        match self.at {
            RunAt::Begin => "BEGIN",
            RunAt::End => "END",
            RunAt::Test => "test",
        }
    }

    fn aliases(&self) -> &'static [&'static str] {
        match self.at {
            RunAt::Begin => &["begin"],
            RunAt::End => &["end"],
            RunAt::Test => &[],
        }
    }

    fn list(&self, q: &Query, _host: &dyn Host) -> Result<Vec<Listed>, SpecError> {
        // `-l BEGIN:` lists the probe itself (bpftrace prints `special::`); tests
        // are the program's own.
        let listed = self.at != RunAt::Test && super::wildcard_match(q.rest, "");
        Ok(listed
            .then(|| Listed::new(self.name().to_string()))
            .into_iter()
            .collect())
    }

    fn expand(&self, text: &str, rest: &str, _host: &dyn Host) -> Result<Vec<Point>, SpecError> {
        if self.at == RunAt::Test {
            let ok = !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !ok {
                return Err(SpecError::new(
                    "E0202",
                    format!("malformed test probe `{text}`"),
                    "name the test: `test:NAME` with letters, digits, `_` or `-`",
                ));
            }
            return Ok(vec![Point {
                provider: "test",
                display: format!("test:{rest}"),
                tag: "test",
                target: Target::TestRun(RunAt::Test),
                context: Context::default(),
            }]);
        }
        if !rest.is_empty() {
            return Err(SpecError::new(
                "E0202",
                format!("`{}` takes no arguments: `{text}`", self.name()),
                format!("write `{}`", self.name()),
            ));
        }
        let (display, tag) = match self.at {
            RunAt::Begin => ("BEGIN", "begin"),
            _ => ("END", "end"),
        };
        Ok(vec![Point {
            provider: self.name(),
            display: display.into(),
            tag,
            target: Target::TestRun(self.at),
            context: Context::default(),
        }])
    }
}
