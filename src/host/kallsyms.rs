//! The kernel functions a kprobe can name, pure: parsed from tracefs's
//! `available_filter_functions` (`name [module]` lines) or, where that is unreadable (a
//! kernel without the function tracer), from `/proc/kallsyms` (`addr type name
//! [module]`, text symbols only).

/// A kernel function: its module (`None` in vmlinux) and name.
pub type KernelFunc = (Option<String>, String);

/// Functions listed in `available_filter_functions` text.
pub fn from_filter_functions(text: &str) -> Vec<KernelFunc> {
    let mut out: Vec<KernelFunc> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let name = f.next()?;
            let module = f.next().map(|m| m.trim_matches(['[', ']']).to_string());
            Some((module, name.to_string()))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Text symbols of `/proc/kallsyms` text that can be functions: not the `__pfx_`
/// padding before each function, not compiler-made clones (`foo.cold`, `foo.isra.0`).
pub fn from_kallsyms(text: &str) -> Vec<KernelFunc> {
    let mut out: Vec<KernelFunc> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_addr, kind, name) = (f.next()?, f.next()?, f.next()?);
            if !matches!(kind, "t" | "T") || name.starts_with("__pfx_") || name.contains('.') {
                return None;
            }
            let module = f.next().map(|m| m.trim_matches(['[', ']']).to_string());
            Some((module, name.to_string()))
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
    fn parses_both_lists() {
        let k = "ffffffff81000000 T _stext\nffffffff81000010 t __pfx_vfs_read\n\
                 ffffffff81000020 T vfs_read\nffffffff81000030 t foo.cold\n\
                 ffffffff82000000 D jiffies\nffffffffc0000000 t ext4_file_open\t[ext4]\n";
        assert_eq!(
            from_kallsyms(k),
            [
                (None, "_stext".to_string()),
                (None, "vfs_read".to_string()),
                (Some("ext4".to_string()), "ext4_file_open".to_string()),
            ]
        );
        assert_eq!(
            from_filter_functions("vfs_read\next4_file_open [ext4]\n"),
            [
                (None, "vfs_read".to_string()),
                (Some("ext4".to_string()), "ext4_file_open".to_string()),
            ]
        );
    }
}
