//! `BEGIN` and `END` (also `begin`/`end`): run once, through `BPF_PROG_TEST_RUN`, after
//! everything is attached and before the maps are printed.

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
        }
    }

    fn aliases(&self) -> &'static [&'static str] {
        match self.at {
            RunAt::Begin => &["begin"],
            RunAt::End => &["end"],
        }
    }

    fn expand(&self, text: &str, rest: &str, _host: &dyn Host) -> Result<Vec<Point>, SpecError> {
        if !rest.is_empty() {
            return Err(SpecError::new(
                "E0202",
                format!("`{}` takes no arguments: `{text}`", self.name()),
                format!("write `{}`", self.name()),
            ));
        }
        let (display, tag) = match self.at {
            RunAt::Begin => ("BEGIN", "begin"),
            RunAt::End => ("END", "end"),
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
