//! Symbols for stack frames, found by blazesym: kernel addresses in /proc/kallsyms,
//! user addresses in the ELF symbols of the object mapped there. A process's mappings
//! are recorded when the program first sees it (the BPF side reports each process once,
//! by pid and start time), so its stacks are still symbolized after it exited; a process
//! not recorded is read from /proc when its stack is printed, if it still runs.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use blazesym::MaybeDefault;
use blazesym::symbolize::source::{Elf, Kernel, Source};
use blazesym::symbolize::{Input, Symbolized, Symbolizer};
use libbpf_rs::MapCore;

use crate::lang::render::{Frame, Process, Symbol};

/// The most processes whose mappings are kept; the oldest recorded is forgotten first.
pub const MAX_PROCESSES: usize = 16_384;

/// The most (process, address) symbols kept; past it the cache starts again.
const MAX_FRAMES: usize = 1 << 20;

/// A fast hash for integer keys (the multiply-rotate of rustc's FxHasher): addresses
/// and processes are not chosen by an adversary.
#[derive(Clone, Copy, Default)]
struct Fx;

impl std::hash::BuildHasher for Fx {
    type Hasher = FxHasher;
    fn build_hasher(&self) -> FxHasher {
        FxHasher(0)
    }
}

struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// How often a running process's mappings are read again for addresses outside them.
const REFRESH: Duration = Duration::from_secs(1);

/// One executable mapping of a file.
#[derive(Clone, Debug, PartialEq)]
struct Mapping {
    start: u64,
    end: u64,
    /// The file offset mapped at `start`.
    offset: u64,
    path: Rc<PathBuf>,
}

/// A place in a file: its path and a file offset.
type Place = (Rc<PathBuf>, u64);

/// The processes seen.
#[derive(Default)]
struct Processes {
    by_id: HashMap<Process, Rc<Vec<Mapping>>>,
    order: VecDeque<Process>,
    /// Processes forgotten to stay within [`MAX_PROCESSES`].
    forgotten: u64,
}

/// One stack table: the kernel's map, and the stacks read from it by id.
struct Table {
    map: libbpf_rs::MapHandle,
    stacks: HashMap<u64, Rc<[u64]>, Fx>,
}

/// Symbol lookups for one run, cached.
pub struct Symbols {
    symbolizer: Symbolizer,
    kernel: RefCell<HashMap<u64, Option<Symbol>, Fx>>,
    user: RefCell<HashMap<Place, Option<Symbol>>>,
    /// Symbols by (process, address), the first place user frames are looked up.
    frames: RefCell<HashMap<(Process, u64), Option<Symbol>, Fx>>,
    processes: RefCell<Processes>,
    /// When each process's mappings were last read again for an address outside them.
    refreshed: RefCell<HashMap<Process, Instant>>,
    /// The program's stack tables by depth, with the stacks read from them.
    tables: RefCell<HashMap<u32, Table>>,
    /// Clock ticks per second (`/proc/PID/stat` counts start times in them).
    ticks: u64,
}

impl Default for Symbols {
    fn default() -> Self {
        Symbols::new()
    }
}

impl Symbols {
    /// Nothing is read until asked.
    pub fn new() -> Symbols {
        // SAFETY: sysconf only reads a configuration value.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        Symbols {
            symbolizer: Symbolizer::builder().enable_demangling(true).build(),
            kernel: RefCell::default(),
            user: RefCell::default(),
            frames: RefCell::default(),
            processes: RefCell::default(),
            refreshed: RefCell::default(),
            tables: RefCell::default(),
            ticks: u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100),
        }
    }

    /// Records the mappings of `process` unless they are known already or it is gone
    /// (or its pid is another process's now).
    pub fn record(&self, process: Process) {
        if self.processes.borrow().by_id.contains_key(&process) {
            return;
        }
        if let Some(maps) = self.live_mappings(process) {
            self.keep(process, Rc::new(maps));
        }
    }

    /// Keeps `maps` as the mappings of `process`, forgetting the oldest process recorded
    /// when there are too many.
    fn keep(&self, process: Process, maps: Rc<Vec<Mapping>>) {
        let mut p = self.processes.borrow_mut();
        if p.by_id.insert(process, maps).is_some() {
            return;
        }
        p.order.push_back(process);
        if p.order.len() > MAX_PROCESSES
            && let Some(old) = p.order.pop_front()
        {
            p.by_id.remove(&old);
            p.forgotten += 1;
        }
    }

    /// The recorded mappings of `process` (recorded now if they were not), or none.
    fn mappings(&self, process: Process) -> Rc<Vec<Mapping>> {
        if !self.processes.borrow().by_id.contains_key(&process) {
            self.record(process);
        }
        let p = self.processes.borrow();
        p.by_id.get(&process).cloned().unwrap_or_default()
    }

    /// Adds the program's stack table of `depth`.
    pub fn add_stack_table(&self, depth: u32, map: libbpf_rs::MapHandle) {
        let table = Table {
            map,
            stacks: HashMap::default(),
        };
        self.tables.borrow_mut().insert(depth, table);
    }

    /// Reads every stack of every table at once (before the maps print at exit: one
    /// batch of system calls instead of one per stack).
    pub fn read_stack_tables(&self) {
        for table in self.tables.borrow_mut().values_mut() {
            let entries = crate::runtime::maps::all_entries(&table.map, false).unwrap_or_default();
            for (key, values) in entries {
                let (Ok(id), Some(value)) = (<[u8; 8]>::try_from(&key[..]), values.first()) else {
                    continue;
                };
                table
                    .stacks
                    .insert(u64::from_le_bytes(id), frames_of(value));
            }
        }
    }

    /// The frames of stack `id` in the table of `depth`, innermost first.
    pub fn stack_frames(&self, depth: u32, id: u64) -> Vec<u64> {
        let mut tables = self.tables.borrow_mut();
        let Some(table) = tables.get_mut(&depth) else {
            return Vec::new();
        };
        if let Some(f) = table.stacks.get(&id) {
            return f.to_vec();
        }
        let found = table
            .map
            .lookup(&id.to_le_bytes(), libbpf_rs::MapFlags::ANY)
            .ok()
            .flatten();
        match found {
            Some(value) => {
                let f = frames_of(&value);
                table.stacks.insert(id, f.clone());
                f.to_vec()
            }
            None => Vec::new(),
        }
    }

    /// How many processes' mappings were forgotten to bound memory.
    pub fn forgotten(&self) -> u64 {
        self.processes.borrow().forgotten
    }

    /// The executable file mappings of `process` now, if its pid is still that process
    /// (the one that started at its start time; any when that is unknown).
    fn live_mappings(&self, process: Process) -> Option<Vec<Mapping>> {
        let pid = process.pid;
        if process.start != 0 {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            if start_ticks(&stat)? != process.start / (1_000_000_000 / self.ticks) {
                return None;
            }
        }
        let text = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
        Some(executable_mappings(&text))
    }

    /// Kernel frames at `addrs`.
    pub fn kernel_frames(&self, addrs: &[u64]) -> Vec<Frame> {
        let missing: Vec<u64> = {
            let known = self.kernel.borrow();
            let mut m: Vec<u64> = addrs
                .iter()
                .copied()
                .filter(|a| !known.contains_key(a))
                .collect();
            m.sort_unstable();
            m.dedup();
            m
        };
        if !missing.is_empty() {
            let src = Kernel {
                vmlinux: MaybeDefault::None,
                debug_syms: false,
                ..Kernel::default()
            };
            let found = self.lookup(&Source::Kernel(src), Input::AbsAddr(&missing), None);
            self.kernel
                .borrow_mut()
                .extend(missing.into_iter().zip(found));
        }
        let known = self.kernel.borrow();
        addrs
            .iter()
            .map(|&addr| Frame {
                addr,
                symbol: known.get(&addr).cloned().flatten(),
            })
            .collect()
    }

    /// User frames at `addrs` of `process`.
    pub fn user_frames(&self, process: Process, addrs: &[u64]) -> Vec<Frame> {
        // Stacks of one process share most of their frames: each address is looked up
        // once.
        {
            let known = self.frames.borrow();
            let cached: Option<Vec<Frame>> = addrs
                .iter()
                .map(|&addr| {
                    known.get(&(process, addr)).map(|s| Frame {
                        addr,
                        symbol: s.clone(),
                    })
                })
                .collect();
            if let Some(frames) = cached {
                return frames;
            }
        }
        let frames = self.look_up_user(process, addrs);
        let mut known = self.frames.borrow_mut();
        if known.len() > MAX_FRAMES {
            known.clear();
        }
        for f in &frames {
            known.insert((process, f.addr), f.symbol.clone());
        }
        frames
    }

    /// User frames at `addrs` of `process`, through its mappings.
    fn look_up_user(&self, process: Process, addrs: &[u64]) -> Vec<Frame> {
        let mut maps = self.mappings(process);
        let covered = |maps: &[Mapping]| {
            addrs
                .iter()
                .all(|&a| maps.iter().any(|m| m.start <= a && a < m.end))
        };
        if !covered(&maps) {
            // Perhaps mapped after the process was recorded (libraries ld.so maps,
            // dlopen): read its mappings again if it runs, at most once a second.
            let now = Instant::now();
            let due = self
                .refreshed
                .borrow()
                .get(&process)
                .is_none_or(|t| now.duration_since(*t) >= REFRESH);
            if due {
                self.refreshed.borrow_mut().insert(process, now);
                if let Some(fresh) = self.live_mappings(process) {
                    maps = Rc::new(fresh);
                    self.keep(process, maps.clone());
                }
            }
        }
        // Each address as (file, file offset).
        let places: Vec<Option<Place>> = addrs
            .iter()
            .map(|&a| {
                maps.iter()
                    .find(|m| m.start <= a && a < m.end)
                    .map(|m| (m.path.clone(), a - m.start + m.offset))
            })
            .collect();
        let mut wanted: HashMap<Rc<PathBuf>, Vec<u64>> = HashMap::new();
        {
            let cache = self.user.borrow();
            for (path, off) in places.iter().flatten() {
                if !cache.contains_key(&(path.clone(), *off)) {
                    wanted.entry(path.clone()).or_default().push(*off);
                }
            }
        }
        for (path, mut offsets) in wanted {
            offsets.sort_unstable();
            offsets.dedup();
            let mut elf = Elf::new(path.as_path());
            elf.debug_syms = false;
            let module: Arc<str> = path.to_string_lossy().into();
            let found = self.lookup(
                &Source::Elf(elf),
                Input::FileOffset(&offsets),
                Some(&module),
            );
            let mut cache = self.user.borrow_mut();
            for (off, sym) in offsets.into_iter().zip(found) {
                cache.insert((path.clone(), off), sym);
            }
        }
        let cache = self.user.borrow();
        addrs
            .iter()
            .zip(places)
            .map(|(&addr, place)| Frame {
                addr,
                symbol: place.and_then(|p| cache.get(&p).cloned().flatten()),
            })
            .collect()
    }

    /// The symbols of `input` in `src`, one per address (None where unknown).
    fn lookup(
        &self,
        src: &Source,
        input: Input<&[u64]>,
        module: Option<&Arc<str>>,
    ) -> Vec<Option<Symbol>> {
        let n = match input {
            Input::AbsAddr(a) | Input::VirtOffset(a) | Input::FileOffset(a) => a.len(),
        };
        let Ok(found) = self.symbolizer.symbolize(src, input) else {
            return vec![None; n];
        };
        found
            .into_iter()
            .map(|s| match s {
                Symbolized::Sym(sym) => Some(Symbol {
                    name: sym.name.as_ref().into(),
                    offset: sym.offset as u64,
                    module: module.cloned(),
                }),
                Symbolized::Unknown(_) => None,
            })
            .collect()
    }
}

/// The frames of a stack table's value: the count (u64), then that many addresses.
fn frames_of(value: &[u8]) -> Rc<[u64]> {
    let words: Vec<u64> = value
        .chunks_exact(8)
        .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")))
        .collect();
    let n = words.first().map_or(0, |&n| n as usize);
    words
        .get(1..)
        .map_or(&[][..], |w| &w[..n.min(w.len())])
        .into()
}

/// The start time (field 22, in clock ticks) of a `/proc/PID/stat` line.
fn start_ticks(stat: &str) -> Option<u64> {
    // The command (field 2) may hold spaces and parentheses: fields count from the last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The executable mappings of files in a `/proc/PID/maps`.
fn executable_mappings(text: &str) -> Vec<Mapping> {
    let mut paths: HashMap<&str, Rc<PathBuf>> = HashMap::new();
    text.lines()
        .filter_map(|line| {
            let mut f = line.splitn(6, ' ');
            let (range, perms, offset) = (f.next()?, f.next()?, f.next()?);
            let (_dev, _inode, path) = (f.next()?, f.next()?, f.next()?.trim_start());
            if !perms.contains('x') || !path.starts_with('/') {
                return None;
            }
            let (start, end) = range.split_once('-')?;
            let path = paths
                .entry(path)
                .or_insert_with(|| Rc::new(PathBuf::from(path.trim_end_matches(" (deleted)"))))
                .clone();
            Some(Mapping {
                start: u64::from_str_radix(start, 16).ok()?,
                end: u64::from_str_radix(end, 16).ok()?,
                offset: u64::from_str_radix(offset, 16).ok()?,
                path,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_keep_executable_files() {
        let maps = "\
55d0a000-55d0b000 r--p 00000000 fe:01 123  /usr/bin/w w\n\
55d0b000-55d0f000 r-xp 00001000 fe:01 123  /usr/bin/w w\n\
7f00000-7f10000 rw-p 00000000 00:00 0 \n\
7ffd000-7ffe000 r-xp 00000000 00:00 0                          [vdso]\n\
7f20000-7f30000 r-xp 00002000 fe:01 9 /lib/libc.so.6 (deleted)\n";
        let m = executable_mappings(maps);
        assert_eq!(m.len(), 2);
        assert_eq!(
            (m[0].start, m[0].end, m[0].offset),
            (0x55d0b000, 0x55d0f000, 0x1000)
        );
        assert_eq!(m[0].path.to_str(), Some("/usr/bin/w w"));
        assert_eq!(m[1].path.to_str(), Some("/lib/libc.so.6"));
    }

    #[test]
    fn the_oldest_processes_are_forgotten_and_counted() {
        let s = Symbols::new();
        let p = |pid| Process {
            pid,
            exec: 0,
            start: 1,
        };
        for pid in 0..MAX_PROCESSES as u32 + 3 {
            s.keep(p(pid), Rc::new(Vec::new()));
        }
        // Keeping a known process again changes nothing.
        s.keep(p(MAX_PROCESSES as u32), Rc::new(Vec::new()));
        assert_eq!(s.forgotten(), 3);
        let kept = s.processes.borrow();
        assert_eq!(kept.by_id.len(), MAX_PROCESSES);
        assert!(!kept.by_id.contains_key(&p(2)) && kept.by_id.contains_key(&p(3)));
    }

    #[test]
    fn start_time_counts_fields_after_the_command() {
        let stat = "42 (a) b (c)) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 777 1000 1";
        assert_eq!(start_ticks(stat), Some(777));
        assert_eq!(start_ticks("garbage"), None);
    }

    #[test]
    fn this_process_symbolizes_itself() {
        let s = Symbols::new();
        let here = this_process_symbolizes_itself as *const () as u64;
        let pid = std::process::id();
        let me = Process {
            pid,
            exec: 0,
            start: 0,
        };
        let frames = s.user_frames(me, &[here, 1]);
        let sym = frames[0].symbol.as_ref().expect("symbolized");
        assert!(
            sym.name.ends_with("this_process_symbolizes_itself"),
            "{}",
            sym.name
        );
        assert_eq!(sym.offset, 0);
        assert!(frames[1].symbol.is_none());
    }
}
