//! USDT probes of ELF binaries: the `.note.stapsdt` notes that systemtap's `<sys/sdt.h>`
//! writes, one per probe site (a probe inlined twice has two). Each gives the probed
//! instruction's address, the link-time address of `.stapsdt.base` (to adjust for
//! prelinking), the semaphore's address, and the provider, name and argument specs as
//! text. This module reads them (goblin) into [`UsdtProbe`]s with file offsets for the
//! uprobe and the kernel's `ref_ctr_offset`; it does not interpret the argument specs
//! (`probe::usdt` does).

use goblin::elf::{Elf, program_header::PT_LOAD};

/// The note type of a stapsdt note.
pub const NT_STAPSDT: u32 = 3;

/// One USDT probe site of a binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsdtProbe {
    /// Provider (`scry`), also called the namespace.
    pub provider: String,
    /// Probe name (`loop`).
    pub name: String,
    /// Virtual address of the probed instruction (a `nop`), adjusted by `.stapsdt.base`.
    pub addr: u64,
    /// Its offset in the file: where the uprobe goes.
    pub file_offset: u64,
    /// Virtual address of the semaphore (a `unsigned short` the program tests before
    /// computing the arguments), if the probe has one.
    pub semaphore: Option<u64>,
    /// The semaphore's offset in the file (the kernel's `ref_ctr_offset`).
    pub semaphore_offset: Option<u64>,
    /// The argument specs, space-separated: `8@%rdi -4@$5 -4@-20(%rbp)`.
    pub args: String,
}

/// A binary with its USDT probe sites.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UsdtBinary {
    /// The path as resolved (absolute).
    pub path: String,
    /// Every probe site, sorted by provider, name and address.
    pub probes: Vec<UsdtProbe>,
}

/// The fields of one stapsdt note, as written (addresses not adjusted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// Address of the probed instruction.
    pub pc: u64,
    /// Link-time address of `.stapsdt.base` (0 when the linker dropped it).
    pub base: u64,
    /// Address of the semaphore, 0 when there is none.
    pub semaphore: u64,
    /// Provider.
    pub provider: String,
    /// Name.
    pub name: String,
    /// Argument specs.
    pub args: String,
}

/// Parses a stapsdt note's descriptor: three addresses of `addr_size` bytes (4 or 8)
/// in the file's byte order, then provider, name and arguments as NUL-terminated
/// strings. `None` when it is cut short.
pub fn parse_note(desc: &[u8], addr_size: usize, little_endian: bool) -> Option<Note> {
    let addr = |i: usize| -> Option<u64> {
        let b = desc.get(i * addr_size..(i + 1) * addr_size)?;
        let mut v = [0u8; 8];
        if little_endian {
            v[..addr_size].copy_from_slice(b);
            Some(u64::from_le_bytes(v))
        } else {
            v[8 - addr_size..].copy_from_slice(b);
            Some(u64::from_be_bytes(v))
        }
    };
    if addr_size != 4 && addr_size != 8 {
        return None;
    }
    let (pc, base, semaphore) = (addr(0)?, addr(1)?, addr(2)?);
    let mut strings = desc.get(3 * addr_size..)?.split(|&b| b == 0);
    let mut text = || -> Option<String> { Some(String::from_utf8_lossy(strings.next()?).into()) };
    let (provider, name) = (text()?, text()?);
    // Probes without arguments may end right after the name.
    let args = text().unwrap_or_default();
    Some(Note {
        pc,
        base,
        semaphore,
        provider,
        name,
        args,
    })
}

/// Every USDT probe site of the ELF image `bytes`; an image without notes has none.
pub fn parse(bytes: &[u8]) -> Result<Vec<UsdtProbe>, String> {
    let elf = Elf::parse(bytes).map_err(|e| e.to_string())?;
    let addr_size = if elf.is_64 { 8 } else { 4 };
    // Where `.stapsdt.base` really is: prelink may have moved everything since the notes
    // were written (sys/sdt.h's documented adjustment).
    let base = elf
        .section_headers
        .iter()
        .find(|s| elf.shdr_strtab.get_at(s.sh_name) == Some(".stapsdt.base"))
        .map(|s| s.sh_addr);
    let segments: Vec<(u64, u64, u64)> = elf
        .program_headers
        .iter()
        .filter(|ph| ph.p_type == PT_LOAD)
        .map(|ph| (ph.p_vaddr, ph.p_memsz, ph.p_offset))
        .collect();
    let mut probes = Vec::new();
    let Some(notes) = elf.iter_note_sections(bytes, Some(".note.stapsdt")) else {
        return Ok(probes);
    };
    for note in notes {
        let note = note.map_err(|e| format!("a bad .note.stapsdt: {e}"))?;
        if note.n_type != NT_STAPSDT || note.name.trim_end_matches('\0') != "stapsdt" {
            continue;
        }
        if let Some(p) = parse_note(note.desc, addr_size, elf.little_endian)
            .and_then(|n| site(n, base, &segments))
        {
            probes.push(p);
        }
    }
    probes.sort_by(|a, b| (&a.provider, &a.name, a.addr).cmp(&(&b.provider, &b.name, b.addr)));
    Ok(probes)
}

/// The probe site a note describes, its addresses moved by where `.stapsdt.base` really
/// is (`real_base`) relative to where the note says it was, with file offsets from the
/// loadable `segments` (`(vaddr, memsz, file offset)`); `None` when the instruction is
/// in none of them.
pub fn site(n: Note, real_base: Option<u64>, segments: &[(u64, u64, u64)]) -> Option<UsdtProbe> {
    let shift = |a: u64| match real_base {
        Some(real) if n.base != 0 => a.wrapping_add(real.wrapping_sub(n.base)),
        _ => a,
    };
    let file_offset = |addr: u64| {
        segments
            .iter()
            .find(|(va, sz, _)| (*va..va.saturating_add(*sz)).contains(&addr))
            .map(|(va, _, off)| addr - va + off)
    };
    let addr = shift(n.pc);
    let semaphore = (n.semaphore != 0).then(|| shift(n.semaphore));
    Some(UsdtProbe {
        provider: n.provider,
        name: n.name,
        addr,
        file_offset: file_offset(addr)?,
        semaphore,
        semaphore_offset: semaphore.and_then(file_offset),
        args: n.args,
    })
}

/// Resolves `spec` as uprobes do (a path, a command in `$PATH`, a library name) and reads
/// its USDT probes.
pub fn read(spec: &str) -> Result<UsdtBinary, String> {
    let path = super::elf::resolve(spec)?;
    let shown = path.display().to_string();
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let probes = parse(&bytes).map_err(|e| format!("`{shown}` is not an ELF binary: {e}"))?;
    Ok(UsdtBinary {
        path: shown,
        probes,
    })
}

/// The files process `pid` maps with execute permission, from the text of its
/// `/proc/PID/maps`, each once, in address order (the executable first).
pub fn mapped_objects(maps: &str) -> Vec<String> {
    let mut files: Vec<String> = Vec::new();
    for line in maps.lines() {
        // address perms offset dev inode path (the path may contain spaces)
        let mut f = line.splitn(6, ' ');
        let (Some(_), Some(perms), Some(_), Some(_), Some(_), Some(path)) =
            (f.next(), f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        let path = path.trim_start();
        if perms.as_bytes().get(2) == Some(&b'x')
            && path.starts_with('/')
            && !path.ends_with(" (deleted)")
            && !files.iter().any(|p| p == path)
        {
            files.push(path.to_string());
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A note descriptor as sys/sdt.h lays it out on x86-64.
    fn desc(pc: u64, base: u64, sema: u64, strings: &[&str]) -> Vec<u8> {
        let mut d = Vec::new();
        for a in [pc, base, sema] {
            d.extend(a.to_le_bytes());
        }
        for s in strings {
            d.extend(s.as_bytes());
            d.push(0);
        }
        d
    }

    #[test]
    fn notes_of_fixed_bytes() {
        let d = desc(0x1139, 0x2004, 0x4010, &["scry", "loop", "8@%rdi -4@$5"]);
        assert_eq!(
            parse_note(&d, 8, true),
            Some(Note {
                pc: 0x1139,
                base: 0x2004,
                semaphore: 0x4010,
                provider: "scry".into(),
                name: "loop".into(),
                args: "8@%rdi -4@$5".into(),
            })
        );
        // No arguments: the string may be empty or missing.
        let d = desc(0x10, 0, 0, &["p", "n", ""]);
        assert_eq!(parse_note(&d, 8, true).unwrap().args, "");
        let d = desc(0x10, 0, 0, &["p", "n"]);
        assert_eq!(parse_note(&d, 8, true).unwrap().args, "");
        // 32-bit, big-endian addresses.
        let mut d = Vec::new();
        for a in [0x8000u32, 0, 0x9000] {
            d.extend(a.to_be_bytes());
        }
        d.extend(b"p\0n\0-4@%eax\0");
        let n = parse_note(&d, 4, false).unwrap();
        assert_eq!(
            (n.pc, n.semaphore, n.args.as_str()),
            (0x8000, 0x9000, "-4@%eax")
        );
        // Cut short: no name.
        assert_eq!(parse_note(&desc(1, 2, 3, &[])[..24], 8, true), None);
        assert_eq!(parse_note(&[0; 10], 8, true), None);
    }

    #[test]
    fn base_adjustment_and_file_offsets() {
        let note = |pc, base, semaphore| Note {
            pc,
            base,
            semaphore,
            provider: "p".into(),
            name: "n".into(),
            args: String::new(),
        };
        // Text at 0x1000 from file offset 0x1000; data at 0x3df0 from 0x2df0.
        let segments = [(0x1000, 0x800, 0x1000), (0x3df0, 0x300, 0x2df0)];
        // Where the linker left things: no adjustment.
        let p = site(note(0x1139, 0x2004, 0x4010), Some(0x2004), &segments).unwrap();
        assert_eq!((p.addr, p.file_offset), (0x1139, 0x1139));
        assert_eq!(
            (p.semaphore, p.semaphore_offset),
            (Some(0x4010), Some(0x3010))
        );
        // Prelinked 0x100 higher: both addresses move with the base.
        let p = site(note(0x1039, 0x1f04, 0x3f10), Some(0x2004), &segments).unwrap();
        assert_eq!((p.addr, p.semaphore), (0x1139, Some(0x4010)));
        // The linker dropped .stapsdt.base (base 0): addresses as written.
        let p = site(note(0x1139, 0, 0), Some(0x2004), &segments).unwrap();
        assert_eq!(
            (p.addr, p.semaphore, p.semaphore_offset),
            (0x1139, None, None)
        );
        // Outside every segment: not a probe site.
        assert_eq!(site(note(0x9000, 0, 0), None, &segments), None);
    }

    #[test]
    fn not_elf_and_no_notes() {
        assert!(parse(b"not an elf").is_err());
        // This test binary has no USDT probes.
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(parse(&exe), Ok(Vec::new()));
    }

    #[test]
    fn executable_mappings() {
        let maps = "\
55d0c0a00000-55d0c0a20000 r--p 00000000 08:01 131 /usr/bin/my prog
55d0c0a20000-55d0c0a90000 r-xp 00020000 08:01 131 /usr/bin/my prog
7f10c0000000-7f10c0021000 rw-p 00000000 00:00 0
7f10c1000000-7f10c1190000 r-xp 00028000 08:01 262 /usr/lib/x86_64-linux-gnu/libc.so.6
7f10c2000000-7f10c2010000 r-xp 00000000 08:01 263 /tmp/gone (deleted)
7ffd5e5f0000-7ffd5e5f2000 r-xp 00000000 00:00 0                          [vdso]
7f10c3000000-7f10c3190000 r-xp 00000000 08:01 262 /usr/lib/x86_64-linux-gnu/libc.so.6
";
        assert_eq!(
            mapped_objects(maps),
            ["/usr/bin/my prog", "/usr/lib/x86_64-linux-gnu/libc.so.6"]
        );
    }
}
