//! A small reader of the kernel's BTF (`/sys/kernel/btf/vmlinux`), pure: the bytes go
//! in, function prototypes come out. It answers two questions: the parameters (names,
//! C types, sizes) and BTF id of a kernel function, for `fentry`/`fexit`, and the
//! parameters of a raw tracepoint, from the `btf_trace_<event>` typedef the kernel
//! declares for each (`typedef void (*btf_trace_sched_switch)(void *, bool, struct
//! task_struct *, …)`). Only what those need is decoded; other kinds are skipped.
//!
//! The typedef's parameters have no names; the names come from the function the
//! kernel generates for the event's class (`__bpf_trace_CLASS(void *__data, bool
//! preempt, …)`): the one named after the event, else the one whose parameter types
//! are the typedef's, type for type.

use std::collections::HashMap;

/// A parameter (or a return value) as BTF describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BtfParam {
    /// Its name (empty for a return value or an unnamed parameter).
    pub name: String,
    /// Its C type, as the kernel's format files write them (`struct file *`, `size_t`,
    /// `const char *`); pointers to integers name the integer (`unsigned char *`).
    pub c_type: String,
    /// Size in bytes.
    pub size: u32,
    /// A signed integer (or enum).
    pub signed: bool,
}

/// A kernel function's prototype.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BtfFunc {
    /// The `BTF_KIND_FUNC` id in vmlinux BTF (the attach BTF id of fentry/fexit).
    pub id: u32,
    /// Its parameters in order.
    pub params: Vec<BtfParam>,
    /// Its return value (`None` for `void`).
    pub ret: Option<BtfParam>,
}

const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FWD: u32 = 7;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_FLOAT: u32 = 16;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

/// One type record: its header words and where its extra data starts.
#[derive(Clone, Copy, Debug)]
struct Type {
    name: u32,
    info: u32,
    size_or_type: u32,
    extra: usize,
}

impl Type {
    fn kind(&self) -> u32 {
        (self.info >> 24) & 0x1f
    }
    fn vlen(&self) -> usize {
        (self.info & 0xffff) as usize
    }
}

/// Parsed BTF: every type by id, names of functions and of raw-tracepoint typedefs.
pub struct Btf {
    data: Vec<u8>,
    strings: usize,
    strings_len: usize,
    /// Index `id`; id 0 is `void`.
    types: Vec<Type>,
    funcs: HashMap<String, u32>,
    tracepoints: HashMap<String, u32>,
    /// The prototypes of the `__bpf_trace_CLASS` functions by their parameter types.
    classes: HashMap<Vec<u32>, u32>,
}

const TRACE_PREFIX: &str = "btf_trace_";
const CLASS_PREFIX: &str = "__bpf_trace_";

impl Btf {
    /// Parses a BTF blob (native, little-endian byte order).
    pub fn parse(data: Vec<u8>) -> Result<Btf, String> {
        let u32_at = |at: usize| -> Result<u32, String> {
            data.get(at..at + 4)
                .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
                .ok_or_else(|| "truncated BTF".to_string())
        };
        if data.len() < 24 || u16::from_le_bytes([data[0], data[1]]) != 0xeb9f {
            return Err("not BTF (bad magic)".into());
        }
        let hdr = u32_at(4)? as usize;
        let (type_off, type_len) = (u32_at(8)? as usize, u32_at(12)? as usize);
        let (str_off, str_len) = (u32_at(16)? as usize, u32_at(20)? as usize);
        let strings = hdr + str_off;
        if strings + str_len > data.len() || hdr + type_off + type_len > data.len() {
            return Err("truncated BTF".into());
        }
        let mut types = vec![Type {
            name: 0,
            info: 0,
            size_or_type: 0,
            extra: 0,
        }];
        let (mut at, end) = (hdr + type_off, hdr + type_off + type_len);
        while at + 12 <= end {
            let t = Type {
                name: u32_at(at)?,
                info: u32_at(at + 4)?,
                size_or_type: u32_at(at + 8)?,
                extra: at + 12,
            };
            let extra = match t.kind() {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
                KIND_ARRAY => 12,
                KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => 12 * t.vlen(),
                KIND_ENUM | KIND_FUNC_PROTO => 8 * t.vlen(),
                KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
                | KIND_FUNC | KIND_FLOAT | KIND_TYPE_TAG => 0,
                k => return Err(format!("unknown BTF kind {k}")),
            };
            types.push(t);
            at += 12 + extra;
        }
        let mut btf = Btf {
            data,
            strings,
            strings_len: str_len,
            types,
            funcs: HashMap::new(),
            tracepoints: HashMap::new(),
            classes: HashMap::new(),
        };
        for id in 1..btf.types.len() {
            let t = btf.types[id];
            match t.kind() {
                KIND_FUNC => {
                    let name = btf.str(t.name).to_string();
                    if name.starts_with(CLASS_PREFIX)
                        && let Some(proto) = btf.ty(t.size_or_type)
                    {
                        let key = btf.param_types(proto);
                        btf.classes.entry(key).or_insert(t.size_or_type);
                    }
                    btf.funcs.entry(name).or_insert(id as u32);
                }
                KIND_TYPEDEF => {
                    if let Some(event) = btf.str(t.name).strip_prefix(TRACE_PREFIX) {
                        let event = event.to_string();
                        btf.tracepoints.insert(event, id as u32);
                    }
                }
                _ => {}
            }
        }
        Ok(btf)
    }

    fn str(&self, off: u32) -> &str {
        let off = off as usize;
        if off >= self.strings_len {
            return "";
        }
        let bytes = &self.data[self.strings + off..self.strings + self.strings_len];
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        std::str::from_utf8(&bytes[..end]).unwrap_or("")
    }

    fn u32_at(&self, at: usize) -> u32 {
        self.data
            .get(at..at + 4)
            .map_or(0, |b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }

    fn ty(&self, id: u32) -> Option<Type> {
        self.types.get(id as usize).copied().filter(|_| id != 0)
    }

    /// The byte offset of member `member` in `struct name` (the first struct of that
    /// name with members), for reads of kernel structures (`task_struct`'s
    /// `group_leader`, `start_boottime`).
    pub fn member_offset(&self, name: &str, member: &str) -> Option<u32> {
        self.types.iter().skip(1).find_map(|t| {
            if t.kind() != KIND_STRUCT || t.vlen() == 0 || self.str(t.name) != name {
                return None;
            }
            let bitfields = t.info & (1 << 31) != 0;
            (0..t.vlen()).find_map(|i| {
                let at = t.extra + 12 * i;
                if self.str(self.u32_at(at)) != member {
                    return None;
                }
                let off = self.u32_at(at + 8);
                let bits = if bitfields { off & 0xff_ffff } else { off };
                (bits % 8 == 0).then_some(bits / 8)
            })
        })
    }

    /// Every function BTF describes, sorted.
    pub fn functions(&self) -> Vec<String> {
        let mut v: Vec<String> = self.funcs.keys().cloned().collect();
        v.sort();
        v
    }

    /// Every raw tracepoint BTF declares a prototype for, sorted.
    pub fn tracepoints(&self) -> Vec<String> {
        let mut v: Vec<String> = self.tracepoints.keys().cloned().collect();
        v.sort();
        v
    }

    /// The prototype of kernel function `name`.
    pub fn function(&self, name: &str) -> Option<BtfFunc> {
        let id = *self.funcs.get(name)?;
        let proto = self.ty(self.ty(id)?.size_or_type)?;
        let (params, ret) = self.proto(proto)?;
        Some(BtfFunc { id, params, ret })
    }

    /// The parameter types of a prototype.
    fn param_types(&self, proto: Type) -> Vec<u32> {
        if proto.kind() != KIND_FUNC_PROTO {
            return Vec::new();
        }
        (0..proto.vlen())
            .map(|i| self.u32_at(proto.extra + 8 * i + 4))
            .collect()
    }

    /// The parameters of raw tracepoint `event` after the tracepoint's own `void *`.
    pub fn tracepoint(&self, event: &str) -> Option<Vec<BtfParam>> {
        let typedef = self.ty(*self.tracepoints.get(event)?)?;
        let ptr = self
            .ty(typedef.size_or_type)
            .filter(|t| t.kind() == KIND_PTR)?;
        let mut proto = self.ty(ptr.size_or_type)?;
        // The class function's prototype names the parameters.
        let own = self
            .funcs
            .get(&format!("{CLASS_PREFIX}{event}"))
            .and_then(|&f| self.ty(self.ty(f)?.size_or_type));
        let named = own
            .filter(|p| self.param_types(*p) == self.param_types(proto))
            .or_else(|| {
                let id = *self.classes.get(&self.param_types(proto))?;
                self.ty(id)
            });
        if let Some(p) = named {
            proto = p;
        }
        let (mut params, _) = self.proto(proto)?;
        (!params.is_empty()).then(|| params.remove(0))?;
        Some(params)
    }

    fn proto(&self, proto: Type) -> Option<(Vec<BtfParam>, Option<BtfParam>)> {
        if proto.kind() != KIND_FUNC_PROTO {
            return None;
        }
        let mut params = Vec::new();
        for i in 0..proto.vlen() {
            let at = proto.extra + 8 * i;
            let (name, ty) = (self.u32_at(at), self.u32_at(at + 4));
            if ty == 0 {
                // `...`: a variadic tail.
                break;
            }
            let (c_type, size, signed) = self.describe(ty);
            params.push(BtfParam {
                name: self.str(name).to_string(),
                c_type,
                size,
                signed,
            });
        }
        let ret = (proto.size_or_type != 0).then(|| {
            let (c_type, size, signed) = self.describe(proto.size_or_type);
            BtfParam {
                name: String::new(),
                c_type,
                size,
                signed,
            }
        });
        Some((params, ret))
    }

    /// A type's C name, size and signedness.
    fn describe(&self, id: u32) -> (String, u32, bool) {
        let Some(t) = self.ty(id) else {
            return ("void".into(), 0, false);
        };
        match t.kind() {
            KIND_PTR => {
                // Pointers to integers name the integer itself, so `char *` reads as
                // one whatever typedefs stand between.
                let to = self.strip(t.size_or_type);
                let base = match to.and_then(|p| self.ty(p)) {
                    Some(p) if p.kind() == KIND_INT => self.str(p.name).to_string(),
                    _ => self.describe(t.size_or_type).0,
                };
                (format!("{base} *"), 8, false)
            }
            KIND_TYPEDEF => {
                let (_, size, signed) = self.describe(t.size_or_type);
                let (inner, ..) = self.describe(t.size_or_type);
                // A typedef of a pointer stays a pointer (`typedef struct x *y`).
                let name = if inner.ends_with('*') {
                    inner
                } else {
                    self.str(t.name).to_string()
                };
                (name, size, signed)
            }
            KIND_CONST | KIND_VOLATILE | KIND_RESTRICT | KIND_TYPE_TAG => {
                let (inner, size, signed) = self.describe(t.size_or_type);
                let q = match t.kind() {
                    KIND_CONST => "const ",
                    KIND_VOLATILE => "volatile ",
                    _ => "",
                };
                (format!("{q}{inner}"), size, signed)
            }
            KIND_INT => {
                let enc = self.u32_at(t.extra) >> 24;
                (self.str(t.name).to_string(), t.size_or_type, enc & 1 != 0)
            }
            KIND_ENUM | KIND_ENUM64 => (
                format!("enum {}", self.str(t.name)),
                t.size_or_type,
                t.info >> 31 != 0,
            ),
            KIND_STRUCT | KIND_UNION => (
                format!(
                    "{} {}",
                    if t.kind() == KIND_STRUCT {
                        "struct"
                    } else {
                        "union"
                    },
                    self.str(t.name)
                ),
                t.size_or_type,
                false,
            ),
            KIND_FWD => (format!("struct {}", self.str(t.name)), 0, false),
            KIND_ARRAY => {
                let (elem, n) = (self.u32_at(t.extra), self.u32_at(t.extra + 8));
                let (name, size, _) = self.describe(elem);
                (format!("{name}[{n}]"), size.saturating_mul(n), false)
            }
            KIND_FUNC_PROTO => ("void (*)()".into(), 0, false),
            KIND_FLOAT => (self.str(t.name).to_string(), t.size_or_type, true),
            _ => ("void".into(), 0, false),
        }
    }

    /// `id` past typedefs and qualifiers.
    fn strip(&self, mut id: u32) -> Option<u32> {
        for _ in 0..32 {
            let t = self.ty(id)?;
            match t.kind() {
                KIND_TYPEDEF | KIND_CONST | KIND_VOLATILE | KIND_RESTRICT | KIND_TYPE_TAG => {
                    id = t.size_or_type
                }
                _ => return Some(id),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a BTF blob from type records (each its header words and extra words) and
    /// a string section.
    fn blob(types: &[Vec<u32>], strings: &[u8]) -> Vec<u8> {
        let type_bytes: Vec<u8> = types
            .iter()
            .flatten()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        let mut out = Vec::new();
        out.extend_from_slice(&0xeb9fu16.to_le_bytes());
        out.extend_from_slice(&[1, 0]);
        for w in [24u32, 0, type_bytes.len() as u32, type_bytes.len() as u32] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&(strings.len() as u32).to_le_bytes());
        out.extend_from_slice(&type_bytes);
        out.extend_from_slice(strings);
        out
    }

    const fn info(kind: u32, vlen: u32) -> u32 {
        (kind << 24) | vlen
    }

    /// `long f(const char *s, struct task_struct *t)` and
    /// `typedef void (*btf_trace_sys_enter)(void *, struct pt_regs *regs, long id)`.
    fn sample() -> Vec<u8> {
        // 1     "long"    10 "char"    15 "f"    17 "s"    19 "t"
        // 21 "task_struct"    33 "btf_trace_sys_enter"    53 "pt_regs"   61 "regs"  66 "id"
        let strings =
            b"\0long\0\0\0\0\0char\0f\0s\0t\0task_struct\0btf_trace_sys_enter\0pt_regs\0regs\0id\0";
        let types = vec![
            vec![1, info(KIND_INT, 0), 8, (1 << 24) | 64], // 1 long
            vec![10, info(KIND_INT, 0), 1, (1 << 24) | 8], // 2 char
            vec![0, info(KIND_CONST, 0), 2],               // 3 const char
            vec![0, info(KIND_PTR, 0), 3],                 // 4 const char *
            vec![21, info(KIND_STRUCT, 0), 9000],          // 5 struct task_struct
            vec![0, info(KIND_PTR, 0), 5],                 // 6 struct task_struct *
            vec![0, info(KIND_FUNC_PROTO, 2), 1, 17, 4, 19, 6], // 7 long (s, t)
            vec![15, info(KIND_FUNC, 0), 7],               // 8 f
            vec![0, info(KIND_PTR, 0), 0],                 // 9 void *
            vec![53, info(KIND_STRUCT, 0), 168],           // 10 struct pt_regs
            vec![0, info(KIND_PTR, 0), 10],                // 11 struct pt_regs *
            vec![0, info(KIND_FUNC_PROTO, 3), 0, 0, 9, 61, 11, 66, 1], // 12
            vec![0, info(KIND_PTR, 0), 12],                // 13
            vec![33, info(KIND_TYPEDEF, 0), 13],           // 14 btf_trace_sys_enter
        ];
        blob(&types, strings)
    }

    #[test]
    fn struct_member_offsets() {
        // 1 "task_struct"  13 "pid"  17 "start_boottime"  32 "flags"
        let strings = b"\0task_struct\0pid\0start_boottime\0flags\0";
        let types = vec![
            vec![0, info(KIND_INT, 0), 8, (1 << 24) | 64], // 1 u64
            vec![1, info(KIND_STRUCT, 0), 0],              // 2 a declaration only
            vec![1, info(KIND_STRUCT, 3), 64, 13, 1, 0, 17, 1, 128, 32, 1, 4],
            // 4 `struct pid` in bitfield encoding: a 3-bit field at bit 8, then byte 16
            vec![
                13,
                info(KIND_STRUCT, 2) | (1 << 31),
                64,
                32,
                1,
                (3 << 24) | 8,
                17,
                1,
                128,
            ],
        ];
        let btf = Btf::parse(blob(&types, strings)).unwrap();
        assert_eq!(btf.member_offset("task_struct", "start_boottime"), Some(16));
        assert_eq!(btf.member_offset("task_struct", "pid"), Some(0));
        assert_eq!(
            btf.member_offset("task_struct", "flags"),
            None,
            "bit 4 is no byte"
        );
        assert_eq!(btf.member_offset("task_struct", "comm"), None);
        assert_eq!(btf.member_offset("mm_struct", "pid"), None);
        assert_eq!(btf.member_offset("pid", "flags"), Some(1));
        assert_eq!(btf.member_offset("pid", "start_boottime"), Some(16));
    }

    #[test]
    fn functions_and_tracepoints() {
        let btf = Btf::parse(sample()).unwrap();
        let f = btf.function("f").unwrap();
        assert_eq!(f.id, 8);
        assert_eq!(f.params[0].name, "s");
        assert_eq!(f.params[0].c_type, "char *");
        assert_eq!(f.params[1].c_type, "struct task_struct *");
        assert_eq!(f.ret.as_ref().unwrap().c_type, "long");
        assert!(f.ret.unwrap().signed);
        let tp = btf.tracepoint("sys_enter").unwrap();
        let names: Vec<_> = tp.iter().map(|p| (p.name.as_str(), p.size)).collect();
        assert_eq!(names, [("regs", 8), ("id", 8)]);
        assert_eq!(btf.tracepoints(), ["sys_enter"]);
        assert_eq!(btf.functions(), ["f"]);
        assert!(btf.function("g").is_none());
        assert!(Btf::parse(vec![0; 30]).is_err());
        let mut cut = sample();
        cut.truncate(40);
        assert!(Btf::parse(cut).is_err());
    }
}
