//! The real machine's facts that listing (`-l`) reads and nothing else does: the kernel
//! functions a kprobe may name (tracefs's `available_filter_functions`, else the text
//! symbols of `/proc/kallsyms`), the raw tracepoints vmlinux BTF describes, and the
//! objects a process maps. Plain file reads; parsing is pure and tested here.

use std::collections::BTreeSet;
use std::path::Path;

use super::btf_names::{Btf, RAW_TRACEPOINT_PREFIXES};

/// Where the list of kernel functions came from.
pub const KALLSYMS: &str = "/proc/kallsyms";

/// `(module, function)` pairs of `available_filter_functions` text (`name [module]`
/// lines; `vmlinux` when no module is named), sorted, without duplicates.
pub fn parse_filter_functions(text: &str) -> Vec<(String, String)> {
    let set: BTreeSet<(String, String)> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let name = f.next()?;
            let module = f
                .next()
                .and_then(|m| m.strip_prefix('[')?.strip_suffix(']'))
                .unwrap_or("vmlinux");
            Some((module.to_string(), name.to_string()))
        })
        .collect();
    set.into_iter().collect()
}

/// `(module, function)` pairs of the text symbols (`t`/`T`) of `/proc/kallsyms` text,
/// without what is no function entry: ftrace and CFI padding (`__pfx_`, `__cfi_`),
/// compiler-split cold parts (`.cold`), and the code the kernel generates (loaded BPF
/// programs, `[bpf]`; ftrace trampolines, `[__builtin__ftrace]`); sorted, without
/// duplicates.
pub fn parse_kallsyms_functions(text: &str) -> Vec<(String, String)> {
    let set: BTreeSet<(String, String)> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_addr, kind, name) = (f.next()?, f.next()?, f.next()?);
            if !matches!(kind, "t" | "T") || !is_function_entry(name) {
                return None;
            }
            let module = f
                .next()
                .and_then(|m| m.strip_prefix('[')?.strip_suffix(']'))
                .unwrap_or("vmlinux");
            if GENERATED.contains(&module) {
                return None;
            }
            Some((module.to_string(), name.to_string()))
        })
        .collect();
    set.into_iter().collect()
}

/// The pseudo-modules of kallsyms that hold generated code, not functions.
const GENERATED: &[&str] = &["bpf", "__builtin__ftrace"];

/// False for text symbols that start no function a kprobe could name.
pub fn is_function_entry(name: &str) -> bool {
    !name.starts_with("__pfx_") && !name.starts_with("__cfi_") && !name.contains(".cold")
}

/// The kernel's probeable functions: `available_filter_functions` under tracefs `root`,
/// else `/proc/kallsyms` (this kernel may refuse the first to all but ftrace itself).
pub fn kernel_functions(root: &Path) -> Result<Vec<(String, String)>, String> {
    let filter = root.join("available_filter_functions");
    match std::fs::read_to_string(&filter) {
        Ok(text) => Ok(parse_filter_functions(&text)),
        Err(first) => match std::fs::read_to_string(KALLSYMS) {
            Ok(text) => Ok(parse_kallsyms_functions(&text)),
            Err(second) => Err(format!(
                "cannot read {} ({first}) nor {KALLSYMS} ({second})",
                filter.display()
            )),
        },
    }
}

/// The raw tracepoints BTF describes, as `(module, name)`: every function named
/// `__probestub_NAME` or `__traceiter_NAME`; sorted, without duplicates.
pub fn raw_tracepoints(btf: &Btf, module: &str) -> Vec<(String, String)> {
    let set: BTreeSet<(String, String)> = btf
        .function_names()
        .filter_map(|f| {
            RAW_TRACEPOINT_PREFIXES
                .iter()
                .find_map(|p| f.strip_prefix(p))
                .map(|n| (module.to_string(), n.to_string()))
        })
        .collect();
    set.into_iter().collect()
}

/// The files process `pid` maps executable code from (`/proc/PID/maps`), sorted; each
/// as the process sees it, reached through `/proc/PID/root` when this mount namespace
/// has no such file.
pub fn process_objects(pid: u32) -> Result<Vec<String>, String> {
    let maps = format!("/proc/{pid}/maps");
    let text = std::fs::read_to_string(&maps).map_err(|e| format!("cannot read {maps}: {e}"))?;
    let set: BTreeSet<String> = parse_maps(&text)
        .into_iter()
        .map(|p| {
            if Path::new(&p).exists() {
                p
            } else {
                format!("/proc/{pid}/root{p}")
            }
        })
        .collect();
    Ok(set.into_iter().collect())
}

/// The paths of the executable, file-backed mappings of `/proc/PID/maps` text.
pub fn parse_maps(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_range, perms) = (f.next()?, f.next()?);
            let path = f.nth(3)?;
            (perms.contains('x') && path.starts_with('/')).then(|| path.to_string())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_functions_and_kallsyms() {
        let aff = "vfs_read\nkvm_init [kvm]\nvfs_read\n";
        assert_eq!(
            parse_filter_functions(aff),
            [
                ("kvm".to_string(), "kvm_init".to_string()),
                ("vmlinux".into(), "vfs_read".into())
            ]
        );
        let ks = "ffffffff81000000 T _stext\n\
                  ffffffff81000010 t __pfx_vfs_read\n\
                  ffffffff81000020 T vfs_read\n\
                  ffffffff81000030 t foo.cold\n\
                  ffffffff81000040 D init_task\n\
                  ffffffffc0000000 t kvm_init\t[kvm]\n\
                  ffffffffc0026b58 t bpf_prog_492a1814558a4310_p0_tp\t[bpf]\n";
        assert_eq!(
            parse_kallsyms_functions(ks),
            [
                ("kvm".to_string(), "kvm_init".to_string()),
                ("vmlinux".into(), "_stext".into()),
                ("vmlinux".into(), "vfs_read".into())
            ]
        );
    }

    #[test]
    fn maps() {
        let text = "55d0-55d1 r--p 00000000 08:01 12 /usr/bin/cat\n\
                    55d1-55d2 r-xp 00001000 08:01 12 /usr/bin/cat\n\
                    7f00-7f01 r-xp 00000000 08:01 13 /usr/lib/libc.so.6\n\
                    7f01-7f02 rw-p 00000000 00:00 0 \n\
                    7ffd-7ffe r-xp 00000000 00:00 0 [vdso]\n";
        assert_eq!(parse_maps(text), ["/usr/bin/cat", "/usr/lib/libc.so.6"]);
    }
}
