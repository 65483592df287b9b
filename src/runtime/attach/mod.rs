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

/// The kernel's reason in a libbpf error: its whole chain of context (`failed to attach
/// uprobe: …`), the errno named (see [`os_reason`]).
pub fn reason(e: &libbpf_rs::Error) -> String {
    os_reason(&format!("{e:#}"))
}

/// Names the errno in an error's text: `Invalid argument (os error 22)` becomes
/// `Invalid argument (EINVAL)`; the kernel's own ENOTSUPP (524), which libc has no text
/// for, becomes `not supported for this probe (ENOTSUPP)`.
pub fn os_reason(text: &str) -> String {
    const NAMES: [(i32, &str); 16] = [
        (libc::EPERM, "EPERM"),
        (libc::ENOENT, "ENOENT"),
        (libc::ESRCH, "ESRCH"),
        (libc::E2BIG, "E2BIG"),
        (libc::EBADF, "EBADF"),
        (libc::ENOMEM, "ENOMEM"),
        (libc::EACCES, "EACCES"),
        (libc::EFAULT, "EFAULT"),
        (libc::EBUSY, "EBUSY"),
        (libc::EEXIST, "EEXIST"),
        (libc::ENODEV, "ENODEV"),
        (libc::EINVAL, "EINVAL"),
        (libc::EMFILE, "EMFILE"),
        (libc::ENOSPC, "ENOSPC"),
        (libc::EOPNOTSUPP, "EOPNOTSUPP"),
        (libc::EPROTO, "EPROTO"),
    ];
    /// `ENOTSUPP`, internal to the kernel (include/linux/errno.h) yet returned by
    /// uprobes for instructions they cannot probe.
    const ENOTSUPP: i32 = 524;
    let Some(at) = text.rfind(" (os error ") else {
        return text.to_string();
    };
    let tail = &text[at + " (os error ".len()..];
    let Some(errno) = tail
        .split_once(')')
        .and_then(|(n, _)| n.parse::<i32>().ok())
    else {
        return text.to_string();
    };
    let rest = &tail[tail.find(')').map_or(tail.len(), |i| i + 1)..];
    let head = &text[..at];
    if errno == ENOTSUPP {
        let head = head.trim_end_matches(&format!("Unknown error {ENOTSUPP}"));
        return format!("{head}not supported for this probe (ENOTSUPP){rest}");
    }
    match NAMES.iter().find(|(n, _)| *n == errno) {
        Some((_, name)) => format!("{head} ({name}){rest}"),
        None => format!("{head} (errno {errno}){rest}"),
    }
}

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

#[cfg(test)]
mod tests {
    use super::os_reason;

    #[test]
    fn errnos_are_named() {
        assert_eq!(
            os_reason("perf_event_open failed: Invalid argument (os error 22)"),
            "perf_event_open failed: Invalid argument (EINVAL)"
        );
        assert_eq!(
            os_reason("failed to attach uprobe: Unknown error 524 (os error 524)"),
            "failed to attach uprobe: not supported for this probe (ENOTSUPP)"
        );
        assert_eq!(os_reason("no errno here"), "no errno here");
        assert_eq!(os_reason("odd (os error 4095)"), "odd (errno 4095)");
    }
}
