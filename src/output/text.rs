//! bpftrace's text output: `Attaching N probes...`, printf text as it comes, then the
//! maps (histograms with bars and `K`/`M` labels), lost events on the error stream.

use std::io::{self, Write};

use super::{Output, ReadFailures, TestResult};
use crate::diag::SourceLocation;
use crate::lang::agg::ValueKind;
use crate::lang::value::{MapSnapshot, Value, avg};

/// An `errorf()`/`warnf()` line as bpftrace prints it: `stdin:1:9-62: ERROR: text`, one
/// trailing newline of the text dropped, one added.
pub fn message_line(error: bool, at: &SourceLocation, text: &[u8]) -> Vec<u8> {
    let level = if error { "ERROR" } else { "WARNING" };
    let mut line = format!("{at}: {level}: ").into_bytes();
    line.extend_from_slice(text.strip_suffix(b"\n").unwrap_or(text));
    line.push(b'\n');
    line
}

/// The text renderer.
pub struct Text<'a> {
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
}

impl<'a> Text<'a> {
    /// Results to `out`, warnings to `err`.
    pub fn new(out: &'a mut dyn Write, err: &'a mut dyn Write) -> Self {
        Text { out, err }
    }
}

impl Output for Text<'_> {
    fn attached(&mut self, n: usize) -> io::Result<()> {
        writeln!(
            self.out,
            "Attaching {n} probe{}...",
            if n == 1 { "" } else { "s" }
        )?;
        self.out.flush()
    }

    fn printf(&mut self, text: &[u8]) -> io::Result<()> {
        self.out.write_all(text)
    }

    fn message(&mut self, error: bool, at: &SourceLocation, text: &[u8]) -> io::Result<()> {
        // Before the error stream, what came before it on the output.
        self.out.flush()?;
        self.err.write_all(&message_line(error, at, text))
    }

    fn action_failed(&mut self, message: &str) -> io::Result<()> {
        self.out.flush()?;
        writeln!(self.err, "ERROR: {message}")
    }

    fn exiting(&mut self) -> io::Result<()> {
        writeln!(self.out)
    }

    fn map(&mut self, map: &MapSnapshot) -> io::Result<()> {
        print_map(self.out, map)
    }

    fn value(&mut self, v: &crate::lang::value::Datum) -> io::Result<()> {
        let mut line = v.to_bytes();
        line.push(b'\n');
        self.out.write_all(&line)
    }

    fn map_now(&mut self, map: &MapSnapshot) -> io::Result<()> {
        print_entries(self.out, map)
    }

    fn lost_events(&mut self, n: u64) -> io::Result<()> {
        writeln!(self.err, "Lost {n} events")
    }

    fn processes_forgotten(&mut self, count: u64, kept: usize) -> io::Result<()> {
        writeln!(
            self.err,
            "WARNING: the mappings of {count} processes were forgotten (scry keeps those of {kept}); user stacks of the ones that exited print as addresses"
        )
    }

    fn map_full(&mut self, map: &str, capacity: u32, count: u64) -> io::Result<()> {
        let updates = if count == 1 { "update" } else { "updates" };
        writeln!(
            self.err,
            "WARNING: map {map} was full ({capacity} entries): {count} {updates} of new keys were dropped; raise the limit with --max-map-keys"
        )
    }

    fn read_failures(&mut self, f: &ReadFailures<'_>) -> io::Result<()> {
        let times = if f.count == 1 { "once" } else { "times" };
        let n = if f.count == 1 {
            String::new()
        } else {
            format!("{} ", f.count)
        };
        match f.kind {
            crate::output::Failure::Read => writeln!(
                self.err,
                "WARNING: line {}: `{}`: reading memory failed {n}{times}; the value read as 0 or an empty string",
                f.line, f.expr
            ),
            crate::output::Failure::Stack => writeln!(
                self.err,
                "WARNING: line {}: `{}`: {} could not be kept (the kernel could not walk it, its hash was another stack's, or the stack table was full: see --max-map-keys); counted as empty stacks",
                f.line,
                f.expr,
                if f.count == 1 {
                    "1 stack".to_string()
                } else {
                    format!("{} stacks", f.count)
                }
            ),
            crate::output::Failure::LongRange => writeln!(
                self.err,
                "WARNING: line {}: `{}`: the range was longer than {} values {n}{times}; the loop ran no iteration then",
                f.line,
                f.expr,
                crate::artifact::MAX_RANGE
            ),
        }
    }

    fn test_result(&mut self, t: &TestResult<'_>) -> io::Result<()> {
        let (green, red, off) = ("\x1b[32m", "\x1b[31m", "\x1b[0m");
        let plural = |n: usize| if n == 1 { "test" } else { "tests" };
        let name = &t.names[t.index];
        if t.index == 0 {
            writeln!(
                self.out,
                "{green}[==========]{off} Running {} {}.",
                t.names.len(),
                plural(t.names.len())
            )?;
        }
        writeln!(self.out, "{green}[ RUN      ]{off} {name}")?;
        // A passing test's output is suppressed; a failing one's shown.
        if t.passed[t.index] {
            write!(self.out, "{green}[       OK ]{off} {name}")?;
        } else {
            for line in t.output.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                self.out.write_all(line)?;
                writeln!(self.out)?;
            }
            write!(self.out, "{red}[  FAILED  ]{off} {name}")?;
        }
        writeln!(self.out, " ({} us)", t.duration.as_micros())?;
        if t.index + 1 == t.names.len() {
            let failed: Vec<&String> = t
                .names
                .iter()
                .zip(t.passed)
                .filter(|(_, p)| !**p)
                .map(|(n, _)| n)
                .collect();
            let passed = t.names.len() - failed.len();
            writeln!(
                self.out,
                "{green}[==========]{off} {} {} ran.",
                t.names.len(),
                plural(t.names.len())
            )?;
            writeln!(
                self.out,
                "{green}[  PASSED  ]{off} {passed} {}.",
                plural(passed)
            )?;
            if !failed.is_empty() {
                writeln!(
                    self.out,
                    "{red}[  FAILED  ]{off} {} {}, listed below:",
                    failed.len(),
                    plural(failed.len())
                )?;
                for n in failed {
                    writeln!(self.out, "{red}[  FAILED  ]{off} {n}")?;
                }
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()?;
        self.err.flush()
    }
}

/// Prints one map's entries in the snapshot's order, then (except for histograms, which
/// end in a blank line each) the blank line that follows a map printed at exit.
pub fn print_map(out: &mut dyn Write, map: &MapSnapshot) -> io::Result<()> {
    print_entries(out, map)?;
    if map.kind.is_hist() {
        return Ok(());
    }
    writeln!(out)
}

/// Prints one map's entries in the snapshot's order.
fn print_entries(out: &mut dyn Write, map: &MapSnapshot) -> io::Result<()> {
    for e in &map.entries {
        // Keys and values are written as their bytes: strings need not be UTF-8.
        let mut line = map.name.clone().into_bytes();
        if !e.key.is_empty() {
            line.push(b'[');
            for (i, k) in e.key.iter().enumerate() {
                if i > 0 {
                    line.extend_from_slice(b", ");
                }
                k.render_key(&mut line);
            }
            line.push(b']');
        }
        out.write_all(&line)?;
        match &e.value {
            Value::Scalar(d) => {
                let mut v = b": ".to_vec();
                d.render(&mut v);
                v.push(b'\n');
                out.write_all(&v)?
            }
            Value::Stats { count, total } => writeln!(
                out,
                ": count {count}, average {}, total {total}",
                avg(*total, *count)
            )?,
            Value::Hist(buckets) => {
                writeln!(out, ": ")?;
                print_hist(out, &map.kind, buckets)?;
                writeln!(out)?;
            }
        }
    }
    Ok(())
}

/// Width of a histogram bar.
const BAR: u64 = 52;

/// Prints histogram rows from the lowest to the highest non-empty bucket.
pub fn print_hist(out: &mut dyn Write, kind: &ValueKind, buckets: &[u64]) -> io::Result<()> {
    let Some(first) = buckets.iter().position(|&c| c > 0) else {
        return Ok(());
    };
    let last = buckets.iter().rposition(|&c| c > 0).unwrap_or(first);
    let max = buckets.iter().copied().max().unwrap_or(1).max(1);
    for (i, &c) in buckets.iter().enumerate().take(last + 1).skip(first) {
        let label = bucket_label(kind, i as u32);
        let bar = "@".repeat((c as u128 * BAR as u128 / max as u128) as usize);
        writeln!(out, "{label:<16}{c:>8} |{bar:<52}|")?;
    }
    Ok(())
}

/// A bucket's label: `(..., 0)`, `[0]`, `[1]`, `[2, 4)`, `[1K, 2K)` for `hist()`;
/// `(..., min)`, `[a, b)`, `[max, ...)` for `lhist()`.
pub fn bucket_label(kind: &ValueKind, i: u32) -> String {
    match kind {
        ValueKind::Lhist(l) => {
            let n = l.buckets();
            if i == 0 {
                format!("(..., {})", bound(l.min as i128))
            } else if i == n - 1 {
                format!("[{}, ...)", bound(l.max as i128))
            } else {
                let lo = l.min as i128 + (i as i128 - 1) * l.step as i128;
                let hi = (lo + l.step as i128).min(l.max as i128);
                format!("[{}, {})", bound(lo), bound(hi))
            }
        }
        _ => match i {
            0 => "(..., 0)".into(),
            1 => "[0]".into(),
            2 => "[1]".into(),
            _ => format!("[{}, {})", bound(1i128 << (i - 2)), bound(1i128 << (i - 1))),
        },
    }
}

/// A number with a `K M G T P E` suffix when a power of 1024 divides it.
fn bound(n: i128) -> String {
    const SUFFIX: [&str; 7] = ["", "K", "M", "G", "T", "P", "E"];
    let mut k = 0;
    let mut v = n;
    while v != 0 && v % 1024 == 0 && k < SUFFIX.len() - 1 {
        v /= 1024;
        k += 1;
    }
    format!("{v}{}", SUFFIX[k])
}

/// Where bucket `i` of a `hist()`/`lhist()` starts and ends: `(min, max)` inclusive, `None`
/// for an open end (the first bucket below everything, the last at or above `max`).
pub fn bucket_bounds(kind: &ValueKind, i: u32) -> (Option<i128>, Option<i128>) {
    match kind {
        ValueKind::Lhist(l) => {
            let n = l.buckets();
            if i == 0 {
                (None, Some(l.min as i128 - 1))
            } else if i == n - 1 {
                (Some(l.max as i128), None)
            } else {
                let lo = l.min as i128 + (i as i128 - 1) * l.step as i128;
                let hi = (lo + l.step as i128).min(l.max as i128);
                (Some(lo), Some(hi - 1))
            }
        }
        _ => match i {
            0 => (None, Some(-1)),
            1 => (Some(0), Some(0)),
            _ => (Some(1i128 << (i - 2)), Some((1i128 << (i - 1)) - 1)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::agg::Lhist;
    use crate::lang::value::{Datum, Entry};

    fn snapshot(keyed: bool, kind: ValueKind, entries: Vec<Entry>) -> MapSnapshot {
        MapSnapshot::new("@m".into(), kind, keyed, entries)
    }

    #[test]
    fn failed_stack_walks_are_reported_at_their_expression() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut t = Text::new(&mut out, &mut err);
        let f = ReadFailures {
            kind: crate::output::Failure::Stack,
            line: 3,
            expr: "ustack",
            count: 2,
        };
        t.read_failures(&f).unwrap();
        assert_eq!(
            String::from_utf8(err).unwrap(),
            "WARNING: line 3: `ustack`: 2 stacks could not be kept (the kernel could not walk it, its hash was another stack's, or the stack table was full: see --max-map-keys); counted as empty stacks\n"
        );
    }

    #[test]
    fn prints_sorted_by_value_with_tuple_keys() {
        let entries = vec![
            Entry {
                key: vec![Datum::Unsigned(7), Datum::Str("bash".into())],
                value: Value::Scalar(Datum::Unsigned(9)),
            },
            Entry {
                key: vec![Datum::Unsigned(1), Datum::Str("sh".into())],
                value: Value::Scalar(Datum::Unsigned(2)),
            },
        ];
        let mut out = Vec::new();
        print_map(&mut out, &snapshot(true, ValueKind::Count, entries)).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "@m[1, sh]: 2\n@m[7, bash]: 9\n\n"
        );
    }

    #[test]
    fn signed_values_and_unkeyed_maps() {
        let entries = vec![Entry {
            key: vec![],
            value: Value::Scalar(Datum::Signed(-3)),
        }];
        let mut out = Vec::new();
        print_map(
            &mut out,
            &snapshot(false, ValueKind::Sum { signed: true }, entries),
        )
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "@m: -3\n\n");
    }

    #[test]
    fn histogram_labels_and_rows() {
        let h = ValueKind::Hist;
        assert_eq!(bucket_label(&h, 0), "(..., 0)");
        assert_eq!(bucket_label(&h, 3), "[2, 4)");
        assert_eq!(bucket_label(&h, 11), "[512, 1K)");
        assert_eq!(bucket_label(&h, 23), "[2M, 4M)");
        assert_eq!(bucket_label(&h, 65), "[8E, 16E)");
        let l = ValueKind::Lhist(Lhist {
            min: 0,
            max: 10240,
            step: 1024,
        });
        assert_eq!(bucket_label(&l, 0), "(..., 0)");
        assert_eq!(bucket_label(&l, 5), "[4K, 5K)");
        assert_eq!(bucket_label(&l, 11), "[10K, ...)");
        // A last step cut short by max.
        let cut = ValueKind::Lhist(Lhist {
            min: 0,
            max: 10,
            step: 3,
        });
        assert_eq!(bucket_label(&cut, 4), "[9, 10)");
        assert_eq!(bucket_bounds(&cut, 4), (Some(9), Some(9)));
        assert_eq!(bucket_bounds(&cut, 5), (Some(10), None));
        assert_eq!(bucket_bounds(&h, 0), (None, Some(-1)));
        assert_eq!(bucket_bounds(&h, 3), (Some(2), Some(3)));
        let mut out = Vec::new();
        print_hist(&mut out, &h, &[0, 1, 0, 2, 0, 0]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[0]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n\
             [1]                    0 |                                                    |\n\
             [2, 4)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
        );
    }
}
