//! Decoded values, as the runtime reads them from maps and events and the output
//! renders them: integers, strings, merged aggregation values, map entries.

use super::agg::ValueKind;
use super::render::Facts;
use super::ty::Ty;

/// A decoded key element or value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Datum {
    /// A signed integer.
    Signed(i64),
    /// An unsigned integer.
    Unsigned(u64),
    /// `true` / `false`.
    Bool(bool),
    /// A string: its bytes up to the first NUL (not necessarily UTF-8), with the `..`
    /// trailer when it was cut.
    Str(Vec<u8>),
    /// A pointer, printed in hex as bpftrace's newest prints pointers.
    Ptr(u64),
    /// A buffer's bytes, printed as `%r` prints them.
    Buf(Vec<u8>),
    /// A tuple, printed `(1, two, 3)`.
    Tuple(Vec<Datum>),
    /// A value rendered in userspace (`ntop()`, `strerror()`, ...): its bytes as the
    /// program stored them (entries sort by them) and its text.
    Rendered {
        /// The stored bytes.
        raw: Vec<u8>,
        /// What it prints as (`super::render::text`).
        text: Vec<u8>,
    },
    /// A stack (`kstack`, `ustack`), symbolized.
    Stack(super::render::Stack),
}

impl Datum {
    /// Appends the value as bpftrace's text output prints it; strings are written as
    /// the bytes they are.
    pub fn render(&self, out: &mut Vec<u8>) {
        self.render_indented(out, 8)
    }

    /// Appends the value as bpftrace prints it in a map key: stacks' frames indented by
    /// 4 spaces, not 8.
    pub fn render_key(&self, out: &mut Vec<u8>) {
        self.render_indented(out, 4)
    }

    fn render_indented(&self, out: &mut Vec<u8>, indent: usize) {
        use std::io::Write;
        match self {
            Datum::Str(s) | Datum::Rendered { text: s, .. } => out.extend_from_slice(s),
            Datum::Stack(s) => out.extend_from_slice(&s.text(indent)),
            Datum::Tuple(items) => {
                out.push(b'(');
                for (i, d) in items.iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(b", ");
                    }
                    d.render_indented(out, indent);
                }
                out.push(b')');
            }
            Datum::Signed(v) => _ = write!(out, "{v}"),
            Datum::Unsigned(v) => _ = write!(out, "{v}"),
            Datum::Ptr(v) => _ = write!(out, "{v:#x}"),
            Datum::Bool(b) => _ = write!(out, "{b}"),
            Datum::Buf(b) => out.extend_from_slice(super::format::escape_buffer(b, 'r').as_bytes()),
        }
    }

    /// The rendered bytes (see [`Datum::render`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.render(&mut out);
        out
    }
}

/// For messages and tests: the rendering, with bytes that are not UTF-8 replaced.
impl std::fmt::Display for Datum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", String::from_utf8_lossy(&self.to_bytes()))
    }
}

/// Decodes one value of type `ty` from `bytes`; `facts` render the values that need the
/// machine (see [`super::render`]).
pub fn decode(ty: &Ty, bytes: &[u8], facts: &dyn Facts) -> Datum {
    match ty {
        Ty::Int { bits, signed } => {
            let n = (*bits as usize / 8).min(bytes.len());
            let mut raw = [0u8; 8];
            raw[..n].copy_from_slice(&bytes[..n]);
            let v = u64::from_le_bytes(raw);
            if *signed {
                let shift = 64 - 8 * n as u32;
                Datum::Signed(((v << shift) as i64) >> shift)
            } else {
                Datum::Unsigned(v)
            }
        }
        Ty::Str { len } => {
            let b = &bytes[..(*len as usize).min(bytes.len())];
            Datum::Str(super::format::string_text(b).into_owned())
        }
        Ty::Buf { len } => Datum::Buf(buffer(*len, bytes).to_vec()),
        Ty::Tuple(elems) => {
            let (offsets, _) = super::ty::tuple_layout(elems);
            Datum::Tuple(
                elems
                    .iter()
                    .zip(offsets)
                    .map(|(t, o)| decode(t, bytes.get(o as usize..).unwrap_or(&[]), facts))
                    .collect(),
            )
        }
        Ty::Bool => Datum::Bool(bytes.first().is_some_and(|&b| b != 0)),
        Ty::Ptr { .. } => {
            let mut raw = [0u8; 8];
            let n = bytes.len().min(8);
            raw[..n].copy_from_slice(&bytes[..n]);
            Datum::Ptr(u64::from_le_bytes(raw))
        }
        Ty::Rendered(super::render::Rendered::Stack { user, mode, depth }) => {
            let raw = &bytes[..(ty.size() as usize).min(bytes.len())];
            Datum::Stack(super::render::Stack::decode(
                *user, *mode, *depth, raw, facts,
            ))
        }
        Ty::Rendered(kind) => {
            let raw = bytes[..(kind.size() as usize).min(bytes.len())].to_vec();
            Datum::Rendered {
                text: super::render::text(kind, &raw, facts),
                raw,
            }
        }
        Ty::Void => Datum::Unsigned(0),
    }
}

/// The bytes of a `buf()` value of capacity `cap` laid out in `bytes` (count, then bytes).
pub fn buffer(cap: u32, bytes: &[u8]) -> &[u8] {
    let mut raw = [0u8; 8];
    let n = bytes.len().min(8);
    raw[..n].copy_from_slice(&bytes[..n]);
    let count = u64::from_le_bytes(raw).min(cap as u64) as usize;
    bytes.get(8..).map_or(&[], |b| &b[..count.min(b.len())])
}

/// A merged map value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// count, sum, min, max, avg and plain values.
    Scalar(Datum),
    /// `stats()`.
    Stats {
        /// Number of values.
        count: u64,
        /// Their sum.
        total: i64,
    },
    /// Bucket counts of `hist()`/`lhist()`, by bucket index.
    Hist(Vec<u64>),
}

impl Value {
    /// The sort key of bpftrace's output: the value, the average, or the total count.
    pub fn rank(&self) -> Datum {
        match self {
            Value::Scalar(d) => d.clone(),
            Value::Stats { count, total } => Datum::Signed(avg(*total, *count)),
            Value::Hist(b) => Datum::Unsigned(b.iter().sum()),
        }
    }
}

/// Truncated signed mean (0 when empty).
pub fn avg(total: i64, count: u64) -> i64 {
    if count == 0 {
        0
    } else {
        (total as i128 / count as i128) as i64
    }
}

/// One map entry, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Key elements.
    pub key: Vec<Datum>,
    /// Value.
    pub value: Value,
}

/// A map's entries as read at one moment, for the output to render.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapSnapshot {
    /// Name as printed, including `@`.
    pub name: String,
    /// What the values hold.
    pub kind: ValueKind,
    /// True when the map has key elements (`@m[k]`), false for `@m`.
    pub keyed: bool,
    /// Entries, in bpftrace's print order: ascending by value (average for stats, total
    /// count for histograms), ties by key; maps of strings by key.
    pub entries: Vec<Entry>,
}

impl MapSnapshot {
    /// The snapshot as `print(@m, top, div)` shows it: only the last `top` entries of
    /// the print order (the largest; all when 0), integer values and averages divided
    /// by `div` (truncating, as bpftrace divides).
    pub fn top_div(mut self, top: u64, div: u64) -> Self {
        if top > 0 && (top as usize) < self.entries.len() {
            self.entries.drain(..self.entries.len() - top as usize);
        }
        if div > 1 {
            for e in &mut self.entries {
                match &mut e.value {
                    Value::Scalar(Datum::Signed(v)) => *v /= div as i64,
                    Value::Scalar(Datum::Unsigned(v)) => *v /= div,
                    Value::Stats { total, .. } => *total /= div as i64,
                    _ => {}
                }
            }
        }
        self
    }

    /// A snapshot with `entries` put in print order.
    pub fn new(name: String, kind: ValueKind, keyed: bool, mut entries: Vec<Entry>) -> Self {
        if matches!(&kind, ValueKind::Scalar(t) if t.in_memory() || matches!(t, Ty::Rendered(_))) {
            // Maps of strings, tuples and rendered values print in key order, as
            // bpftrace prints them.
            entries.sort_by(|a, b| a.key.cmp(&b.key));
        } else {
            entries.sort_by(|a, b| {
                a.value
                    .rank()
                    .cmp(&b.value.rank())
                    .then_with(|| a.key.cmp(&b.key))
            });
        }
        MapSnapshot {
            name,
            kind,
            keyed,
            entries,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(values: &[i64]) -> MapSnapshot {
        let entries = values
            .iter()
            .enumerate()
            .map(|(i, &v)| Entry {
                key: vec![Datum::Unsigned(i as u64)],
                value: Value::Scalar(Datum::Signed(v)),
            })
            .collect();
        MapSnapshot::new("@m".into(), ValueKind::Sum { signed: true }, true, entries)
    }

    #[test]
    fn top_keeps_the_largest_and_div_divides() {
        let s = snapshot(&[50, 7, 3000, -9]).top_div(2, 10);
        let values: Vec<Value> = s.entries.into_iter().map(|e| e.value).collect();
        assert_eq!(
            values,
            [
                Value::Scalar(Datum::Signed(5)),
                Value::Scalar(Datum::Signed(300))
            ]
        );
        assert_eq!(snapshot(&[1, 2]).top_div(0, 1).entries.len(), 2);
        assert_eq!(snapshot(&[1, 2]).top_div(5, 1).entries.len(), 2);
    }
}
