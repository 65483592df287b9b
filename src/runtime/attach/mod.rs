//! Attaching programs: one file per kernel mechanism ([`Target`] variant). Each returns
//! the links that keep the program attached; dropping them detaches.

pub mod perf_event;
pub mod raw_tp;
pub mod tail_slot;
pub mod test_run;
pub mod tracepoint;
pub mod uprobe;

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

/// What attaching may need besides the program.
pub struct Env<'a> {
    /// `-p` or the `-c` child: uprobes and per-process perf events follow it.
    pub pid: Option<u32>,
    /// The program arrays, by tail-table index.
    pub tables: Vec<Option<&'a Map<'a>>>,
}

/// Attaches `prog` through `target`.
pub fn attach(prog: &ProgramMut<'_>, target: &Target, env: &Env<'_>) -> Result<Attached, String> {
    Ok(match target {
        Target::TestRun(at) => Attached::Run(*at),
        Target::Tracepoint { category, name } => {
            Attached::Links(vec![tracepoint::attach(prog, category, name)?])
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
                prog, path, *offset, *ret, *ref_ctr, pid,
            )?])
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
