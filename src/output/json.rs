//! `-f json`: bpftrace's newest JSON messages, one object per line —
//! `attached_probes`, `printf`, `map`, `hist`, `stats`, `lost_events`. Map keys become
//! strings (several key parts joined by `,`); integers that a double cannot hold exactly
//! become strings, as RFC 8259 advises and bpftrace does.

use std::io::{self, Write};

use super::text::bucket_bounds;
use super::{Output, ReadFailures, TestResult};
use crate::diag::SourceLocation;
use crate::lang::agg::ValueKind;
use crate::lang::value::{Datum, MapSnapshot, Value, avg};

/// The JSON renderer.
pub struct Json<'a> {
    out: &'a mut dyn Write,
}

impl<'a> Json<'a> {
    /// Messages to `out`.
    pub fn new(out: &'a mut dyn Write) -> Self {
        Json { out }
    }
}

impl Output for Json<'_> {
    fn attached(&mut self, n: usize) -> io::Result<()> {
        writeln!(
            self.out,
            r#"{{"type": "attached_probes", "count": {n}, "data": {{"probes": {n}}}}}"#
        )?;
        self.out.flush()
    }

    fn printf(&mut self, text: &[u8]) -> io::Result<()> {
        let mut line = br#"{"type": "printf", "data": "#.to_vec();
        string(&mut line, text);
        line.extend_from_slice(b"}\n");
        self.out.write_all(&line)
    }

    fn exiting(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn map(&mut self, map: &MapSnapshot) -> io::Result<()> {
        let kind = match map.kind {
            ValueKind::Hist | ValueKind::Lhist(_) => "hist",
            ValueKind::Stats | ValueKind::Avg => "stats",
            _ => "map",
        };
        let mut line = format!(r#"{{"type": "{kind}", "data": {{"#).into_bytes();
        string(&mut line, map.name.as_bytes());
        line.extend_from_slice(b": ");
        if map.keyed {
            line.push(b'{');
            for (i, e) in map.entries.iter().enumerate() {
                if i > 0 {
                    line.extend_from_slice(b", ");
                }
                let mut key = Vec::new();
                for (i, k) in e.key.iter().enumerate() {
                    if i > 0 {
                        key.push(b',');
                    }
                    k.render_key(&mut key);
                }
                string(&mut line, &key);
                line.extend_from_slice(b": ");
                value(&mut line, &map.kind, &e.value);
            }
            line.push(b'}');
        } else if let Some(e) = map.entries.first() {
            value(&mut line, &map.kind, &e.value);
        } else {
            line.extend_from_slice(b"null");
        }
        line.extend_from_slice(b"}}\n");
        self.out.write_all(&line)
    }

    fn lost_events(&mut self, n: u64) -> io::Result<()> {
        writeln!(
            self.out,
            r#"{{"type": "lost_events", "count": {n}, "data": {{"events": {n}}}}}"#
        )
    }

    fn message(&mut self, error: bool, at: &SourceLocation, text: &[u8]) -> io::Result<()> {
        // bpftrace's newest: the message, then the call's file, line and column.
        let kind = if error { "errorf" } else { "warnf" };
        let mut line = format!(r#"{{"type": "{kind}", "msg": "#).into_bytes();
        string(&mut line, text);
        line.extend_from_slice(br#", "filename": "#);
        string(&mut line, at.file.as_bytes());
        line.extend_from_slice(
            format!(r#", "line": {}, "col": {}}}"#, at.line, at.column).as_bytes(),
        );
        line.push(b'\n');
        self.out.write_all(&line)
    }

    fn cat(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut line = br#"{"type": "cat", "data": "#.to_vec();
        string(&mut line, bytes);
        line.extend_from_slice(b"}\n");
        self.out.write_all(&line)
    }

    fn syscall(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut line = br#"{"type": "syscall", "data": "#.to_vec();
        string(&mut line, bytes);
        line.extend_from_slice(b"}\n");
        self.out.write_all(&line)
    }

    fn action_failed(&mut self, message: &str) -> io::Result<()> {
        let mut line = br#"{"type": "error", "msg": "#.to_vec();
        string(&mut line, message.as_bytes());
        line.extend_from_slice(b"}\n");
        self.out.write_all(&line)
    }

    fn join(&mut self, text: &[u8]) -> io::Result<()> {
        let mut line = br#"{"type": "join", "data": "#.to_vec();
        string(&mut line, text);
        line.extend_from_slice(b"}\n");
        self.out.write_all(&line)
    }

    fn time(&mut self, text: &[u8]) -> io::Result<()> {
        let mut line = br#"{"type": "time", "data": "#.to_vec();
        string(&mut line, text);
        line.extend_from_slice(b"}\n");
        self.out.write_all(&line)
    }

    fn value(&mut self, v: &Datum) -> io::Result<()> {
        let mut line = br#"{"type": "value", "data": "#.to_vec();
        datum(&mut line, v);
        line.extend_from_slice(b"}\n");
        self.out.write_all(&line)
    }

    fn processes_forgotten(&mut self, count: u64, kept: usize) -> io::Result<()> {
        writeln!(
            self.out,
            r#"{{"type": "processes_forgotten", "data": {{"count": {count}, "kept": {kept}}}}}"#
        )
    }

    fn map_full(&mut self, map: &str, capacity: u32, count: u64) -> io::Result<()> {
        let mut line = br#"{"type": "map_full", "data": {"map": "#.to_vec();
        string(&mut line, map.as_bytes());
        line.extend_from_slice(
            format!(r#", "capacity": {capacity}, "dropped": {count}}}}}"#).as_bytes(),
        );
        line.push(b'\n');
        self.out.write_all(&line)
    }

    fn read_failures(&mut self, f: &ReadFailures<'_>) -> io::Result<()> {
        let kind = match f.kind {
            crate::output::Failure::Read => "read_errors",
            crate::output::Failure::LongRange => "loop_errors",
            crate::output::Failure::Stack => "stack_errors",
        };
        let mut line = format!(
            r#"{{"type": "{kind}", "data": {{"line": {}, "expr": "#,
            f.line
        )
        .into_bytes();
        string(&mut line, f.expr.as_bytes());
        line.extend_from_slice(format!(r#", "count": {}}}}}"#, f.count).as_bytes());
        line.push(b'\n');
        self.out.write_all(&line)
    }

    fn test_result(&mut self, t: &TestResult<'_>) -> io::Result<()> {
        let mut line = br#"{"type": "test_result", "data": {"#.to_vec();
        string(&mut line, t.names[t.index].as_bytes());
        line.extend_from_slice(br#": {"duration": "#);
        number(&mut line, t.duration.as_nanos() as i128);
        line.extend_from_slice(br#", "passed": "#);
        line.extend_from_slice(if t.passed[t.index] { b"true" } else { b"false" });
        line.extend_from_slice(br#", "output": "#);
        string(&mut line, t.output);
        line.extend_from_slice(b"}}}\n");
        self.out.write_all(&line)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// One map value.
fn value(out: &mut Vec<u8>, kind: &ValueKind, v: &Value) {
    match v {
        Value::Scalar(d) => datum(out, d),
        Value::Stats { count, total } => {
            out.extend_from_slice(br#"{"count": "#);
            number(out, *count as i128);
            out.extend_from_slice(br#", "average": "#);
            number(out, avg(*total, *count) as i128);
            out.extend_from_slice(br#", "total": "#);
            number(out, *total as i128);
            out.push(b'}');
        }
        Value::Hist(buckets) => {
            out.push(b'[');
            let first = buckets.iter().position(|&c| c > 0);
            let last = buckets.iter().rposition(|&c| c > 0);
            if let (Some(first), Some(last)) = (first, last) {
                for (i, &count) in buckets.iter().enumerate().take(last + 1).skip(first) {
                    if i > first {
                        out.push(b',');
                    }
                    out.push(b'{');
                    let (lo, hi) = bucket_bounds(kind, i as u32);
                    if let Some(lo) = lo {
                        out.extend_from_slice(br#""min": "#);
                        number(out, lo);
                        out.extend_from_slice(b", ");
                    }
                    if let Some(hi) = hi {
                        out.extend_from_slice(br#""max": "#);
                        number(out, hi);
                        out.extend_from_slice(b", ");
                    }
                    out.extend_from_slice(br#""count": "#);
                    number(out, count as i128);
                    out.push(b'}');
                }
            }
            out.push(b']');
        }
    }
}

fn datum(out: &mut Vec<u8>, d: &Datum) {
    match d {
        Datum::Signed(v) => number(out, *v as i128),
        Datum::Unsigned(v) => number(out, *v as i128),
        Datum::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Datum::Str(s) | Datum::Rendered { text: s, .. } => string(out, s),
        Datum::Stack(s) => string(out, &s.text(8)),
        Datum::Ptr(v) => number(out, *v as i128),
        Datum::Buf(b) => string(out, crate::lang::format::escape_buffer(b, 'r').as_bytes()),
        Datum::Tuple(items) => {
            out.push(b'[');
            for (i, d) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                datum(out, d);
            }
            out.push(b']');
        }
    }
}

/// An integer: a JSON number when a double holds it exactly, else a string.
fn number(out: &mut Vec<u8>, v: i128) {
    let exact = (v as f64) as i128 == v;
    if exact {
        out.extend_from_slice(v.to_string().as_bytes());
    } else {
        out.extend_from_slice(format!("\"{v}\"").as_bytes());
    }
}

/// A JSON string of `bytes`, escaped. JSON text is Unicode: a byte that is not part of
/// valid UTF-8 is written as the code point of the same number (`\u00ff` for 0xff).
fn string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        escape_utf8(out, chunk.valid().as_bytes());
        for &b in chunk.invalid() {
            out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
        }
    }
    out.push(b'"');
}

/// Escapes valid UTF-8 text for a JSON string.
fn escape_utf8(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..0x20 => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::agg::Lhist;
    use crate::lang::value::Entry;

    fn render(f: impl FnOnce(&mut Json<'_>) -> io::Result<()>) -> String {
        let mut buf = Vec::new();
        f(&mut Json::new(&mut buf)).unwrap();
        String::from_utf8(buf).unwrap()
    }

    fn entry(key: Vec<Datum>, value: Value) -> Entry {
        Entry { key, value }
    }

    #[test]
    fn messages_as_bpftrace_prints_them() {
        assert_eq!(
            render(|j| j.attached(3)),
            "{\"type\": \"attached_probes\", \"count\": 3, \"data\": {\"probes\": 3}}\n"
        );
        assert_eq!(
            render(|j| j.printf(b"test \r \n \t \\ \" bar")),
            "{\"type\": \"printf\", \"data\": \"test \\r \\n \\t \\\\ \\\" bar\"}\n"
        );
        assert_eq!(
            render(|j| j.lost_events(7)),
            "{\"type\": \"lost_events\", \"count\": 7, \"data\": {\"events\": 7}}\n"
        );
        let scalar = MapSnapshot::new(
            "@scalar".into(),
            ValueKind::Scalar(crate::lang::ty::Ty::I64),
            false,
            vec![entry(vec![], Value::Scalar(Datum::Signed(5)))],
        );
        assert_eq!(
            render(|j| j.map(&scalar)),
            "{\"type\": \"map\", \"data\": {\"@scalar\": 5}}\n"
        );
        let keyed = MapSnapshot::new(
            "@map".into(),
            ValueKind::Count,
            true,
            vec![
                entry(
                    vec![Datum::Str("key2".into()), Datum::Unsigned(2)],
                    Value::Scalar(Datum::Unsigned(3)),
                ),
                entry(
                    vec![Datum::Str("key1".into()), Datum::Unsigned(2)],
                    Value::Scalar(Datum::Unsigned(u64::MAX)),
                ),
            ],
        );
        assert_eq!(
            render(|j| j.map(&keyed)),
            "{\"type\": \"map\", \"data\": {\"@map\": {\"key2,2\": 3, \"key1,2\": \"18446744073709551615\"}}}\n"
        );
        let stats = MapSnapshot::new(
            "@stats".into(),
            ValueKind::Stats,
            false,
            vec![entry(
                vec![],
                Value::Stats {
                    count: 2,
                    total: 12,
                },
            )],
        );
        assert_eq!(
            render(|j| j.map(&stats)),
            "{\"type\": \"stats\", \"data\": {\"@stats\": {\"count\": 2, \"average\": 6, \"total\": 12}}}\n"
        );
    }

    #[test]
    fn histograms_list_closed_bucket_ranges() {
        // bpftrace's `hist(-1); hist(0); hist(1025)` and an lhist reaching past max.
        let mut b = vec![0u64; 66];
        b[0] = 1;
        b[1] = 1;
        b[12] = 1;
        let h = MapSnapshot::new(
            "@".into(),
            ValueKind::Hist,
            false,
            vec![entry(vec![], Value::Hist(b))],
        );
        let text = render(|j| j.map(&h));
        assert!(
            text.starts_with(
                "{\"type\": \"hist\", \"data\": {\"@\": [{\"max\": -1, \"count\": 1},{\"min\": 0, \"max\": 0, \"count\": 1},{\"min\": 1, \"max\": 1, \"count\": 0},"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("{\"min\": 1024, \"max\": 2047, \"count\": 1}]}}\n"),
            "{text}"
        );
        let l = Lhist {
            min: 0,
            max: 100,
            step: 10,
        };
        let mut b = vec![0u64; l.buckets() as usize];
        b[1] = 1;
        b[11] = 1;
        let lh = MapSnapshot::new(
            "@h".into(),
            ValueKind::Lhist(l),
            false,
            vec![entry(vec![], Value::Hist(b))],
        );
        let text = render(|j| j.map(&lh));
        assert!(
            text.starts_with(
                "{\"type\": \"hist\", \"data\": {\"@h\": [{\"min\": 0, \"max\": 9, \"count\": 1},"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("{\"min\": 100, \"count\": 1}]}}\n"),
            "{text}"
        );
    }
}
