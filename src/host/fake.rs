//! A fixed, made-up machine for tests: a few tracepoints with realistic layouts and one
//! binary with USDT probes ([`USDT_APP`]). Everything that asks a [`Host`] can be
//! exercised with it without root.

use std::sync::OnceLock;

use super::tracepoint::parse_format;
use super::{Btf, Host, KernelFunc, TracepointFormat, UsdtBinary, UsdtProbe};

/// A host with `syscalls:sys_enter_read`, `syscalls:sys_enter_openat` and
/// `sched:sched_switch`.
#[derive(Clone, Debug, Default)]
pub struct Fake;

const READ: &str = "format:
\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:unsigned int fd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:char * buf;\toffset:24;\tsize:8;\tsigned:0;
\tfield:size_t count;\toffset:32;\tsize:8;\tsigned:0;
";
const OPENAT: &str = "format:
\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;
\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;
\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;
";
const SWITCH: &str = "format:
\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;
\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;
\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;
";

/// The kernel symbols the fake kernel has, with their addresses.
pub const KERNEL_SYMBOLS: &[(&str, u64)] = &[
    ("_stext", 0xffff_ffff_8100_0000),
    ("init_task", 0xffff_ffff_82a0_c940),
];

/// The fake machine's binary with USDT probes (also found as `app`).
pub const USDT_APP: &str = "/opt/fake/app";

/// Its probe sites, sorted as the host sorts them: `(provider, name, address,
/// semaphore, arguments)`; `app:request`
/// has two sites, `app:ready` a semaphore, `app:odd` an argument in an SSE register.
pub const USDT_SITES: &[(&str, &str, u64, Option<u64>, &str)] = &[
    ("app", "ready", 0x11b0, Some(0x4010), ""),
    ("app", "request", 0x1150, None, "8@-16(%rbp) -4@$5"),
    ("app", "request", 0x1190, None, "8@%rax -4@$6"),
    ("app", "start", 0x1130, None, "-4@%edi 8@%rsi"),
    ("lib", "odd", 0x11f0, None, "8@%xmm0 -4@%eax"),
    (
        "lib",
        "query",
        0x11d0,
        None,
        "1@%ah -2@8(%rax,%rdx,4) 8@counter(%rip)",
    ),
];

/// `counter`'s address in [`USDT_APP`].
pub const USDT_COUNTER: u64 = 0x4040;

/// `CLOCK_TAI` − `CLOCK_BOOTTIME` on the fake machine.
pub const TAI_OFFSET: u64 = 1_700_000_037_000_000_000;

/// The kernel functions the fake kernel has (one in module `ext4`).
pub const KERNEL_FUNCTIONS: &[(Option<&str>, &str)] = &[
    (None, "__x64_sys_getpid"),
    (None, "__x64_sys_read"),
    (None, "vfs_read"),
    (None, "vfs_write"),
    (Some("ext4"), "ext4_file_open"),
];

/// The fake kernel's BTF: `ssize_t vfs_read(struct file *file, char *buf, size_t
/// count, loff_t *pos)` (BTF id 12) and the raw tracepoints `sys_enter(struct pt_regs *regs,
/// long id)` and `sched_switch(bool preempt, struct task_struct *prev, struct
/// task_struct *next, unsigned int prev_state)`.
fn fake_btf() -> &'static Btf {
    static BTF: OnceLock<Btf> = OnceLock::new();
    BTF.get_or_init(|| {
        let mut b = BtfBuilder::default();
        let long = b.int("long", 8, true); // 1
        let ulong = b.int("unsigned long", 8, false); // 2
        let char_ = b.int("char", 1, true); // 3
        let size_t = b.ty("size_t", 8, 0, ulong); // 4
        let ssize_t = b.ty("ssize_t", 8, 0, long); // 5
        let file = b.ty("file", 4, 0, 200); // 6 struct file
        let file_p = b.ty("", 2, 0, file); // 7
        let char_p = b.ty("", 2, 0, char_); // 8
        let loff_t = b.ty("loff_t", 8, 0, long); // 9
        let loff_p = b.ty("", 2, 0, loff_t); // 10
        let proto = b.proto(
            ssize_t,
            &[
                ("file", file_p),
                ("buf", char_p),
                ("count", size_t),
                ("pos", loff_p),
            ],
        ); // 11
        b.ty("vfs_read", 12, 0, proto); // 12
        let void_p = b.ty("", 2, 0, 0); // 13
        let regs = b.ty("pt_regs", 4, 0, 168); // 14
        let regs_p = b.ty("", 2, 0, regs); // 15
        let enter = b.proto(0, &[("", void_p), ("regs", regs_p), ("id", long)]); // 16
        let enter_p = b.ty("", 2, 0, enter); // 17
        b.ty("btf_trace_sys_enter", 8, 0, enter_p); // 18
        let bool_ = b.int("_Bool", 1, false); // 19
        let task = b.ty("task_struct", 4, 0, 9000); // 20
        let task_p = b.ty("", 2, 0, task); // 21
        let uint = b.int("unsigned int", 4, false); // 22
        let switch = b.proto(
            0,
            &[
                ("", void_p),
                ("preempt", bool_),
                ("prev", task_p),
                ("next", task_p),
                ("prev_state", uint),
            ],
        ); // 23
        let switch_p = b.ty("", 2, 0, switch); // 24
        b.ty("btf_trace_sched_switch", 8, 0, switch_p); // 25
        Btf::parse(b.blob()).expect("the fake BTF parses")
    })
}

/// Writes BTF type records for the fake kernel (ids in the order of the calls).
#[derive(Default)]
struct BtfBuilder {
    types: Vec<Vec<u32>>,
    strings: Vec<u8>,
}

impl BtfBuilder {
    fn name(&mut self, name: &str) -> u32 {
        if self.strings.is_empty() {
            self.strings.push(0);
        }
        if name.is_empty() {
            return 0;
        }
        let at = self.strings.len() as u32;
        self.strings.extend_from_slice(name.as_bytes());
        self.strings.push(0);
        at
    }
    fn record(&mut self, name: &str, kind: u32, vlen: u32, size_or_type: u32) -> Vec<u32> {
        vec![self.name(name), (kind << 24) | vlen, size_or_type]
    }
    fn push(&mut self, words: Vec<u32>) -> u32 {
        self.types.push(words);
        self.types.len() as u32
    }
    fn ty(&mut self, name: &str, kind: u32, vlen: u32, size_or_type: u32) -> u32 {
        let r = self.record(name, kind, vlen, size_or_type);
        self.push(r)
    }
    fn int(&mut self, name: &str, size: u32, signed: bool) -> u32 {
        let mut r = self.record(name, 1, 0, size);
        r.push(((signed as u32) << 24) | (size * 8));
        self.push(r)
    }
    fn proto(&mut self, ret: u32, params: &[(&str, u32)]) -> u32 {
        let mut r = self.record("", 13, params.len() as u32, ret);
        for &(n, t) in params {
            r.push(self.name(n));
            r.push(t);
        }
        self.push(r)
    }
    fn blob(&self) -> Vec<u8> {
        let types: Vec<u8> = self
            .types
            .iter()
            .flatten()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        let mut out = vec![0x9f, 0xeb, 1, 0];
        for w in [24u32, 0, types.len() as u32, types.len() as u32] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&(self.strings.len() as u32).to_le_bytes());
        out.extend_from_slice(&types);
        out.extend_from_slice(&self.strings);
        out
    }
}

impl Host for Fake {
    fn kernel_functions(&self) -> Vec<KernelFunc> {
        let mut v: Vec<KernelFunc> = KERNEL_FUNCTIONS
            .iter()
            .map(|&(m, n)| (m.map(str::to_string), n.to_string()))
            .collect();
        v.sort();
        v
    }

    fn btf(&self) -> Option<&Btf> {
        Some(fake_btf())
    }

    fn tracepoint_format(&self, category: &str, name: &str) -> Option<TracepointFormat> {
        match (category, name) {
            ("syscalls", "sys_enter_read") => parse_format(READ),
            ("syscalls", "sys_enter_openat") => parse_format(OPENAT),
            ("sched", "sched_switch") => parse_format(SWITCH),
            _ => None,
        }
    }

    fn kernel_symbol(&self, name: &str) -> Option<u64> {
        KERNEL_SYMBOLS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, a)| a)
    }

    fn tai_offset(&self) -> Option<u64> {
        Some(TAI_OFFSET)
    }

    fn usdt_probes(&self, path: &str) -> Result<UsdtBinary, String> {
        if path != USDT_APP && path != "app" {
            return Err(format!(
                "`{path}` is neither a file, a command in $PATH, nor a library"
            ));
        }
        // Text at its file offset; data 0x1000 above it.
        let probes = USDT_SITES
            .iter()
            .map(|&(provider, name, addr, sema, args)| UsdtProbe {
                provider: provider.into(),
                name: name.into(),
                addr,
                file_offset: addr,
                semaphore: sema,
                semaphore_offset: sema.map(|s| s - 0x1000),
                args: args.into(),
            })
            .collect();
        Ok(UsdtBinary {
            path: USDT_APP.into(),
            probes,
        })
    }

    fn binary_symbol(&self, path: &str, name: &str) -> Result<Option<(u64, u64)>, String> {
        match (path, name) {
            (USDT_APP, "counter") => Ok(Some((USDT_COUNTER, 8))),
            (USDT_APP, _) => Ok(None),
            _ => Err(format!("cannot read `{path}`")),
        }
    }

    fn tracepoints(&self) -> Vec<(String, String)> {
        vec![
            ("sched".into(), "sched_switch".into()),
            ("syscalls".into(), "sys_enter_openat".into()),
            ("syscalls".into(), "sys_enter_read".into()),
        ]
    }
}
