//! Hardware watchpoints: `watchpoint:ADDR:LEN:MODE` (also `w:`): a breakpoint perf event
//! (`PERF_TYPE_BREAKPOINT`) on LEN bytes (1, 2, 4 or 8) at ADDR, firing when they are
//! written (`w`), read or written (`rw`), or executed (`x`). A user-space address
//! belongs to a process, so it needs `-p` or `-c` (sema checks, through
//! [`Target::needs_process`]); a kernel address is watched on every CPU.

use super::{AddrSpace, Context, Point, Provider, SpecError, Target};
use crate::host::{Host, KernelFeature};

/// `HW_BREAKPOINT_R`, `HW_BREAKPOINT_W`, `HW_BREAKPOINT_X`.
pub const READ: u32 = 1;
/// See [`READ`].
pub const WRITE: u32 = 2;
/// See [`READ`].
pub const EXECUTE: u32 = 4;

/// The first address of the kernel's half of the x86-64 address space.
pub const KERNEL_START: u64 = 0xffff_8000_0000_0000;

/// The `watchpoint` provider.
pub struct Watchpoint;

/// Parses `ADDR:LEN:MODE` into the address, length and `HW_BREAKPOINT_*` mode bits.
pub fn parse(rest: &str) -> Result<(u64, u64, u32), String> {
    let parts: Vec<&str> = rest.split(':').collect();
    let [addr, len, mode] = parts[..] else {
        return Err("expected `ADDR:LEN:MODE`".into());
    };
    let addr = match addr.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => addr.parse(),
    }
    .map_err(|_| {
        format!("`{addr}` is not an address (watching a function's argument, `FUNC+argN`, is not supported)")
    })?;
    let len: u64 = match len.parse() {
        Ok(n @ (1 | 2 | 4 | 8)) => n,
        _ => {
            return Err(format!(
                "the length must be 1, 2, 4 or 8 bytes, not `{len}`"
            ));
        }
    };
    let mut bits = 0;
    for c in mode.chars() {
        let bit = match c {
            'r' => READ,
            'w' => WRITE,
            'x' => EXECUTE,
            _ => return Err(format!("unknown mode `{c}` (modes are r, w, x)")),
        };
        if bits & bit != 0 {
            return Err(format!("mode `{mode}` repeats `{c}`"));
        }
        bits |= bit;
    }
    if bits == 0 || (bits & EXECUTE != 0 && bits != EXECUTE) {
        return Err(format!("mode `{mode}` is not one of w, rw, x"));
    }
    if addr % len != 0 {
        return Err(format!("0x{addr:x} is not aligned to its length, {len}"));
    }
    Ok((addr, len, bits))
}

impl Provider for Watchpoint {
    fn name(&self) -> &'static str {
        "watchpoint"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["w"]
    }

    fn expand(&self, text: &str, rest: &str, host: &dyn Host) -> Result<Vec<Point>, SpecError> {
        let (addr, len, mode) = parse(rest).map_err(|m| {
            SpecError::new(
                "E0202",
                format!("malformed watchpoint `{text}`: {m}"),
                "write `watchpoint:ADDR:LEN:MODE`, e.g. `watchpoint:0x10000000:8:w`",
            )
        })?;
        if mode == READ {
            return Err(SpecError::new(
                "E0204",
                "x86-64 debug registers cannot watch reads alone",
                "watch reads and writes with mode `rw`",
            ));
        }
        if let Err(checked) = host.check(KernelFeature::Breakpoints) {
            return Err(SpecError::new(
                "E0204",
                format!("this machine has no hardware breakpoints (checked: {checked})"),
                "use a uprobe on the code that writes the variable",
            ));
        }
        let kernel = addr >= KERNEL_START;
        let mode_text = rest.rsplit(':').next().unwrap_or_default();
        Ok(vec![Point {
            provider: "watchpoint",
            display: format!("watchpoint:0x{addr:x}:{len}:{mode_text}"),
            tag: "watch",
            context: Context {
                space: if kernel {
                    AddrSpace::Kernel
                } else {
                    AddrSpace::User
                },
                ..Context::default()
            },
            target: Target::Watchpoint { addr, len, mode },
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fake::Fake;

    #[test]
    fn specs() {
        assert_eq!(parse("0x10000000:8:w"), Ok((0x1000_0000, 8, WRITE)));
        assert_eq!(parse("4096:4:rw"), Ok((4096, 4, READ | WRITE)));
        assert_eq!(parse("0x1000:1:x"), Ok((0x1000, 1, EXECUTE)));
        assert!(parse("0x1000:3:w").is_err());
        assert!(parse("0x1000:8:rx").is_err());
        assert!(parse("0x1000:8:q").is_err());
        assert!(parse("0x1001:8:w").is_err());
        assert!(parse("main+arg0:8:w").is_err());
        assert!(parse("0x1000:8").is_err());
        let p = Watchpoint
            .expand("w:0x1000:8:w", "0x1000:8:w", &Fake)
            .unwrap();
        assert!(p[0].target.needs_process());
        assert!(p[0].target.has_pt_regs());
        let k = Watchpoint
            .expand("w:0xffffffff82000000:4:w", "0xffffffff82000000:4:w", &Fake)
            .unwrap();
        assert!(!k[0].target.needs_process());
        let r = Watchpoint
            .expand("w:0x1000:8:r", "0x1000:8:r", &Fake)
            .unwrap_err();
        assert_eq!(r.code, "E0204");
    }
}
