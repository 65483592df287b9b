//! x86-64 facts: `struct pt_regs` offsets of the registers probes read, and system call
//! numbers by the kernel entry point that names their tracepoints
//! (`syscalls:sys_enter_newstat` is syscall 4, `stat`). The numbers serve many syscall
//! tracepoints from the two `raw_syscalls` raw tracepoints; a tracepoint missing here (a
//! syscall newer than this table) simply stays a classic tracepoint.

/// `struct pt_regs` offsets of `di si dx cx r8 r9`: the first six function arguments.
pub const FUNC_ARGS: [u32; 6] = [112, 104, 96, 88, 72, 64];
/// `struct pt_regs` offsets of `di si dx r10 r8 r9`: the six system call arguments.
pub const SYSCALL_ARGS: [u32; 6] = [112, 104, 96, 56, 72, 64];
/// `struct pt_regs` offset of `ax`, a function's return value.
pub const AX: u32 = 80;
/// `struct pt_regs` offset of `orig_ax`, the system call number (then `ip`, then `cs`).
pub const ORIG_AX: u32 = 120;
/// `__USER32_CS`: the code segment of a 32-bit compat task; its syscall numbers belong to
/// another table.
pub const USER32_CS: u32 = 0x23;

/// The prefix of the kernel's own name for a syscall's entry point (`__x64_sys_read`;
/// `SyS_read` and `sys_read` before Linux 4.17).
pub const SYSCALL_PREFIX: &str = "__x64_sys_";

/// `struct pt_regs` in order, by the names `reg()` takes (bpftrace's): each 8 bytes.
const REGISTERS: [&str; 21] = [
    "r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx", "si", "di",
    "orig_ax", "ip", "cs", "flags", "sp", "ss",
];

/// The `struct pt_regs` offset of register `name` (`reg("ip")`).
pub fn reg_offset(name: &str) -> Option<u32> {
    REGISTERS
        .iter()
        .position(|&r| r == name)
        .map(|i| i as u32 * 8)
}

/// The names `reg()` takes, for help texts.
pub fn registers() -> &'static [&'static str] {
    &REGISTERS
}

/// `(entry point without `sys_`, number)`, sorted by name.
const TABLE: &[(&str, u32)] = &[
    ("accept", 43),
    ("accept4", 288),
    ("access", 21),
    ("acct", 163),
    ("add_key", 248),
    ("adjtimex", 159),
    ("alarm", 37),
    ("arch_prctl", 158),
    ("bind", 49),
    ("bpf", 321),
    ("brk", 12),
    ("cachestat", 451),
    ("capget", 125),
    ("capset", 126),
    ("chdir", 80),
    ("chmod", 90),
    ("chown", 92),
    ("chroot", 161),
    ("clock_adjtime", 305),
    ("clock_getres", 229),
    ("clock_gettime", 228),
    ("clock_nanosleep", 230),
    ("clock_settime", 227),
    ("clone", 56),
    ("clone3", 435),
    ("close", 3),
    ("close_range", 436),
    ("connect", 42),
    ("copy_file_range", 326),
    ("creat", 85),
    ("delete_module", 176),
    ("dup", 32),
    ("dup2", 33),
    ("dup3", 292),
    ("epoll_create", 213),
    ("epoll_create1", 291),
    ("epoll_ctl", 233),
    ("epoll_pwait", 281),
    ("epoll_pwait2", 441),
    ("epoll_wait", 232),
    ("eventfd", 284),
    ("eventfd2", 290),
    ("execve", 59),
    ("execveat", 322),
    ("exit", 60),
    ("exit_group", 231),
    ("faccessat", 269),
    ("faccessat2", 439),
    ("fadvise64", 221),
    ("fallocate", 285),
    ("fanotify_init", 300),
    ("fanotify_mark", 301),
    ("fchdir", 81),
    ("fchmod", 91),
    ("fchmodat", 268),
    ("fchmodat2", 452),
    ("fchown", 93),
    ("fchownat", 260),
    ("fcntl", 72),
    ("fdatasync", 75),
    ("fgetxattr", 193),
    ("finit_module", 313),
    ("flistxattr", 196),
    ("flock", 73),
    ("fork", 57),
    ("fremovexattr", 199),
    ("fsconfig", 431),
    ("fsetxattr", 190),
    ("fsmount", 432),
    ("fsopen", 430),
    ("fspick", 433),
    ("fstatfs", 138),
    ("fsync", 74),
    ("ftruncate", 77),
    ("futex", 202),
    ("futex_requeue", 456),
    ("futex_wait", 455),
    ("futex_waitv", 449),
    ("futex_wake", 454),
    ("futimesat", 261),
    ("get_mempolicy", 239),
    ("get_robust_list", 274),
    ("getcpu", 309),
    ("getcwd", 79),
    ("getdents", 78),
    ("getdents64", 217),
    ("getegid", 108),
    ("geteuid", 107),
    ("getgid", 104),
    ("getgroups", 115),
    ("getitimer", 36),
    ("getpeername", 52),
    ("getpgid", 121),
    ("getpgrp", 111),
    ("getpid", 39),
    ("getppid", 110),
    ("getpriority", 140),
    ("getrandom", 318),
    ("getresgid", 120),
    ("getresuid", 118),
    ("getrlimit", 97),
    ("getrusage", 98),
    ("getsid", 124),
    ("getsockname", 51),
    ("getsockopt", 55),
    ("gettid", 186),
    ("gettimeofday", 96),
    ("getuid", 102),
    ("getxattr", 191),
    ("getxattrat", 464),
    ("init_module", 175),
    ("inotify_add_watch", 254),
    ("inotify_init", 253),
    ("inotify_init1", 294),
    ("inotify_rm_watch", 255),
    ("io_cancel", 210),
    ("io_destroy", 207),
    ("io_getevents", 208),
    ("io_pgetevents", 333),
    ("io_setup", 206),
    ("io_submit", 209),
    ("io_uring_enter", 426),
    ("io_uring_register", 427),
    ("io_uring_setup", 425),
    ("ioctl", 16),
    ("ioperm", 173),
    ("iopl", 172),
    ("ioprio_get", 252),
    ("ioprio_set", 251),
    ("kcmp", 312),
    ("kexec_file_load", 320),
    ("kexec_load", 246),
    ("keyctl", 250),
    ("kill", 62),
    ("landlock_add_rule", 445),
    ("landlock_create_ruleset", 444),
    ("landlock_restrict_self", 446),
    ("lchown", 94),
    ("lgetxattr", 192),
    ("link", 86),
    ("linkat", 265),
    ("listen", 50),
    ("listmount", 458),
    ("listxattr", 194),
    ("listxattrat", 465),
    ("llistxattr", 195),
    ("lremovexattr", 198),
    ("lseek", 8),
    ("lsetxattr", 189),
    ("lsm_get_self_attr", 459),
    ("lsm_list_modules", 461),
    ("lsm_set_self_attr", 460),
    ("madvise", 28),
    ("map_shadow_stack", 453),
    ("mbind", 237),
    ("membarrier", 324),
    ("memfd_create", 319),
    ("memfd_secret", 447),
    ("migrate_pages", 256),
    ("mincore", 27),
    ("mkdir", 83),
    ("mkdirat", 258),
    ("mknod", 133),
    ("mknodat", 259),
    ("mlock", 149),
    ("mlock2", 325),
    ("mlockall", 151),
    ("mmap", 9),
    ("modify_ldt", 154),
    ("mount", 165),
    ("mount_setattr", 442),
    ("move_mount", 429),
    ("move_pages", 279),
    ("mprotect", 10),
    ("mq_getsetattr", 245),
    ("mq_notify", 244),
    ("mq_open", 240),
    ("mq_timedreceive", 243),
    ("mq_timedsend", 242),
    ("mq_unlink", 241),
    ("mremap", 25),
    ("mseal", 462),
    ("msgctl", 71),
    ("msgget", 68),
    ("msgrcv", 70),
    ("msgsnd", 69),
    ("msync", 26),
    ("munlock", 150),
    ("munlockall", 152),
    ("munmap", 11),
    ("name_to_handle_at", 303),
    ("nanosleep", 35),
    ("newfstat", 5),
    ("newfstatat", 262),
    ("newlstat", 6),
    ("newstat", 4),
    ("newuname", 63),
    ("open", 2),
    ("open_by_handle_at", 304),
    ("open_tree", 428),
    ("openat", 257),
    ("openat2", 437),
    ("pause", 34),
    ("perf_event_open", 298),
    ("personality", 135),
    ("pidfd_getfd", 438),
    ("pidfd_open", 434),
    ("pidfd_send_signal", 424),
    ("pipe", 22),
    ("pipe2", 293),
    ("pivot_root", 155),
    ("pkey_alloc", 330),
    ("pkey_free", 331),
    ("pkey_mprotect", 329),
    ("poll", 7),
    ("ppoll", 271),
    ("prctl", 157),
    ("pread64", 17),
    ("preadv", 295),
    ("preadv2", 327),
    ("prlimit64", 302),
    ("process_madvise", 440),
    ("process_mrelease", 448),
    ("process_vm_readv", 310),
    ("process_vm_writev", 311),
    ("pselect6", 270),
    ("ptrace", 101),
    ("pwrite64", 18),
    ("pwritev", 296),
    ("pwritev2", 328),
    ("quotactl", 179),
    ("quotactl_fd", 443),
    ("read", 0),
    ("readahead", 187),
    ("readlink", 89),
    ("readlinkat", 267),
    ("readv", 19),
    ("reboot", 169),
    ("recvfrom", 45),
    ("recvmmsg", 299),
    ("recvmsg", 47),
    ("remap_file_pages", 216),
    ("removexattr", 197),
    ("removexattrat", 466),
    ("rename", 82),
    ("renameat", 264),
    ("renameat2", 316),
    ("request_key", 249),
    ("restart_syscall", 219),
    ("rmdir", 84),
    ("rseq", 334),
    ("rt_sigaction", 13),
    ("rt_sigpending", 127),
    ("rt_sigprocmask", 14),
    ("rt_sigqueueinfo", 129),
    ("rt_sigreturn", 15),
    ("rt_sigsuspend", 130),
    ("rt_sigtimedwait", 128),
    ("rt_tgsigqueueinfo", 297),
    ("sched_get_priority_max", 146),
    ("sched_get_priority_min", 147),
    ("sched_getaffinity", 204),
    ("sched_getattr", 315),
    ("sched_getparam", 143),
    ("sched_getscheduler", 145),
    ("sched_rr_get_interval", 148),
    ("sched_setaffinity", 203),
    ("sched_setattr", 314),
    ("sched_setparam", 142),
    ("sched_setscheduler", 144),
    ("sched_yield", 24),
    ("seccomp", 317),
    ("select", 23),
    ("semctl", 66),
    ("semget", 64),
    ("semop", 65),
    ("semtimedop", 220),
    ("sendfile64", 40),
    ("sendmmsg", 307),
    ("sendmsg", 46),
    ("sendto", 44),
    ("set_mempolicy", 238),
    ("set_mempolicy_home_node", 450),
    ("set_robust_list", 273),
    ("set_tid_address", 218),
    ("setdomainname", 171),
    ("setfsgid", 123),
    ("setfsuid", 122),
    ("setgid", 106),
    ("setgroups", 116),
    ("sethostname", 170),
    ("setitimer", 38),
    ("setns", 308),
    ("setpgid", 109),
    ("setpriority", 141),
    ("setregid", 114),
    ("setresgid", 119),
    ("setresuid", 117),
    ("setreuid", 113),
    ("setrlimit", 160),
    ("setsid", 112),
    ("setsockopt", 54),
    ("settimeofday", 164),
    ("setuid", 105),
    ("setxattr", 188),
    ("setxattrat", 463),
    ("shmat", 30),
    ("shmctl", 31),
    ("shmdt", 67),
    ("shmget", 29),
    ("shutdown", 48),
    ("sigaltstack", 131),
    ("signalfd", 282),
    ("signalfd4", 289),
    ("socket", 41),
    ("socketpair", 53),
    ("splice", 275),
    ("statfs", 137),
    ("statmount", 457),
    ("statx", 332),
    ("swapoff", 168),
    ("swapon", 167),
    ("symlink", 88),
    ("symlinkat", 266),
    ("sync", 162),
    ("sync_file_range", 277),
    ("syncfs", 306),
    ("sysfs", 139),
    ("sysinfo", 99),
    ("syslog", 103),
    ("tee", 276),
    ("tgkill", 234),
    ("time", 201),
    ("timer_create", 222),
    ("timer_delete", 226),
    ("timer_getoverrun", 225),
    ("timer_gettime", 224),
    ("timer_settime", 223),
    ("timerfd_create", 283),
    ("timerfd_gettime", 287),
    ("timerfd_settime", 286),
    ("times", 100),
    ("tkill", 200),
    ("truncate", 76),
    ("umask", 95),
    ("umount", 166),
    ("unlink", 87),
    ("unlinkat", 263),
    ("unshare", 272),
    ("userfaultfd", 323),
    ("ustat", 136),
    ("utime", 132),
    ("utimensat", 280),
    ("utimes", 235),
    ("vfork", 58),
    ("vhangup", 153),
    ("vmsplice", 278),
    ("wait4", 61),
    ("waitid", 247),
    ("write", 1),
    ("writev", 20),
];

/// The syscall number of `sys_enter_NAME` / `sys_exit_NAME`.
pub fn number(name: &str) -> Option<u32> {
    TABLE
        .binary_search_by(|(n, _)| n.cmp(&name))
        .ok()
        .map(|i| TABLE[i].1)
}

/// Largest number in the table plus one (the size of a table indexed by number).
pub fn limit() -> u32 {
    TABLE.iter().map(|&(_, n)| n).max().unwrap_or(0) + 1
}

/// `struct pt_regs` offset of `ip`.
pub const IP: u32 = 128;

/// `struct pt_regs` offsets of the general-purpose registers by their 64-bit names.
const PT_REGS: &[(&str, u32)] = &[
    ("r15", 0),
    ("r14", 8),
    ("r13", 16),
    ("r12", 24),
    ("rbp", 32),
    ("rbx", 40),
    ("r11", 48),
    ("r10", 56),
    ("r9", 64),
    ("r8", 72),
    ("rax", 80),
    ("rcx", 88),
    ("rdx", 96),
    ("rsi", 104),
    ("rdi", 112),
    ("rip", IP),
    ("rsp", 152),
];

/// A register as an assembler names it (`%eax`, `%r9d`, `%ah`): bytes of one
/// `pt_regs` slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Register {
    /// Offset of the 64-bit register in `struct pt_regs`.
    pub off: u32,
    /// Its width in bytes (8, 4, 2 or 1).
    pub bytes: u8,
    /// Bits below it in the 64-bit register (8 for `%ah`, `%bh`, `%ch`, `%dh`).
    pub shift: u8,
}

/// The register the AT&T name `name` (without `%`) designates: `rax`, `eax`, `ax`,
/// `al`, `ah`, …, `r8`, `r8d`, `r8w`, `r8b`, `rip`.
pub fn register(name: &str) -> Option<Register> {
    let at = |full: &str, bytes: u8, shift: u8| {
        PT_REGS
            .iter()
            .find(|(n, _)| *n == full)
            .map(|&(_, off)| Register { off, bytes, shift })
    };
    // r8 … r15 and their d/w/b (or l) parts.
    if let Some(num) = name.strip_prefix('r')
        && num.starts_with(|c: char| c.is_ascii_digit())
    {
        let (digits, part) =
            num.split_at(num.find(|c: char| !c.is_ascii_digit()).unwrap_or(num.len()));
        let bytes = match part {
            "" => 8,
            "d" => 4,
            "w" => 2,
            "b" | "l" => 1,
            _ => return None,
        };
        return at(&format!("r{digits}"), bytes, 0);
    }
    // The legacy eight: rax/eax/ax/al/ah, rsi/esi/si/sil, …
    let legacy = [
        ("ax", "a"),
        ("bx", "b"),
        ("cx", "c"),
        ("dx", "d"),
        ("si", "si"),
        ("di", "di"),
        ("bp", "bp"),
        ("sp", "sp"),
        ("ip", "ip"),
    ];
    for (word, stem) in legacy {
        let full = format!("r{word}");
        if name == full {
            return at(&full, 8, 0);
        }
        if name == format!("e{word}") {
            return at(&full, 4, 0);
        }
        if name == word {
            return at(&full, 2, 0);
        }
        let one = stem.len() == 1;
        if name == format!("{stem}l") && (one || word != "ip") {
            return at(&full, 1, 0);
        }
        if one && name == format!("{stem}h") {
            return at(&full, 1, 8);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers() {
        let r = |off, bytes, shift| Some(Register { off, bytes, shift });
        assert_eq!(register("rax"), r(80, 8, 0));
        assert_eq!(register("eax"), r(80, 4, 0));
        assert_eq!(register("ax"), r(80, 2, 0));
        assert_eq!(register("al"), r(80, 1, 0));
        assert_eq!(register("ah"), r(80, 1, 8));
        assert_eq!(register("rdi"), r(112, 8, 0));
        assert_eq!(register("dil"), r(112, 1, 0));
        assert_eq!(register("sil"), r(104, 1, 0));
        assert_eq!(register("bpl"), r(32, 1, 0));
        assert_eq!(register("spl"), r(152, 1, 0));
        assert_eq!(register("r9d"), r(64, 4, 0));
        assert_eq!(register("r10w"), r(56, 2, 0));
        assert_eq!(register("r11b"), r(48, 1, 0));
        assert_eq!(register("r15"), r(0, 8, 0));
        assert_eq!(register("rip"), r(IP, 8, 0));
        assert_eq!(FUNC_ARGS[0], register("rdi").unwrap().off);
        assert_eq!(AX, register("rax").unwrap().off);
        for bad in ["", "r", "r16", "r8x", "sih", "ipl", "xmm0", "eip0", "rr8"] {
            assert_eq!(register(bad), None, "{bad}");
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(number("read"), Some(0));
        assert_eq!(number("newstat"), Some(4));
        assert_eq!(number("newuname"), Some(63));
        assert_eq!(number("sendfile64"), Some(40));
        assert_eq!(number("openat2"), Some(437));
        assert_eq!(number("stat"), None);
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(limit(), 467);
        assert_eq!(reg_offset("ip"), Some(128));
        assert_eq!(reg_offset("di"), Some(FUNC_ARGS[0]));
        assert_eq!(reg_offset("ax"), Some(AX));
        assert_eq!(reg_offset("orig_ax"), Some(ORIG_AX));
        assert_eq!(reg_offset("sp"), Some(152));
        assert_eq!(reg_offset("eax"), None);
    }
}
