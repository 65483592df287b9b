//! Reading user maps from the kernel: per-CPU values merged, keys and values decoded
//! into a `lang::value::MapSnapshot` for the output. Decoding works on raw bytes so it is
//! testable without BPF.

use std::collections::BTreeMap;

use libbpf_rs::{MapCore, MapFlags};

use crate::artifact::MapMeta;
use crate::bpf::abi::MapKind;
use crate::lang::agg::ValueKind;
use crate::lang::render::Facts;
use crate::lang::ty::tuple_layout;
use crate::lang::value::{Datum, Entry, MapSnapshot, Value, avg, decode};

/// Decodes a key with `meta`'s layout.
pub fn decode_key(meta: &MapMeta, key: &[u8], facts: &dyn Facts) -> Vec<Datum> {
    let (offsets, _) = tuple_layout(&meta.keys);
    meta.keys
        .iter()
        .zip(offsets)
        .map(|(t, o)| decode(t, key.get(o as usize..).unwrap_or(&[]), facts))
        .collect()
}

fn word(v: &[u8], i: usize) -> u64 {
    v.get(8 * i..8 * i + 8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// Merges per-CPU values (each rounded to 8 bytes) or decodes a plain value; `None`
/// when the entry holds nothing yet (no CPU set a min/max, an avg of nothing).
pub fn decode_value(meta: &MapMeta, per_cpu: &[Vec<u8>], facts: &dyn Facts) -> Option<Value> {
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
        ValueKind::Scalar(t) => decode(t, per_cpu.first().map(Vec::as_slice).unwrap_or(&[]), facts),
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

/// The sum over CPUs of slot 0 of a one-slot per-CPU counter (0 when unreadable).
pub fn sum_u64(map: &dyn MapCore) -> u64 {
    sum_u64_at(map, 0)
}

/// The sum over CPUs of the u64 in slot `slot` of a per-CPU array.
pub fn sum_u64_at(map: &dyn MapCore, slot: u32) -> u64 {
    map.lookup_percpu(&slot.to_le_bytes(), MapFlags::ANY)
        .ok()
        .flatten()
        .map_or(0, |cpus| {
            cpus.iter()
                .map(|v| word(v, 0))
                .fold(0u64, u64::wrapping_add)
        })
}

/// True when slot 0 of a one-slot array holds a non-zero word.
pub fn flag_set(map: &dyn MapCore) -> bool {
    flag_word(map) != 0
}

/// The word in slot 0 of a one-slot array (0 when it cannot be read).
pub fn flag_word(map: &dyn MapCore) -> u64 {
    map.lookup(&0u32.to_le_bytes(), MapFlags::ANY)
        .ok()
        .flatten()
        .map_or(0, |v| word(&v, 0))
}

/// Reads `map` whole, in print order; `facts` render values such as `ntop()`.
pub fn snapshot(map: &dyn MapCore, meta: &MapMeta, percpu: bool, facts: &dyn Facts) -> MapSnapshot {
    MapSnapshot::new(
        meta.name.clone(),
        meta.value.clone(),
        !meta.keys.is_empty(),
        read(map, meta, percpu, facts),
    )
}

/// `clear(@m)`: removes every entry of `map`; the slots of an array, which cannot be
/// removed, are zeroed (an unkeyed `count()` that reads 0 is not printed).
pub fn clear(map: &dyn MapCore, kind: MapKind) {
    if matches!(kind, MapKind::Array | MapKind::PercpuArray) {
        zero(map, kind);
        return;
    }
    let keys: Vec<Vec<u8>> = map.keys().collect();
    for key in keys {
        // An entry deleted meanwhile by the program is gone either way.
        let _ = map.delete(&key);
    }
}

/// `zero(@m)`: sets every value of `map` to zero, on every CPU, keeping the keys.
pub fn zero(map: &dyn MapCore, kind: MapKind) {
    let keys: Vec<Vec<u8>> = map.keys().collect();
    for key in keys {
        if kind.is_percpu() {
            if let Ok(Some(values)) = map.lookup_percpu(&key, MapFlags::ANY) {
                let zeros: Vec<Vec<u8>> = values.iter().map(|v| vec![0; v.len()]).collect();
                let _ = map.update_percpu(&key, &zeros, MapFlags::EXIST);
            }
        } else {
            let zeros = vec![0; map.value_size() as usize];
            let _ = map.update(&key, &zeros, MapFlags::EXIST);
        }
    }
}

/// Reads every entry of `map`.
pub fn read(map: &dyn MapCore, meta: &MapMeta, percpu: bool, facts: &dyn Facts) -> Vec<Entry> {
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
                .entry(decode_key(meta, &key, facts))
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
    for (key, values) in all_entries(map, percpu).unwrap_or_else(|| {
        map.keys()
            .filter_map(|k| lookup(&k).map(|v| (k, v)))
            .collect()
    }) {
        let Some(value) = decode_value(meta, &values, facts) else {
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
            key: decode_key(meta, &key, facts),
            value,
        });
    }
    entries
}

/// A key and its value on each CPU, as the kernel holds them.
type RawEntry = (Vec<u8>, Vec<Vec<u8>>);

/// Entries one `BPF_MAP_LOOKUP_BATCH` reads at most.
const BATCH: usize = 1024;

/// Every entry of a hash map as (key, its value on each CPU), read in batches (one
/// system call per [`BATCH`] entries instead of two per entry); `None` when the map is
/// not a hash map or the kernel refuses a batch, to be read key by key.
pub(crate) fn all_entries(map: &dyn MapCore, percpu: bool) -> Option<Vec<RawEntry>> {
    use libbpf_rs::MapType;
    use std::os::fd::AsRawFd;
    if !matches!(
        map.map_type(),
        MapType::Hash | MapType::PercpuHash | MapType::LruHash | MapType::LruPercpuHash
    ) {
        return None;
    }
    let key_size = map.key_size() as usize;
    let value_size = map.value_size() as usize;
    let (cpus, stride) = if percpu {
        (
            libbpf_rs::num_possible_cpus().ok()?,
            value_size.div_ceil(8) * 8,
        )
    } else {
        (1, value_size)
    };
    let mut keys = vec![0u8; BATCH * key_size];
    let mut values = vec![0u8; BATCH * stride * cpus];
    // The position tokens: a bucket index for hash maps; key-sized to be safe.
    let mut token_in = vec![0u8; key_size.max(8)];
    let mut token_out = vec![0u8; key_size.max(8)];
    let opts = libbpf_sys::bpf_map_batch_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_map_batch_opts>() as _,
        elem_flags: 0,
        flags: 0,
    };
    let fd = map.as_fd().as_raw_fd();
    let mut out = Vec::new();
    let mut first = true;
    loop {
        let mut count = BATCH as u32;
        // SAFETY: the buffers hold BATCH keys and BATCH values of the map's sizes (per
        // possible CPU), the tokens key_size bytes; the kernel writes at most `count`.
        let r = unsafe {
            libbpf_sys::bpf_map_lookup_batch(
                fd,
                if first {
                    std::ptr::null_mut()
                } else {
                    token_in.as_mut_ptr().cast()
                },
                token_out.as_mut_ptr().cast(),
                keys.as_mut_ptr().cast(),
                values.as_mut_ptr().cast(),
                &mut count,
                &opts,
            )
        };
        let done = r == -libc::ENOENT;
        if r < 0 && !done {
            return None;
        }
        for i in 0..(count as usize).min(BATCH) {
            let key = keys[i * key_size..(i + 1) * key_size].to_vec();
            let at = i * stride * cpus;
            let per_cpu = (0..cpus)
                .map(|c| values[at + c * stride..at + c * stride + value_size].to_vec())
                .collect();
            out.push((key, per_cpu));
        }
        if done {
            return Some(out);
        }
        std::mem::swap(&mut token_in, &mut token_out);
        first = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::ty::Ty;
    use crate::runtime::render::Machine;

    fn meta(keys: Vec<Ty>, value: ValueKind) -> MapMeta {
        MapMeta {
            name: "@m".into(),
            bpf_map: 0,
            keys,
            value,
        }
    }

    #[test]
    fn keys_and_signed_values_decode() {
        let m = meta(vec![Ty::U64, Ty::Str { len: 16 }], ValueKind::Count);
        let mut key = 7u64.to_le_bytes().to_vec();
        key.extend(b"bash\0\0\0\0\0\0\0\0\0\0\0\0");
        assert_eq!(
            decode_key(&m, &key, &Machine::new()),
            [Datum::Unsigned(7), Datum::Str("bash".into())]
        );
        let per_cpu = [5u64.to_le_bytes().to_vec(), 4u64.to_le_bytes().to_vec()];
        assert_eq!(
            decode_value(&m, &per_cpu, &Machine::new()),
            Some(Value::Scalar(Datum::Unsigned(9)))
        );
        let s = meta(vec![], ValueKind::Sum { signed: true });
        let v = [(-5i64).to_le_bytes().to_vec(), 2i64.to_le_bytes().to_vec()];
        assert_eq!(
            decode_value(&s, &v, &Machine::new()),
            Some(Value::Scalar(Datum::Signed(-3)))
        );
        assert_eq!(
            decode(
                &Ty::Int {
                    bits: 32,
                    signed: true
                },
                &(-1i32).to_le_bytes(),
                &Machine::new()
            ),
            Datum::Signed(-1)
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
        let get = |k| decode_value(&meta(vec![], k), &vals, &Machine::new());
        assert_eq!(get(ValueKind::Min), Some(Value::Scalar(Datum::Signed(-7))));
        assert_eq!(get(ValueKind::Max), Some(Value::Scalar(Datum::Signed(5))));
        // {sum, count}: (5 - 7 - 100) / 2 = -51.
        assert_eq!(get(ValueKind::Avg), Some(Value::Scalar(Datum::Signed(-51))));
        assert_eq!(
            decode_value(&meta(vec![], ValueKind::Min), &[cpu(3, 0)], &Machine::new()),
            None
        );
    }
}
