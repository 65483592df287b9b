//! Deterministic workload for scry's tests and benchmarks.
//!
//! `workload MODE N [ARG]` performs exactly N operations, then prints to stderr (stdout
//! stays silent so it never mixes with the tracer's output) its elapsed time as
//! `elapsed_ns=T` and the CLOCK_MONOTONIC instants it started and ended the work as
//! `start_mono_ns=S end_mono_ns=E` (benchmarks time attach and teardown against them):
//! - `getpid N`: N `getpid` system calls (issued directly, never cached by libc);
//! - `threads N [T]`: T threads (default 4) each making N `getpid` calls at once;
//! - `read N [BYTES]`: N `read`s of BYTES (default 1) from /dev/zero;
//! - `write N [BYTES]`: N `write`s of BYTES (default 1) to /dev/null;
//! - `writes N`: N `write`s to /dev/null of 0, 1, …, N−1 bytes (a known distribution);
//! - `bytes N`: N `write`s to /dev/null; the i-th (from 0) sends the first i mod 11
//!   bytes of `A z~` NUL 0x01 0x7f 0x80 0xff `\n` (printable, control and high bytes);
//! - `func N`: N calls of the non-inlined function `scry_workload_func`;
//! - `framed N`: N calls of `scry_workload_framed`, the same function with a C-style
//!   `push %rbp` prologue (x86-64), which uprobes emulate instead of single-stepping;
//! - `cet N`: N calls of `scry_workload_cet`, the same behind an `endbr64` landing pad,
//!   as C compilers emit with -fcf-protection;
//! - `flood N`: N `getpid` calls, then one `getppid` (a marker for the tracer), then a
//!   sleep of 30 s that a tracer which stopped at the marker never waits for; its stdout
//!   and stderr go to /dev/null first, so it holds no pipe of the tracer's;
//! - `opens N`: opens (and closes) /dev/null N times and /dev/zero 2×N times;
//! - `mangled N [MS]`: N calls each of `workload::probes::tick` (a Rust-mangled symbol)
//!   and of `_ZN4scry8Workload4tickEm`, C++'s `scry::Workload::tick(unsigned long)`, then
//!   a sleep of MS milliseconds (default 0);
//! - `stack N [MS]`: N calls of `scry_stack_outer`, which calls `scry_stack_middle`,
//!   which calls `scry_stack_leaf` (x86-64 assembly with frame-pointer prologues, so user
//!   stacks unwind through them exactly: the return addresses are `+9` into each caller),
//!   then a sleep of MS milliseconds (default 0) before exiting, so a tracer that reads
//!   the process's mappings when it first sees it finds them;
//! - `stacks N [DEPTH [MS]]`: N calls of `scry_stack_fan` DEPTH (default 14) levels
//!   deep, the i-th (from 0) recursing through one of two call sites at each level by
//!   the bits of i, down to `scry_stack_leaf`: min(N, 2^DEPTH) distinct user stacks;
//!   then a sleep of MS milliseconds (default 0);
//! - `long N`: N calls of `scry_long_symbol_target_function` and 2×N of
//!   `scry_long_symbol_other_function`, deep in modules with long names: their
//!   Rust-mangled symbols are over 583 bytes;
//! - `sleep N`: sleep N milliseconds;
//! - `late N MS`: sleep MS milliseconds, then N `getpid` calls (for a tracer given the
//!   pid with `-p` while it sleeps);
//! - `exec N`: N times in a row, the process executes itself again (`/proc/self/exe`, so
//!   the pid stays) with the arguments `scry-exec exec N-1 alpha "beta gamma"`: a
//!   tracer sees N `execve` calls with known file name and arguments;
//! - `spin N`: keep a CPU busy for N milliseconds;
//! - `faults N`: N minor page faults (one anonymous page, written, then dropped with
//!   `MADV_DONTNEED` so the next write faults again), between two `getppid` calls that
//!   mark the window for a tracer;
//! - `watch N [MS]`: after MS milliseconds (default 0), maps a page at the fixed address
//!   0x10000000 (a watchpoint test knows it in advance), writes the u64 there N times and
//!   reads the one at 0x10000008 2×N times;
//! - `rss CMD ARGS...`: runs CMD and prints its peak RSS as `maxrss_kb=K` (measured from
//!   this small process, so the parent's own memory does not inflate the figure);
//! - `usdt N`: loads the shared library of `examples/workload_usdt_lib.c` (dlopen), runs
//!   N rounds of the USDT probes of `examples/workload_usdt.c` (each probe's arguments
//!   are listed there), then fires the library's `scry_lib:call` N times; prints
//!   `usdt_enabled=K`: in how many rounds the semaphore of `scry_guarded:hit` was set,
//!   so that probe fired;
//! - `usdt-wait N`: reads a line from stdin (a test writes one once its tracer, started
//!   with `-p`, has attached), then does what `usdt N` does.
//!
//! Two optional environment variables place the process before any mode starts (the
//! benchmarks set them, and they pass through a tracer's `-c` to the command it spawns,
//! which keeps its pid, unlike a `taskset`/`chrt` exec chain that costs two more execs):
//! - `SCRY_WORKLOAD_CPU=C`: run on CPU C only (`sched_setaffinity`);
//! - `SCRY_WORKLOAD_FIFO=P`: run at `SCHED_FIFO` priority P (1–99; needs root or
//!   CAP_SYS_NICE).
//!
//! A value that does not parse, or a call that fails, exits with status 2 and a message.

use std::time::Instant;

// A function whose first instruction has a `lock` prefix, which uprobes refuse.
#[cfg(target_arch = "x86_64")]
std::arch::global_asm!(
    ".globl scry_workload_locked",
    ".type scry_workload_locked, @function",
    "scry_workload_locked:",
    "lock inc qword ptr [rdi]",
    "ret",
    ".size scry_workload_locked, . - scry_workload_locked",
);

// A function that starts with `hlt`, which the kernel's uprobes refuse to probe
// (ENOTSUPP when a process maps the file): attach failures are tested on it. Never
// called.
#[cfg(target_arch = "x86_64")]
std::arch::global_asm!(
    ".globl scry_trap_hlt",
    ".type scry_trap_hlt, @function",
    "scry_trap_hlt:",
    "hlt",
    "ret",
    ".size scry_trap_hlt, . - scry_trap_hlt",
);

// `scry::Workload::tick(unsigned long)` as a C++ compiler names it: f(x) = x + 1.
#[cfg(target_arch = "x86_64")]
std::arch::global_asm!(
    ".globl _ZN4scry8Workload4tickEm",
    ".type _ZN4scry8Workload4tickEm, @function",
    "_ZN4scry8Workload4tickEm:",
    "push rbp",
    "mov rbp, rsp",
    "lea rax, [rdi + 1]",
    "pop rbp",
    "ret",
    ".size _ZN4scry8Workload4tickEm, . - _ZN4scry8Workload4tickEm",
);

unsafe extern "C" {
    #[link_name = "_ZN4scry8Workload4tickEm"]
    fn cpp_tick(x: u64) -> u64;
}

/// Functions under Rust-mangled names, for demangled uprobe specs.
mod probes {
    /// f(x) = 2x.
    #[inline(never)]
    pub fn tick(x: u64) -> u64 {
        std::hint::black_box(x.wrapping_mul(2))
    }
}

/// A function whose Rust-mangled name is over 583 bytes long (uprobe names, `func`
/// and their buffers must hold it whole).
pub mod deeply_nested_module_number_one_whose_name_is_long_on_purpose_for_symbols {
    pub mod deeply_nested_module_number_two_whose_name_is_long_on_purpose_for_symbols {
        pub mod deeply_nested_module_number_three_whose_name_is_long_on_purpose_for_symbols {
            pub mod deeply_nested_module_number_four_whose_name_is_long_on_purpose_for_symbols {
                pub mod deeply_nested_module_number_five_whose_name_is_long_on_purpose_for_symbols {
                    pub mod deeply_nested_module_number_six_whose_name_is_long_on_purpose_for_symbols {
                        pub mod deeply_nested_module_number_seven_whose_name_is_long_on_purpose_for_symbols {
                            /// f(x) = x + 5.
                            #[inline(never)]
                            pub fn scry_long_symbol_target_function(x: u64) -> u64 {
                                std::hint::black_box(x.wrapping_add(5))
                            }
                            /// f(x) = x + 6.
                            #[inline(never)]
                            pub fn scry_long_symbol_other_function(x: u64) -> u64 {
                                std::hint::black_box(x.wrapping_add(6))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The innermost of the modules with long names.
mod long_names {
    pub use super::deeply_nested_module_number_one_whose_name_is_long_on_purpose_for_symbols::deeply_nested_module_number_two_whose_name_is_long_on_purpose_for_symbols::deeply_nested_module_number_three_whose_name_is_long_on_purpose_for_symbols::deeply_nested_module_number_four_whose_name_is_long_on_purpose_for_symbols::deeply_nested_module_number_five_whose_name_is_long_on_purpose_for_symbols::deeply_nested_module_number_six_whose_name_is_long_on_purpose_for_symbols::deeply_nested_module_number_seven_whose_name_is_long_on_purpose_for_symbols::*;
}

/// A function for uprobe tests: never inlined, exported under a stable name.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn scry_workload_func(x: u64) -> u64 {
    std::hint::black_box(x.wrapping_mul(3).wrapping_add(1))
}

// f(x) = 3x + 1 behind the frame-pointer prologue a C compiler emits.
#[cfg(target_arch = "x86_64")]
std::arch::global_asm!(
    ".globl scry_workload_framed",
    ".type scry_workload_framed, @function",
    "scry_workload_framed:",
    "push rbp",
    "mov rbp, rsp",
    "lea rax, [rdi + 2*rdi + 1]",
    "pop rbp",
    "ret",
    ".size scry_workload_framed, . - scry_workload_framed",
    ".globl scry_workload_cet",
    ".type scry_workload_cet, @function",
    "scry_workload_cet:",
    "endbr64",
    "push rbp",
    "mov rbp, rsp",
    "lea rax, [rdi + 2*rdi + 1]",
    "pop rbp",
    "ret",
    ".size scry_workload_cet, . - scry_workload_cet",
);

// A known call chain for stack tests: outer → middle → leaf, each with a frame-pointer
// prologue (push rbp: 1 byte, mov rbp, rsp: 3, call: 5, so each return address is +9).
// `scry_stack_fan(depth, bits)` recurses `depth` times, through call site A (returning
// to +27) when the low bit of `bits` is 0 and B (returning to +34) when it is 1, shifting
// `bits` right each level; the leaf's call returns to +41.
#[cfg(target_arch = "x86_64")]
std::arch::global_asm!(
    ".globl scry_stack_leaf",
    ".type scry_stack_leaf, @function",
    "scry_stack_leaf:",
    "push rbp",
    "mov rbp, rsp",
    "lea rax, [rdi + 1]",
    "pop rbp",
    "ret",
    ".size scry_stack_leaf, . - scry_stack_leaf",
    ".globl scry_stack_middle",
    ".type scry_stack_middle, @function",
    "scry_stack_middle:",
    "push rbp",
    "mov rbp, rsp",
    "call scry_stack_leaf",
    "pop rbp",
    "ret",
    ".size scry_stack_middle, . - scry_stack_middle",
    ".globl scry_stack_outer",
    ".type scry_stack_outer, @function",
    "scry_stack_outer:",
    "push rbp",
    "mov rbp, rsp",
    "call scry_stack_middle",
    "pop rbp",
    "ret",
    ".size scry_stack_outer, . - scry_stack_outer",
    ".globl scry_stack_fan",
    ".type scry_stack_fan, @function",
    "scry_stack_fan:",
    "push rbp",            // +0
    "mov rbp, rsp",        // +1
    "test rdi, rdi",       // +4
    "jz 3f",               // +7 (2 bytes)
    "dec rdi",             // +9
    "mov rax, rsi",        // +12
    "shr rsi, 1",          // +15
    "test al, 1",          // +18
    "jnz 2f",              // +20 (2 bytes)
    "call scry_stack_fan", // +22, returns to +27
    "pop rbp",             // +27
    "ret",                 // +28
    "2:",
    "call scry_stack_fan", // +29, returns to +34
    "pop rbp",
    "ret",
    "3:",
    "call scry_stack_leaf", // +36, returns to +41
    "pop rbp",
    "ret",
    ".size scry_stack_fan, . - scry_stack_fan",
);

#[cfg(target_arch = "x86_64")]
unsafe extern "C" {
    fn scry_stack_outer(x: u64) -> u64;
    fn scry_stack_fan(depth: u64, bits: u64) -> u64;
    fn scry_workload_framed(x: u64) -> u64;
    fn scry_workload_cet(x: u64) -> u64;
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = || -> ! {
        eprintln!(
            "usage: workload getpid|threads|read|write|writes|func|framed|cet|flood|opens|long|connect|sleep|exec|spin|faults|watch|usdt|usdt-wait N [BYTES|THREADS]"
        );
        std::process::exit(2)
    };
    let mode = args.get(1).map(String::as_str).unwrap_or_else(|| usage());
    place_from_env();
    if mode == "rss" {
        let status = std::process::Command::new(args.get(2).unwrap_or_else(|| usage()))
            .args(&args[3..])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("run the command");
        let mut usage_now: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: a valid rusage pointer; RUSAGE_CHILDREN covers the command just reaped.
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage_now) };
        eprintln!(
            "maxrss_kb={} status={}",
            usage_now.ru_maxrss,
            status.code().unwrap_or(-1)
        );
        return;
    }
    let n: u64 = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| usage());
    let default = match mode {
        "threads" => 4,
        "watch" | "stack" | "mangled" => 0,
        _ => 1,
    };
    let bytes: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(default);
    let start_mono = mono_ns();
    let start = Instant::now();
    match mode {
        "mangled" => {
            for i in 0..n {
                std::hint::black_box(probes::tick(i));
                // SAFETY: the assembly above takes one u64 in rdi and returns one in rax.
                std::hint::black_box(unsafe { cpp_tick(i) });
            }
            std::thread::sleep(std::time::Duration::from_millis(bytes as u64));
        }
        "long" => {
            use long_names::*;
            for i in 0..n {
                std::hint::black_box(scry_long_symbol_target_function(i));
                std::hint::black_box(scry_long_symbol_other_function(i));
                std::hint::black_box(scry_long_symbol_other_function(i));
            }
        }
        "late" => {
            std::thread::sleep(std::time::Duration::from_millis(bytes as u64));
            for _ in 0..n {
                // SAFETY: getpid takes no arguments and cannot fail.
                unsafe { libc::syscall(libc::SYS_getpid) };
            }
        }
        "getpid" => {
            for _ in 0..n {
                // SAFETY: getpid takes no arguments and cannot fail.
                unsafe { libc::syscall(libc::SYS_getpid) };
            }
        }
        "threads" => {
            let workers: Vec<_> = (0..bytes.max(1))
                .map(|_| {
                    std::thread::spawn(move || {
                        for _ in 0..n {
                            // SAFETY: getpid takes no arguments and cannot fail.
                            unsafe { libc::syscall(libc::SYS_getpid) };
                        }
                    })
                })
                .collect();
            for w in workers {
                w.join().expect("worker");
            }
        }
        "read" | "write" => {
            let path = if mode == "read" {
                c"/dev/zero"
            } else {
                c"/dev/null"
            };
            let flags = if mode == "read" {
                libc::O_RDONLY
            } else {
                libc::O_WRONLY
            };
            // SAFETY: a valid NUL-terminated path.
            let fd = unsafe { libc::open(path.as_ptr(), flags) };
            assert!(fd >= 0, "cannot open {path:?}");
            let mut buf = vec![0u8; bytes];
            for _ in 0..n {
                // SAFETY: buf is valid for `bytes` bytes.
                let r = unsafe {
                    if mode == "read" {
                        libc::read(fd, buf.as_mut_ptr().cast(), bytes)
                    } else {
                        libc::write(fd, buf.as_ptr().cast(), bytes)
                    }
                };
                assert!(r >= 0, "{mode} failed");
            }
            // SAFETY: fd is ours.
            unsafe { libc::close(fd) };
        }
        "writes" => {
            // SAFETY: a valid NUL-terminated path.
            let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY) };
            assert!(fd >= 0, "cannot open /dev/null");
            let buf = vec![0u8; n as usize];
            for i in 0..n as usize {
                // SAFETY: buf is valid for n > i bytes.
                let r = unsafe { libc::write(fd, buf.as_ptr().cast(), i) };
                assert!(r >= 0, "write failed");
            }
            // SAFETY: fd is ours.
            unsafe { libc::close(fd) };
        }
        "bytes" => {
            // SAFETY: a valid NUL-terminated path.
            let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY) };
            assert!(fd >= 0, "cannot open /dev/null");
            let pattern = b"A z~\x00\x01\x7f\x80\xff\n";
            for i in 0..n as usize {
                // SAFETY: pattern is valid for its 10 bytes.
                let r = unsafe { libc::write(fd, pattern.as_ptr().cast(), i % 11) };
                assert!(r >= 0, "write failed");
            }
            // SAFETY: fd is ours.
            unsafe { libc::close(fd) };
        }
        "func" => {
            let mut acc = 0u64;
            for i in 0..n {
                acc = acc.wrapping_add(scry_workload_func(std::hint::black_box(i)));
            }
            std::hint::black_box(acc);
        }
        #[cfg(target_arch = "x86_64")]
        "framed" | "cet" => {
            let f = if mode == "cet" {
                scry_workload_cet
            } else {
                scry_workload_framed
            };
            let mut acc = 0u64;
            for i in 0..n {
                // SAFETY: leaf functions of one argument, defined above.
                acc = acc.wrapping_add(unsafe { f(std::hint::black_box(i)) });
            }
            std::hint::black_box(acc);
        }
        #[cfg(target_arch = "x86_64")]
        "stack" => {
            for i in 0..n {
                // SAFETY: assembly functions of one u64 argument, defined above.
                std::hint::black_box(unsafe { scry_stack_outer(std::hint::black_box(i)) });
            }
            std::thread::sleep(std::time::Duration::from_millis(bytes as u64));
        }
        #[cfg(target_arch = "x86_64")]
        "stacks" => {
            let depth = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(14u64);
            for i in 0..n {
                // SAFETY: defined above: recursion `depth` deep, then the leaf.
                std::hint::black_box(unsafe { scry_stack_fan(depth, std::hint::black_box(i)) });
            }
            let linger = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(0u64);
            std::thread::sleep(std::time::Duration::from_millis(linger));
        }
        "sleep" => std::thread::sleep(std::time::Duration::from_millis(n)),
        "exec" if n > 0 => {
            use std::os::unix::process::CommandExt;
            let err = std::process::Command::new("/proc/self/exe")
                .arg0("scry-exec")
                .args(["exec", &(n - 1).to_string(), "alpha", "beta gamma"])
                .exec();
            eprintln!("workload: exec failed: {err}");
            std::process::exit(2)
        }
        "exec" => {}
        "opens" => {
            for (path, times) in [(c"/dev/null", n), (c"/dev/zero", 2 * n)] {
                for _ in 0..times {
                    // SAFETY: a valid NUL-terminated path; the fd is closed at once.
                    unsafe {
                        let fd = libc::open(path.as_ptr(), libc::O_RDONLY);
                        assert!(fd >= 0, "cannot open {path:?}");
                        libc::close(fd);
                    }
                }
            }
        }
        "flood" => {
            // SAFETY: plain fd manipulation on this process's own descriptors.
            unsafe {
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
                libc::dup2(null, 1);
                libc::dup2(null, 2);
            }
            for _ in 0..n {
                // SAFETY: getpid takes no arguments and cannot fail.
                unsafe { libc::syscall(libc::SYS_getpid) };
            }
            // SAFETY: as above.
            unsafe { libc::syscall(libc::SYS_getppid) };
            std::thread::sleep(std::time::Duration::from_secs(30));
        }
        "connect" => {
            // N TCP connections over loopback, each accepted and closed.
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
            let addr = listener.local_addr().expect("address");
            for _ in 0..n {
                let c = std::net::TcpStream::connect(addr).expect("connect");
                let (s, _) = listener.accept().expect("accept");
                drop((c, s));
            }
        }
        "spin" => {
            let until = Instant::now() + std::time::Duration::from_millis(n);
            let mut x = 0u64;
            while Instant::now() < until {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        "watch" => {
            std::thread::sleep(std::time::Duration::from_millis(bytes as u64));
            watch(n);
        }
        "faults" => {
            // SAFETY: a fresh private anonymous mapping of one page, used only here.
            unsafe {
                let page = libc::sysconf(libc::_SC_PAGESIZE) as usize;
                let p = libc::mmap(
                    std::ptr::null_mut(),
                    page,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                );
                assert!(p != libc::MAP_FAILED, "mmap failed");
                libc::syscall(libc::SYS_getppid);
                for i in 0..n {
                    std::ptr::write_volatile(p.cast::<u64>(), i);
                    libc::madvise(p, page, libc::MADV_DONTNEED);
                }
                libc::syscall(libc::SYS_getppid);
                libc::munmap(p, page);
            }
        }
        "usdt" | "usdt-wait" => usdt(n, mode == "usdt-wait"),
        _ => usage(),
    }
    let elapsed = start.elapsed().as_nanos();
    // One write: `eprintln!` writes each formatted piece with a system call of its own
    // (stderr is unbuffered), and a tracer counting the workload's writes by size would
    // see a number's digits as one of them.
    let line = format!(
        "elapsed_ns={elapsed} start_mono_ns={start_mono} end_mono_ns={}\n",
        mono_ns()
    );
    use std::io::Write;
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// The page `watch` maps, at an address a test can name before the process starts.
const WATCHED: usize = 0x1000_0000;

/// N writes of the u64 at [`WATCHED`], then 2×N reads of the next one.
fn watch(n: u64) {
    // SAFETY: a fresh private anonymous page at a fixed address that must be free
    // (MAP_FIXED_NOREPLACE fails rather than replace a mapping); used only here.
    unsafe {
        let p = libc::mmap(
            WATCHED as *mut libc::c_void,
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        );
        if p as usize != WATCHED {
            eprintln!("workload: mmap at 0x{WATCHED:x} failed");
            std::process::exit(2);
        }
        let word = p.cast::<u64>();
        for i in 0..n {
            std::ptr::write_volatile(word, i);
        }
        let mut sum = 0u64;
        for _ in 0..2 * n {
            sum = sum.wrapping_add(std::ptr::read_volatile(word.add(1)));
        }
        std::hint::black_box(sum);
        libc::munmap(p, 4096);
    }
}

#[cfg(scry_workload_usdt)]
unsafe extern "C" {
    /// Fires every USDT probe `n` times; returns the rounds that found the semaphore set.
    fn scry_usdt_run(n: u64) -> u64;
}

/// `usdt N` and `usdt-wait N` (see the header).
#[cfg(scry_workload_usdt)]
fn usdt(n: u64, wait: bool) {
    let path = std::ffi::CString::new(env!("SCRY_WORKLOAD_USDT_LIB")).expect("no NUL");
    // SAFETY: a valid C string; the library has no constructors.
    let lib = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW) };
    // SAFETY: a valid handle and symbol name.
    let lib_run = (!lib.is_null())
        .then(|| unsafe { libc::dlsym(lib, c"scry_usdt_lib_run".as_ptr()) })
        .filter(|f| !f.is_null())
        .unwrap_or_else(|| {
            // SAFETY: dlerror returns a valid C string or null.
            let why = unsafe { libc::dlerror() };
            let why = if why.is_null() {
                String::new()
            } else {
                // SAFETY: non-null, NUL-terminated by dlerror.
                unsafe { std::ffi::CStr::from_ptr(why) }
                    .to_string_lossy()
                    .into_owned()
            };
            eprintln!(
                "workload: cannot load {}: {why}",
                env!("SCRY_WORKLOAD_USDT_LIB")
            );
            std::process::exit(2)
        });
    if wait {
        let mut line = String::new();
        if std::io::stdin().read_line(&mut line).is_err() {
            eprintln!("workload: cannot read stdin");
            std::process::exit(2);
        }
    }
    // SAFETY: the C part's probes only read their own locals and globals.
    let enabled = unsafe { scry_usdt_run(n) };
    // SAFETY: the library's function has this signature and only loops.
    let lib_run: extern "C" fn(u64) -> u64 = unsafe { std::mem::transmute(lib_run) };
    lib_run(n);
    eprintln!("usdt_enabled={enabled}");
}

#[cfg(not(scry_workload_usdt))]
fn usdt(_: u64, _: bool) {
    eprintln!("workload: built without USDT probes (sys/sdt.h missing: run tools/deps.sh)");
    std::process::exit(2);
}

/// Applies `SCRY_WORKLOAD_CPU` and `SCRY_WORKLOAD_FIFO` (see the header) when set.
fn place_from_env() {
    let var = |name: &str| -> Option<i32> {
        let value = std::env::var(name).ok()?;
        Some(value.trim().parse().unwrap_or_else(|_| {
            eprintln!("workload: {name}={value:?} is not a number");
            std::process::exit(2)
        }))
    };
    let fail = |what: &str| -> ! {
        eprintln!("workload: {what}: {}", std::io::Error::last_os_error());
        std::process::exit(2)
    };
    if let Some(cpu) = var("SCRY_WORKLOAD_CPU") {
        if !(0..libc::CPU_SETSIZE).contains(&cpu) {
            eprintln!("workload: SCRY_WORKLOAD_CPU={cpu} is out of range");
            std::process::exit(2);
        }
        // SAFETY: a zeroed cpu_set_t is a valid empty set; `cpu` is below CPU_SETSIZE.
        let set = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu as usize, &mut set);
            set
        };
        // SAFETY: a valid set of the size passed; pid 0 is this process.
        if unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) } != 0 {
            fail(&format!("pin to CPU {cpu}"));
        }
    }
    if let Some(priority) = var("SCRY_WORKLOAD_FIFO") {
        let param = libc::sched_param {
            sched_priority: priority,
        };
        // SAFETY: a valid sched_param; pid 0 is this process.
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) } != 0 {
            fail(&format!("SCHED_FIFO priority {priority}"));
        }
    }
}

fn mono_ns() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}
