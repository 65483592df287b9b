//! Mutated programs through the whole pure pipeline (parse, check, lower, ELF): every
//! input ends in Ok or diagnostics, never a panic. `SCRY_FUZZ=N` runs N inputs (long mode).

use scry::host::fake::Fake;
use scry::{codegen, parser, sema};

fn compile(src: &str) {
    let Ok(ast) = parser::parse(src) else { return };
    let Ok(hir) = sema::check(
        &ast,
        &Fake,
        &sema::Options {
            cpid: Some(7),
            ..Default::default()
        },
    ) else {
        return;
    };
    if let Ok(compiled) = codegen::lower(&hir) {
        let _ = compiled.artifact();
    }
}

#[test]
fn seeds_compile() {
    for seed in SEEDS {
        let ast = parser::parse(seed).expect("seed parses");
        let hir = sema::check(
            &ast,
            &Fake,
            &sema::Options {
                cpid: Some(7),
                ..Default::default()
            },
        )
        .unwrap_or_else(|d| panic!("{}", scry::diag::render("seed", seed, &d)));
        codegen::lower(&hir).expect("seed lowers");
    }
}

const SEEDS: &[&str] = &[
    r#"t:syscalls:sys_enter_read { printf("%s %c %5s %-3gr %lx %hhd %q 100%\n", (1, comm), 65, args.fd, 1, -1, 300); errorf("e %d", pid); warnf("w %s", comm); cat("/proc/%d/status", pid); }"#,
    r#"BEGIN { @c = count(); @s[1] = sum(-2); @mn = min(3); @a = avg(4); if ((int64)@c > @s[1] && @mn < 5) { @k[@c, @a] = max(@s[1]); } printf("%d\n", @c + @a); }"#,
    r#"t:syscalls:sys_enter_read /pid == cpid && comm == "x"/ { @[comm, pid] = sum(args->count); printf("%d %s\n", args.fd, comm); }"#,
    r#"BEGIN { $a = 1; $s = "str"; if ($a > 0) { @m[$s] = $a * 3 % 2; } else { $s = comm; } @n = @m["str"] + 1; exit(); }"#,
    r#"tracepoint:sched:sched_switch { @[args.prev_comm] = count(); @p[args.prev_pid] = args.prev_state < 0 ? -1 : 1; $x = args.prev_prio; @q += $x; @q++; }"#,
    r#"interval:ms:10 { @t = count(); $v = nsecs / 1000 >> 2 | 1 ^ ~cpu & uid; printf("%-5s|%08x|%c\n", probe, $v, 65); } END { @u = 1; @z = @u == 0; }"#,
    r#"t:sched/sched_switch { $m[args.prev_pid].count(); @s[args.prev_comm, 1].sum(args.prev_prio) }"#,
    r#"BEGIN { $i = 0; while ($i < 8) { $i++; if ($i % 3 == 0) { continue; } if ($i > 6) { break; } @w[$i] = $i; } unroll(3) { @u++; } return; } test:t { return @u == 3 ? 0 : 1; }"#,
    r#"t:syscalls:sys_enter_openat { @f[str(args.filename)] = count(); $s = str(args.filename, 16); if ($s == "/dev/null") { printf("%s %d\n", $s, args.flags); } } profile:hz:99 { @p[cpu] = count(); } software:faults:10 { @pf = count(); }"#,
    r#"t:syscalls:sys_enter_read { @h = hist(args.count); @l[comm] = lhist(args.fd, -10, 100, 7); @a[pid] = avg(args.count); @s = stats(1); @mn = min(args.fd); @mx[tid] = max(-3); @q.quantize(args.count); @t[tid] = nsecs; } t:sched:sched_switch /@t[tid]/ { @lat = hist(nsecs - @t[tid]); delete(@t[tid]); }"#,
    r#"t:syscalls:sys_enter_read { $p = args.buf; @c[*$p, $p[1]] = count(); @q = (uint32 *)args.buf + 2; printf("%p %d %s\n", $p, *(int16 *)($p + 4), str($p)); if ($p != 0 && (uint64)$p > 4096) { @b = buf($p, 8); } }"#,
    r#"BEGIN { @m[1, "a"] = 2; @c[3] = count(); let $t: uint16 = 7; let $z; for ($kv : @m) { @n[$kv.0.1] = $kv.1 + $t; if ($kv.1 > 1) { break; } } for ($kv : @c) { $z += $kv.1; } for ($i : 0..$t) { for ($j : $i..100) { $z++; if ($j == 50) { return; } } } print(len(@m) + len(@c) + $z); }"#,
    r#"BEGIN { @m[1] = 2; print(@m, 1, 2); clear(@m); zero(@m); print((1, "a")); time("%H:%M "); for ($i : 0..4) { @n[$i] = has_key(@m, $i); if ($i == 2) { continue; } } delete(@m, 1); exit(3); }"#,
    r#"interval:s:1 { printf("%d %d %d %d %d\n", elapsed, rand, jiffies, numaid, ncpus + nsecs(boot)); @u = (uint32)5 > -1; }"#,
    r#"BEGIN { printf("%s %s %s %s\n", ntop(0x0100007f), ntop(10, pton("::1")), strerror(2), username); @b = bswap((uint16)513); @k = kaddr("_stext"); @c[cgroup_path(cgroup, "unified")] = count(); @t = strftime("%H:%M:%S.%f", nsecs(sw_tai)); $m = (macaddr(pton("1:2:3:4:5:6:7:8")), ntop(pton("10.0.0.1"))); print($m); exit(); }"#,
    r#"t:syscalls:sys_enter_read { @[ntop(args.fd), macaddr(args.buf), strerror(args.count)] = count(); $x = bswap(args.fd); @s = strftime("%Y", nsecs) ; @u[username, cgroup] = bswap(args.count); }"#,
    r#"kprobe:vfs_read /arg2 > 10/ { @[func, probe, reg("ip")] = hist(arg2); printf("%s\n", str(arg1)); } kr:vfs_* { @r[func] = sum(retval); } k:ext4:ext4_file_open+8 { @o = count(); }"#,
    r#"kprobe:SyS_* { @[func].count(); } kprobe:sys_read { $syscalls[func].count(); @a = hist(arg2); } kretprobe:vfs_read { @ret = hist(retval); } k:__x64_sys_openat { @f[str(arg1), arg5] = count(); }"#,
    r#"rawtracepoint:sched_switch { @[args.preempt, args.prev_state] = count(); @n[arg1 != 0] = count(); } rt:vmlinux:sys_enter /args.id == 39/ { @id = count(); }"#,
    r#"fentry:vfs_read { @[args.count, func] = count(); } kretfunc:vfs_* { @r = hist(retval); @c = sum(args.count); }"#,
    r#"profile:hz:99 { @[kstack, ustack, comm] = count(); @p[kstack(perf, 8)] = count(); printf("%s %s\n", ustack(raw, 3), ksym(reg("ip"))); } kprobe:vfs_write { @c[caller, usym(reg("ip"))] = count(); print(ustack(2)); }"#,
    r#"watchpoint:0x10000000:8:w { @w[reg("ip"), comm] = count(); } w:0x10000008:4:rw { @rw = count(); }"#,
    r#"usdt:/opt/fake/app:app:request, U:app:start { @r[probe] = sum(arg0); @c = count(); printf("%lld %d\n", arg1, arg1 < 0); } usdt:app:lib:query { @q[arg0, arg1] = max(arg2); printf("%s\n", str(arg2)); } usdt:app:*:odd { @o = arg1; }"#,
];

/// How many inputs a run compiles: a few per seed in CI, `SCRY_FUZZ=N` for a long run
/// (`SCRY_FUZZ_SEED` picks another sequence). A long run prints its count, the slowest
/// input and the peak memory, for the record.
fn budget() -> (usize, u64) {
    let n = std::env::var("SCRY_FUZZ")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SEEDS.len() * 3000);
    let seed = std::env::var("SCRY_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15);
    (n, seed)
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One input: a seed with 1–8 byte edits, sometimes with a slice of another seed spliced
/// in (so constructs meet in combinations no seed has).
fn mutate(rng: &mut Rng) -> Vec<u8> {
    let alphabet = b"{}()[]/;,:@$\"`\\*+-<>=!&|^~?.0123456789abcmpsx \n";
    let mut bytes = SEEDS[rng.below(SEEDS.len())].as_bytes().to_vec();
    if rng.below(4) == 0 {
        let other = SEEDS[rng.below(SEEDS.len())].as_bytes();
        let from = rng.below(other.len());
        let to = (from + rng.below(80)).min(other.len());
        let at = rng.below(bytes.len());
        bytes.splice(at..at, other[from..to].iter().copied());
    }
    for _ in 0..1 + rng.below(8) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.below(bytes.len());
        let c = alphabet[rng.below(alphabet.len())];
        match rng.below(3) {
            0 => bytes[at] = c,
            1 => {
                bytes.remove(at);
            }
            _ => bytes.insert(at, c),
        }
    }
    bytes
}

#[test]
fn mutations_never_panic() {
    let (n, seed) = budget();
    let mut rng = Rng(seed | 1);
    let started = std::time::Instant::now();
    let mut slowest = (std::time::Duration::ZERO, String::new());
    for _ in 0..n {
        let src = String::from_utf8_lossy(&mutate(&mut rng)).into_owned();
        let t = std::time::Instant::now();
        compile(&src);
        let took = t.elapsed();
        if took > slowest.0 {
            slowest = (took, src);
        }
    }
    if std::env::var_os("SCRY_FUZZ").is_some() {
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
        eprintln!(
            "{n} inputs in {:.1?}, 0 panics; slowest {:.1?}: {:?}; peak RSS {} MB",
            started.elapsed(),
            slowest.0,
            slowest.1,
            usage.ru_maxrss / 1024
        );
    }
}
