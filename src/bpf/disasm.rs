//! Disassembler in the kernel verifier's syntax (`r1 = *(u64 *)(r10 -8)`), as
//! `bpftool prog dump xlated` prints it. Never panics: unknown encodings print as
//! `invalid opcode 0x..`.

use super::insn::{Alu, Cond, Insn, Size, class, helper, mode};

/// Disassembles `insns`; `map_name(slot)` names the map an `ld_imm64` at `slot` loads.
/// Returns one `(slot, text)` line per instruction (`ld_imm64` takes two slots).
pub fn disasm(insns: &[Insn], map_name: &dyn Fn(usize) -> Option<String>) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < insns.len() {
        let insn = insns[i];
        if insn.is_ld_imm64() {
            let hi = insns.get(i + 1).map_or(0, |n| n.imm as u32 as u64);
            let imm = (insn.imm as u32 as u64) | (hi << 32);
            let text = match (insn.src, map_name(i)) {
                (super::insn::PSEUDO_MAP_FD, Some(name)) => format!("r{} = map[{name}]", insn.dst),
                (super::insn::PSEUDO_MAP_FD, None) => {
                    format!("r{} = map[fd:{}]", insn.dst, insn.imm)
                }
                (super::insn::PSEUDO_FUNC, _) => format!("r{} = func[{:+}]", insn.dst, insn.imm),
                _ => format!("r{} = {imm:#x} ll", insn.dst),
            };
            out.push((i, text));
            i += 2;
            continue;
        }
        out.push((i, disasm_one(insn)));
        i += 1;
    }
    out
}

fn size_name(s: Size) -> &'static str {
    match s {
        Size::B => "u8",
        Size::H => "u16",
        Size::W => "u32",
        Size::DW => "u64",
    }
}

fn off(o: i16) -> String {
    if o < 0 {
        format!("{o}")
    } else {
        format!("+{o}")
    }
}

/// One instruction (not `ld_imm64`, which needs two slots).
pub fn disasm_one(insn: Insn) -> String {
    let code = insn.code;
    let (d, s) = (insn.dst, insn.src);
    let invalid = || format!("invalid opcode {code:#04x}");
    match insn.class() {
        class::ALU | class::ALU64 => {
            let r = if insn.class() == class::ALU64 {
                "r"
            } else {
                "w"
            };
            let Some(op) = Alu::from_bits(code) else {
                return invalid();
            };
            let src = if code & 0x08 != 0 {
                format!("{r}{s}")
            } else {
                format!("{}", insn.imm)
            };
            let signed = insn.off == 1;
            let sym = match op {
                Alu::Add => "+=",
                Alu::Sub => "-=",
                Alu::Mul => "*=",
                Alu::Div if signed => "s/=",
                Alu::Div => "/=",
                Alu::Or => "|=",
                Alu::And => "&=",
                Alu::Lsh => "<<=",
                Alu::Rsh => ">>=",
                Alu::Mod if signed => "s%=",
                Alu::Mod => "%=",
                Alu::Xor => "^=",
                Alu::Mov => "=",
                Alu::Arsh => "s>>=",
                Alu::Neg => return format!("{r}{d} = -{r}{d}"),
                // ALU64 | END is the unconditional byte swap (Linux 6.6, cpu v4).
                Alu::End if insn.class() == class::ALU64 => {
                    return format!("r{d} = bswap{} r{d}", insn.imm);
                }
                Alu::End => {
                    let order = if code & 0x08 != 0 { "be" } else { "le" };
                    return format!("r{d} = {order}{} r{d}", insn.imm);
                }
            };
            format!("{r}{d} {sym} {src}")
        }
        class::LDX if code & 0xe0 == mode::MEM => {
            format!(
                "r{d} = *({} *)(r{s} {})",
                size_name(Size::from_bits(code)),
                off(insn.off)
            )
        }
        class::STX if code & 0xe0 == mode::MEM => {
            format!(
                "*({} *)(r{d} {}) = r{s}",
                size_name(Size::from_bits(code)),
                off(insn.off)
            )
        }
        class::STX if code & 0xe0 == mode::ATOMIC && insn.imm == super::insn::atomic::ADD => {
            format!(
                "lock *({} *)(r{d} {}) += r{s}",
                size_name(Size::from_bits(code)),
                off(insn.off)
            )
        }
        class::ST if code & 0xe0 == mode::MEM => {
            format!(
                "*({} *)(r{d} {}) = {}",
                size_name(Size::from_bits(code)),
                off(insn.off),
                insn.imm
            )
        }
        class::JMP | class::JMP32 => {
            let r = if insn.class() == class::JMP { "r" } else { "w" };
            match code & 0xf0 {
                super::insn::JA => format!("goto pc{}", off(insn.off)),
                super::insn::CALL if insn.src == super::insn::PSEUDO_CALL => {
                    format!("call pc{}", off(insn.imm as i16))
                }
                super::insn::CALL if insn.src == super::insn::PSEUDO_KFUNC_CALL => {
                    format!("call kernel-function#{}", insn.imm)
                }
                super::insn::CALL => match helper::name(insn.imm as u32) {
                    Some(name) => format!("call {name}#{}", insn.imm),
                    None => format!("call #{}", insn.imm),
                },
                super::insn::EXIT => "exit".to_string(),
                bits => {
                    let Some(cond) = Cond::from_bits(bits) else {
                        return invalid();
                    };
                    let sym = match cond {
                        Cond::Eq => "==",
                        Cond::Gt => ">",
                        Cond::Ge => ">=",
                        Cond::Set => "&",
                        Cond::Ne => "!=",
                        Cond::Sgt => "s>",
                        Cond::Sge => "s>=",
                        Cond::Lt => "<",
                        Cond::Le => "<=",
                        Cond::Slt => "s<",
                        Cond::Sle => "s<=",
                    };
                    let rhs = if code & 0x08 != 0 {
                        format!("{r}{s}")
                    } else {
                        format!("{:#x}", insn.imm)
                    };
                    format!("if {r}{d} {sym} {rhs} goto pc{}", off(insn.off))
                }
            }
        }
        _ => invalid(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::Reg::*;

    /// Builder → exact kernel encoding → disassembly, for every builder.
    #[test]
    fn encoding_and_disassembly_table() {
        let table: &[(Insn, [u8; 8], &str)] = &[
            (
                Insn::mov64_imm(R1, 1),
                [0xb7, 0x01, 0, 0, 1, 0, 0, 0],
                "r1 = 1",
            ),
            (
                Insn::mov64_reg(R6, R1),
                [0xbf, 0x16, 0, 0, 0, 0, 0, 0],
                "r6 = r1",
            ),
            (
                Insn::alu64_imm(Alu::End, R6, 16),
                [0xd7, 0x06, 0, 0, 16, 0, 0, 0],
                "r6 = bswap16 r6",
            ),
            (
                Insn::alu64_imm(Alu::Add, R2, -8),
                [0x07, 0x02, 0, 0, 0xf8, 0xff, 0xff, 0xff],
                "r2 += -8",
            ),
            (
                Insn::alu64_reg(Alu::Sub, R3, R4),
                [0x1f, 0x43, 0, 0, 0, 0, 0, 0],
                "r3 -= r4",
            ),
            (
                Insn::alu64_reg_signed(Alu::Div, R1, R2),
                [0x3f, 0x21, 1, 0, 0, 0, 0, 0],
                "r1 s/= r2",
            ),
            (
                Insn::alu64_reg_signed(Alu::Mod, R1, R2),
                [0x9f, 0x21, 1, 0, 0, 0, 0, 0],
                "r1 s%= r2",
            ),
            (
                Insn::alu64_imm(Alu::Arsh, R1, 3),
                [0xc7, 0x01, 0, 0, 3, 0, 0, 0],
                "r1 s>>= 3",
            ),
            (
                Insn::alu32_imm(Alu::Mov, R1, 5),
                [0xb4, 0x01, 0, 0, 5, 0, 0, 0],
                "w1 = 5",
            ),
            (Insn::neg64(R1), [0x87, 0x01, 0, 0, 0, 0, 0, 0], "r1 = -r1"),
            (
                Insn::ldx(Size::DW, R0, R10, -8),
                [0x79, 0xa0, 0xf8, 0xff, 0, 0, 0, 0],
                "r0 = *(u64 *)(r10 -8)",
            ),
            (
                Insn::ldx(Size::B, R1, R6, 16),
                [0x71, 0x61, 16, 0, 0, 0, 0, 0],
                "r1 = *(u8 *)(r6 +16)",
            ),
            (
                Insn::stx(Size::DW, R10, -8, R1),
                [0x7b, 0x1a, 0xf8, 0xff, 0, 0, 0, 0],
                "*(u64 *)(r10 -8) = r1",
            ),
            (
                Insn::st(Size::W, R10, -4, 0),
                [0x62, 0x0a, 0xfc, 0xff, 0, 0, 0, 0],
                "*(u32 *)(r10 -4) = 0",
            ),
            (
                Insn::atomic_add64(R0, 0, R1),
                [0xdb, 0x10, 0, 0, 0, 0, 0, 0],
                "lock *(u64 *)(r0 +0) += r1",
            ),
            (
                Insn::jmp_imm(Cond::Eq, R0, 0, 3),
                [0x15, 0x00, 3, 0, 0, 0, 0, 0],
                "if r0 == 0x0 goto pc+3",
            ),
            (
                Insn::jmp_reg(Cond::Sgt, R1, R2, -4),
                [0x6d, 0x21, 0xfc, 0xff, 0, 0, 0, 0],
                "if r1 s> r2 goto pc-4",
            ),
            (Insn::ja(2), [0x05, 0, 2, 0, 0, 0, 0, 0], "goto pc+2"),
            (
                Insn::call(1),
                [0x85, 0, 0, 0, 1, 0, 0, 0],
                "call bpf_map_lookup_elem#1",
            ),
            (Insn::exit(), [0x95, 0, 0, 0, 0, 0, 0, 0], "exit"),
        ];
        for (insn, bytes, text) in table {
            assert_eq!(insn.encode(), *bytes, "encoding of {text}");
            assert_eq!(Insn::decode(*bytes), *insn, "decoding of {text}");
            assert_eq!(disasm_one(*insn), *text);
        }
    }

    #[test]
    fn ld_imm64_takes_two_slots() {
        let mut insns = Insn::ld_imm64(R1, 0x1_2345_6789).to_vec();
        assert_eq!(
            insns[0].encode(),
            [0x18, 0x01, 0, 0, 0x89, 0x67, 0x45, 0x23]
        );
        assert_eq!(insns[1].encode(), [0, 0, 0, 0, 1, 0, 0, 0]);
        insns.extend(Insn::ld_map_fd(R1));
        insns.push(Insn::exit());
        let lines = disasm(&insns, &|slot| (slot == 2).then(|| "counts".to_string()));
        assert_eq!(
            lines,
            [
                (0, "r1 = 0x123456789 ll".to_string()),
                (2, "r1 = map[counts]".to_string()),
                (4, "exit".to_string())
            ]
        );
    }

    #[test]
    fn garbage_never_panics() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let insn = Insn::decode(x.to_le_bytes());
            let _ = disasm(&[insn, insn], &|_| None);
        }
        assert!(disasm_one(Insn::new(0xff, 0, 0, 0, 0)).starts_with("invalid opcode"));
    }
}
