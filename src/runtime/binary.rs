//! Reading a binary's function symbols for uprobes: path resolution (`$PATH`, library
//! names) and ELF symbol tables via goblin.

use std::path::{Path, PathBuf};

use goblin::elf::{Elf, program_header::PT_LOAD, sym};

use crate::provider::uprobe::{Binary, Code, Func, landing_pads};

/// Directories searched for a bare library name such as `libc` or `c`.
const LIB_DIRS: &[&str] = &[
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
    "/usr/local/lib",
];

/// Finds the file `spec` names: a path (anything with a `/`), a command in `$PATH`, or a
/// library (`libc`, `c`, `libc.so.6`) in the usual directories.
pub fn resolve(spec: &str) -> Result<PathBuf, String> {
    if spec.contains('/') {
        let p = Path::new(spec);
        return p
            .canonicalize()
            .map_err(|e| format!("cannot open `{spec}`: {e}"));
    }
    let path_var = std::env::var("PATH").unwrap_or_default();
    for dir in path_var.split(':').filter(|d| !d.is_empty()) {
        let p = Path::new(dir).join(spec);
        if p.is_file() {
            return p.canonicalize().map_err(|e| e.to_string());
        }
    }
    let base = spec.strip_prefix("lib").unwrap_or(spec);
    let stem = format!("lib{base}");
    for dir in LIB_DIRS {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| {
                n == spec
                    || n == &format!("{stem}.so")
                    || n.strip_prefix(&format!("{stem}.so."))
                        .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
            })
            .collect();
        // The shortest versioned name is the one programs link against (libc.so.6); a
        // bare `.so` may be a linker script, so only ELF files count.
        names.sort_by_key(|n| (n.ends_with(".so"), n.len(), n.clone()));
        for n in names {
            let p = Path::new(dir).join(n);
            if is_elf(&p) {
                return p.canonicalize().map_err(|e| e.to_string());
            }
        }
    }
    Err(format!(
        "`{spec}` is neither a file, a command in $PATH, nor a library in {}",
        LIB_DIRS[..2].join(", ")
    ))
}

fn is_elf(p: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(p)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

/// Resolves `spec` and reads its defined function symbols.
pub fn read(spec: &str) -> Result<Binary, String> {
    let path = resolve(spec)?;
    let shown = path.display().to_string();
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let mut b = parse(&bytes).map_err(|e| format!("`{shown}` is not an ELF binary: {e}"))?;
    b.path = shown;
    Ok(b)
}

/// Function symbols and loadable segments of an ELF image.
pub fn parse(bytes: &[u8]) -> Result<Binary, String> {
    let elf = Elf::parse(bytes).map_err(|e| e.to_string())?;
    let segments: Vec<(u64, u64, u64)> = elf
        .program_headers
        .iter()
        .filter(|ph| ph.p_type == PT_LOAD && ph.is_executable())
        .map(|ph| (ph.p_vaddr, ph.p_memsz, ph.p_offset))
        .collect();
    let mut b = Binary {
        path: String::new(),
        funcs: Vec::new(),
        segments,
    };
    let tables = [(&elf.syms, &elf.strtab), (&elf.dynsyms, &elf.dynstrtab)];
    for (syms, strtab) in tables {
        for s in syms.iter() {
            let func = matches!(s.st_type(), sym::STT_FUNC | sym::STT_GNU_IFUNC);
            if !func || s.st_shndx == 0 || s.st_value == 0 {
                continue;
            }
            let Some(name) = strtab.get_at(s.st_name).filter(|n| !n.is_empty()) else {
                continue;
            };
            // Versioned names (`malloc@@GLIBC_2.2.5`) match by their plain name.
            let name = name.split('@').next().unwrap_or(name);
            let Some(file_offset) = b.file_offset(s.st_value) else {
                continue;
            };
            b.funcs.push(Func {
                name: name.to_string(),
                addr: s.st_value,
                size: s.st_size,
                file_offset,
                entry_skip: 0,
            });
        }
    }
    let code: Vec<Code<'_>> = elf
        .program_headers
        .iter()
        .filter(|ph| ph.p_type == PT_LOAD && ph.is_executable())
        .filter_map(|ph| {
            let start = ph.p_offset as usize;
            let bytes = bytes.get(start..start.checked_add(ph.p_filesz as usize)?)?;
            Some(Code {
                addr: ph.p_vaddr,
                bytes,
            })
        })
        .collect();
    landing_pads(&code, &mut b.funcs);
    b.funcs
        .sort_by(|x, y| x.name.cmp(&y.name).then(y.size.cmp(&x.size)));
    b.funcs.dedup_by(|x, y| x.name == y.name);
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_test_binary() {
        let exe = std::env::current_exe().unwrap();
        let b = read(exe.to_str().unwrap()).unwrap();
        assert!(b.funcs.len() > 100, "{} functions", b.funcs.len());
        assert!(b.funcs.iter().any(|f| f.name == "main"));
        let main = b.funcs.iter().find(|f| f.name == "main").unwrap();
        assert_eq!(b.file_offset(main.addr), Some(main.file_offset));
    }

    #[test]
    fn resolves_commands_and_libraries() {
        assert!(resolve("sh").unwrap().is_absolute());
        let libc = resolve("libc").unwrap();
        assert!(
            libc.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("libc.so"),
            "{}",
            libc.display()
        );
        assert_eq!(resolve("c").unwrap(), libc);
        assert!(resolve("no-such-binary-anywhere").is_err());
        assert!(parse(b"not an elf").is_err());
    }
}
