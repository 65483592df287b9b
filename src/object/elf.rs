//! Writes a [`Module`](super::Module) as a relocatable BPF ELF object in the layout libbpf
//! expects: one executable section per program (a global function symbol each), a
//! `.maps` section of BTF-defined maps, subprograms in `.text`, `license`, `.BTF`,
//! `.BTF.ext` (function info), and relocations (addend 0) for map loads, calls and
//! callback addresses.

use object::write::{Object, Relocation, Symbol, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, RelocationFlags, SectionKind, SymbolFlags, SymbolKind,
    SymbolScope,
};

use super::Module;
use super::btf::Btf;
use super::module::{FuncCall, MapKind, MapReloc};

/// The object file bytes.
pub fn write(module: &Module) -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::Bpf, Endianness::Little);
    let mut btf = Btf::new();
    let int = btf.int("int", 4, true);

    // .maps: each map is a struct of `__uint(field, value)` members: pointers to arrays
    // whose element count is the value.
    // libbpf refuses an empty `.maps` section: only write one when there are maps.
    let maps_section = (!module.maps.is_empty())
        .then(|| obj.add_section(Vec::new(), b".maps".to_vec(), SectionKind::Data));
    let mut map_symbols = Vec::new();
    let mut datasec_vars = Vec::new();
    let mut offset = 0u32;
    for map in &module.maps {
        let mut fields = vec![
            ("type", map.kind.bpf_type()),
            ("max_entries", map.max_entries),
        ];
        if map.kind != MapKind::Ringbuf {
            fields.push(("key_size", map.key_size));
            fields.push(("value_size", map.value_size));
        }
        if map.flags != 0 {
            fields.push(("map_flags", map.flags));
        }
        let mut members = Vec::new();
        for (i, (name, value)) in fields.iter().enumerate() {
            let arr = btf.array(int, int, *value);
            let ptr = btf.ptr(arr);
            members.push((*name, ptr, i as u32 * 64));
        }
        let size = members.len() as u32 * 8;
        let st = btf.structure("", size, &members);
        let var = btf.var(&map.name, st);
        datasec_vars.push((var, offset, size));
        let section = maps_section.expect("a map implies the section");
        let at = obj.append_section_data(section, &vec![0u8; size as usize], 8);
        map_symbols.push(obj.add_symbol(Symbol {
            name: map.name.as_bytes().to_vec(),
            value: at,
            size: size as u64,
            kind: SymbolKind::Data,
            scope: SymbolScope::Dynamic,
            weak: false,
            section: SymbolSection::Section(section),
            flags: SymbolFlags::None,
        }));
        offset += size;
    }
    if maps_section.is_some() {
        btf.datasec(".maps", offset, &datasec_vars);
    }

    // Subprograms: static functions in `.text`, which libbpf appends to every program
    // that calls them (each call carries an R_BPF_64_32 relocation to the function; a
    // callback's address an R_BPF_64_64 one to the section with the function's byte
    // offset in `imm`).
    let long = btf.int("long", 8, true);
    let u64_ty = btf.int("u64", 8, false);
    let mut func_offsets = Vec::new();
    let mut end = 0u64;
    for f in &module.funcs {
        func_offsets.push(end);
        end += f.insns.len() as u64 * 8;
    }
    let patched = |insns: &[crate::bpf::Insn], addrs: &[FuncCall]| {
        let mut insns = insns.to_vec();
        for a in addrs {
            insns[a.insn].imm = func_offsets[a.func] as i32;
        }
        insns.iter().flat_map(|i| i.encode()).collect::<Vec<u8>>()
    };
    let mut func_symbols = Vec::new();
    let mut text = None;
    let mut text_info = Vec::new();
    if !module.funcs.is_empty() {
        let section = obj.add_section(Vec::new(), b".text".to_vec(), SectionKind::Text);
        text = Some(section);
        for (f, &want) in module.funcs.iter().zip(&func_offsets) {
            let code = patched(&f.insns, &f.func_addrs);
            let at = obj.append_section_data(section, &code, 8);
            assert_eq!(at, want, "internal compiler error: .text layout");
            // The kernel wants every parameter of a function's prototype named.
            const NAMES: [&str; 5] = ["a0", "a1", "a2", "a3", "a4"];
            let params: Vec<(&str, u32)> = NAMES[..f.params.min(5) as usize]
                .iter()
                .map(|&n| (n, u64_ty))
                .collect();
            let proto = btf.func_proto(long, &params);
            text_info.push((at as u32, btf.static_func(&f.name, proto)));
            func_symbols.push(obj.add_symbol(Symbol {
                name: f.name.as_bytes().to_vec(),
                value: at,
                size: code.len() as u64,
                kind: SymbolKind::Text,
                scope: SymbolScope::Compilation,
                weak: false,
                section: SymbolSection::Section(section),
                flags: SymbolFlags::None,
            }));
        }
    }
    let text_symbol = text.map(|t| obj.section_symbol(t));
    let relocate = |obj: &mut Object<'_>,
                    section,
                    at: u64,
                    maps: &[MapReloc],
                    calls: &[FuncCall],
                    addrs: &[FuncCall]| {
        for r in maps {
            obj.add_relocation(
                section,
                Relocation {
                    offset: at + r.insn as u64 * 8,
                    symbol: map_symbols[r.map],
                    addend: 0,
                    flags: RelocationFlags::Elf {
                        r_type: object::elf::R_BPF_64_64,
                    },
                },
            )
            .expect("internal compiler error: invalid map relocation");
        }
        for c in calls {
            obj.add_relocation(
                section,
                Relocation {
                    offset: at + c.insn as u64 * 8,
                    symbol: func_symbols[c.func],
                    addend: 0,
                    flags: RelocationFlags::Elf {
                        r_type: object::elf::R_BPF_64_32,
                    },
                },
            )
            .expect("internal compiler error: invalid call relocation");
        }
        for a in addrs {
            obj.add_relocation(
                section,
                Relocation {
                    offset: at + a.insn as u64 * 8,
                    symbol: text_symbol.expect("a callback implies .text"),
                    addend: 0,
                    flags: RelocationFlags::Elf {
                        r_type: object::elf::R_BPF_64_64,
                    },
                },
            )
            .expect("internal compiler error: invalid callback relocation");
        }
    };
    if let Some(section) = text {
        for (f, &at) in module.funcs.iter().zip(&func_offsets) {
            relocate(
                &mut obj,
                section,
                at,
                &f.map_relocs,
                &f.calls,
                &f.func_addrs,
            );
        }
    }

    let void_ptr = btf.ptr(0);
    let proto = btf.func_proto(int, &[("ctx", void_ptr)]);
    // Programs that share a section name share one section, as a C compiler puts them:
    // libbpf finds a section's function info by the section's name, the first section
    // of that name only.
    let mut info: Vec<(String, Vec<(u32, u32)>)> = Vec::new();
    let mut sections: Vec<(String, object::write::SectionId)> = Vec::new();
    for prog in &module.progs {
        let section = match sections.iter().find(|(name, _)| *name == prog.section) {
            Some(&(_, id)) => id,
            None => {
                let id = obj.add_section(
                    Vec::new(),
                    prog.section.as_bytes().to_vec(),
                    SectionKind::Text,
                );
                sections.push((prog.section.clone(), id));
                id
            }
        };
        let code = patched(&prog.insns, &prog.func_addrs);
        let at = obj.append_section_data(section, &code, 8);
        obj.add_symbol(Symbol {
            name: prog.name.as_bytes().to_vec(),
            value: at,
            size: code.len() as u64,
            kind: SymbolKind::Text,
            scope: SymbolScope::Dynamic,
            weak: false,
            section: SymbolSection::Section(section),
            flags: SymbolFlags::None,
        });
        let func = btf.func(&prog.name, proto);
        match info.iter_mut().find(|(name, _)| *name == prog.section) {
            Some((_, funcs)) => funcs.push((at as u32, func)),
            None => info.push((prog.section.clone(), vec![(at as u32, func)])),
        }
        relocate(
            &mut obj,
            section,
            at,
            &prog.map_relocs,
            &prog.calls,
            &prog.func_addrs,
        );
    }
    if !text_info.is_empty() {
        info.push((".text".to_string(), text_info));
    }
    let info: Vec<(u32, Vec<(u32, u32)>)> = info
        .into_iter()
        .map(|(name, funcs)| (btf.string(&name), funcs))
        .collect();

    let lic = obj.add_section(Vec::new(), b"license".to_vec(), SectionKind::Data);
    let at = obj.append_section_data(lic, b"GPL\0", 1);
    obj.add_symbol(Symbol {
        name: b"_license".to_vec(),
        value: at,
        size: 4,
        kind: SymbolKind::Data,
        scope: SymbolScope::Dynamic,
        weak: false,
        section: SymbolSection::Section(lic),
        flags: SymbolFlags::None,
    });
    let btf_section = obj.add_section(Vec::new(), b".BTF".to_vec(), SectionKind::Other);
    obj.append_section_data(btf_section, &btf.finish(), 4);
    let ext = obj.add_section(Vec::new(), b".BTF.ext".to_vec(), SectionKind::Other);
    obj.append_section_data(ext, &super::btf::ext_func_info(&info), 4);
    obj.write()
        .expect("internal compiler error: ELF writer failed")
}
