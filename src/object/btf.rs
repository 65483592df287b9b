//! A small BTF writer: just the kinds scry's objects need (int, ptr, array, struct,
//! func_proto, func, var, datasec). Output is the raw `.BTF` section (header, types,
//! strings) as described in the kernel's Documentation/bpf/btf.rst.

const MAGIC: u16 = 0xeb9f;
const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;

/// `BTF_VAR_GLOBAL_ALLOCATED` / `BTF_FUNC_GLOBAL`.
const LINKAGE_GLOBAL: u32 = 1;
/// `BTF_FUNC_STATIC`.
const LINKAGE_STATIC: u32 = 0;

/// Type id (0 is `void`).
pub type TypeId = u32;

/// Accumulates types and strings.
pub struct Btf {
    types: Vec<u8>,
    strings: Vec<u8>,
    count: u32,
}

impl Default for Btf {
    fn default() -> Btf {
        Btf::new()
    }
}

impl Btf {
    /// An empty BTF blob (string 0 is the empty string).
    pub fn new() -> Btf {
        Btf {
            types: Vec::new(),
            strings: vec![0],
            count: 0,
        }
    }

    /// The offset of `s` in the string table (added to it), as `.BTF.ext` refers to
    /// section names.
    pub fn string(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        off
    }

    fn push(
        &mut self,
        name: &str,
        kind: u32,
        vlen: u32,
        size_or_type: u32,
        extra: &[u32],
    ) -> TypeId {
        let name_off = self.string(name);
        for w in [name_off, (kind << 24) | (vlen & 0xffff), size_or_type]
            .iter()
            .chain(extra)
        {
            self.types.extend_from_slice(&w.to_le_bytes());
        }
        self.count += 1;
        self.count
    }

    /// A signed or unsigned integer of `bytes` bytes.
    pub fn int(&mut self, name: &str, bytes: u32, signed: bool) -> TypeId {
        let encoding = if signed { 1 } else { 0 };
        self.push(name, KIND_INT, 0, bytes, &[(encoding << 24) | (bytes * 8)])
    }

    /// A pointer to `target`.
    pub fn ptr(&mut self, target: TypeId) -> TypeId {
        self.push("", KIND_PTR, 0, target, &[])
    }

    /// An array of `nelems` elements of `elem`, indexed by `index`.
    pub fn array(&mut self, elem: TypeId, index: TypeId, nelems: u32) -> TypeId {
        self.push("", KIND_ARRAY, 0, 0, &[elem, index, nelems])
    }

    /// A struct of `size` bytes with `(name, type, bit offset)` members.
    pub fn structure(&mut self, name: &str, size: u32, members: &[(&str, TypeId, u32)]) -> TypeId {
        let mut extra = Vec::new();
        for (n, t, bits) in members {
            extra.extend([self.string(n), *t, *bits]);
        }
        self.push(name, KIND_STRUCT, members.len() as u32, size, &extra)
    }

    /// A function prototype returning `ret` with `(name, type)` parameters.
    pub fn func_proto(&mut self, ret: TypeId, params: &[(&str, TypeId)]) -> TypeId {
        let mut extra = Vec::new();
        for (n, t) in params {
            extra.extend([self.string(n), *t]);
        }
        self.push("", KIND_FUNC_PROTO, params.len() as u32, ret, &extra)
    }

    /// A global function `name` of prototype `proto`.
    pub fn func(&mut self, name: &str, proto: TypeId) -> TypeId {
        self.push(name, KIND_FUNC, LINKAGE_GLOBAL, proto, &[])
    }

    /// A static function `name` of prototype `proto` (a subprogram: the verifier checks
    /// it in its caller's context, as callbacks need).
    pub fn static_func(&mut self, name: &str, proto: TypeId) -> TypeId {
        self.push(name, KIND_FUNC, LINKAGE_STATIC, proto, &[])
    }

    /// A global variable.
    pub fn var(&mut self, name: &str, ty: TypeId) -> TypeId {
        self.push(name, KIND_VAR, 0, ty, &[LINKAGE_GLOBAL])
    }

    /// A data section of `size` bytes holding `(var, offset, size)` entries.
    pub fn datasec(&mut self, name: &str, size: u32, vars: &[(TypeId, u32, u32)]) -> TypeId {
        let extra: Vec<u32> = vars.iter().flat_map(|&(v, o, s)| [v, o, s]).collect();
        self.push(name, KIND_DATASEC, vars.len() as u32, size, &extra)
    }

    /// The raw `.BTF` section.
    pub fn finish(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 + self.types.len() + self.strings.len());
        out.extend_from_slice(&MAGIC.to_le_bytes());
        out.push(1); // version
        out.push(0); // flags
        for w in [
            24u32,
            0,
            self.types.len() as u32,
            self.types.len() as u32,
            self.strings.len() as u32,
        ] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strings);
        out
    }
}

/// The `.BTF.ext` section with function info only: for each ELF section name, the
/// `(byte offset, FUNC type id)` of every function in it. The kernel needs function info
/// to accept callbacks (`ld_imm64` of a function: "missing btf func_info").
pub fn ext_func_info(sections: &[(u32, Vec<(u32, TypeId)>)]) -> Vec<u8> {
    let mut info = Vec::new();
    info.extend_from_slice(&8u32.to_le_bytes()); // record size
    for (name_off, funcs) in sections {
        info.extend_from_slice(&name_off.to_le_bytes());
        info.extend_from_slice(&(funcs.len() as u32).to_le_bytes());
        for (off, ty) in funcs {
            info.extend_from_slice(&off.to_le_bytes());
            info.extend_from_slice(&ty.to_le_bytes());
        }
    }
    let mut out = Vec::with_capacity(24 + info.len());
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.push(1); // version
    out.push(0); // flags
    // hdr_len, func_info_off, func_info_len, line_info_off, line_info_len (offsets
    // count from the end of the header).
    for w in [24u32, 0, info.len() as u32, info.len() as u32, 0] {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.extend_from_slice(&info);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_int_encoding() {
        let mut b = Btf::new();
        let int = b.int("int", 4, true);
        assert_eq!(int, 1);
        let raw = b.finish();
        assert_eq!(&raw[0..4], &[0x9f, 0xeb, 1, 0]);
        assert_eq!(u32::from_le_bytes(raw[4..8].try_into().unwrap()), 24);
        let type_len = u32::from_le_bytes(raw[12..16].try_into().unwrap());
        assert_eq!(type_len, 16);
        // info: kind INT (1) << 24; size 4; encoding SIGNED (1) << 24 | 32 bits.
        assert_eq!(u32::from_le_bytes(raw[28..32].try_into().unwrap()), 1 << 24);
        assert_eq!(u32::from_le_bytes(raw[32..36].try_into().unwrap()), 4);
        assert_eq!(
            u32::from_le_bytes(raw[36..40].try_into().unwrap()),
            (1 << 24) | 32
        );
        assert_eq!(&raw[40..], b"\0int\0");
    }
}
