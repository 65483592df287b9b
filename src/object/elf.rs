//! Writes a [`Module`](super::Module) as a relocatable BPF ELF object in the layout libbpf
//! expects: one executable section per program (a global function symbol each), a
//! `.maps` section of BTF-defined maps, `license`, `.BTF`, and `R_BPF_64_64` relocations
//! (addend 0) for map loads.

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
    // that calls them (each call carries an R_BPF_64_32 relocation to the function).
    let mut func_symbols = Vec::new();
    let mut text = None;
    if !module.funcs.is_empty() {
        let section = obj.add_section(Vec::new(), b".text".to_vec(), SectionKind::Text);
        text = Some(section);
        for f in &module.funcs {
            let code: Vec<u8> = f.insns.iter().flat_map(|i| i.encode()).collect();
            let at = obj.append_section_data(section, &code, 8);
            func_symbols.push((
                obj.add_symbol(Symbol {
                    name: f.name.as_bytes().to_vec(),
                    value: at,
                    size: code.len() as u64,
                    kind: SymbolKind::Text,
                    scope: SymbolScope::Compilation,
                    weak: false,
                    section: SymbolSection::Section(section),
                    flags: SymbolFlags::None,
                }),
                at,
            ));
        }
    }
    let relocate =
        |obj: &mut Object<'_>, section, at: u64, maps: &[MapReloc], calls: &[FuncCall]| {
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
                        symbol: func_symbols[c.func].0,
                        addend: 0,
                        flags: RelocationFlags::Elf {
                            r_type: object::elf::R_BPF_64_32,
                        },
                    },
                )
                .expect("internal compiler error: invalid call relocation");
            }
        };
    if let Some(section) = text {
        for (f, &(_, at)) in module.funcs.iter().zip(&func_symbols) {
            relocate(&mut obj, section, at, &f.map_relocs, &f.calls);
        }
    }

    let void_ptr = btf.ptr(0);
    let proto = btf.func_proto(int, &[("ctx", void_ptr)]);
    for prog in &module.progs {
        let section = obj.add_section(
            Vec::new(),
            prog.section.as_bytes().to_vec(),
            SectionKind::Text,
        );
        let code: Vec<u8> = prog.insns.iter().flat_map(|i| i.encode()).collect();
        // Several programs may share a section name; each gets its own section here.
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
        btf.func(&prog.name, proto);
        relocate(&mut obj, section, at, &prog.map_relocs, &prog.calls);
    }

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
    obj.write()
        .expect("internal compiler error: ELF writer failed")
}
