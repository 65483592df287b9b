//! The function table: every function a program can call, with its kind (value,
//! statement, aggregation), how many arguments it takes, its signature and help text.
//! Sema looks names up here only; `docs/language.md` lists the same rows (a test keeps
//! them in step).

/// How a function may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Returns a value (`str(p)`).
    Value,
    /// A statement of its own (`printf`, `exit`, `delete`).
    Statement,
    /// Assigned to a map entry (`@m[k] = count()`, ply's `@m[k].count()`).
    Aggregation,
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub struct Function {
    /// Name as written.
    pub name: &'static str,
    /// How it may be used.
    pub kind: Kind,
    /// Fewest arguments.
    pub min_args: usize,
    /// Most arguments.
    pub max_args: usize,
    /// Where it may be used.
    pub available: &'static str,
    /// How it is called.
    pub signature: &'static str,
    /// What it does.
    pub doc: &'static str,
}

const fn row(
    name: &'static str,
    kind: Kind,
    (min_args, max_args): (usize, usize),
    available: &'static str,
    signature: &'static str,
    doc: &'static str,
) -> Function {
    Function {
        name,
        kind,
        min_args,
        max_args,
        available,
        signature,
        doc,
    }
}

/// Most functions work in every probe.
const EVERY: &str = "every probe";

/// Every function, in the order help texts list them.
pub const FUNCTIONS: &[Function] = &[
    row(
        "printf",
        Kind::Statement,
        (1, usize::MAX),
        EVERY,
        "printf(fmt, args...)",
        "print formatted text (C conversions %d %i %u %x %X %o %c %p with flags, width, precision and length; %s of any value; %gr GFP flags; %r %rx %rh buffers; %%)",
    ),
    row(
        "errorf",
        Kind::Statement,
        (1, usize::MAX),
        EVERY,
        "errorf(fmt, args...)",
        "print a formatted error message after the call's source location (stdin:1:9-30: ERROR: ...) on stderr; JSON errorf",
    ),
    row(
        "warnf",
        Kind::Statement,
        (1, usize::MAX),
        EVERY,
        "warnf(fmt, args...)",
        "print a formatted warning after the call's source location (stdin:1:9-30: WARNING: ...) on stderr; JSON warnf",
    ),
    row(
        "cat",
        Kind::Statement,
        (1, usize::MAX),
        EVERY,
        "cat(path[, args...])",
        "print the contents of a regular file (at most 10240 bytes), the path a printf format; a file that cannot be read is reported (ERROR: failed to open file ...)",
    ),
    row(
        "system",
        Kind::Statement,
        (1, usize::MAX),
        "every probe, with --unsafe",
        "system(cmd[, args...])",
        "with --unsafe: run the formatted command with /bin/sh -c, wait for it and print its output; a failing command is reported",
    ),
    row(
        "signal",
        Kind::Statement,
        (1, 1),
        "tracepoints, uprobes, profile; with --unsafe",
        "signal(sig)",
        "with --unsafe: send signal sig (a number, or a name such as \"SIGUSR1\" or \"KILL\") to the current process, in the kernel (not in BEGIN, END, interval, software or hardware probes)",
    ),
    row(
        "print",
        Kind::Statement,
        (1, 3),
        EVERY,
        "print(value) / print(@map[, top[, div]])",
        "print one value on a line of its own, or a whole map now (its top entries, values divided by div)",
    ),
    row(
        "clear",
        Kind::Statement,
        (1, 1),
        EVERY,
        "clear(@map)",
        "remove every entry of a map (a cleared map is not printed at exit)",
    ),
    row(
        "zero",
        Kind::Statement,
        (1, 1),
        EVERY,
        "zero(@map)",
        "set every value of a map to zero, keeping its keys",
    ),
    row(
        "join",
        Kind::Statement,
        (1, 2),
        EVERY,
        "join(array[, sep])",
        "print the strings of a NULL-terminated array of string pointers (execve's args.argv), joined by sep (a space), on a line of their own; at most 16 strings",
    ),
    row(
        "time",
        Kind::Statement,
        (0, 1),
        EVERY,
        "time([fmt])",
        "print the wall-clock time when scry reads the event, in strftime(3)'s format (default %H:%M:%S and a newline; %f is microseconds)",
    ),
    row(
        "exit",
        Kind::Statement,
        (0, 1),
        EVERY,
        "exit([code])",
        "stop tracing: END runs, then maps print; scry exits with code (0 when none)",
    ),
    row(
        "delete",
        Kind::Statement,
        (1, 2),
        EVERY,
        "delete(@map[key]) / delete(@map, key)",
        "remove one map entry (delete(@map) of an unkeyed map empties it)",
    ),
    row(
        "nsecs",
        Kind::Value,
        (0, 1),
        EVERY,
        "nsecs([clock])",
        "nanoseconds of clock monotonic (as nsecs), boot (suspend included), tai, or sw_tai (boot plus the TAI offset measured at compile time)",
    ),
    row(
        "has_key",
        Kind::Value,
        (2, 2),
        EVERY,
        "has_key(@map, key)",
        "true when the map has an entry for key",
    ),
    row(
        "len",
        Kind::Value,
        (1, 1),
        EVERY,
        "len(@map)",
        "the number of entries of a keyed map",
    ),
    row(
        "str",
        Kind::Value,
        (1, 2),
        EVERY,
        "str(ptr[, n])",
        "the NUL-terminated string at ptr (user memory in syscall tracepoints and uprobes, kernel memory elsewhere), at most n characters and max_strlen bytes",
    ),
    row(
        "buf",
        Kind::Value,
        (1, 2),
        EVERY,
        "buf(ptr[, n])",
        "n bytes at ptr (at most max_strlen; n may be omitted for a string), printed by %r as text with \\xNN escapes, %rx all escaped, %rh as hex",
    ),
    row(
        "strlen",
        Kind::Value,
        (1, 1),
        EVERY,
        "strlen(s)",
        "the length of string s (bytes before its NUL)",
    ),
    row(
        "strncmp",
        Kind::Value,
        (3, 3),
        EVERY,
        "strncmp(a, b, n)",
        "0 when the first n characters of strings a and b are equal (C strncmp), 1 otherwise",
    ),
    row(
        "strcontains",
        Kind::Value,
        (2, 2),
        EVERY,
        "strcontains(haystack, needle)",
        "true when string needle occurs in string haystack, else false (a needle that is not a literal needs the kernel function bpf_strnstr, Linux 6.17+)",
    ),
    row(
        "bswap",
        Kind::Value,
        (1, 1),
        EVERY,
        "bswap(x)",
        "the bytes of integer x in reverse order, in its own width (an unsigned integer of that width; 8 bits unchanged)",
    ),
    row(
        "ntop",
        Kind::Value,
        (1, 2),
        EVERY,
        "ntop([af, ] addr)",
        "an IP address as text (inet): addr an IPv4 integer in network order, or a 4- or 16-byte array (args.saddr, pton()); af AF_INET (2) or AF_INET6 (10), by default from the size",
    ),
    row(
        "pton",
        Kind::Value,
        (1, 1),
        EVERY,
        "pton(\"addr\")",
        "the bytes of an IPv4 (4) or IPv6 (16) address literal in network order, as a buffer (at compile time)",
    ),
    row(
        "macaddr",
        Kind::Value,
        (1, 1),
        EVERY,
        "macaddr(addr)",
        "a MAC address (the first 6 bytes of an array or buffer, or the 6 bytes at a pointer), printed AA:BB:CC:DD:EE:FF",
    ),
    row(
        "strerror",
        Kind::Value,
        (1, 1),
        EVERY,
        "strerror(errno)",
        "an error number, printed as the C library's text for it (No such file or directory)",
    ),
    row(
        "kaddr",
        Kind::Value,
        (1, 1),
        EVERY,
        "kaddr(\"sym\")",
        "the address of a kernel symbol from /proc/kallsyms (uint64, at compile time)",
    ),
    row(
        "uaddr",
        Kind::Value,
        (1, 1),
        "uprobes",
        "uaddr(\"sym\")",
        "in uprobes, the address of a symbol of the probed binary: a pointer to an unsigned integer of the symbol's size (uint64 * unless 1, 2, 4 or 8 bytes); the ELF address, not relocated for PIE binaries",
    ),
    row(
        "reg",
        Kind::Value,
        (1, 1),
        "kprobes, uprobes, perf events, watchpoints",
        "reg(\"name\")",
        "a register of the probed task (uint64) by bpftrace's x86-64 names: ip, sp, bp, ax, bx, cx, dx, si, di, r8 to r15, orig_ax, flags, cs, ss",
    ),
    row(
        "cgroup_path",
        Kind::Value,
        (1, 2),
        EVERY,
        "cgroup_path(id[, \"filter\"])",
        "a cgroup id, printed as its paths (hierarchy:path, cgroup2 as unified) in the mounted hierarchies whose names match the wildcard filter",
    ),
    row(
        "strftime",
        Kind::Value,
        (2, 2),
        EVERY,
        "strftime(fmt, nsecs)",
        "nanoseconds since boot, printed as wall-clock time in strftime(3)'s format (%f is microseconds)",
    ),
    row(
        "kstack",
        Kind::Value,
        (0, 2),
        EVERY,
        "kstack([mode][, depth])",
        "the kernel stack, depth frames (1 to 127, the default)",
    ),
    row(
        "ustack",
        Kind::Value,
        (0, 2),
        EVERY,
        "ustack([mode][, depth])",
        "the user stack, depth frames (1 to 127, the default)",
    ),
    row(
        "ksym",
        Kind::Value,
        (1, 1),
        EVERY,
        "ksym(addr)",
        "a kernel address, printed as the name of its function",
    ),
    row(
        "usym",
        Kind::Value,
        (1, 1),
        EVERY,
        "usym(addr)",
        "a user address of the current process, printed as the name of its function",
    ),
    row(
        "count",
        Kind::Aggregation,
        (0, 0),
        EVERY,
        "count()",
        "number of updates",
    ),
    row(
        "sum",
        Kind::Aggregation,
        (1, 1),
        EVERY,
        "sum(x)",
        "sum of x",
    ),
    row(
        "avg",
        Kind::Aggregation,
        (1, 1),
        EVERY,
        "avg(x)",
        "average of x (truncated)",
    ),
    row(
        "min",
        Kind::Aggregation,
        (1, 1),
        EVERY,
        "min(x)",
        "smallest x",
    ),
    row(
        "max",
        Kind::Aggregation,
        (1, 1),
        EVERY,
        "max(x)",
        "largest x",
    ),
    row(
        "stats",
        Kind::Aggregation,
        (1, 1),
        EVERY,
        "stats(x)",
        "count, average and total of x",
    ),
    row(
        "hist",
        Kind::Aggregation,
        (1, 1),
        EVERY,
        "hist(x)",
        "power-of-two histogram of x",
    ),
    row(
        "quantize",
        Kind::Aggregation,
        (1, 1),
        EVERY,
        "quantize(x)",
        "ply's name for hist(x)",
    ),
    row(
        "lhist",
        Kind::Aggregation,
        (4, 4),
        EVERY,
        "lhist(x, min, max, step)",
        "linear histogram of x",
    ),
];

/// The row of `name`.
pub fn lookup(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

/// The names, for help texts.
pub fn names() -> String {
    FUNCTIONS
        .iter()
        .map(|f| f.name)
        .collect::<Vec<_>>()
        .join(", ")
}
