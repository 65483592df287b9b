//! A fixed, made-up machine for tests: a few tracepoints with realistic layouts and no
//! binaries. Everything that asks a [`Host`] can be exercised with it without root.

use super::tracepoint::parse_format;
use super::{Host, TracepointFormat};

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

    fn tracepoints(&self) -> Vec<(String, String)> {
        vec![
            ("sched".into(), "sched_switch".into()),
            ("syscalls".into(), "sys_enter_openat".into()),
            ("syscalls".into(), "sys_enter_read".into()),
        ]
    }
}
