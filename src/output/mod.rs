//! The one output seam: everything a run shows the user goes through [`Output`], in
//! the order it happens. [`text::Text`] prints bpftrace's text format (unchanged bytes),
//! [`json::Json`] bpftrace's newest `-f json` messages, one JSON object per line.
//!
//! In: rendered printf text, map snapshots (`lang::value`), counts. Out: bytes on the
//! writers given. Knows nothing of BPF.

pub mod folded;
pub mod json;
pub mod text;

use std::io;

use crate::diag::SourceLocation;
use crate::lang::value::{Datum, MapSnapshot};

/// Where a run's output goes.
pub trait Output {
    /// The probes are attached (`n` of them, as the user counts them).
    fn attached(&mut self, n: usize) -> io::Result<()>;
    /// The text of one `printf`.
    fn printf(&mut self, text: &[u8]) -> io::Result<()>;
    /// The joined strings of one `join()`, without the newline that ends its line.
    fn join(&mut self, text: &[u8]) -> io::Result<()> {
        let mut line = text.to_vec();
        line.push(b'\n');
        self.printf(&line)
    }
    /// The text of one `time(fmt)`: the formatted time.
    fn time(&mut self, text: &[u8]) -> io::Result<()> {
        self.printf(text)
    }
    /// One `errorf()` (`error`) or `warnf()` message, from the call at `at`.
    fn message(&mut self, error: bool, at: &SourceLocation, text: &[u8]) -> io::Result<()>;
    /// The contents of a file `cat()` read.
    fn cat(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.printf(bytes)
    }
    /// The output of a command `system()` ran.
    fn syscall(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.printf(bytes)
    }
    /// A runtime action failed (`cat()` could not open its file, a `system()` command
    /// failed): `message` says what and why.
    fn action_failed(&mut self, message: &str) -> io::Result<()>;
    /// The value of one `print(value)`.
    fn value(&mut self, v: &Datum) -> io::Result<()>;
    /// The run ends: the maps printed next are its final state.
    fn exiting(&mut self) -> io::Result<()>;
    /// One map (skipped by the caller when it has no entries).
    fn map(&mut self, map: &MapSnapshot) -> io::Result<()>;
    /// One map printed while the program runs (`print(@m)`): as at exit, without the
    /// blank line that separates the maps printed at exit.
    fn map_now(&mut self, map: &MapSnapshot) -> io::Result<()> {
        self.map(map)
    }
    /// `n` events did not reach userspace (the ring buffer was full, or a record was
    /// malformed).
    fn lost_events(&mut self, n: u64) -> io::Result<()>;
    /// Reads of memory at one place of the program failed `count` times (a bad or
    /// paged-out address): the values read as 0 or empty strings.
    fn read_failures(&mut self, f: &ReadFailures<'_>) -> io::Result<()>;
    /// `count` updates of map `map` failed because it already held `capacity` entries.
    fn map_full(&mut self, map: &str, capacity: u32, count: u64) -> io::Result<()>;
    /// The mappings of `count` processes were forgotten to bound memory (more than
    /// `kept` processes had user stacks taken): stacks of those that exited print as
    /// addresses.
    fn processes_forgotten(&mut self, count: u64, kept: usize) -> io::Result<()>;
    /// Test `index` of `names` ran (`--test`): passed or not, its output (shown when it
    /// failed).
    fn test_result(&mut self, t: &TestResult<'_>) -> io::Result<()>;
    /// Sends everything written so far on its way.
    fn flush(&mut self) -> io::Result<()>;
}

/// What failed at a place of the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// A read of memory through a pointer (`str()`, `buf()`, `*p`, `join()`).
    Read,
    /// A range loop whose range was longer than `bpf_loop` runs (it ran no iteration).
    LongRange,
    /// A stack (`kstack`, `ustack`) the kernel could not walk (it is empty).
    Stack,
}

/// Failures at one place of the program: failed memory reads, or range loops that did
/// not run.
#[derive(Clone, Copy, Debug)]
pub struct ReadFailures<'a> {
    /// What failed.
    pub kind: Failure,
    /// Line in the program (1-based; 0 when unknown).
    pub line: u32,
    /// The expression's source text (empty when unknown).
    pub expr: &'a str,
    /// How many reads failed, over all CPUs.
    pub count: u64,
}

/// One finished `test:` probe.
#[derive(Clone, Copy, Debug)]
pub struct TestResult<'a> {
    /// Every test of the run, in order.
    pub names: &'a [String],
    /// Which one this is.
    pub index: usize,
    /// How long it ran.
    pub duration: std::time::Duration,
    /// Whether each test so far passed (`passed[index]` is this one's).
    pub passed: &'a [bool],
    /// What it printed.
    pub output: &'a [u8],
}

/// An output that keeps the text of `printf`s and drops everything else (a test's
/// output, shown only when it fails).
#[derive(Default)]
pub struct Capture(pub Vec<u8>);

impl Output for Capture {
    fn attached(&mut self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn printf(&mut self, text: &[u8]) -> io::Result<()> {
        self.0.extend_from_slice(text);
        Ok(())
    }
    fn message(&mut self, error: bool, at: &SourceLocation, text: &[u8]) -> io::Result<()> {
        self.0
            .extend_from_slice(text::message_line(error, at, text).as_slice());
        Ok(())
    }
    fn action_failed(&mut self, message: &str) -> io::Result<()> {
        self.0
            .extend_from_slice(format!("ERROR: {message}\n").as_bytes());
        Ok(())
    }
    fn value(&mut self, v: &Datum) -> io::Result<()> {
        v.render(&mut self.0);
        self.0.push(b'\n');
        Ok(())
    }
    fn exiting(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn map(&mut self, _: &MapSnapshot) -> io::Result<()> {
        Ok(())
    }
    fn lost_events(&mut self, _: u64) -> io::Result<()> {
        Ok(())
    }
    fn read_failures(&mut self, _: &ReadFailures<'_>) -> io::Result<()> {
        Ok(())
    }
    fn map_full(&mut self, _: &str, _: u32, _: u64) -> io::Result<()> {
        Ok(())
    }
    fn processes_forgotten(&mut self, _: u64, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn test_result(&mut self, _: &TestResult<'_>) -> io::Result<()> {
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The output formats of `-f`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// bpftrace's text.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
    /// Text, with the maps keyed by stacks as folded stacks.
    Folded,
}

/// The renderer for `format`, writing results to `out` and warnings to `err`.
pub fn new<'a>(
    format: Format,
    out: &'a mut dyn io::Write,
    err: &'a mut dyn io::Write,
) -> Box<dyn Output + 'a> {
    match format {
        Format::Text => Box::new(text::Text::new(out, err)),
        Format::Json => Box::new(json::Json::new(out)),
        Format::Folded => Box::new(folded::Folded::new(out, err)),
    }
}
