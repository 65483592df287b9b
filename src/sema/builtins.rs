//! The builtin table: every identifier with a value of its own (`pid`, `comm`, `args`,
//! ...), with its type, where it is available and help text. Sema resolves bare names
//! here only.

use super::hir::Builtin;

/// Where a builtin's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A helper call at run time.
    Helper(Builtin),
    /// The probe's full name, a constant per attach point.
    Probe,
    /// The `-c` command's pid, a constant.
    Cpid,
    /// The number of online CPUs, a constant of the machine.
    Ncpus,
    /// The probed function's name (uprobes).
    Func,
    /// The return value (uretprobes).
    Retval,
    /// The tracepoint's fields, as `args.NAME`.
    Args,
    /// A function argument in a register, `arg0` … `arg5`, or a USDT probe's argument.
    Arg,
    /// Made by `sema::library` (`cgroup`, `username`).
    Library,
    /// A stack (`kstack`, `ustack`), made by `sema::stack`.
    Stack,
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub struct BuiltinDef {
    /// Name as written (`arg0…argN` stands for every `argN`).
    pub name: &'static str,
    /// Where the value comes from.
    pub source: Source,
    /// Its type, as the docs show it.
    pub ty: &'static str,
    /// Where it exists.
    pub available: &'static str,
    /// What it is.
    pub doc: &'static str,
}

const fn row(
    name: &'static str,
    source: Source,
    ty: &'static str,
    available: &'static str,
    doc: &'static str,
) -> BuiltinDef {
    BuiltinDef {
        name,
        source,
        ty,
        available,
        doc,
    }
}

const EVERY: &str = "every probe";

/// Every builtin, in the order help texts list them.
pub const BUILTINS: &[BuiltinDef] = &[
    row(
        "pid",
        Source::Helper(Builtin::Pid),
        "uint32",
        EVERY,
        "process id (thread group id)",
    ),
    row(
        "tid",
        Source::Helper(Builtin::Tid),
        "uint32",
        EVERY,
        "thread id",
    ),
    row(
        "uid",
        Source::Helper(Builtin::Uid),
        "uint32",
        EVERY,
        "user id",
    ),
    row(
        "gid",
        Source::Helper(Builtin::Gid),
        "uint32",
        EVERY,
        "group id",
    ),
    row(
        "nsecs",
        Source::Helper(Builtin::Nsecs),
        "uint64",
        EVERY,
        "monotonic nanoseconds (bpf_ktime_get_ns)",
    ),
    row(
        "cpu",
        Source::Helper(Builtin::Cpu),
        "uint32",
        EVERY,
        "the CPU running the probe",
    ),
    row(
        "elapsed",
        Source::Helper(Builtin::Elapsed),
        "uint64",
        EVERY,
        "nanoseconds since scry started (monotonic clock)",
    ),
    row(
        "rand",
        Source::Helper(Builtin::Rand),
        "uint32",
        EVERY,
        "a random number, new at every use (bpf_get_prandom_u32)",
    ),
    row(
        "jiffies",
        Source::Helper(Builtin::Jiffies),
        "uint64",
        EVERY,
        "the kernel's jiffies counter",
    ),
    row(
        "numaid",
        Source::Helper(Builtin::NumaId),
        "uint32",
        EVERY,
        "the NUMA node running the probe",
    ),
    row(
        "ncpus",
        Source::Ncpus,
        "uint32",
        EVERY,
        "the number of online CPUs (a constant)",
    ),
    row(
        "comm",
        Source::Helper(Builtin::Comm),
        "string[16]",
        EVERY,
        "the current task's name",
    ),
    row(
        "cgroup",
        Source::Library,
        "uint64",
        EVERY,
        "the current task's cgroup v2 id (bpf_get_current_cgroup_id)",
    ),
    row(
        "username",
        Source::Library,
        "username_t",
        EVERY,
        "the current user's name: the uid, looked up in /etc/passwd when printed",
    ),
    row(
        "kstack",
        Source::Stack,
        "kstack",
        EVERY,
        "the kernel stack (127 frames), printed one `symbol+offset` per line",
    ),
    row(
        "ustack",
        Source::Stack,
        "ustack",
        EVERY,
        "the user stack of the current task (127 frames), symbolized through its process's mappings",
    ),
    row(
        "stack",
        Source::Stack,
        "kstack",
        EVERY,
        "ply's name for `kstack`",
    ),
    row(
        "caller",
        Source::Stack,
        "ksym_t / usym_t",
        "kprobes, uprobes",
        "the function that called the probed one (ply), printed as its name",
    ),
    row(
        "cpid",
        Source::Cpid,
        "uint32",
        "with -c",
        "the pid of the -c command",
    ),
    row(
        "probe",
        Source::Probe,
        "string",
        EVERY,
        "the probe's full name",
    ),
    row(
        "args",
        Source::Args,
        "fields",
        "tracepoints, rawtracepoints, fentry/fexit",
        "the tracepoint's fields, or the function's arguments by name (BTF): args.NAME",
    ),
    row(
        "arg0…argN",
        Source::Arg,
        "uint64",
        "kprobes, uprobes, usdt, rawtracepoints, fentry",
        "the probed function's (or raw tracepoint's) arguments, or a USDT probe's, as many as its note lists (int64 when the note says signed)",
    ),
    row(
        "retval",
        Source::Retval,
        "uint64",
        "kretprobes, uretprobes, fexit",
        "the probed function's return value",
    ),
    row(
        "func",
        Source::Func,
        "string",
        "kprobes, uprobes, fentry/fexit",
        "the probed function's name",
    ),
];

/// The row for identifier `name`.
pub fn lookup(name: &str) -> Option<&'static BuiltinDef> {
    let argn = name
        .strip_prefix("arg")
        .is_some_and(|n| (1..=3).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()));
    let key = if argn { "arg0…argN" } else { name };
    BUILTINS.iter().find(|b| b.name == key)
}

/// The names, for help texts.
pub fn names() -> String {
    BUILTINS
        .iter()
        .map(|b| b.name)
        .collect::<Vec<_>>()
        .join(", ")
}
