//! Instruction encoding: one [`Insn`] is one 8-byte slot of the kernel's `struct bpf_insn`
//! (`ld_imm64` takes two). Opcode fields follow `include/uapi/linux/bpf.h`.

/// Instruction classes (low 3 bits of the opcode).
pub mod class {
    /// `BPF_LD`
    pub const LD: u8 = 0x00;
    /// `BPF_LDX`
    pub const LDX: u8 = 0x01;
    /// `BPF_ST`
    pub const ST: u8 = 0x02;
    /// `BPF_STX`
    pub const STX: u8 = 0x03;
    /// `BPF_ALU` (32-bit)
    pub const ALU: u8 = 0x04;
    /// `BPF_JMP`
    pub const JMP: u8 = 0x05;
    /// `BPF_JMP32`
    pub const JMP32: u8 = 0x06;
    /// `BPF_ALU64`
    pub const ALU64: u8 = 0x07;
}

/// Source operand flag: `BPF_K` (immediate) / `BPF_X` (register).
pub mod src {
    /// Immediate.
    pub const K: u8 = 0x00;
    /// Register.
    pub const X: u8 = 0x08;
}

/// Memory access modes.
pub mod mode {
    /// `BPF_IMM` (ld_imm64).
    pub const IMM: u8 = 0x00;
    /// `BPF_MEM`.
    pub const MEM: u8 = 0x60;
    /// `BPF_ATOMIC`.
    pub const ATOMIC: u8 = 0xc0;
}

/// `src_reg` value of `ld_imm64` that marks a map-fd load (`BPF_PSEUDO_MAP_FD`).
pub const PSEUDO_MAP_FD: u8 = 1;
/// `src_reg` value of `call` that marks a call of a BPF function (`BPF_PSEUDO_CALL`);
/// `imm` is the target's offset from the next instruction.
pub const PSEUDO_CALL: u8 = 1;
/// `src_reg` value of `call` that marks a call of a kernel function by its BTF id
/// (`BPF_PSEUDO_KFUNC_CALL`; `off` 0 means vmlinux BTF).
pub const PSEUDO_KFUNC_CALL: u8 = 2;
/// `src_reg` value of `ld_imm64` that loads the address of a BPF function, a callback
/// for `bpf_loop` or `bpf_for_each_map_elem` (`BPF_PSEUDO_FUNC`); `imm` is patched by the
/// loader through a relocation.
pub const PSEUDO_FUNC: u8 = 4;

/// Registers R0..R10.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Reg {
    /// Return value, helper result.
    R0 = 0,
    /// Argument 1 / context on entry.
    R1,
    /// Argument 2.
    R2,
    /// Argument 3.
    R3,
    /// Argument 4.
    R4,
    /// Argument 5.
    R5,
    /// Callee-saved.
    R6,
    /// Callee-saved.
    R7,
    /// Callee-saved.
    R8,
    /// Callee-saved.
    R9,
    /// Read-only frame pointer.
    R10,
}

impl Reg {
    /// Register from its number; `None` above 10.
    pub fn from_u8(n: u8) -> Option<Reg> {
        use Reg::*;
        [R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10]
            .get(n as usize)
            .copied()
    }

    /// Register number.
    pub fn num(self) -> u8 {
        self as u8
    }
}

/// ALU operations (high 4 bits of the opcode).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Alu {
    /// `+=`
    Add = 0x00,
    /// `-=`
    Sub = 0x10,
    /// `*=`
    Mul = 0x20,
    /// `/=` (unsigned; signed with `off = 1`)
    Div = 0x30,
    /// `|=`
    Or = 0x40,
    /// `&=`
    And = 0x50,
    /// `<<=`
    Lsh = 0x60,
    /// `>>=` logical
    Rsh = 0x70,
    /// `= -dst`
    Neg = 0x80,
    /// `%=` (unsigned; signed with `off = 1`)
    Mod = 0x90,
    /// `^=`
    Xor = 0xa0,
    /// `=`
    Mov = 0xb0,
    /// `s>>=` arithmetic
    Arsh = 0xc0,
    /// Byte swap (`BPF_END`).
    End = 0xd0,
}

impl Alu {
    /// From the high nibble of an opcode.
    pub fn from_bits(bits: u8) -> Option<Alu> {
        use Alu::*;
        Some(match bits & 0xf0 {
            0x00 => Add,
            0x10 => Sub,
            0x20 => Mul,
            0x30 => Div,
            0x40 => Or,
            0x50 => And,
            0x60 => Lsh,
            0x70 => Rsh,
            0x80 => Neg,
            0x90 => Mod,
            0xa0 => Xor,
            0xb0 => Mov,
            0xc0 => Arsh,
            0xd0 => End,
            _ => return None,
        })
    }
}

/// Jump conditions (high 4 bits of a `BPF_JMP` opcode); `Ja`, `Call`, `Exit` are the
/// unconditional members of the class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Cond {
    /// `==`
    Eq = 0x10,
    /// `>` unsigned
    Gt = 0x20,
    /// `>=` unsigned
    Ge = 0x30,
    /// `&` (test bits)
    Set = 0x40,
    /// `!=`
    Ne = 0x50,
    /// `s>`
    Sgt = 0x60,
    /// `s>=`
    Sge = 0x70,
    /// `<` unsigned
    Lt = 0xa0,
    /// `<=` unsigned
    Le = 0xb0,
    /// `s<`
    Slt = 0xc0,
    /// `s<=`
    Sle = 0xd0,
}

impl Cond {
    /// From the high nibble of a jump opcode.
    pub fn from_bits(bits: u8) -> Option<Cond> {
        use Cond::*;
        Some(match bits & 0xf0 {
            0x10 => Eq,
            0x20 => Gt,
            0x30 => Ge,
            0x40 => Set,
            0x50 => Ne,
            0x60 => Sgt,
            0x70 => Sge,
            0xa0 => Lt,
            0xb0 => Le,
            0xc0 => Slt,
            0xd0 => Sle,
            _ => return None,
        })
    }

    /// The condition that holds exactly when `self` does not.
    pub fn negate(self) -> Cond {
        use Cond::*;
        match self {
            Eq => Ne,
            Ne => Eq,
            Gt => Le,
            Le => Gt,
            Ge => Lt,
            Lt => Ge,
            Sgt => Sle,
            Sle => Sgt,
            Sge => Slt,
            Slt => Sge,
            // `Set` has no single-instruction negation; callers never negate it.
            Set => panic!("internal compiler error: negating JSET"),
        }
    }
}

/// `BPF_JA`
pub const JA: u8 = 0x00;
/// `BPF_CALL`
pub const CALL: u8 = 0x80;
/// `BPF_EXIT`
pub const EXIT: u8 = 0x90;

/// Memory access sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Size {
    /// 4 bytes (`BPF_W`).
    W = 0x00,
    /// 2 bytes (`BPF_H`).
    H = 0x08,
    /// 1 byte (`BPF_B`).
    B = 0x10,
    /// 8 bytes (`BPF_DW`).
    DW = 0x18,
}

impl Size {
    /// Size for a width in bytes (1, 2, 4, 8).
    pub fn from_bytes(n: u32) -> Option<Size> {
        Some(match n {
            1 => Size::B,
            2 => Size::H,
            4 => Size::W,
            8 => Size::DW,
            _ => return None,
        })
    }

    /// Width in bytes.
    pub fn bytes(self) -> u32 {
        match self {
            Size::B => 1,
            Size::H => 2,
            Size::W => 4,
            Size::DW => 8,
        }
    }

    /// From the size bits of an opcode.
    pub fn from_bits(bits: u8) -> Size {
        match bits & 0x18 {
            0x00 => Size::W,
            0x08 => Size::H,
            0x10 => Size::B,
            _ => Size::DW,
        }
    }
}

/// Atomic operation codes carried in `imm` of `BPF_ATOMIC` instructions.
pub mod atomic {
    /// `BPF_ADD`
    pub const ADD: i32 = 0x00;
    /// `BPF_FETCH` flag.
    pub const FETCH: i32 = 0x01;
}

/// One 8-byte instruction slot, exactly `struct bpf_insn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Insn {
    /// Opcode byte.
    pub code: u8,
    /// Destination register (low nibble of the register byte).
    pub dst: u8,
    /// Source register (high nibble of the register byte).
    pub src: u8,
    /// Signed offset.
    pub off: i16,
    /// Signed immediate.
    pub imm: i32,
}

impl Insn {
    /// Builds a raw instruction.
    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            dst,
            src,
            off,
            imm,
        }
    }

    /// Little-endian kernel encoding.
    pub fn encode(self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = self.code;
        b[1] = (self.dst & 0x0f) | ((self.src & 0x0f) << 4);
        b[2..4].copy_from_slice(&self.off.to_le_bytes());
        b[4..8].copy_from_slice(&self.imm.to_le_bytes());
        b
    }

    /// Decodes one slot.
    pub fn decode(b: [u8; 8]) -> Insn {
        Insn {
            code: b[0],
            dst: b[1] & 0x0f,
            src: b[1] >> 4,
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// `dst op= imm` (64-bit).
    pub fn alu64_imm(op: Alu, dst: Reg, imm: i32) -> Insn {
        Insn::new(class::ALU64 | src::K | op as u8, dst.num(), 0, 0, imm)
    }

    /// `dst op= src` (64-bit).
    pub fn alu64_reg(op: Alu, dst: Reg, src_reg: Reg) -> Insn {
        Insn::new(
            class::ALU64 | src::X | op as u8,
            dst.num(),
            src_reg.num(),
            0,
            0,
        )
    }

    /// Signed `dst s/= src` or `dst s%= src` (kernel ≥ 6.6: `off = 1`).
    pub fn alu64_reg_signed(op: Alu, dst: Reg, src_reg: Reg) -> Insn {
        Insn::new(
            class::ALU64 | src::X | op as u8,
            dst.num(),
            src_reg.num(),
            1,
            0,
        )
    }

    /// `dst op= imm` (32-bit, zero-extends).
    pub fn alu32_imm(op: Alu, dst: Reg, imm: i32) -> Insn {
        Insn::new(class::ALU | src::K | op as u8, dst.num(), 0, 0, imm)
    }

    /// `dst = imm` (64-bit, sign-extended imm).
    pub fn mov64_imm(dst: Reg, imm: i32) -> Insn {
        Insn::alu64_imm(Alu::Mov, dst, imm)
    }

    /// `dst = src`.
    pub fn mov64_reg(dst: Reg, src_reg: Reg) -> Insn {
        Insn::alu64_reg(Alu::Mov, dst, src_reg)
    }

    /// `dst = -dst`.
    pub fn neg64(dst: Reg) -> Insn {
        Insn::new(class::ALU64 | src::K | Alu::Neg as u8, dst.num(), 0, 0, 0)
    }

    /// `ld_imm64 dst, imm` (two slots).
    pub fn ld_imm64(dst: Reg, imm: u64) -> [Insn; 2] {
        [
            Insn::new(
                class::LD | mode::IMM | Size::DW as u8,
                dst.num(),
                0,
                0,
                imm as u32 as i32,
            ),
            Insn::new(0, 0, 0, 0, (imm >> 32) as u32 as i32),
        ]
    }

    /// `ld_imm64 dst, map` with `src = BPF_PSEUDO_MAP_FD`; `imm` is patched by the loader
    /// through an `R_BPF_64_64` relocation (two slots).
    pub fn ld_map_fd(dst: Reg) -> [Insn; 2] {
        [
            Insn::new(
                class::LD | mode::IMM | Size::DW as u8,
                dst.num(),
                PSEUDO_MAP_FD,
                0,
                0,
            ),
            Insn::new(0, 0, 0, 0, 0),
        ]
    }

    /// `ld_imm64 dst, func` with `src = BPF_PSEUDO_FUNC`: the address of a subprogram
    /// `imm` bytes into `.text` (two slots; the loader relocates it).
    pub fn ld_func(dst: Reg, imm: i32) -> [Insn; 2] {
        [
            Insn::new(
                class::LD | mode::IMM | Size::DW as u8,
                dst.num(),
                PSEUDO_FUNC,
                0,
                imm,
            ),
            Insn::new(0, 0, 0, 0, 0),
        ]
    }

    /// `dst = *(size *)(src + off)`.
    pub fn ldx(size: Size, dst: Reg, src_reg: Reg, off: i16) -> Insn {
        Insn::new(
            class::LDX | mode::MEM | size as u8,
            dst.num(),
            src_reg.num(),
            off,
            0,
        )
    }

    /// `*(size *)(dst + off) = src`.
    pub fn stx(size: Size, dst: Reg, off: i16, src_reg: Reg) -> Insn {
        Insn::new(
            class::STX | mode::MEM | size as u8,
            dst.num(),
            src_reg.num(),
            off,
            0,
        )
    }

    /// `*(size *)(dst + off) = imm`.
    pub fn st(size: Size, dst: Reg, off: i16, imm: i32) -> Insn {
        Insn::new(class::ST | mode::MEM | size as u8, dst.num(), 0, off, imm)
    }

    /// `lock *(u64 *)(dst + off) += src`.
    pub fn atomic_add64(dst: Reg, off: i16, src_reg: Reg) -> Insn {
        Insn::new(
            class::STX | mode::ATOMIC | Size::DW as u8,
            dst.num(),
            src_reg.num(),
            off,
            atomic::ADD,
        )
    }

    /// `if dst cond imm goto +off`.
    pub fn jmp_imm(cond: Cond, dst: Reg, imm: i32, off: i16) -> Insn {
        Insn::new(class::JMP | src::K | cond as u8, dst.num(), 0, off, imm)
    }

    /// `if dst cond src goto +off`.
    pub fn jmp_reg(cond: Cond, dst: Reg, src_reg: Reg, off: i16) -> Insn {
        Insn::new(
            class::JMP | src::X | cond as u8,
            dst.num(),
            src_reg.num(),
            off,
            0,
        )
    }

    /// `goto +off`.
    pub fn ja(off: i16) -> Insn {
        Insn::new(class::JMP | JA, 0, 0, off, 0)
    }

    /// `call helper`.
    pub fn call(helper: u32) -> Insn {
        Insn::new(class::JMP | CALL, 0, 0, 0, helper as i32)
    }

    /// `call kfunc`: a call of the kernel function with vmlinux BTF id `btf_id`.
    pub fn call_kernel(btf_id: u32) -> Insn {
        Insn::new(class::JMP | CALL, 0, PSEUDO_KFUNC_CALL, 0, btf_id as i32)
    }

    /// `call pc+imm`: a BPF-to-BPF call of the function `imm + 1` slots on (the loader
    /// patches `imm` from the relocation when the function is in another section).
    pub fn call_func(imm: i32) -> Insn {
        Insn::new(class::JMP | CALL, 0, PSEUDO_CALL, 0, imm)
    }

    /// `exit`.
    pub fn exit() -> Insn {
        Insn::new(class::JMP | EXIT, 0, 0, 0, 0)
    }

    /// Instruction class.
    pub fn class(self) -> u8 {
        self.code & 0x07
    }

    /// True for the first slot of an `ld_imm64`.
    pub fn is_ld_imm64(self) -> bool {
        self.code == class::LD | mode::IMM | Size::DW as u8
    }

    /// True for jumps that carry a relative offset (conditional or `ja`).
    pub fn is_branch(self) -> bool {
        let c = self.class();
        (c == class::JMP || c == class::JMP32) && !matches!(self.code & 0xf0, CALL | EXIT)
    }
}

/// Kernel helper function ids used by codegen (`enum bpf_func_id`).
pub mod helper {
    /// `bpf_map_lookup_elem`
    pub const MAP_LOOKUP_ELEM: u32 = 1;
    /// `bpf_map_update_elem`
    pub const MAP_UPDATE_ELEM: u32 = 2;
    /// `bpf_map_delete_elem`
    pub const MAP_DELETE_ELEM: u32 = 3;
    /// `bpf_probe_read`
    pub const PROBE_READ: u32 = 4;
    /// `bpf_ktime_get_ns`
    pub const KTIME_GET_NS: u32 = 5;
    /// `bpf_get_smp_processor_id`
    pub const GET_SMP_PROCESSOR_ID: u32 = 8;
    /// `long bpf_tail_call(void *ctx, struct bpf_map *prog_array, u32 index)`
    pub const TAIL_CALL: u32 = 12;
    /// `bpf_get_current_pid_tgid`
    pub const GET_CURRENT_PID_TGID: u32 = 14;
    /// `bpf_get_current_uid_gid`
    pub const GET_CURRENT_UID_GID: u32 = 15;
    /// `bpf_get_current_comm`
    pub const GET_CURRENT_COMM: u32 = 16;
    /// `bpf_get_stackid`
    pub const GET_STACKID: u32 = 27;
    /// `bpf_get_current_task`
    pub const GET_CURRENT_TASK: u32 = 35;
    /// `bpf_get_stack`.
    pub const GET_STACK: u32 = 67;
    /// `bpf_probe_read_str`
    pub const PROBE_READ_STR: u32 = 45;
    /// `bpf_get_attach_cookie`
    pub const GET_ATTACH_COOKIE: u32 = 174;
    /// `bpf_ringbuf_output`
    pub const RINGBUF_OUTPUT: u32 = 130;
    /// `bpf_ringbuf_reserve`
    pub const RINGBUF_RESERVE: u32 = 131;
    /// `bpf_ringbuf_submit`
    pub const RINGBUF_SUBMIT: u32 = 132;
    /// `bpf_ringbuf_discard`
    pub const RINGBUF_DISCARD: u32 = 133;
    /// `bpf_ringbuf_query`
    pub const RINGBUF_QUERY: u32 = 134;
    /// `bpf_probe_read_user`
    pub const PROBE_READ_USER: u32 = 112;
    /// `bpf_probe_read_kernel`
    pub const PROBE_READ_KERNEL: u32 = 113;
    /// `bpf_probe_read_user_str`
    pub const PROBE_READ_USER_STR: u32 = 114;
    /// `bpf_probe_read_kernel_str`
    pub const PROBE_READ_KERNEL_STR: u32 = 115;
    /// `bpf_ktime_get_boot_ns`
    pub const KTIME_GET_BOOT_NS: u32 = 125;
    /// `bpf_ktime_get_tai_ns`
    pub const KTIME_GET_TAI_NS: u32 = 208;
    /// `bpf_get_prandom_u32`
    pub const GET_PRANDOM_U32: u32 = 7;
    /// `bpf_get_numa_node_id`
    pub const GET_NUMA_NODE_ID: u32 = 42;
    /// `bpf_jiffies64`
    pub const JIFFIES64: u32 = 118;
    /// `long bpf_for_each_map_elem(map, callback, ctx, flags)`
    pub const FOR_EACH_MAP_ELEM: u32 = 164;
    /// `long bpf_loop(nr_loops, callback, ctx, flags)`
    pub const LOOP: u32 = 181;
    /// `void *bpf_map_lookup_percpu_elem(map, key, u32 cpu)` (Linux 5.19+)
    pub const MAP_LOOKUP_PERCPU_ELEM: u32 = 195;
    /// `long bpf_send_signal(u32 sig)`: to the current task's process
    pub const SEND_SIGNAL: u32 = 109;
    /// `bpf_get_current_cgroup_id`
    pub const GET_CURRENT_CGROUP_ID: u32 = 80;

    /// Name of a helper for listings.
    pub fn name(id: u32) -> Option<&'static str> {
        Some(match id {
            MAP_LOOKUP_ELEM => "bpf_map_lookup_elem",
            MAP_UPDATE_ELEM => "bpf_map_update_elem",
            MAP_DELETE_ELEM => "bpf_map_delete_elem",
            PROBE_READ => "bpf_probe_read",
            TAIL_CALL => "bpf_tail_call",
            KTIME_GET_NS => "bpf_ktime_get_ns",
            GET_PRANDOM_U32 => "bpf_get_prandom_u32",
            KTIME_GET_TAI_NS => "bpf_ktime_get_tai_ns",
            KTIME_GET_BOOT_NS => "bpf_ktime_get_boot_ns",
            GET_NUMA_NODE_ID => "bpf_get_numa_node_id",
            JIFFIES64 => "bpf_jiffies64",
            FOR_EACH_MAP_ELEM => "bpf_for_each_map_elem",
            LOOP => "bpf_loop",
            MAP_LOOKUP_PERCPU_ELEM => "bpf_map_lookup_percpu_elem",
            SEND_SIGNAL => "bpf_send_signal",
            GET_SMP_PROCESSOR_ID => "bpf_get_smp_processor_id",
            GET_CURRENT_PID_TGID => "bpf_get_current_pid_tgid",
            GET_CURRENT_UID_GID => "bpf_get_current_uid_gid",
            GET_CURRENT_COMM => "bpf_get_current_comm",
            GET_STACKID => "bpf_get_stackid",
            GET_CURRENT_TASK => "bpf_get_current_task",
            GET_STACK => "bpf_get_stack",
            PROBE_READ_STR => "bpf_probe_read_str",
            GET_ATTACH_COOKIE => "bpf_get_attach_cookie",
            RINGBUF_OUTPUT => "bpf_ringbuf_output",
            RINGBUF_RESERVE => "bpf_ringbuf_reserve",
            RINGBUF_SUBMIT => "bpf_ringbuf_submit",
            RINGBUF_DISCARD => "bpf_ringbuf_discard",
            RINGBUF_QUERY => "bpf_ringbuf_query",
            PROBE_READ_USER => "bpf_probe_read_user",
            PROBE_READ_KERNEL => "bpf_probe_read_kernel",
            PROBE_READ_USER_STR => "bpf_probe_read_user_str",
            PROBE_READ_KERNEL_STR => "bpf_probe_read_kernel_str",
            _ => return None,
        })
    }
}
