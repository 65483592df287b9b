//! Folded stacks (`-f folded`) and SVG flame graphs (`--flamegraph FILE`) of the maps
//! keyed by stacks.
//!
//! A map entry becomes one line `root;…;leaf COUNT`, as Brendan Gregg's
//! `stackcollapse-*` tools write them and `flamegraph.pl` and inferno read them: the key
//! elements that are not stacks first (`comm`, `pid`, in key order), then the user
//! stack outermost frame first, then the kernel stack, its frames suffixed `_[k]` (the
//! annotation `flamegraph.pl --color=java` and inferno colour kernel frames by). The
//! count is the entry's value: an integer (`count()`, `sum()`, a plain value), or the
//! number of values a histogram, `avg()` or `stats()` entry was given.

use std::io::{self, Write};

use super::text::Text;
use super::{Output, ReadFailures, TestResult};
use crate::diag::SourceLocation;
use crate::lang::value::{Datum, MapSnapshot, Value};

/// True when some key element of the map's entries is a stack.
pub fn has_stacks(map: &MapSnapshot) -> bool {
    map.entries
        .iter()
        .any(|e| e.key.iter().any(|k| matches!(k, Datum::Stack(_))))
}

/// The folded lines of `map` (none when no key element is a stack), each with its
/// count, smallest first; entries that fold to the same line (stacks that differ only
/// in offsets within the same functions) are one line, and entries whose count is not
/// positive are left out.
pub fn lines(map: &MapSnapshot) -> Vec<(String, u64)> {
    if !has_stacks(map) {
        return Vec::new();
    }
    let mut out: Vec<(String, u64)> = Vec::new();
    let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for e in &map.entries {
        let count = match &e.value {
            Value::Scalar(Datum::Unsigned(n)) => *n,
            Value::Scalar(Datum::Signed(n)) => u64::try_from(*n).unwrap_or(0),
            Value::Stats { count, .. } => *count,
            Value::Hist(buckets) => buckets.iter().sum(),
            Value::Scalar(_) => 1,
        };
        if count == 0 {
            continue;
        }
        let mut frames: Vec<String> = Vec::new();
        for k in e.key.iter().filter(|k| !matches!(k, Datum::Stack(_))) {
            frames.push(clean(&k.to_string()));
        }
        // User frames before kernel frames: the kernel runs on the user code's behalf.
        let stacks = e.key.iter().filter_map(|k| match k {
            Datum::Stack(s) => Some(s),
            _ => None,
        });
        let (user, kernel): (Vec<_>, Vec<_>) = stacks.partition(|s| s.user);
        for s in user {
            frames.extend(s.names().map(|n| clean(&n)));
        }
        for s in kernel {
            frames.extend(s.names().map(|n| format!("{}_[k]", clean(&n))));
        }
        if frames.is_empty() {
            frames.push("[unknown]".into());
        }
        let line = frames.join(";");
        match at.get(&line) {
            Some(&i) => out[i].1 += count,
            None => {
                at.insert(line.clone(), out.len());
                out.push((line, count));
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// A frame's name as one folded field: no `;` (the separator) and no newline.
fn clean(name: &str) -> String {
    name.replace(';', ":").replace(['\n', '\r'], " ")
}

/// `-f folded`: bpftrace's text output, except that maps keyed by stacks print as
/// folded stacks, one line per entry, then a blank line.
pub struct Folded<'a> {
    text: Text<'a>,
}

impl<'a> Folded<'a> {
    /// Writes results to `out` and warnings to `err`.
    pub fn new(out: &'a mut dyn Write, err: &'a mut dyn Write) -> Folded<'a> {
        Folded {
            text: Text::new(out, err),
        }
    }

    /// Prints `map` folded (through the text renderer's stream), or as text.
    fn folded(&mut self, map: &MapSnapshot, now: bool) -> io::Result<()> {
        if !has_stacks(map) {
            return if now {
                self.text.map_now(map)
            } else {
                self.text.map(map)
            };
        }
        let mut bytes = Vec::new();
        for (line, count) in lines(map) {
            writeln!(bytes, "{line} {count}")?;
        }
        if !now {
            bytes.push(b'\n');
        }
        self.text.printf(&bytes)
    }
}

impl Output for Folded<'_> {
    fn attached(&mut self, n: usize) -> io::Result<()> {
        self.text.attached(n)
    }
    fn printf(&mut self, text: &[u8]) -> io::Result<()> {
        self.text.printf(text)
    }
    fn message(&mut self, error: bool, at: &SourceLocation, text: &[u8]) -> io::Result<()> {
        self.text.message(error, at, text)
    }
    fn action_failed(&mut self, message: &str) -> io::Result<()> {
        self.text.action_failed(message)
    }
    fn value(&mut self, v: &Datum) -> io::Result<()> {
        self.text.value(v)
    }
    fn exiting(&mut self) -> io::Result<()> {
        self.text.exiting()
    }
    fn map(&mut self, map: &MapSnapshot) -> io::Result<()> {
        self.folded(map, false)
    }
    fn map_now(&mut self, map: &MapSnapshot) -> io::Result<()> {
        self.folded(map, true)
    }
    fn lost_events(&mut self, n: u64) -> io::Result<()> {
        self.text.lost_events(n)
    }
    fn read_failures(&mut self, f: &ReadFailures<'_>) -> io::Result<()> {
        self.text.read_failures(f)
    }
    fn map_full(&mut self, map: &str, capacity: u32, count: u64) -> io::Result<()> {
        self.text.map_full(map, capacity, count)
    }
    fn processes_forgotten(&mut self, count: u64, kept: usize) -> io::Result<()> {
        self.text.processes_forgotten(count, kept)
    }
    fn test_result(&mut self, t: &TestResult<'_>) -> io::Result<()> {
        self.text.test_result(t)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.text.flush()
    }
}

/// Keeps the folded lines of the maps printed at exit (`--flamegraph`), passing
/// everything on to `inner`.
pub struct Recorder<'a> {
    inner: &'a mut dyn Output,
    /// Folded lines with their counts, of every map keyed by stacks printed at exit.
    pub lines: Vec<(String, u64)>,
}

impl<'a> Recorder<'a> {
    /// Records what passes to `inner`.
    pub fn new(inner: &'a mut dyn Output) -> Recorder<'a> {
        Recorder {
            inner,
            lines: Vec::new(),
        }
    }
}

impl Output for Recorder<'_> {
    fn attached(&mut self, n: usize) -> io::Result<()> {
        self.inner.attached(n)
    }
    fn printf(&mut self, text: &[u8]) -> io::Result<()> {
        self.inner.printf(text)
    }
    fn join(&mut self, text: &[u8]) -> io::Result<()> {
        self.inner.join(text)
    }
    fn time(&mut self, text: &[u8]) -> io::Result<()> {
        self.inner.time(text)
    }
    fn message(&mut self, error: bool, at: &SourceLocation, text: &[u8]) -> io::Result<()> {
        self.inner.message(error, at, text)
    }
    fn cat(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.cat(bytes)
    }
    fn syscall(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.syscall(bytes)
    }
    fn action_failed(&mut self, message: &str) -> io::Result<()> {
        self.inner.action_failed(message)
    }
    fn value(&mut self, v: &Datum) -> io::Result<()> {
        self.inner.value(v)
    }
    fn exiting(&mut self) -> io::Result<()> {
        self.inner.exiting()
    }
    fn map(&mut self, map: &MapSnapshot) -> io::Result<()> {
        self.lines.extend(lines(map));
        self.inner.map(map)
    }
    fn map_now(&mut self, map: &MapSnapshot) -> io::Result<()> {
        self.inner.map_now(map)
    }
    fn lost_events(&mut self, n: u64) -> io::Result<()> {
        self.inner.lost_events(n)
    }
    fn read_failures(&mut self, f: &ReadFailures<'_>) -> io::Result<()> {
        self.inner.read_failures(f)
    }
    fn map_full(&mut self, map: &str, capacity: u32, count: u64) -> io::Result<()> {
        self.inner.map_full(map, capacity, count)
    }
    fn processes_forgotten(&mut self, count: u64, kept: usize) -> io::Result<()> {
        self.inner.processes_forgotten(count, kept)
    }
    fn test_result(&mut self, t: &TestResult<'_>) -> io::Result<()> {
        self.inner.test_result(t)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes an interactive SVG flame graph of folded `lines` (inferno's renderer, the
/// Rust port of `flamegraph.pl`) with `subtitle` under its title to `out`.
pub fn flame_graph(lines: &[(String, u64)], subtitle: &str, out: &mut dyn Write) -> io::Result<()> {
    let text: Vec<String> = lines.iter().map(|(l, n)| format!("{l} {n}")).collect();
    let mut opts = inferno::flamegraph::Options::default();
    opts.subtitle = Some(subtitle.to_string());
    opts.count_name = "samples".into();
    inferno::flamegraph::from_lines(&mut opts, text.iter().map(String::as_str), out)
        .map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::agg::ValueKind;
    use crate::lang::render::{Frame, Stack, StackMode, Symbol};
    use crate::lang::value::Entry;

    fn stack(user: bool, names: &[&str]) -> Datum {
        // Innermost first, as the kernel gives frames.
        let frames = names
            .iter()
            .rev()
            .enumerate()
            .map(|(i, n)| Frame {
                addr: i as u64 + 1,
                symbol: (!n.is_empty()).then(|| Symbol {
                    name: (*n).into(),
                    offset: 4,
                    module: None,
                }),
            })
            .collect();
        Datum::Stack(Stack {
            raw: vec![user as u8],
            user,
            mode: StackMode::Bpftrace,
            frames,
        })
    }

    #[test]
    fn folds_comm_then_user_then_kernel_frames() {
        let map = MapSnapshot {
            name: "@".into(),
            kind: ValueKind::Count,
            keyed: true,
            entries: vec![
                Entry {
                    key: vec![
                        stack(false, &["entry_SYSCALL_64", "do_syscall_64"]),
                        stack(true, &["main", "a;b", ""]),
                        Datum::Str(b"sh".to_vec()),
                    ],
                    value: Value::Scalar(Datum::Unsigned(7)),
                },
                Entry {
                    key: vec![
                        stack(false, &[]),
                        stack(true, &[]),
                        Datum::Str(b"x".to_vec()),
                    ],
                    value: Value::Scalar(Datum::Unsigned(0)),
                },
                Entry {
                    key: vec![
                        stack(false, &[]),
                        stack(true, &["main"]),
                        Datum::Str(b"x".to_vec()),
                    ],
                    value: Value::Scalar(Datum::Unsigned(2)),
                },
                Entry {
                    key: vec![
                        stack(false, &[]),
                        stack(true, &["main"]),
                        Datum::Str(b"x".to_vec()),
                    ],
                    value: Value::Scalar(Datum::Unsigned(3)),
                },
            ],
        };
        assert_eq!(
            lines(&map),
            [
                ("x;main".to_string(), 5),
                (
                    "sh;main;a:b;0x1;entry_SYSCALL_64_[k];do_syscall_64_[k]".to_string(),
                    7
                )
            ]
        );
        let plain = MapSnapshot {
            entries: vec![Entry {
                key: vec![Datum::Unsigned(1)],
                value: Value::Scalar(Datum::Unsigned(2)),
            }],
            ..map
        };
        assert!(lines(&plain).is_empty());
    }

    #[test]
    fn a_flame_graph_is_an_svg_naming_the_frames() {
        let mut svg = Vec::new();
        let lines = [
            ("main;work;leaf".to_string(), 3),
            ("main;idle".to_string(), 1),
        ];
        flame_graph(&lines, "scry", &mut svg).unwrap();
        let svg = String::from_utf8(svg).unwrap();
        assert!(svg.starts_with("<?xml"), "{}", &svg[..100]);
        assert!(svg.contains("leaf (3 samples, 75.00%)"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
    }
}
