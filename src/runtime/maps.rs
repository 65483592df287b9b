//! Reading user maps from the kernel and printing them in bpftrace's text format.
//! Decoding and printing work on raw key/value bytes so they are testable without BPF.

use std::io::{self, Write};

use libbpf_rs::{MapCore, MapFlags};

use crate::codegen::module::{MapMeta, ValueKind};
use crate::types::{Ty, tuple_layout};

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

/// One map entry, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Key elements.
    pub key: Vec<Datum>,
    /// Value.
    pub value: Datum,
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

/// Merges per-CPU values (each rounded to 8 bytes) or decodes a plain value.
pub fn decode_value(meta: &MapMeta, per_cpu: &[Vec<u8>]) -> Datum {
    let sum = || {
        per_cpu
            .iter()
            .map(|v| u64::from_le_bytes(v[..8].try_into().unwrap_or([0; 8])))
            .fold(0u64, u64::wrapping_add)
    };
    match &meta.value {
        ValueKind::Count => Datum::Unsigned(sum()),
        ValueKind::Sum { signed: true } => Datum::Signed(sum() as i64),
        ValueKind::Sum { signed: false } => Datum::Unsigned(sum()),
        ValueKind::Scalar(t) => decode(t, per_cpu.first().map(Vec::as_slice).unwrap_or(&[])),
    }
}

/// Prints one map's entries: sorted ascending by value, ties by key.
pub fn print_map(out: &mut dyn Write, meta: &MapMeta, mut entries: Vec<Entry>) -> io::Result<()> {
    entries.sort_by(|a, b| a.value.cmp(&b.value).then_with(|| a.key.cmp(&b.key)));
    for e in &entries {
        if e.key.is_empty() {
            writeln!(out, "{}: {}", meta.name, e.value)?;
        } else {
            let keys: Vec<String> = e.key.iter().map(Datum::to_string).collect();
            writeln!(out, "{}[{}]: {}", meta.name, keys.join(", "), e.value)?;
        }
    }
    writeln!(out)
}

/// Reads every entry of `map`.
pub fn read(map: &dyn MapCore, meta: &MapMeta, percpu: bool) -> Vec<Entry> {
    let mut entries = Vec::new();
    for key in map.keys() {
        let values = if percpu {
            map.lookup_percpu(&key, MapFlags::ANY).ok().flatten()
        } else {
            map.lookup(&key, MapFlags::ANY)
                .ok()
                .flatten()
                .map(|v| vec![v])
        };
        let Some(values) = values else { continue };
        let value = decode_value(meta, &values);
        // An unkeyed count() lives in a one-slot per-CPU array whose slot exists from the
        // start: an untouched one reads as zero and is not printed.
        if meta.keys.is_empty() && meta.value == ValueKind::Count && value == Datum::Unsigned(0) {
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
                ),
            },
            Entry {
                key: vec![Datum::Unsigned(1), Datum::Str("sh".into())],
                value: Datum::Unsigned(2),
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
        );
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
}
