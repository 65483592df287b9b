//! The checked program: every name resolved, every expression typed, sugar removed.
//! Produced by `sema::check`, consumed by `codegen::lower`.

use crate::ast::{BinOp, UnOp};
use crate::diag::Span;
use crate::lang::agg::{Lhist, ValueKind};
use crate::lang::ty::Ty;
use crate::probe::{Access, AddrSpace, TailTable, Target};

/// A whole checked program.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    /// One entry per attach point (wildcards already expanded), in source order.
    pub probes: Vec<Probe>,
    /// User maps, indexed by [`MapId`].
    pub maps: Vec<Map>,
    /// Output events by id: how each renders, with its argument types.
    pub printfs: Vec<(Render, Vec<Ty>)>,
    /// Program arrays that probes with a [`Target::TailSlot`] sit in.
    pub tables: Vec<TailTable>,
    /// Entries of each keyed map.
    pub max_map_keys: u32,
    /// Slots of a per-CPU map: one more than the highest possible CPU number
    /// (`Host::possible_cpus`), the bound of loops over the CPUs.
    pub possible_cpus: u32,
    /// `-p PID`: probes the kernel does not already limit to that process (tracepoints,
    /// raw tracepoints, kprobes, …; not BEGIN/END, uprobes, per-process perf events or
    /// `interval` timers) run only in it.
    pub filter_pid: Option<u32>,
    /// One-line notes for stderr about how probes are served (`kprobe:SyS_*` on the
    /// syscall tracepoints).
    pub notes: Vec<String>,
    /// Warnings about the program, printed before it runs.
    pub warnings: Vec<crate::diag::Diagnostic>,
}

/// How an output event is rendered by the runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Render {
    /// `printf(format, ...)`: the format with its arguments.
    Printf(String),
    /// `print(value)`: the one value as bpftrace prints values, then a newline.
    Value,
    /// `join(array[, sep])`: up to [`JOIN_ARGS`] strings of at most `len` bytes each,
    /// read from a NULL-terminated array of string pointers, printed joined by `sep`.
    Join {
        /// The separator.
        sep: Vec<u8>,
        /// Bytes kept of each string, NUL included.
        len: u32,
    },
    /// `time(fmt)`: the wall-clock time when scry reads the event, in `strftime(3)`'s
    /// format.
    Time(String),
    /// `errorf(fmt, ...)` (`error`) or `warnf(fmt, ...)`: the formatted message on the
    /// error stream, after the call's source location.
    Message {
        /// An error (else a warning).
        error: bool,
        /// The format.
        format: String,
        /// The call, for its location.
        span: Span,
    },
    /// `cat(fmt, ...)`: the contents of the file the formatted path names.
    Cat(String),
    /// `system(fmt, ...)`: the output of the formatted command, run by `/bin/sh -c`.
    System(String),
    /// `print(@m, ...)`, `clear(@m)`, `zero(@m)`: the runtime acts on user map `map`.
    Map {
        /// Which map.
        map: MapId,
        /// What to do.
        action: MapAction,
    },
}

pub use crate::lang::agg::MapAction;

pub use crate::lang::agg::JOIN_ARGS;

/// Index into [`Program::maps`].
pub type MapId = usize;

/// A user map with its final key and value types.
#[derive(Clone, Debug, PartialEq)]
pub struct Map {
    /// Name including `@`.
    pub name: String,
    /// Key element types (empty: no brackets).
    pub keys: Vec<Ty>,
    /// What the value holds.
    pub value: ValueKind,
    /// Where the map is first used.
    pub span: Span,
}

/// One attach point with its body.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    /// The kernel mechanism it attaches through.
    pub target: Target,
    /// Short tag for the program's name (`tp`, `uprobe`, ...).
    pub tag: &'static str,
    /// Full name, e.g. `tracepoint:syscalls:sys_enter_getpid`.
    pub display: String,
    /// Filter; the body runs when it is non-zero.
    pub predicate: Option<Expr>,
    /// Body.
    pub body: Vec<Stmt>,
    /// Scratch variables of this probe: their types, indexed by [`VarId`].
    pub vars: Vec<Ty>,
    /// Span of the probe in the source.
    pub span: Span,
    /// Every attach point the program runs for, the first being `target` and
    /// `display`: several when the points of one probe share one program (their
    /// bodies are the same; `probe` and `func` are looked up by the attach cookie, the
    /// point's index here).
    pub points: Vec<PointInfo>,
    /// The points are uprobes attached through `uprobe_multi` links (the program is
    /// loaded for them).
    pub multi_link: bool,
}

/// What tells one attach point of a shared program from another.
#[derive(Clone, Debug, PartialEq)]
pub struct PointInfo {
    /// The kernel mechanism it attaches through.
    pub target: Target,
    /// Its `probe`.
    pub display: String,
    /// Its `func`, if it has one.
    pub func: Option<String>,
}

/// A name that differs from one attach point to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointField {
    /// `probe`: the point's full name.
    Probe,
    /// `func`: the probed function's name.
    Func,
}

/// Index into [`Probe::vars`].
pub type VarId = usize;

/// A statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    /// What kind.
    pub kind: StmtKind,
    /// Source span.
    pub span: Span,
}

/// How an aggregation or assignment updates a map entry.
#[derive(Clone, Debug, PartialEq)]
pub enum MapOp {
    /// `count()`: add 1.
    Count,
    /// `sum(e)`: add `e`.
    Sum(Expr),
    /// `@m[k] = e`.
    Assign(Expr),
    /// `avg(e)` and `stats(e)`: add `e` to the sum and 1 to the count.
    Avg(Expr),
    /// `min(e)`.
    Min(Expr),
    /// `max(e)`.
    Max(Expr),
    /// `hist(e)`: count `e` in its power-of-two bucket.
    Hist(Expr),
    /// `lhist(e, min, max, step)`: count `e` in its linear bucket.
    Lhist(Expr, Lhist),
}

impl MapOp {
    /// The expression the update takes, to change in place.
    pub fn value_mut(&mut self) -> Option<&mut Expr> {
        match self {
            MapOp::Count => None,
            MapOp::Sum(e)
            | MapOp::Assign(e)
            | MapOp::Avg(e)
            | MapOp::Min(e)
            | MapOp::Max(e)
            | MapOp::Hist(e)
            | MapOp::Lhist(e, _) => Some(e),
        }
    }

    /// The expression the update takes (`None` for `count()`).
    pub fn value(&self) -> Option<&Expr> {
        match self {
            MapOp::Count => None,
            MapOp::Sum(e)
            | MapOp::Assign(e)
            | MapOp::Avg(e)
            | MapOp::Min(e)
            | MapOp::Max(e)
            | MapOp::Hist(e)
            | MapOp::Lhist(e, _) => Some(e),
        }
    }
}

/// Statement kinds.
#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// Update map `map` at `keys`.
    MapUpdate {
        /// Which map.
        map: MapId,
        /// Key values, one per key type.
        keys: Vec<Expr>,
        /// The update.
        op: MapOp,
    },
    /// `$v = e`.
    VarAssign {
        /// Which variable.
        var: VarId,
        /// Value.
        value: Expr,
    },
    /// `printf(...)` or `print(value)` as event `event`.
    Printf {
        /// Index into [`Program::printfs`].
        event: usize,
        /// Arguments.
        args: Vec<Expr>,
    },
    /// `join(array[, sep])` as event `event`: the strings of the NULL-terminated
    /// pointer array `array` (an `int8 **`), read from the pointer's address space.
    Join {
        /// Index into [`Program::printfs`] (a [`Render::Join`]).
        event: usize,
        /// The array.
        array: Expr,
    },
    /// `exit()` or `exit(code)`: stop tracing; scry exits with `code` (0 when none).
    Exit(Option<Expr>),
    /// `signal(sig)`: send signal `sig` (an integer) to the current task's process.
    Signal(Expr),
    /// Conditional.
    If {
        /// Condition.
        cond: Expr,
        /// When non-zero.
        then: Vec<Stmt>,
        /// Otherwise.
        else_: Vec<Stmt>,
    },
    /// `while (cond) { body }`.
    While {
        /// Checked before each iteration.
        cond: Expr,
        /// The body.
        body: Vec<Stmt>,
    },
    /// `for ($var : start..end) { body }`: `$var` takes start, start + 1, … up to, not
    /// including, `end` (both evaluated once); `continue` goes on with the next value.
    For {
        /// The loop variable.
        var: VarId,
        /// First value.
        start: Expr,
        /// One past the last value.
        end: Expr,
        /// The body.
        body: Vec<Stmt>,
    },
    /// `for ($var : @map) { body }`: `$var` is `(key, value)` of each entry in turn
    /// (`((k1, k2, ...), value)` for several key parts), copied from the map; runs in a
    /// `bpf_for_each_map_elem` callback.
    ForMap {
        /// The loop variable, a tuple.
        var: VarId,
        /// The map iterated.
        map: MapId,
        /// The body.
        body: Vec<Stmt>,
    },
    /// `let $v;`: the variable starts again at zero (all bytes) here.
    VarZero(VarId),
    /// `unroll(count) { body }`: the body `count` times in a row.
    Unroll {
        /// 1 to 100.
        count: u32,
        /// The body.
        body: Vec<Stmt>,
    },
    /// Leave the innermost loop.
    Break,
    /// Next iteration of the innermost loop.
    Continue,
    /// End the probe, returning the value (0 when none).
    Return(Option<Expr>),
    /// An expression evaluated and dropped.
    Expr(Expr),
    /// `delete(@m[k])`: remove one entry.
    Delete {
        /// Which map.
        map: MapId,
        /// Key values.
        keys: Vec<Expr>,
    },
}

/// A typed expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What kind.
    pub kind: ExprKind,
    /// Its type.
    pub ty: Ty,
    /// Source span.
    pub span: Span,
}

/// Builtin values read from the kernel at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    /// Process id (tgid).
    Pid,
    /// Thread id.
    Tid,
    /// User id.
    Uid,
    /// Group id.
    Gid,
    /// `bpf_ktime_get_ns()`.
    Nsecs,
    /// CPU number.
    Cpu,
    /// Current task name (string[16]).
    Comm,
    /// A random 32-bit number, new at every use.
    Rand,
    /// The kernel's jiffies counter (64 bits).
    Jiffies,
    /// The NUMA node running the probe.
    NumaId,
    /// Nanoseconds since scry started (monotonic clock).
    Elapsed,
    /// `nsecs(boot)`: nanoseconds since boot, suspend included.
    NsecsBoot,
    /// `nsecs(tai)`: International Atomic Time in nanoseconds.
    NsecsTai,
}

/// Expression kinds.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// Integer constant.
    Int(u64),
    /// String constant (bytes).
    Str(Vec<u8>),
    /// A builtin.
    Builtin(Builtin),
    /// A value read from the probe's context (`args.x`, `arg0`, `retval`).
    Ctx(Access),
    /// Read of a scratch variable.
    Var(VarId),
    /// Read of a map entry (0 / empty when absent).
    MapRead {
        /// Which map.
        map: MapId,
        /// Key values.
        keys: Vec<Expr>,
    },
    /// `has_key(@m, k)`: true when the map has an entry at `keys`.
    HasKey {
        /// Which map.
        map: MapId,
        /// Key values.
        keys: Vec<Expr>,
    },
    /// `probe` or `func` of the attach point the program runs for (this expression's
    /// type is the longest name's string type of all the probe's points).
    PointName(PointField),
    /// `len(@m)`: the number of entries of a keyed map (counted by
    /// `bpf_for_each_map_elem`).
    MapLen(MapId),
    /// `op e`.
    Unary(UnOp, Box<Expr>),
    /// `a op b` (`&&`, `||` short-circuit).
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `c ? a : b`.
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `(intN)`/`(uintN)`: the inner value truncated to this expression's integer type
    /// and sign- or zero-extended back to 64 bits, as C converts.
    Cast(Box<Expr>),
    /// The inner value converted to this expression's type (a stored value meeting
    /// its place's unified type: integers widened, strings padded).
    Convert(Box<Expr>),
    /// `*p` (and `p[i]`, as `*(p + i)`): the value of this expression's type at the
    /// pointer, read from the pointer's address space (0 when the read fails).
    Deref(Box<Expr>),
    /// `(a, b, …)`: a tuple, laid out as `lang::ty::tuple_layout` of its type.
    Tuple(Vec<Expr>),
    /// `t.N`: element `N` of a tuple.
    TupleIndex(Box<Expr>, usize),
    /// `strlen(s)`.
    StrLen(Box<Expr>),
    /// `strncmp(a, b, n)`: 0 when equal in the first `n` characters.
    StrNcmp(Box<Expr>, Box<Expr>, u32),
    /// `strcontains(haystack, needle)` with a literal needle.
    StrContains(Box<Expr>, Vec<u8>),
    /// `strcontains(haystack, needle)` with a run-time needle, through the kernel
    /// function `bpf_strnstr` (the needle's buffer ends with a NUL).
    StrContainsRuntime {
        /// Searched.
        haystack: Box<Expr>,
        /// Sought.
        needle: Box<Expr>,
        /// `bpf_strnstr`'s vmlinux BTF id.
        kfunc: u32,
    },
    /// `buf(ptr, n)`: `n` bytes at `ptr` (at most the type's capacity) with their count.
    ReadBuf {
        /// The address.
        ptr: Box<Expr>,
        /// The byte count (a constant or a run-time value, clamped to the capacity).
        len: Box<Expr>,
        /// Whose memory `ptr` points into.
        space: AddrSpace,
    },
    /// `str(ptr[, limit])`: the NUL-terminated string at `ptr`, read into a buffer of
    /// the expression's type (at most `limit` bytes, NUL included, when given).
    ReadStr {
        /// The address.
        ptr: Box<Expr>,
        /// A run-time size limit (a constant one is folded into the type).
        limit: Option<Box<Expr>>,
        /// Whose memory `ptr` points into.
        space: AddrSpace,
        /// The buffer's size is `max_strlen` (no smaller length was asked for): a string
        /// that does not fit is marked as cut, and prints with the `..` trailer.
        at_max: bool,
    },
    /// A library function or builtin of `sema::library`.
    Lib(LibCall),
}

/// The library's functions and builtins (`bswap`, `ntop`, `strerror`, `cgroup`, ...),
/// checked in `sema::library` and lowered in `codegen::library`. Values rendered in
/// userspace have a [`Ty::Rendered`] type.
#[derive(Clone, Debug, PartialEq)]
pub enum LibCall {
    /// `bswap(x)`: the bytes of integer `x` in reverse order, in the width of this
    /// expression's (unsigned) type.
    Bswap(Box<Expr>),
    /// `ntop([af, ] addr)`: a `Rendered::Inet`, the family `af` followed by the address:
    /// an integer's 4 bytes as they lie in memory (network order), or the bytes of a
    /// byte array (see [`LibCall::MacAddr`]), 4 or 16 of them.
    Inet {
        /// `AF_INET` (2) or `AF_INET6` (10), or any integer at run time.
        af: Box<Expr>,
        /// The address.
        addr: Box<Expr>,
    },
    /// `macaddr(bytes)`: the first 6 bytes of a byte array: a buffer (its bytes follow
    /// its count) or an array field of the context read as a string-typed buffer.
    MacAddr(Box<Expr>),
    /// `pton("...")`: constant bytes, as a buffer of this expression's type.
    Bytes(Vec<u8>),
    /// The integer operand carried as this expression's rendered type (`strerror`,
    /// `username`, `cgroup_path`, `strftime`): printed by scry, unchanged in BPF.
    Tagged(Box<Expr>),
    /// `cgroup`: the current task's cgroup v2 id (`bpf_get_current_cgroup_id`).
    CgroupId,
    /// `kstack`/`ustack`: `depth` frames from `bpf_get_stack`, a user stack after its
    /// process (`Rendered::Stack`'s layout).
    Stack {
        /// `ustack` (true) or `kstack`.
        user: bool,
        /// Frames kept.
        depth: u32,
        /// Where the process's start time is read (a user stack; None: the kernel has no
        /// BTF saying, the start time is 0).
        task: Option<TaskOffsets>,
    },
    /// `usym(addr)`: a `Rendered::Usym`, the current process's header (as a user stack
    /// starts) and the address.
    Usym {
        /// The address.
        addr: Box<Expr>,
        /// As for [`LibCall::Stack`].
        task: Option<TaskOffsets>,
    },
    /// `caller`: frame 1 of the kernel (a `Rendered::Ksym`) or user stack (a
    /// `Rendered::Usym`).
    Caller {
        /// The user stack's.
        user: bool,
        /// As for [`LibCall::Stack`].
        task: Option<TaskOffsets>,
    },
}

/// Offsets in `struct task_struct` (from vmlinux BTF) of what identifies a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskOffsets {
    /// `group_leader`: the process's first thread.
    pub group_leader: u32,
    /// `start_boottime`: when it started (boot-clock ns), as /proc/PID/stat counts it.
    pub start_boottime: u32,
    /// `self_exec_id`: counts the process's `execve`s (a new program, new mappings).
    pub self_exec_id: u32,
}

impl LibCall {
    /// The expressions it computes its value from.
    pub fn operands(&self) -> Vec<&Expr> {
        match self {
            LibCall::Bswap(a)
            | LibCall::MacAddr(a)
            | LibCall::Tagged(a)
            | LibCall::Usym { addr: a, .. } => vec![a],
            LibCall::Inet { af, addr } => vec![af, addr],
            LibCall::Bytes(_)
            | LibCall::CgroupId
            | LibCall::Stack { .. }
            | LibCall::Caller { .. } => vec![],
        }
    }

    /// The same, to change in place.
    pub fn operands_mut(&mut self) -> Vec<&mut Expr> {
        match self {
            LibCall::Bswap(a)
            | LibCall::MacAddr(a)
            | LibCall::Tagged(a)
            | LibCall::Usym { addr: a, .. } => vec![a],
            LibCall::Inet { af, addr } => vec![af, addr],
            LibCall::Bytes(_)
            | LibCall::CgroupId
            | LibCall::Stack { .. }
            | LibCall::Caller { .. } => vec![],
        }
    }

    /// How `--dump hir` names it.
    pub fn name(&self) -> &'static str {
        match self {
            LibCall::Bswap(_) => "bswap",
            LibCall::Inet { .. } => "ntop",
            LibCall::MacAddr(_) => "macaddr",
            LibCall::Bytes(_) => "bytes",
            LibCall::Tagged(_) => "rendered",
            LibCall::CgroupId => "cgroup",
            LibCall::Stack { user: false, .. } => "kstack",
            LibCall::Stack { user: true, .. } => "ustack",
            LibCall::Usym { .. } => "usym",
            LibCall::Caller { .. } => "caller",
        }
    }
}
