//! Facts about ELF binaries for uprobes: path resolution (`$PATH`, library names), function
//! symbols via goblin, and the landing-pad analysis that decides where an entry probe goes.

use std::path::{Path, PathBuf};

use goblin::elf::{Elf, program_header::PT_LOAD, sym};

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

/// Whether the file name `name` is the library `spec` names (`libc`, `c` or `libc.so.6`
/// for `libc.so.6`; `ssl` for `libssl.so.3`).
pub fn library_matches(spec: &str, name: &str) -> bool {
    let base = spec.strip_prefix("lib").unwrap_or(spec);
    let stem = format!("lib{base}");
    name == spec
        || name == format!("{stem}.so")
        || name
            .strip_prefix(&format!("{stem}.so."))
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

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
    for dir in LIB_DIRS {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| library_matches(spec, n))
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
    super::system::open_regular(p).is_ok_and(|mut f| f.read_exact(&mut magic).is_ok())
        && magic == *b"\x7fELF"
}

/// The largest binary scry reads (libxul, among the largest shared libraries, is a
/// few hundred megabytes).
const MAX_BINARY: u64 = 4 << 30;

/// Resolves `spec` and reads its defined function symbols.
pub fn read(spec: &str) -> Result<Binary, String> {
    let path = resolve(spec)?;
    let shown = path.display().to_string();
    let bytes = super::system::read_regular(&path, MAX_BINARY)
        .map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let mut b = parse(&bytes).map_err(|e| format!("`{shown}` is not an ELF binary: {e}"))?;
    b.path = shown;
    Ok(b)
}

/// The address (`st_value`) and size of the symbol `name` — a function or an object —
/// of the binary `spec` names; `Ok(None)` when it has none.
pub fn symbol(spec: &str, name: &str) -> Result<Option<(u64, u64)>, String> {
    let path = resolve(spec)?;
    let shown = path.display().to_string();
    let bytes = super::system::read_regular(&path, MAX_BINARY)
        .map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let elf = Elf::parse(&bytes).map_err(|e| format!("`{shown}` is not an ELF binary: {e}"))?;
    let tables = [(&elf.syms, &elf.strtab), (&elf.dynsyms, &elf.dynstrtab)];
    for (syms, strtab) in tables {
        for s in syms.iter() {
            if s.st_shndx == 0 || s.st_value == 0 {
                continue;
            }
            let Some(sym_name) = strtab.get_at(s.st_name) else {
                continue;
            };
            if sym_name.split('@').next() == Some(name) {
                return Ok(Some((s.st_value, s.st_size)));
            }
        }
    }
    Ok(None)
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
        code: Vec::new(),
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
                entry_prefix: None,
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
    b.code = code.iter().map(|c| (c.addr, c.bytes.to_vec())).collect();
    for f in &mut b.funcs {
        let at = f.addr + f.entry_skip;
        // The instruction's bytes (at most 15), as far as the segment has them.
        f.entry_prefix = code
            .iter()
            .find_map(|c| {
                let start = at.checked_sub(c.addr)? as usize;
                let rest = c.bytes.get(start..)?;
                Some(&rest[..rest.len().min(15)])
            })
            .and_then(bad_prefix);
    }
    b.funcs
        .sort_by(|x, y| x.name.cmp(&y.name).then(y.size.cmp(&x.size)));
    b.funcs.dedup_by(|x, y| x.name == y.name);
    Ok(b)
}

/// A function symbol of a binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Func {
    /// Symbol name.
    pub name: String,
    /// Virtual address (`st_value`).
    pub addr: u64,
    /// Size in bytes (0 when unknown).
    pub size: u64,
    /// Offset of its first byte in the file (what uprobes attach to).
    pub file_offset: u64,
    /// Bytes an entry probe skips: 4 when the function starts with an `endbr64` landing
    /// pad that provably nothing jumps past ([`landing_pads`]), else 0.
    pub entry_skip: u64,
    /// A prefix of the instruction an entry probe would sit on that the kernel refuses
    /// to probe ([`bad_prefix`]), e.g. `lock` (`pthread_spin_lock`).
    pub entry_prefix: Option<&'static str>,
}

/// A mangled symbol's language and readable name, without parameters, Rust's hash or
/// (for C++) the return type: `_ZN5MyApp6Server14handle_requestEi` is
/// `(Cpp, "MyApp::Server::handle_request")`, `_ZN4core3fmt5write17h…E` `(Rust,
/// "core::fmt::write")`. `None` for names that are not mangled.
pub fn demangle(name: &str) -> Option<(Lang, String)> {
    // Rust first: legacy Rust symbols look like C++ ones (`_ZN…17h<hash>E`).
    if let Ok(d) = rustc_demangle::try_demangle(name) {
        let text = format!("{d:#}");
        if name.starts_with("_R") || text != format!("{d}") {
            return Some((Lang::Rust, text));
        }
    }
    if !name.starts_with("_Z") {
        return None;
    }
    let sym = cpp_demangle::Symbol::new(name).ok()?;
    let options = cpp_demangle::DemangleOptions::new()
        .no_params()
        .no_return_type();
    let text = sym.demangle_with_options(&options).ok()?;
    Some((Lang::Cpp, text))
}

/// The language of a demangled name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// The Itanium C++ ABI (`_Z…`).
    Cpp,
    /// Rust, legacy (`_ZN…17h…E`) or v0 (`_R…`).
    Rust,
}

/// The prefix among the leading prefixes of the instruction in `insn` for which x86's
/// uprobes refuse the instruction (`is_prefix_bad` in arch/x86/kernel/uprobes.c: `lock`
/// and the segment overrides; 0x3e is also `notrack`).
pub fn bad_prefix(insn: &[u8]) -> Option<&'static str> {
    for &b in insn {
        match b {
            0xf0 => return Some("lock"),
            0x26 | 0x2e | 0x36 | 0x3e => return Some("segment override"),
            // Other legacy prefixes and REX: keep looking.
            0x66 | 0x67 | 0xf2 | 0xf3 | 0x64 | 0x65 | 0x40..=0x4f => {}
            _ => return None,
        }
    }
    None
}

/// `endbr64`, the CET landing pad compilers put first in functions (-fcf-protection).
pub const ENDBR64: [u8; 4] = [0xf3, 0x0f, 0x1e, 0xfa];

/// A loaded, executable piece of the binary: its virtual address and bytes.
pub struct Code<'a> {
    /// Virtual address of `bytes[0]`.
    pub addr: u64,
    /// The bytes.
    pub bytes: &'a [u8],
}

impl Code<'_> {
    fn at(&self, addr: u64, len: u64) -> Option<&[u8]> {
        let start = addr.checked_sub(self.addr)? as usize;
        self.bytes.get(start..start.checked_add(len as usize)?)
    }
}

/// Decides [`Func::entry_skip`] for every function: a uprobe on `endbr64` is
/// single-stepped out of line (≈ 11 µs a hit here), one on the next instruction (usually
/// `push`, emulated) costs ≈ 0.6 µs. Probing past the pad is safe when no branch can
/// land on that next instruction, since it would then fire without a call:
/// - no direct branch anywhere in the executable code targets it (every byte offset is
///   tried as the start of a `call`/`jmp`/`jcc`/`loop` with a relative target, so a
///   real branch cannot be missed; a false match only costs the optimisation);
/// - the function itself holds nothing that looks like an indirect `jmp` (a jump table
///   could target it) and has a known size.
///
/// Function pointers always point at the pad itself, never past it.
pub fn landing_pads(code: &[Code<'_>], funcs: &mut [Func]) {
    let mut wanted: std::collections::HashMap<u64, bool> = Default::default();
    for f in funcs.iter() {
        let starts_with_pad = code.iter().any(|c| c.at(f.addr, 4) == Some(&ENDBR64[..]));
        if !starts_with_pad || f.size <= 4 {
            continue;
        }
        let body = code.iter().find_map(|c| c.at(f.addr, f.size));
        let indirect = body.is_none_or(|b| {
            b.windows(2)
                .any(|w| w[0] == 0xff && matches!((w[1] >> 3) & 7, 4 | 5))
        });
        if !indirect {
            wanted.insert(f.addr + 4, true);
        }
    }
    if wanted.is_empty() {
        return;
    }
    for c in code {
        let b = c.bytes;
        for i in 0..b.len() {
            let at = c.addr + i as u64;
            let rel8 = |n: usize| {
                b.get(i + n - 1)
                    .map(|&r| (at + n as u64).wrapping_add(r as i8 as u64))
            };
            let rel32 = |n: usize| {
                b.get(i + n - 4..i + n).map(|r| {
                    let r = i32::from_le_bytes([r[0], r[1], r[2], r[3]]);
                    (at + n as u64).wrapping_add(r as i64 as u64)
                })
            };
            let target = match b[i] {
                0x70..=0x7f | 0xeb | 0xe0..=0xe3 => rel8(2),
                0xe8 | 0xe9 => rel32(5),
                0x0f if b.get(i + 1).is_some_and(|&o| (0x80..=0x8f).contains(&o)) => rel32(6),
                _ => None,
            };
            if let Some(t) = target
                && let Some(safe) = wanted.get_mut(&t)
            {
                *safe = false;
            }
        }
    }
    for f in funcs.iter_mut() {
        if wanted.get(&(f.addr + 4)) == Some(&true) {
            f.entry_skip = 4;
        }
    }
}

/// A binary with its function symbols.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Binary {
    /// The path as resolved (absolute).
    pub path: String,
    /// Defined functions, sorted by name, one per name.
    pub funcs: Vec<Func>,
    /// Loadable segments `(vaddr, memsz, file offset)`, to map raw addresses.
    pub segments: Vec<(u64, u64, u64)>,
    /// The executable segments' bytes `(vaddr, bytes)`, to check that probed addresses
    /// start instructions.
    pub code: Vec<(u64, Vec<u8>)>,
}

impl Binary {
    /// Whether virtual address `addr` starts an instruction, decoding from the start of
    /// the function holding it: `Some(Err(start))` when it is inside the instruction at
    /// `start`; `None` when no known function holds it or its code does not decode.
    pub fn instruction_at(&self, addr: u64) -> Option<Result<(), u64>> {
        let f = self
            .funcs
            .iter()
            .filter(|f| f.addr <= addr && (addr < f.addr + f.size || addr == f.addr))
            .max_by_key(|f| f.addr)?;
        let (va, bytes) = self
            .code
            .iter()
            .find(|(va, b)| (*va..va + b.len() as u64).contains(&f.addr))?;
        let start = (f.addr - va) as usize;
        let end = (start + f.size.max(1) as usize).min(bytes.len());
        let code = bytes.get(start..end)?;
        match super::x86::boundary(code, (addr - f.addr) as usize)? {
            Ok(()) => Some(Ok(())),
            Err(at) => Some(Err(f.addr + at as u64)),
        }
    }

    /// File offset of virtual address `addr`, if a loadable segment holds it.
    pub fn file_offset(&self, addr: u64) -> Option<u64> {
        self.segments
            .iter()
            .find(|(va, sz, _)| (*va..va + sz).contains(&addr))
            .map(|(va, _, off)| addr - va + off)
    }
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

    #[test]
    fn file_offsets_of_addresses() {
        let b = Binary {
            segments: vec![(0x1000, 0x500, 0x200)],
            ..Binary::default()
        };
        assert_eq!(b.file_offset(0x1010), Some(0x210));
        assert_eq!(b.file_offset(0x1500), None);
    }

    fn func(name: &str, addr: u64, size: u64) -> Func {
        Func {
            name: name.into(),
            addr,
            size,
            file_offset: addr,
            entry_skip: 0,
            entry_prefix: None,
        }
    }

    #[test]
    fn prefixes_uprobes_refuse() {
        // lock inc qword [rdi]; rex.w lock …; mov; notrack jmp *%rax; data16 mov.
        assert_eq!(bad_prefix(&[0xf0, 0x48, 0xff, 0x07]), Some("lock"));
        assert_eq!(bad_prefix(&[0x48, 0xf0, 0xff, 0x07]), Some("lock"));
        assert_eq!(bad_prefix(&[0x48, 0x89, 0xe5]), None);
        assert_eq!(bad_prefix(&[0x3e, 0xff, 0xe0]), Some("segment override"));
        assert_eq!(bad_prefix(&[0x66, 0x89, 0x07]), None);
        assert_eq!(bad_prefix(&[]), None);
    }

    #[test]
    fn landing_pads_skipped_only_when_nothing_lands_past_them() {
        // f: endbr64; push rbp; pop rbp; ret        (0x1000..0x1007)
        // g: endbr64; push rbp; jmp g+4 (eb f9)      (0x1007..0x1010)
        // h: endbr64; push rbp; jmp *rax (ff e0)     (0x1010..0x1019)
        // k: push rbp; ret                           (0x1019..0x101b)
        // m: endbr64; push; ret, reached by `call m+4` from k2 below
        let mut bytes = Vec::new();
        bytes.extend(ENDBR64);
        bytes.extend([0x55, 0x5d, 0xc3]);
        bytes.extend(ENDBR64);
        bytes.extend([0x55, 0xeb, 0xfd, 0x90]);
        bytes.extend(ENDBR64);
        bytes.extend([0x55, 0xff, 0xe0, 0x5d, 0xc3]);
        bytes.extend([0x55, 0xc3]);
        let m = 0x1000 + bytes.len() as u64;
        bytes.extend(ENDBR64);
        bytes.extend([0x55, 0xc3]);
        let k2 = 0x1000 + bytes.len() as u64;
        // call rel32 to m + 4: rel = (m + 4) - (k2 + 5)
        let rel = ((m + 4) as i64 - (k2 + 5) as i64) as i32;
        bytes.push(0xe8);
        bytes.extend(rel.to_le_bytes());
        let code = [Code {
            addr: 0x1000,
            bytes: &bytes,
        }];
        let mut funcs = vec![
            func("f", 0x1000, 7),
            func("g", 0x1007, 9),
            func("h", 0x1010, 9),
            func("k", 0x1019, 2),
            func("m", m, 6),
        ];
        landing_pads(&code, &mut funcs);
        let skips: Vec<u64> = funcs.iter().map(|f| f.entry_skip).collect();
        assert_eq!(skips, [4, 0, 0, 0, 0]);
    }
}
