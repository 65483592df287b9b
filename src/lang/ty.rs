//! Value types of the language, shared by sema (checking), codegen (layout) and runtime
//! (decoding map keys, values and event records). Pure data; no behaviour beyond sizes.

use std::fmt;

/// The type of a value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    /// Integer of `bits` (8, 16, 32 or 64) bits. In registers every integer is 64-bit;
    /// `bits` matters for loads, stores and display.
    Int {
        /// Width in bits.
        bits: u8,
        /// Signed (`int`, `long`) or not.
        signed: bool,
    },
    /// NUL-padded string buffer of `len` bytes (e.g. `comm` is 16).
    Str {
        /// Buffer size in bytes, including room for the NUL.
        len: u32,
    },
    /// A buffer from `buf()`: a 64-bit byte count, then up to `len` bytes (zero-padded).
    Buf {
        /// Capacity in bytes.
        len: u32,
    },
    /// `true` or `false`: one byte, 0 or 1 (in registers a 64-bit 0 or 1).
    Bool,
    /// A tuple; each element is laid out at its natural alignment.
    Tuple(Vec<Ty>),
    /// A pointer (64 bits) to a value of type `to` in kernel or user memory. A pointer
    /// to [`Ty::Void`] (`void *`, or a structure scry has no layout for) cannot be
    /// dereferenced.
    Ptr {
        /// The pointee.
        to: Box<Ty>,
        /// Whose memory it points into.
        space: AddrSpace,
    },
    /// A value scry renders as text in userspace (`ntop`, `strerror`, ...).
    Rendered(super::render::Rendered),
    /// No value (statements, `printf`, `exit`).
    Void,
}

/// Which address space a pointer points into: it decides the helper that reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum AddrSpace {
    /// Kernel memory.
    #[default]
    Kernel,
    /// The traced process's memory (syscall arguments, uprobe registers).
    User,
}

impl Ty {
    /// `u64`.
    pub const U64: Ty = Ty::Int {
        bits: 64,
        signed: false,
    };
    /// `i64`.
    pub const I64: Ty = Ty::Int {
        bits: 64,
        signed: true,
    };

    /// Size in bytes when stored in a key, value or event record.
    pub fn size(&self) -> u32 {
        match self {
            Ty::Int { bits, .. } => *bits as u32 / 8,
            Ty::Str { len } => *len,
            Ty::Buf { len } => 8 + round_up(*len, 8),
            Ty::Bool => 1,
            Ty::Tuple(elems) => {
                let (size, align) = tuple_layout(elems).1;
                round_up(size, align)
            }
            Ty::Ptr { .. } => 8,
            Ty::Rendered(r) => r.size(),
            Ty::Void => 0,
        }
    }

    /// Alignment in bytes.
    pub fn align(&self) -> u32 {
        match self {
            Ty::Int { bits, .. } => *bits as u32 / 8,
            Ty::Str { .. } | Ty::Bool => 1,
            Ty::Buf { .. } | Ty::Ptr { .. } | Ty::Rendered(_) => 8,
            Ty::Tuple(elems) => tuple_layout(elems).1.1,
            Ty::Void => 1,
        }
    }

    /// True for integers.
    pub fn is_int(&self) -> bool {
        matches!(self, Ty::Int { .. })
    }

    /// True for integers and booleans: what arithmetic, conditions and `%d` take.
    pub fn is_integral(&self) -> bool {
        matches!(self, Ty::Int { .. } | Ty::Bool)
    }

    /// True for values kept in memory rather than a register: strings, buffers, tuples,
    /// addresses from `ntop()` and `macaddr()`.
    pub fn in_memory(&self) -> bool {
        match self {
            Ty::Str { .. } | Ty::Buf { .. } | Ty::Tuple(_) => true,
            Ty::Rendered(r) => r.in_memory(),
            _ => false,
        }
    }

    /// True for pointers.
    pub fn is_ptr(&self) -> bool {
        matches!(self, Ty::Ptr { .. })
    }

    /// True for what a condition can test and `%d`/`%x`/`%p` print: integers, booleans
    /// and pointers (non-zero is true).
    pub fn is_scalar(&self) -> bool {
        self.is_integral() || self.is_ptr()
    }

    /// A pointer to `to` in `space`.
    pub fn ptr(to: Ty, space: AddrSpace) -> Ty {
        Ty::Ptr {
            to: Box::new(to),
            space,
        }
    }

    /// True for signed integers.
    pub fn is_signed(&self) -> bool {
        matches!(self, Ty::Int { signed: true, .. })
    }
}

/// Whether arithmetic and comparisons of `a` and `b` are signed. Integers are computed
/// in 64 bits (as bpftrace computes them), so C's rules read with a 64-bit `int`: every
/// operand is first promoted to 64 bits keeping its value — booleans and unsigned
/// integers narrower than 64 bits become signed — and the operation is unsigned only
/// when an operand is an unsigned 64-bit integer or a pointer. `(uint32)1 > -1` is true,
/// `(uint64)1 > -1` false, as in C.
pub fn signed_operation(a: &Ty, b: &Ty) -> bool {
    let promoted_signed = |t: &Ty| match t {
        Ty::Int { bits: 64, signed } => *signed,
        Ty::Int { .. } | Ty::Bool => true,
        _ => false,
    };
    promoted_signed(a) && promoted_signed(b)
}

/// Offsets of `elems` laid out in order at natural alignment, plus (size, alignment).
pub fn tuple_layout(elems: &[Ty]) -> (Vec<u32>, (u32, u32)) {
    let mut offsets = Vec::with_capacity(elems.len());
    let mut off = 0;
    let mut align = 1;
    for e in elems {
        let a = e.align();
        off = round_up(off, a);
        offsets.push(off);
        off += e.size();
        align = align.max(a);
    }
    (offsets, (off, align))
}

/// Rounds `n` up to a multiple of `to` (a power of two).
pub fn round_up(n: u32, to: u32) -> u32 {
    n.div_ceil(to) * to
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Int { bits, signed } => {
                write!(f, "{}{}", if *signed { "int" } else { "uint" }, bits)
            }
            Ty::Str { len } => write!(f, "string[{len}]"),
            Ty::Buf { len } => write!(f, "buffer[{len}]"),
            Ty::Bool => write!(f, "bool"),
            Ty::Tuple(elems) => {
                write!(f, "(")?;
                for (i, e) in elems.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{e}")?;
                }
                write!(f, ")")
            }
            // As bpftrace writes pointer types: `int8 *`, `void *`.
            Ty::Ptr { to, .. } if **to == Ty::Void => write!(f, "void *"),
            Ty::Ptr { to, .. } if to.is_ptr() => write!(f, "{to}*"),
            Ty::Ptr { to, .. } => write!(f, "{to} *"),
            Ty::Rendered(r) => write!(f, "{r}"),
            Ty::Void => write!(f, "none"),
        }
    }
}
