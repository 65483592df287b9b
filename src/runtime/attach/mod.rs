//! Attaching programs: one file per kernel mechanism ([`Target`] variant). Each returns
//! the links that keep the program attached; dropping them detaches.

pub mod btf;
pub mod kprobe;
pub mod perf_event;
pub mod raw_tp;
pub mod tail_slot;
pub mod test_run;
pub mod tracepoint;
pub mod uprobe;
pub mod watchpoint;

use libbpf_rs::{Link, Map, ProgramMut};

use crate::probe::{RunAt, Target};

/// What attaching a program produced.
pub enum Attached {
    /// Links to keep until detaching.
    Links(Vec<Link>),
    /// Nothing yet: run once with `BPF_PROG_TEST_RUN` at this moment.
    Run(RunAt),
    /// Installed in a program array: nothing to detach.
    Installed,
}

/// Points of one program at uprobes in one binary, for one `uprobe_multi` link.
pub struct UprobeGroup {
    /// The binary.
    pub path: String,
    /// On return.
    pub ret: bool,
    /// `(offset, cookie, semaphore)` of each point.
    pub points: Vec<(u64, u64, Option<u64>)>,
    /// Their indices among the manifest's attachments.
    pub members: Vec<usize>,
}

/// The uprobes of attachment `first`'s program in its binary.
pub fn uprobe_group(probes: &[crate::artifact::ProbeAttach], first: usize) -> Option<UprobeGroup> {
    let Target::Uprobe { path, ret, .. } = &probes[first].target else {
        return None;
    };
    let prog = probes[first].prog;
    let mut group = UprobeGroup {
        path: path.clone(),
        ret: *ret,
        points: Vec::new(),
        members: Vec::new(),
    };
    for (j, p) in probes.iter().enumerate() {
        if let Target::Uprobe {
            path: q,
            offset,
            ret: r,
            ref_ctr,
        } = &p.target
            && p.prog == prog
            && q == path
            && r == ret
        {
            group.points.push((*offset, p.cookie, *ref_ctr));
            group.members.push(j);
        }
    }
    Some(group)
}

/// What attaching may need besides the program.
pub struct Env<'a> {
    /// `-p` or the `-c` child: uprobes and per-process perf events follow it.
    pub pid: Option<u32>,
    /// The program arrays, by tail-table index.
    pub tables: Vec<Option<&'a Map<'a>>>,
}

/// Attaches `prog` through `target` with attach cookie `cookie` (the point's index
/// among its program's points; only shared programs read it).
pub fn attach(
    prog: &ProgramMut<'_>,
    target: &Target,
    env: &Env<'_>,
    cookie: u64,
) -> Result<Attached, String> {
    Ok(match target {
        Target::TestRun(at) => Attached::Run(*at),
        Target::Tracepoint { category, name } => {
            Attached::Links(vec![tracepoint::attach(prog, category, name, cookie)?])
        }
        Target::RawTracepoint { name } => Attached::Links(vec![raw_tp::attach(prog, name)?]),
        Target::PerfEvent {
            type_,
            config,
            sample,
            cpus,
            follow_pid,
        } => {
            let pid = if *follow_pid { env.pid } else { None };
            Attached::Links(perf_event::attach(
                prog, *type_, *config, *sample, *cpus, pid,
            )?)
        }
        Target::Uprobe {
            path,
            offset,
            ret,
            ref_ctr,
        } => {
            let pid = env.pid.map_or(-1, |p| p as i32);
            Attached::Links(vec![uprobe::attach(
                prog, path, *offset, *ret, *ref_ctr, pid, cookie,
            )?])
        }
        Target::Kprobe { func, offset, ret } => {
            Attached::Links(vec![kprobe::attach(prog, func, *offset, *ret, cookie)?])
        }
        Target::Btf { func, .. } => Attached::Links(vec![btf::attach(prog, func)?]),
        Target::Watchpoint { addr, len, mode } => {
            Attached::Links(watchpoint::attach(prog, *addr, *len, *mode, env.pid)?)
        }
        Target::TailSlot { table, key } => {
            let map = env
                .tables
                .get(*table)
                .copied()
                .flatten()
                .ok_or("its program array is missing from the object")?;
            tail_slot::install(map, prog, *key)?;
            Attached::Installed
        }
    })
}
