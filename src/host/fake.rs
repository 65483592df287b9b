//! A fixed, made-up machine for tests: a few tracepoints with realistic layouts and one
//! binary with USDT probes ([`USDT_APP`]). Everything that asks a [`Host`] can be
//! exercised with it without root.

use super::tracepoint::parse_format;
use super::{Host, TracepointFormat, UsdtBinary, UsdtProbe};

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

impl Host for Fake {
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
