//! A small reader of raw BTF (`/sys/kernel/btf/vmlinux`) for listing: the kernel's
//! functions by name, their prototypes, and each type written as a C declaration the
//! way libbpf's `btf_dump__emit_type_decl` writes it (`struct task_struct *`,
//! `const char *`, `void (*)(void *)`). Pure: it reads bytes it is given, so malformed
//! input is `None`, never a panic; it neither loads nor relocates anything.

use std::collections::HashMap;

/// `BTF_KIND_*`.
mod kind {
    pub const INT: u8 = 1;
    pub const PTR: u8 = 2;
    pub const ARRAY: u8 = 3;
    pub const STRUCT: u8 = 4;
    pub const UNION: u8 = 5;
    pub const ENUM: u8 = 6;
    pub const FWD: u8 = 7;
    pub const TYPEDEF: u8 = 8;
    pub const VOLATILE: u8 = 9;
    pub const CONST: u8 = 10;
    pub const RESTRICT: u8 = 11;
    pub const FUNC: u8 = 12;
    pub const FUNC_PROTO: u8 = 13;
    pub const VAR: u8 = 14;
    pub const DATASEC: u8 = 15;
    pub const FLOAT: u8 = 16;
    pub const DECL_TAG: u8 = 17;
    pub const TYPE_TAG: u8 = 18;
    pub const ENUM64: u8 = 19;
}

/// `BTF_MAGIC`, as the bytes of a little-endian file start.
const MAGIC: u16 = 0xeb9f;
/// Declarations nest at most this deep (pointers to pointers …); deeper is malformed.
const MAX_DEPTH: u32 = 32;

/// One type: its kind, name, `size`/`type` word and where its trailing records start.
#[derive(Clone, Copy, Debug)]
struct Type {
    kind: u8,
    kind_flag: bool,
    vlen: u16,
    name: u32,
    /// `size` or `type`, depending on the kind.
    size_or_type: u32,
    /// Byte offset of the kind-specific records in the type section.
    extra: usize,
}

/// One parameter of a function prototype.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// Its C type, e.g. `struct file *`.
    pub c_type: String,
    /// Its name (empty when BTF names none).
    pub name: String,
    /// A floating-point parameter (passed in other registers than `argN`).
    pub float: bool,
}

/// A function's prototype.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proto {
    /// Parameters in order (`...` as a last parameter named `...`).
    pub params: Vec<Param>,
    /// The return type; `None` for `void`.
    pub ret: Option<String>,
}

/// Parsed BTF: the types and the string section.
pub struct Btf {
    types: Vec<Type>,
    section: Vec<u8>,
    strings: Vec<u8>,
    /// `FUNC` types by name.
    funcs: HashMap<String, u32>,
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

impl Btf {
    /// Parses a complete (not split) BTF blob; `None` when it is not one.
    pub fn parse(bytes: &[u8]) -> Option<Btf> {
        let magic = u16::from_le_bytes(bytes.get(0..2)?.try_into().ok()?);
        if magic != MAGIC {
            return None;
        }
        let hdr_len = u32_at(bytes, 4)? as usize;
        let (type_off, type_len) = (u32_at(bytes, 8)? as usize, u32_at(bytes, 12)? as usize);
        let (str_off, str_len) = (u32_at(bytes, 16)? as usize, u32_at(bytes, 20)? as usize);
        let section = bytes
            .get(
                hdr_len.checked_add(type_off)?
                    ..hdr_len.checked_add(type_off)?.checked_add(type_len)?,
            )?
            .to_vec();
        let strings = bytes
            .get(
                hdr_len.checked_add(str_off)?
                    ..hdr_len.checked_add(str_off)?.checked_add(str_len)?,
            )?
            .to_vec();
        // Type 0 is `void`; ids count from 1.
        let mut types = vec![Type {
            kind: 0,
            kind_flag: false,
            vlen: 0,
            name: 0,
            size_or_type: 0,
            extra: 0,
        }];
        let mut at = 0;
        while at < section.len() {
            let info = u32_at(&section, at + 4)?;
            let t = Type {
                name: u32_at(&section, at)?,
                vlen: (info & 0xffff) as u16,
                kind: ((info >> 24) & 0x1f) as u8,
                kind_flag: info >> 31 == 1,
                size_or_type: u32_at(&section, at + 8)?,
                extra: at + 12,
            };
            let vlen = t.vlen as usize;
            let trailing = match t.kind {
                kind::INT | kind::VAR | kind::DECL_TAG => 4,
                kind::ARRAY => 12,
                kind::STRUCT | kind::UNION | kind::DATASEC | kind::ENUM64 => 12 * vlen,
                kind::ENUM | kind::FUNC_PROTO => 8 * vlen,
                kind::PTR
                | kind::FWD
                | kind::TYPEDEF
                | kind::VOLATILE
                | kind::CONST
                | kind::RESTRICT
                | kind::FUNC
                | kind::FLOAT
                | kind::TYPE_TAG => 0,
                _ => return None,
            };
            at = t.extra + trailing;
            if at > section.len() {
                return None;
            }
            types.push(t);
        }
        let mut btf = Btf {
            types,
            section,
            strings,
            funcs: HashMap::new(),
        };
        for id in 1..btf.types.len() as u32 {
            let t = btf.types[id as usize];
            if t.kind == kind::FUNC {
                let name = btf.string(t.name).to_string();
                btf.funcs.entry(name).or_insert(id);
            }
        }
        Some(btf)
    }

    fn string(&self, off: u32) -> &str {
        let rest = self.strings.get(off as usize..).unwrap_or_default();
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        std::str::from_utf8(&rest[..end]).unwrap_or("")
    }

    fn ty(&self, id: u32) -> Option<Type> {
        self.types.get(id as usize).copied()
    }

    /// The names of every `FUNC`, in type order.
    pub fn function_names(&self) -> impl Iterator<Item = &str> {
        self.types
            .iter()
            .filter(|t| t.kind == kind::FUNC)
            .map(|t| self.string(t.name))
    }

    /// The prototype of function `name`, if BTF describes it.
    pub fn prototype(&self, name: &str) -> Option<Proto> {
        let func = self.ty(*self.funcs.get(name)?)?;
        let proto = self.ty(func.size_or_type)?;
        if proto.kind != kind::FUNC_PROTO {
            return None;
        }
        let mut params = Vec::new();
        for i in 0..proto.vlen as usize {
            let at = proto.extra + 8 * i;
            let (name, ty) = (u32_at(&self.section, at)?, u32_at(&self.section, at + 4)?);
            if ty == 0 {
                params.push(Param {
                    c_type: String::new(),
                    name: "...".into(),
                    float: false,
                });
                continue;
            }
            params.push(Param {
                c_type: self.decl(ty, 0)?,
                name: self.string(name).to_string(),
                float: self.resolved(ty).is_some_and(|t| t.kind == kind::FLOAT),
            });
        }
        let ret = match proto.size_or_type {
            0 => None,
            t => Some(self.decl(t, 0)?),
        };
        Some(Proto { params, ret })
    }

    /// The type behind typedefs and qualifiers.
    fn resolved(&self, mut id: u32) -> Option<Type> {
        for _ in 0..MAX_DEPTH {
            let t = self.ty(id)?;
            match t.kind {
                kind::TYPEDEF | kind::CONST | kind::VOLATILE | kind::RESTRICT | kind::TYPE_TAG => {
                    id = t.size_or_type
                }
                _ => return Some(t),
            }
        }
        None
    }

    /// Type `id` as a C declaration without a name.
    pub fn type_name(&self, id: u32) -> Option<String> {
        self.decl(id, 0)
    }

    fn decl(&self, id: u32, depth: u32) -> Option<String> {
        if depth > MAX_DEPTH {
            return None;
        }
        if id == 0 {
            return Some("void".into());
        }
        let t = self.ty(id)?;
        let name = self.string(t.name);
        let named = |tag: &str| {
            if name.is_empty() {
                format!("{tag} {{...}}")
            } else {
                format!("{tag} {name}")
            }
        };
        let inner = || self.decl(t.size_or_type, depth + 1);
        Some(match t.kind {
            kind::INT | kind::FLOAT | kind::TYPEDEF => name.to_string(),
            kind::STRUCT => named("struct"),
            kind::UNION => named("union"),
            kind::ENUM | kind::ENUM64 => named("enum"),
            kind::FWD => named(if t.kind_flag { "union" } else { "struct" }),
            kind::TYPE_TAG => inner()?,
            kind::CONST | kind::VOLATILE => {
                let q = if t.kind == kind::CONST {
                    "const"
                } else {
                    "volatile"
                };
                let inner = inner()?;
                if inner.ends_with('*') {
                    format!("{inner} {q}")
                } else {
                    format!("{q} {inner}")
                }
            }
            kind::RESTRICT => format!("{} restrict", inner()?),
            kind::PTR => {
                let target = self.ty(t.size_or_type)?;
                if target.kind == kind::FUNC_PROTO {
                    let (ret, params) = self.proto_parts(t.size_or_type, depth + 1)?;
                    format!("{ret} (*)({params})")
                } else {
                    let inner = inner()?;
                    if inner.ends_with('*') {
                        format!("{inner}*")
                    } else {
                        format!("{inner} *")
                    }
                }
            }
            kind::ARRAY => {
                let elem = u32_at(&self.section, t.extra)?;
                let n = u32_at(&self.section, t.extra + 8)?;
                format!("{}[{n}]", self.decl(elem, depth + 1)?)
            }
            kind::FUNC_PROTO => {
                let (ret, params) = self.proto_parts(id, depth + 1)?;
                format!("{ret}({params})")
            }
            _ => return None,
        })
    }

    /// A prototype's return type and its parameter types joined by `, `.
    fn proto_parts(&self, id: u32, depth: u32) -> Option<(String, String)> {
        let p = self.ty(id)?;
        let ret = self.decl(p.size_or_type, depth + 1)?;
        let mut params = Vec::new();
        for i in 0..p.vlen as usize {
            match u32_at(&self.section, p.extra + 8 * i + 4)? {
                0 => params.push("...".to_string()),
                ty => params.push(self.decl(ty, depth + 1)?),
            }
        }
        if params.is_empty() {
            params.push("void".into());
        }
        Some((ret, params.join(", ")))
    }
}

/// The prefixes of the functions BTF describes each raw tracepoint with
/// (`__probestub_sched_switch(void *__data, bool preempt, …)`), as bpftrace reads them.
pub const RAW_TRACEPOINT_PREFIXES: &[&str] = &["__probestub_", "__traceiter_"];

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a BTF blob from `(name, info, size_or_type, trailing words)` records.
    pub(crate) fn blob(strings: &[&str], types: &[(u32, u32, u32, Vec<u32>)]) -> Vec<u8> {
        let mut strs = vec![0u8];
        for s in strings {
            strs.extend_from_slice(s.as_bytes());
            strs.push(0);
        }
        let mut sec = Vec::new();
        for (name, info, st, extra) in types {
            for w in [*name, *info, *st].iter().chain(extra) {
                sec.extend_from_slice(&w.to_le_bytes());
            }
        }
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC.to_le_bytes());
        out.extend_from_slice(&[1, 0]);
        for w in [
            24u32,
            0,
            sec.len() as u32,
            sec.len() as u32,
            strs.len() as u32,
        ] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&sec);
        out.extend_from_slice(&strs);
        out
    }

    /// The string offset of `strings[i]` in a blob built by [`blob`].
    pub(crate) fn off(strings: &[&str], i: usize) -> u32 {
        1 + strings[..i].iter().map(|s| s.len() as u32 + 1).sum::<u32>()
    }

    fn info(kind: u8, vlen: u32) -> u32 {
        ((kind as u32) << 24) | vlen
    }

    #[test]
    fn prototypes_and_declarations() {
        let s = &[
            "int",
            "char",
            "task_struct",
            "__probestub_sched_switch",
            "__data",
            "prev",
            "name",
            "bool",
            "_Bool",
            "preempt",
        ];
        let types = vec![
            (off(s, 0), info(kind::INT, 0), 4, vec![0x0100_0020]), // 1 int
            (off(s, 1), info(kind::INT, 0), 1, vec![8]),           // 2 char
            (off(s, 2), info(kind::STRUCT, 0), 0, vec![]),         // 3 struct task_struct
            (0, info(kind::PTR, 0), 3, vec![]),                    // 4 struct task_struct *
            (0, info(kind::CONST, 0), 2, vec![]),                  // 5 const char
            (0, info(kind::PTR, 0), 5, vec![]),                    // 6 const char *
            (0, info(kind::PTR, 0), 0, vec![]),                    // 7 void *
            (off(s, 8), info(kind::INT, 0), 1, vec![0x0400_0008]), // 8 _Bool
            (off(s, 7), info(kind::TYPEDEF, 0), 8, vec![]),        // 9 bool
            (
                0,
                info(kind::FUNC_PROTO, 4),
                0,
                vec![off(s, 4), 7, off(s, 9), 9, off(s, 5), 4, off(s, 6), 6],
            ), // 10
            (off(s, 3), info(kind::FUNC, 0), 10, vec![]),          // 11
            (0, info(kind::PTR, 0), 10, vec![]),                   // 12 a function pointer
            (0, info(kind::PTR, 0), 6, vec![]),                    // 13 const char **
        ];
        let btf = Btf::parse(&blob(s, &types)).unwrap();
        let p = btf.prototype("__probestub_sched_switch").unwrap();
        let shown: Vec<String> = p
            .params
            .iter()
            .map(|p| format!("{} {}", p.c_type, p.name))
            .collect();
        assert_eq!(
            shown,
            [
                "void * __data",
                "bool preempt",
                "struct task_struct * prev",
                "const char * name"
            ]
        );
        assert_eq!(p.ret, None);
        assert_eq!(
            btf.type_name(12).unwrap(),
            "void (*)(void *, bool, struct task_struct *, const char *)"
        );
        assert_eq!(btf.type_name(13).unwrap(), "const char **");
        assert_eq!(
            btf.function_names().collect::<Vec<_>>(),
            ["__probestub_sched_switch"]
        );
        assert!(btf.prototype("nope").is_none());
    }

    #[test]
    fn malformed_input_is_none() {
        assert!(Btf::parse(b"").is_none());
        assert!(Btf::parse(&[0x9f, 0xeb, 1, 0, 24, 0, 0, 0]).is_none());
        let s = &["x"];
        let mut b = blob(s, &[(off(s, 0), info(kind::STRUCT, 5), 0, vec![])]);
        assert!(Btf::parse(&b).is_none(), "members past the end");
        b = blob(s, &[(off(s, 0), info(30, 0), 0, vec![])]);
        assert!(Btf::parse(&b).is_none(), "unknown kind");
        // A pointer to itself is not a declaration.
        let b = blob(s, &[(0, info(kind::PTR, 0), 1, vec![])]);
        assert!(Btf::parse(&b).unwrap().type_name(1).is_none());
    }
}
