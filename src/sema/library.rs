//! The library's functions and builtins: `bswap`, `ntop`, `pton`, `macaddr`,
//! `strerror`, `kaddr`, `uaddr`, `cgroup_path`, `strftime`, the `cgroup` and `username`
//! builtins and `nsecs(sw_tai)`. Compile-time ones (`pton`, `kaddr`, `uaddr`) become
//! constants here, asking the host; the others become [`LibCall`]s, values rendered in
//! userspace typed [`Rendered`] (the runtime turns them into text in one place,
//! `lang::render`).

use super::hir::{self, ExprKind, LibCall};
use super::{Checker, ProbeScope};
use crate::ast;
use crate::diag::{Diagnostic, Span};
use crate::lang::render::{self, AF_INET, AF_INET6, Rendered};
use crate::lang::ty::{AddrSpace, Ty};

/// The functions this module checks (rows of `functions::FUNCTIONS`).
pub(crate) const FUNCTIONS: &[&str] = &[
    "bswap",
    "ntop",
    "pton",
    "macaddr",
    "strerror",
    "kaddr",
    "uaddr",
    "cgroup_path",
    "strftime",
];

/// An expression of `kind` and `ty`.
fn expr(kind: ExprKind, ty: Ty, span: Span) -> Option<hir::Expr> {
    Some(hir::Expr { kind, ty, span })
}

/// The library call `call`, of type `ty`.
fn lib(call: LibCall, ty: Ty, span: Span) -> Option<hir::Expr> {
    expr(ExprKind::Lib(call), ty, span)
}

/// A byte array the address functions take: its bytes and how many there are.
struct Bytes {
    expr: hir::Expr,
    len: u32,
}

impl Checker<'_> {
    /// A call of one of [`FUNCTIONS`] (its arity already checked).
    pub(crate) fn library_call(
        &mut self,
        name: &str,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<hir::Expr> {
        match name {
            "bswap" => self.bswap(&args[0], span, scope),
            "ntop" => self.ntop(args, span, scope),
            "pton" => {
                let text = self.literal(name, &args[0], "an address such as \"127.0.0.1\"")?;
                let Some(bytes) = render::pton(&text) else {
                    self.error(
                        Diagnostic::error(
                            "E0320",
                            args[0].span,
                            format!("`{text}` is not an IPv4 or IPv6 address"),
                        )
                        .with_label("not an address")
                        .with_help(
                            "write an IPv4 address as \"10.0.0.1\" or an IPv6 one as \"fe80::1\"",
                        ),
                    );
                    return None;
                };
                let len = bytes.len() as u32;
                lib(LibCall::Bytes(bytes), Ty::Buf { len }, span)
            }
            "macaddr" => {
                let bytes = self.mac_bytes(&args[0], scope)?;
                if bytes.len < 6 {
                    self.error(
                        Diagnostic::error(
                            "E0304",
                            args[0].span,
                            format!("`macaddr()` takes 6 bytes, but this holds {}", bytes.len),
                        )
                        .with_label("too short for a MAC address")
                        .with_help("pass a 6-byte array, e.g. a `u8 addr[6]` field, or a pointer to 6 bytes"),
                    );
                    return None;
                }
                let call = LibCall::MacAddr(Box::new(bytes.expr));
                lib(call, Ty::Rendered(Rendered::MacAddr), span)
            }
            "strerror" => {
                let e = self.integer(name, &args[0], scope)?;
                lib(
                    LibCall::Tagged(Box::new(e)),
                    Ty::Rendered(Rendered::Strerror),
                    span,
                )
            }
            "kaddr" => {
                let sym = self.literal(name, &args[0], "a kernel symbol such as \"init_task\"")?;
                match self.host.kernel_symbol(&sym) {
                    Some(addr) => expr(ExprKind::Int(addr), Ty::U64, span),
                    None => {
                        self.error(
                            Diagnostic::error(
                                "E0321",
                                args[0].span,
                                format!("the kernel has no symbol `{sym}`"),
                            )
                            .with_label("not in /proc/kallsyms")
                            .with_help("kernel symbols are listed in /proc/kallsyms (their addresses show as root)"),
                        );
                        None
                    }
                }
            }
            "uaddr" => self.uaddr(&args[0], span, scope),
            "cgroup_path" => {
                let id = self.integer(name, &args[0], scope)?;
                let filter = match args.get(1) {
                    Some(a) => self.literal(name, a, "a hierarchy name such as \"unified\"")?,
                    None => String::new(),
                };
                let ty = Ty::Rendered(Rendered::CgroupPath { filter });
                lib(LibCall::Tagged(Box::new(id)), ty, span)
            }
            "strftime" => self.strftime(args, span, scope),
            _ => unreachable!("`{name}` is not a library function"),
        }
    }

    /// A builtin of this module: `cgroup` or `username`.
    pub(crate) fn library_builtin(&mut self, name: &str, span: Span) -> Option<hir::Expr> {
        match name {
            "cgroup" => lib(LibCall::CgroupId, Ty::U64, span),
            "username" => {
                let uid = hir::Expr {
                    kind: ExprKind::Builtin(hir::Builtin::Uid),
                    ty: Ty::Int {
                        bits: 32,
                        signed: false,
                    },
                    span,
                };
                let ty = Ty::Rendered(Rendered::Username);
                lib(LibCall::Tagged(Box::new(uid)), ty, span)
            }
            _ => unreachable!("`{name}` is not a library builtin"),
        }
    }

    /// `nsecs(sw_tai)`: the boot clock plus the offset of TAI from it, measured when
    /// the program is compiled (for kernels without `bpf_ktime_get_tai_ns`).
    pub(crate) fn sw_tai(&mut self, span: Span) -> Option<hir::Expr> {
        let Some(offset) = self.host.tai_offset() else {
            self.error(
                Diagnostic::error(
                    "E0204",
                    span,
                    "the TAI clock cannot be read on this machine",
                )
                .with_label("nsecs(sw_tai)")
                .with_note(span, "checked: clock_gettime(CLOCK_TAI) and CLOCK_BOOTTIME")
                .with_help("use `nsecs(tai)`, which the kernel reads itself"),
            );
            return None;
        };
        let boot = hir::Expr {
            kind: ExprKind::Builtin(hir::Builtin::NsecsBoot),
            ty: Ty::U64,
            span,
        };
        let offset = hir::Expr {
            kind: ExprKind::Int(offset),
            ty: Ty::U64,
            span,
        };
        expr(
            ExprKind::Binary(ast::BinOp::Add, Box::new(boot), Box::new(offset)),
            Ty::U64,
            span,
        )
    }

    /// `bswap(x)`: folded when `x` is a constant.
    fn bswap(&mut self, arg: &ast::Expr, span: Span, scope: &mut ProbeScope) -> Option<hir::Expr> {
        let x = self.integer("bswap", arg, scope)?;
        let Ty::Int { bits, .. } = x.ty else {
            unreachable!("integer() checked it")
        };
        let ty = Ty::Int {
            bits,
            signed: false,
        };
        if let Some(v) = low_bits(&x) {
            return expr(ExprKind::Int(swap(v, bits)), ty, span);
        }
        lib(LibCall::Bswap(Box::new(x)), ty, span)
    }

    /// `ntop([af, ] addr)`.
    fn ntop(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<hir::Expr> {
        let (af_arg, addr_arg) = match args {
            [addr] => (None, addr),
            [af, addr] => (Some(af), addr),
            _ => unreachable!("arity checked"),
        };
        let af = match af_arg {
            Some(a) => {
                let af = self.integer("ntop", a, scope)?;
                if let ExprKind::Int(v) = af.kind
                    && v != AF_INET
                    && v != AF_INET6
                {
                    self.error(
                        Diagnostic::error(
                            "E0320",
                            a.span,
                            format!("{} is not an address family `ntop()` knows", v as i64),
                        )
                        .with_label("not AF_INET or AF_INET6")
                        .with_help("pass AF_INET (2) or AF_INET6 (10), or leave it out: the address's size decides"),
                    );
                    return None;
                }
                Some(af)
            }
            None => None,
        };
        // An integer is an IPv4 address; an array is IPv4 or IPv6 by its size.
        let (addr, family) = match self.operand(addr_arg, scope)? {
            Operand::Bytes(bytes) => {
                let family = match bytes.len {
                    4 => AF_INET,
                    16 => AF_INET6,
                    n if af.is_some() && n >= 4 => AF_INET,
                    n => {
                        self.error(
                            Diagnostic::error(
                                "E0304",
                                addr_arg.span,
                                format!("`ntop()` takes a 4- or 16-byte address, but this holds {n} bytes"),
                            )
                            .with_label("not an IP address's size")
                            .with_help("pass an IPv4 address (an integer or 4 bytes) or an IPv6 one (16 bytes)"),
                        );
                        return None;
                    }
                };
                (bytes.expr, family)
            }
            Operand::Other(e) if e.ty.is_int() => (e, AF_INET),
            Operand::Other(e) => {
                self.error(
                    Diagnostic::error(
                        "E0304",
                        e.span,
                        format!("`ntop()` takes an integer or a byte array, but this is {}", e.ty),
                    )
                    .with_label("not an address")
                    .with_help("pass an IPv4 address as an integer, or a 4- or 16-byte array such as `args.saddr` or `pton(\"::1\")`"),
                );
                return None;
            }
        };
        let af = af.unwrap_or(hir::Expr {
            kind: ExprKind::Int(family),
            ty: Ty::U64,
            span: addr_arg.span,
        });
        let call = LibCall::Inet {
            af: Box::new(af),
            addr: Box::new(addr),
        };
        lib(call, Ty::Rendered(Rendered::Inet), span)
    }

    /// `uaddr("sym")`: the address of a symbol of the probed binary, a pointer to an
    /// unsigned integer of the symbol's size (64 bits when that is not 1, 2, 4 or 8).
    fn uaddr(&mut self, arg: &ast::Expr, span: Span, scope: &mut ProbeScope) -> Option<hir::Expr> {
        let sym = self.literal("uaddr", arg, "a symbol of the probed binary")?;
        let Some(path) = scope.binary.clone() else {
            self.error(
                Diagnostic::error(
                    "E0322",
                    span,
                    format!("`uaddr()` is not available in `{}`", scope.display),
                )
                .with_label("not in a uprobe")
                .with_help("uaddr() finds symbols of the probed binary: use it in uprobe and uretprobe probes"),
            );
            return None;
        };
        let found = match self.host.binary_symbol(&path, &sym) {
            Ok(found) => found,
            Err(e) => {
                self.error(
                    Diagnostic::error("E0206", arg.span, e)
                        .with_label("cannot read the binary")
                        .with_help("check that the probed binary is readable"),
                );
                return None;
            }
        };
        let Some((addr, size)) = found else {
            self.error(
                Diagnostic::error("E0321", arg.span, format!("`{path}` has no symbol `{sym}`"))
                    .with_label("no such symbol")
                    .with_help(format!(
                        "its symbols are listed by `nm {path}` (or `nm -D` for a library)"
                    )),
            );
            return None;
        };
        let bits = match size {
            1 | 2 | 4 | 8 => size as u8 * 8,
            _ => 64,
        };
        let to = Ty::Int {
            bits,
            signed: false,
        };
        expr(ExprKind::Int(addr), Ty::ptr(to, AddrSpace::User), span)
    }

    /// `strftime(fmt, nsecs)`: the format is checked now, applied when printed.
    fn strftime(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<hir::Expr> {
        let format = self.literal("strftime", &args[0], "a format such as \"%H:%M:%S\"")?;
        if let Some((at, c)) = crate::lang::time::unknown_conversion(&format) {
            let start = args[0].span.start as usize + 1 + at;
            self.error(
                Diagnostic::error(
                    "E0307",
                    Span::new(start, (start + 2).min(args[0].span.end as usize)),
                    if c == '%' {
                        "the format ends inside a conversion".to_string()
                    } else {
                        format!("`%{c}` is not a time conversion")
                    },
                )
                .with_label("unknown conversion")
                .with_help("strftime() takes strftime(3) conversions such as %H:%M:%S, %Y-%m-%d and bpftrace's %f (microseconds); write %% for a percent sign"),
            );
            return None;
        }
        let ns = self.integer("strftime", &args[1], scope)?;
        let negative = match &ns.kind {
            ExprKind::Int(v) => ns.ty.is_signed() && (*v as i64) < 0,
            ExprKind::Unary(ast::UnOp::Neg, inner) => {
                matches!(inner.kind, ExprKind::Int(v) if v != 0)
            }
            _ => false,
        };
        if negative {
            self.error(
                Diagnostic::error("E0320", ns.span, "a timestamp cannot be negative")
                    .with_label("before boot")
                    .with_help("pass nanoseconds since boot, e.g. `nsecs(boot)`"),
            );
            return None;
        }
        let ty = Ty::Rendered(Rendered::Timestamp { format });
        lib(LibCall::Tagged(Box::new(ns)), ty, span)
    }

    /// The text of a string literal argument of `function`.
    fn literal(&mut self, function: &str, arg: &ast::Expr, what: &str) -> Option<String> {
        if let ast::ExprKind::Str(bytes) = &arg.kind
            && let Ok(text) = std::str::from_utf8(bytes)
        {
            return Some(text.to_string());
        }
        self.error(
            Diagnostic::error(
                "E0304",
                arg.span,
                format!("`{function}()` takes a string literal here"),
            )
            .with_label("not a string literal")
            .with_help(format!(
                "it is read when the program is compiled: write {what}"
            )),
        );
        None
    }

    /// An integer argument of `function` (not a bool or pointer).
    fn integer(
        &mut self,
        function: &str,
        arg: &ast::Expr,
        scope: &mut ProbeScope,
    ) -> Option<hir::Expr> {
        let e = self.expr(arg, scope)?;
        if e.ty.is_int() {
            return Some(e);
        }
        self.error(
            Diagnostic::error(
                "E0304",
                e.span,
                format!("`{function}()` takes an integer, but this is {}", e.ty),
            )
            .with_label(format!("this is {}", e.ty))
            .with_help("pass an integer; `(uint64)` makes one of a bool"),
        );
        None
    }

    /// An operand of the address functions: a byte array — a byte-array field of the
    /// context (`args.saddr`), a buffer (`pton()`, `buf()`), a char-array field — or
    /// anything else, for the caller to judge.
    fn operand(&mut self, arg: &ast::Expr, scope: &mut ProbeScope) -> Option<Operand> {
        if let Some((access, len)) = array_field(arg, scope) {
            let expr = hir::Expr {
                kind: ExprKind::Ctx(access),
                ty: Ty::Str { len },
                span: arg.span,
            };
            return Some(Operand::Bytes(Bytes { expr, len }));
        }
        let e = self.expr(arg, scope)?;
        Some(match e.ty {
            Ty::Buf { len } => Operand::Bytes(Bytes { expr: e, len }),
            Ty::Str { len } if matches!(e.kind, ExprKind::Ctx(_)) => {
                Operand::Bytes(Bytes { expr: e, len })
            }
            _ => Operand::Other(e),
        })
    }

    /// `macaddr()`'s operand: a byte array, or the 6 bytes at a pointer (read as
    /// `buf(ptr, 6)` reads them).
    fn mac_bytes(&mut self, arg: &ast::Expr, scope: &mut ProbeScope) -> Option<Bytes> {
        let e = match self.operand(arg, scope)? {
            Operand::Bytes(b) => return Some(b),
            Operand::Other(e) if e.ty.is_ptr() || e.ty.is_int() => e,
            Operand::Other(e) => {
                self.error(
                    Diagnostic::error(
                        "E0304",
                        e.span,
                        format!("`macaddr()` takes a byte array or a pointer, but this is {}", e.ty),
                    )
                    .with_label("not a MAC address")
                    .with_help("pass a 6-byte array field (`args.addr`), a buffer such as `buf(ptr, 6)`, or a pointer"),
                );
                return None;
            }
        };
        let space = match &e.ty {
            Ty::Ptr { space, .. } => *space,
            _ => scope.ctx.space,
        };
        let span = e.span;
        let len = hir::Expr {
            kind: ExprKind::Int(6),
            ty: Ty::I64,
            span,
        };
        let read = hir::Expr {
            kind: ExprKind::ReadBuf {
                ptr: Box::new(e),
                len: Box::new(len),
                space,
            },
            ty: Ty::Buf { len: 6 },
            span,
        };
        Some(Bytes { expr: read, len: 6 })
    }
}

/// What an address function was given.
enum Operand {
    /// A byte array.
    Bytes(Bytes),
    /// Anything else.
    Other(hir::Expr),
}

/// `args.NAME` when it is an array of bytes (`__u8 saddr[4]`, `char x[6]`): where it
/// is and its length.
fn array_field(arg: &ast::Expr, scope: &ProbeScope) -> Option<(crate::probe::Access, u32)> {
    let ast::ExprKind::Field { base, field, .. } = &arg.kind else {
        return None;
    };
    if !matches!(&base.kind, ast::ExprKind::Ident(n) if n == "args") {
        return None;
    }
    let f = scope
        .ctx
        .fields
        .as_ref()?
        .iter()
        .find(|f| &f.name == field)?;
    let count: u32 = f
        .c_type
        .split_once('[')?
        .1
        .strip_suffix(']')?
        .trim()
        .parse()
        .ok()?;
    let byte_elems = count > 0 && f.size == count;
    match f.access {
        crate::probe::Access::Ctx { .. } if byte_elems && !f.c_type.contains("__data_loc") => {
            Some((f.access, count))
        }
        _ => None,
    }
}

/// The value of a constant integer (a literal, or a cast of one) in its type's low bits.
fn low_bits(e: &hir::Expr) -> Option<u64> {
    let v = match &e.kind {
        ExprKind::Int(v) => *v,
        ExprKind::Cast(inner) => low_bits(inner)?,
        _ => return None,
    };
    match e.ty {
        Ty::Int { bits, .. } if bits < 64 => Some(v & ((1u64 << bits) - 1)),
        _ => Some(v),
    }
}

/// The low `bits` bits of `v` with their bytes reversed.
pub(crate) fn swap(v: u64, bits: u8) -> u64 {
    match bits {
        8 => v & 0xff,
        16 => (v as u16).swap_bytes() as u64,
        32 => (v as u32).swap_bytes() as u64,
        _ => v.swap_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swaps_within_the_width() {
        assert_eq!(swap(0x1234, 16), 0x3412);
        assert_eq!(swap(0x12345678, 32), 0x78563412);
        assert_eq!(swap(0x12345678, 64), 0x7856341200000000);
        assert_eq!(swap(0x1ff, 8), 0xff);
    }
}
