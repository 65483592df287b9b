//! What a run needs from the kernel, checked before anything is loaded or attached:
//! the open files (programs, maps, perf events and links), the ring buffer (a record
//! that can never fit is refused), and map sizes against the kernel's own limits. A
//! map the kernel still refuses when libbpf creates it becomes [`Error::Map`], naming
//! the map as the program wrote it, its size, and how to make it smaller.
//!
//! In: the manifest (and libbpf's messages of a failed load). Out: `Ok` or the error.
//! It loads nothing; only `open_files` changes the process (its soft open-files limit).

use super::Error;
use crate::artifact::Manifest;
use crate::bpf::abi::MapKind;
use crate::host::Host;
use crate::probe::Target;

/// The ring buffer's header of each record (`BPF_RINGBUF_HDR_SZ`).
const RECORD_HEADER: u64 = 8;
/// A per-CPU map's value may take at most this (`PCPU_MIN_UNIT_SIZE`, rounded up to 8
/// bytes by the kernel's check).
const PERCPU_VALUE_MAX: u64 = 32 << 10;
/// A hash map's key and value together stay below `KMALLOC_MAX_SIZE` (4 MiB on x86-64),
/// less the element header (`struct htab_elem`, 48 bytes).
const HASH_ELEM_MAX: u64 = (4 << 20) - 48;

/// The system's page size.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 { n as u64 } else { 4096 }
}

/// The ring buffer's size in bytes when `pages` (`--perf-rb-pages`) resizes it, after
/// checking that the largest record the programs reserve fits in it.
pub fn ring_buffer(meta: &Manifest, pages: Option<u32>) -> Result<Option<u32>, Error> {
    let Some(rb) = meta.ringbuf else {
        return Ok(None);
    };
    let page = page_size();
    let bytes = match pages {
        Some(p) => p as u64 * page,
        None => meta.bpf_maps[rb].max_entries as u64,
    };
    let record = meta.largest_record as u64 + RECORD_HEADER;
    if record > bytes {
        // The fewest pages, a power of two, that hold it.
        let enough = record.div_ceil(page).next_power_of_two() as u32;
        return Err(Error::RecordTooLarge {
            record: meta.largest_record,
            pages: (bytes / page) as u32,
            bytes,
            enough,
        });
    }
    Ok(pages.map(|_| bytes as u32))
}

/// Checks every map against the limits the kernel is known to set on its sizes.
pub fn maps(meta: &Manifest) -> Result<(), Error> {
    for (i, m) in meta.bpf_maps.iter().enumerate() {
        let value = m.value_size.next_multiple_of(8) as u64;
        let reason = if m.kind.is_percpu() && value > PERCPU_VALUE_MAX {
            format!(
                "the kernel allows a per-CPU map's value at most {PERCPU_VALUE_MAX} bytes (PCPU_MIN_UNIT_SIZE)"
            )
        } else if m.kind == MapKind::Hash && m.key_size as u64 + m.value_size as u64 > HASH_ELEM_MAX
        {
            format!(
                "the kernel allows a hash map's key and value together at most {HASH_ELEM_MAX} bytes (KMALLOC_MAX_SIZE less the element header)"
            )
        } else {
            continue;
        };
        return Err(map_error(meta, i, reason, None));
    }
    Ok(())
}

/// The kernel's refusal to create a map, from libbpf's messages of a failed load
/// (`map 'NAME': failed to create: REASON`), as an error naming the map.
pub fn refused_map(meta: &Manifest, messages: &str, ring_bytes: Option<u32>) -> Option<Error> {
    const FAILED: &str = "': failed to create: ";
    let at = messages.find(FAILED)?;
    let name_start = messages[..at].rfind("map '")? + "map '".len();
    let name = &messages[name_start..at];
    let rest = &messages[at + FAILED.len()..];
    let reason = errno_text(rest.lines().next().unwrap_or_default().trim());
    let i = meta.bpf_maps.iter().position(|m| m.name == name)?;
    Some(map_error(
        meta,
        i,
        format!("the kernel refused it: {reason}"),
        ring_bytes,
    ))
}

/// libbpf's error text (`-ENOMEM`) with what it means for a map: `ENOMEM, out of
/// memory`; any other text as it is.
fn errno_text(text: &str) -> String {
    const MEANINGS: [(&str, &str); 5] = [
        ("ENOMEM", "out of memory"),
        ("E2BIG", "too big for this map type"),
        ("EINVAL", "sizes or flags this map type does not take"),
        ("EPERM", "not permitted"),
        ("ENOSPC", "no room left"),
    ];
    let name = text.strip_prefix('-').unwrap_or(text);
    match MEANINGS.iter().find(|(n, _)| *n == name) {
        Some((name, meaning)) => format!("{name}, {meaning}"),
        None => text.to_string(),
    }
}

/// [`Error::Map`] for BPF map `i`: what it is to the user, its size, and the knob that
/// makes it smaller.
fn map_error(meta: &Manifest, i: usize, reason: String, ring_bytes: Option<u32>) -> Error {
    let m = &meta.bpf_maps[i];
    if meta.ringbuf == Some(i) {
        let bytes = ring_bytes.unwrap_or(m.max_entries) as u64;
        return Error::Map {
            map: "the ring buffer".into(),
            needs: format!(
                "{} pages of {} bytes ({})",
                bytes / page_size(),
                page_size(),
                human(bytes)
            ),
            reason,
            help: "give it fewer pages with --perf-rb-pages (or BPFTRACE_PERF_RB_PAGES)".into(),
        };
    }
    let users: Vec<&str> = meta
        .maps
        .iter()
        .filter(|u| u.bpf_map == i)
        .map(|u| u.name.as_str())
        .collect();
    let cpus = if m.kind.is_percpu() {
        crate::host::system::System::new().possible_cpus().max(1) as u64
    } else {
        1
    };
    let entry = m.key_size as u64 + m.value_size as u64 * cpus;
    let per_cpu = if cpus > 1 {
        format!(" (the value on each of {cpus} CPUs)")
    } else {
        String::new()
    };
    let needs = format!(
        "{} entries of {entry} bytes{per_cpu}: {}",
        m.max_entries,
        human(m.max_entries as u64 * entry)
    );
    if users.is_empty() {
        return Error::Map {
            map: format!("scry's map `{}`", m.name),
            needs,
            reason,
            help: "make the program's strings shorter with --max-strlen".into(),
        };
    }
    let keyed = matches!(m.kind, MapKind::Hash | MapKind::PercpuHash);
    let help = if keyed {
        format!(
            "give it fewer entries with --max-map-keys (now {}), or smaller keys and values (--max-strlen bounds strings)",
            m.max_entries
        )
    } else {
        "make its value smaller (fewer histogram buckets; --max-strlen bounds strings)".into()
    };
    Error::Map {
        map: users.join(", "),
        needs,
        reason,
        help,
    }
}

/// `bytes` with a binary unit: `512 bytes`, `4.0 KiB`, `256.0 GiB`.
fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Makes sure the run can open the files it needs (a program, map, perf event or link
/// is each a descriptor): the soft limit is raised towards the hard one when the run
/// needs more, and a run that needs more than the hard limit is refused before anything
/// is loaded or attached.
pub fn open_files(meta: &Manifest) -> Result<(), Error> {
    let per_cpu = |p: &crate::artifact::ProbeAttach| {
        matches!(
            p.target,
            Target::PerfEvent {
                cpus: crate::probe::Cpus::All,
                ..
            }
        )
    };
    // The CPUs a per-CPU event is opened on, as attaching counts them (read only when
    // there is such an event).
    let cpus = if meta.probes.iter().any(per_cpu) {
        super::attach::perf_event::online_cpus().len()
    } else {
        0
    };
    let events: usize = meta
        .probes
        .iter()
        .map(|p| if per_cpu(p) { 2 * cpus } else { 2 })
        .sum();
    // An attachment is a perf event (or link) and its BPF link; stdio, the signalfd,
    // the ring buffer's epoll, libbpf's own and BTF: a margin.
    let needed = (meta.programs.len() + meta.bpf_maps.len() + events + 64) as u64;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid rlimit to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 || needed <= lim.rlim_cur {
        return Ok(());
    }
    if needed > lim.rlim_max {
        return Err(Error::OpenFiles(format!(
            "this run needs about {needed} open files ({} programs, {} maps, {events} perf events and links) but the limit is {}",
            meta.programs.len(),
            meta.bpf_maps.len(),
            lim.rlim_max
        )));
    }
    let raised = libc::rlimit {
        rlim_cur: needed.max(lim.rlim_cur),
        rlim_max: lim.rlim_max,
    };
    // SAFETY: a valid rlimit; only the soft open-files limit changes, within the hard one.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::{MapInfo, MapMeta};

    fn manifest(kind: MapKind, key: u32, value: u32, entries: u32) -> Manifest {
        Manifest {
            bpf_maps: vec![MapInfo {
                name: "m0".into(),
                kind,
                max_entries: entries,
                key_size: key,
                value_size: value,
            }],
            maps: vec![MapMeta {
                name: "@big".into(),
                bpf_map: 0,
                keys: Vec::new(),
                value: crate::lang::agg::ValueKind::Count,
            }],
            ..Manifest::default()
        }
    }

    #[test]
    fn a_per_cpu_value_over_the_kernels_limit_is_refused_before_loading() {
        let meta = manifest(MapKind::PercpuHash, 8, (32 << 10) + 1, 16);
        let Err(Error::Map { map, reason, .. }) = maps(&meta) else {
            panic!("not refused");
        };
        assert_eq!(map, "@big");
        assert!(reason.contains("at most 32768 bytes"), "{reason}");
        assert!(maps(&manifest(MapKind::PercpuHash, 8, 32 << 10, 16)).is_ok());
    }

    #[test]
    fn the_kernels_refusal_names_the_map_and_its_size() {
        let meta = manifest(MapKind::Hash, 16, 8, 4096);
        let log = "libbpf: map 'm0': failed to create: -ENOMEM\nlibbpf: failed to load object\n";
        let Some(Error::Map {
            map, needs, reason, ..
        }) = refused_map(&meta, log, None)
        else {
            panic!("not recognised");
        };
        assert_eq!(map, "@big");
        assert_eq!(needs, "4096 entries of 24 bytes: 96.0 KiB");
        assert_eq!(reason, "the kernel refused it: ENOMEM, out of memory");
    }

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(human(512), "512 bytes");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(256 << 30), "256.0 GiB");
    }
}
