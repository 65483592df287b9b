//! Reading user maps from the kernel and printing them in bpftrace's text format.
//! Decoding and printing work on raw key/value bytes so they are testable without BPF.

use std::collections::BTreeMap;
use std::io::{self, Write};

use libbpf_rs::{MapCore, MapFlags};

use crate::artifact::MapMeta;
use crate::lang::agg::ValueKind;
use crate::lang::ty::{Ty, tuple_layout};

/// A decoded key element or value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Datum {
    /// A signed integer.
    Signed(i64),
    /// An unsigned integer.
    Unsigned(u64),
    /// A string (bytes up to the first NUL).
    Str(String),
}

impl std::fmt::Display for Datum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Datum::Signed(v) => write!(f, "{v}"),
            Datum::Unsigned(v) => write!(f, "{v}"),
            Datum::Str(s) => write!(f, "{s}"),
        }
    }
}

/// Decodes one value of type `ty` from `bytes`.
pub fn decode(ty: &Ty, bytes: &[u8]) -> Datum {
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
            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            Datum::Str(String::from_utf8_lossy(&b[..end]).into_owned())
        }
        Ty::Tuple(_) | Ty::Void => Datum::Unsigned(0),
    }
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
    fn rank(&self) -> Datum {
        match self {
            Value::Scalar(d) => d.clone(),
            Value::Stats { count, total } => Datum::Signed(avg(*total, *count)),
            Value::Hist(b) => Datum::Unsigned(b.iter().sum()),
        }
    }
}

/// Truncated signed mean (0 when empty).
fn avg(total: i64, count: u64) -> i64 {
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

/// Decodes a key with `meta`'s layout.
pub fn decode_key(meta: &MapMeta, key: &[u8]) -> Vec<Datum> {
    let (offsets, _) = tuple_layout(&meta.keys);
    meta.keys
        .iter()
        .zip(offsets)
        .map(|(t, o)| decode(t, key.get(o as usize..).unwrap_or(&[])))
        .collect()
}

fn word(v: &[u8], i: usize) -> u64 {
    v.get(8 * i..8 * i + 8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// Merges per-CPU values (each rounded to 8 bytes) or decodes a plain value; `None`
/// when the entry holds nothing yet (no CPU set a min/max, an avg of nothing).
pub fn decode_value(meta: &MapMeta, per_cpu: &[Vec<u8>]) -> Option<Value> {
    let sum = |i| {
        per_cpu
            .iter()
            .map(|v| word(v, i))
            .fold(0u64, u64::wrapping_add)
    };
    let set = || {
        per_cpu
            .iter()
            .filter(|v| word(v, 1) != 0)
            .map(|v| word(v, 0) as i64)
    };
    let d = match &meta.value {
        ValueKind::Count => Datum::Unsigned(sum(0)),
        ValueKind::Sum { signed: true } => Datum::Signed(sum(0) as i64),
        ValueKind::Sum { signed: false } => Datum::Unsigned(sum(0)),
        ValueKind::Scalar(t) => decode(t, per_cpu.first().map(Vec::as_slice).unwrap_or(&[])),
        ValueKind::Min => Datum::Signed(set().min()?),
        ValueKind::Max => Datum::Signed(set().max()?),
        ValueKind::Avg | ValueKind::Stats => {
            let (total, count) = (sum(0) as i64, sum(1));
            if count == 0 {
                return None;
            }
            if meta.value == ValueKind::Stats {
                return Some(Value::Stats { count, total });
            }
            Datum::Signed(avg(total, count))
        }
        ValueKind::Hist | ValueKind::Lhist(_) => unreachable!("histograms are read by bucket"),
    };
    Some(Value::Scalar(d))
}

/// Prints one map's entries: sorted ascending by value (average for stats, total count
/// for histograms), ties by key.
pub fn print_map(out: &mut dyn Write, meta: &MapMeta, mut entries: Vec<Entry>) -> io::Result<()> {
    entries.sort_by(|a, b| {
        a.value
            .rank()
            .cmp(&b.value.rank())
            .then_with(|| a.key.cmp(&b.key))
    });
    let hist = meta.value.is_hist();
    for e in &entries {
        write!(out, "{}", meta.name)?;
        if !e.key.is_empty() {
            let keys: Vec<String> = e.key.iter().map(Datum::to_string).collect();
            write!(out, "[{}]", keys.join(", "))?;
        }
        match &e.value {
            Value::Scalar(d) => writeln!(out, ": {d}")?,
            Value::Stats { count, total } => writeln!(
                out,
                ": count {count}, average {}, total {total}",
                avg(*total, *count)
            )?,
            Value::Hist(buckets) => {
                writeln!(out, ": ")?;
                print_hist(out, &meta.value, buckets)?;
                writeln!(out)?;
            }
        }
    }
    if hist {
        return Ok(());
    }
    writeln!(out)
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

/// Reads every entry of `map`.
pub fn read(map: &dyn MapCore, meta: &MapMeta, percpu: bool) -> Vec<Entry> {
    let lookup = |key: &[u8]| {
        if percpu {
            map.lookup_percpu(key, MapFlags::ANY).ok().flatten()
        } else {
            map.lookup(key, MapFlags::ANY)
                .ok()
                .flatten()
                .map(|v| vec![v])
        }
    };
    if let Some(n) = meta.value.hist_buckets() {
        // The bucket index is the last key element (the array index when unkeyed).
        let mut hists: BTreeMap<Vec<Datum>, Vec<u64>> = BTreeMap::new();
        for key in map.keys() {
            let Some(values) = lookup(&key) else { continue };
            let count = values
                .iter()
                .map(|v| word(v, 0))
                .fold(0u64, u64::wrapping_add);
            if count == 0 {
                continue;
            }
            let bucket = if meta.keys.is_empty() {
                u32::from_le_bytes(key[..4].try_into().unwrap_or([0; 4])) as u64
            } else {
                word(&key, key.len() / 8 - 1)
            };
            if bucket >= n as u64 {
                continue;
            }
            let slot = hists
                .entry(decode_key(meta, &key))
                .or_insert_with(|| vec![0; n as usize]);
            slot[bucket as usize] += count;
        }
        return hists
            .into_iter()
            .map(|(key, b)| Entry {
                key,
                value: Value::Hist(b),
            })
            .collect();
    }
    let mut entries = Vec::new();
    for key in map.keys() {
        let Some(values) = lookup(&key) else { continue };
        let Some(value) = decode_value(meta, &values) else {
            continue;
        };
        // An unkeyed count() lives in a one-slot per-CPU array whose slot exists from the
        // start: an untouched one reads as zero and is not printed.
        if meta.keys.is_empty()
            && meta.value == ValueKind::Count
            && value == Value::Scalar(Datum::Unsigned(0))
        {
            continue;
        }
        entries.push(Entry {
            key: decode_key(meta, &key),
            value,
        });
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(keys: Vec<Ty>, value: ValueKind) -> MapMeta {
        MapMeta {
            name: "@m".into(),
            bpf_map: 0,
            keys,
            value,
        }
    }

    #[test]
    fn prints_sorted_by_value_with_tuple_keys() {
        let m = meta(vec![Ty::U64, Ty::Str { len: 16 }], ValueKind::Count);
        let mut key = 7u64.to_le_bytes().to_vec();
        key.extend(b"bash\0\0\0\0\0\0\0\0\0\0\0\0");
        let entries = vec![
            Entry {
                key: decode_key(&m, &key),
                value: decode_value(
                    &m,
                    &[5u64.to_le_bytes().to_vec(), 4u64.to_le_bytes().to_vec()],
                )
                .unwrap(),
            },
            Entry {
                key: vec![Datum::Unsigned(1), Datum::Str("sh".into())],
                value: Value::Scalar(Datum::Unsigned(2)),
            },
        ];
        let mut out = Vec::new();
        print_map(&mut out, &m, entries).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "@m[1, sh]: 2\n@m[7, bash]: 9\n\n"
        );
    }

    #[test]
    fn signed_values_and_unkeyed_maps() {
        let m = meta(vec![], ValueKind::Sum { signed: true });
        let v = decode_value(
            &m,
            &[(-5i64).to_le_bytes().to_vec(), 2i64.to_le_bytes().to_vec()],
        )
        .unwrap();
        let mut out = Vec::new();
        print_map(
            &mut out,
            &m,
            vec![Entry {
                key: vec![],
                value: v,
            }],
        )
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "@m: -3\n\n");
        assert_eq!(
            decode(
                &Ty::Int {
                    bits: 32,
                    signed: true
                },
                &(-1i32).to_le_bytes()
            ),
            Datum::Signed(-1)
        );
    }

    #[test]
    fn histogram_labels_and_rows() {
        use crate::lang::agg::Lhist;
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
        let mut out = Vec::new();
        print_hist(&mut out, &h, &[0, 1, 0, 2, 0, 0]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[0]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n\
             [1]                    0 |                                                    |\n\
             [2, 4)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
        );
    }

    #[test]
    fn min_max_avg_merge_across_cpus() {
        let cpu = |v: i64, set: u64| {
            let mut b = v.to_le_bytes().to_vec();
            b.extend(set.to_le_bytes());
            b
        };
        let vals = [cpu(5, 1), cpu(-7, 1), cpu(-100, 0)];
        let get = |k| decode_value(&meta(vec![], k), &vals);
        assert_eq!(get(ValueKind::Min), Some(Value::Scalar(Datum::Signed(-7))));
        assert_eq!(get(ValueKind::Max), Some(Value::Scalar(Datum::Signed(5))));
        // {sum, count}: (5 - 7 - 100) / 2 = -51.
        assert_eq!(get(ValueKind::Avg), Some(Value::Scalar(Datum::Signed(-51))));
        assert_eq!(
            decode_value(&meta(vec![], ValueKind::Min), &[cpu(3, 0)]),
            None
        );
    }
}
