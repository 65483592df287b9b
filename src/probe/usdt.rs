//! USDT probes: `usdt:BINARY:[PROVIDER:]NAME` (also `U:`), wildcards in the provider and
//! the name. BINARY is a path, a command in `$PATH` or a library name (found as uprobes
//! find them); `*` (or nothing) with `-p PID` is every object the process maps, and a
//! wildcard in it picks among them. Each probe site (`.note.stapsdt`, read by
//! `host::usdt`) is one uprobe on the site's `nop`, with the probe's semaphore counted up
//! by the kernel while attached (`ref_ctr_offset`). The notes' argument specs
//! (`-4@%eax`, `8@-16(%rbp)`, `4@8(%rax,%rdx,4)`, `-4@$5`, `8@sym(%rip)`) become
//! [`UsdtArg`] reads that codegen lowers; `list` serves `-l`.

use super::arch::x86_64 as arch;
use super::{Access, AddrSpace, Context, Point, Provider, SpecError, Target};
use crate::host::{Host, KernelFeature, UsdtBinary};

/// The `usdt` provider.
pub struct Usdt;

/// One USDT argument: `size` bytes at `loc`, sign- or zero-extended to 64 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UsdtArg {
    /// 1, 2, 4 or 8.
    pub size: u8,
    /// A negative size in the spec: sign-extended (the value is an `int64`).
    pub signed: bool,
    /// Where the value is.
    pub loc: UsdtLoc,
}

/// Where a USDT argument's value is at the probe site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UsdtLoc {
    /// A constant (`$5`).
    Const(i64),
    /// The low bytes of a register, shifted right by `shift` bits first (`%ah`).
    Reg {
        /// `struct pt_regs` offset.
        off: u32,
        /// Bits to drop.
        shift: u8,
    },
    /// User memory at `base + index × scale + disp` (`-16(%rbp)`, `8(%rax,%rdx,4)`,
    /// `sym(%rip)` with `disp` the symbol's distance from the probe's instruction).
    Mem {
        /// `pt_regs` offset of the base register, if any.
        base: Option<u32>,
        /// `pt_regs` offset of the index register and the scale (1, 2, 4, 8).
        index: Option<(u32, u8)>,
        /// Displacement.
        disp: i64,
    },
    /// A form scry cannot read (an SSE register, a 32-bit address, a symbol the binary
    /// does not have): an error where the argument is used.
    Unreadable,
}

impl UsdtArg {
    /// True when reading it goes through a helper that can fail (memory).
    pub fn reads_memory(&self) -> bool {
        matches!(self.loc, UsdtLoc::Mem { .. })
    }
}

/// A parsed `usdt:` spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// The binary, a wildcard over the `-p` process's objects, or `None`: all of them.
    pub binary: Option<String>,
    /// Provider pattern (`*` when not given).
    pub provider: String,
    /// Name pattern.
    pub name: String,
}

/// Parses what follows `usdt:`: `BINARY:PROVIDER:NAME`, `BINARY:NAME`, or with `-p`
/// (`with_pid`) also `NAME` alone; an empty or `*` BINARY means every object of the
/// process, an empty PROVIDER any.
pub fn parse(rest: &str, with_pid: bool) -> Result<Spec, String> {
    let parts: Vec<&str> = rest.split(':').collect();
    let (binary, provider, name) = match parts.as_slice() {
        [name] if with_pid => ("", "*", *name),
        [binary, name] => (*binary, "*", *name),
        [binary, provider, name] => (*binary, *provider, *name),
        _ => return Err("expected `BINARY:[PROVIDER:]NAME`".into()),
    };
    if name.is_empty() {
        return Err("the probe name is missing".into());
    }
    let provider = if provider.is_empty() { "*" } else { provider };
    Ok(Spec {
        binary: match binary {
            "" | "*" => None,
            b => Some(b.to_string()),
        },
        provider: provider.to_string(),
        name: name.to_string(),
    })
}

impl Provider for Usdt {
    fn name(&self) -> &'static str {
        "usdt"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["U"]
    }

    fn list(
        &self,
        query: &super::list::Query,
        host: &dyn Host,
    ) -> Result<Vec<super::list::Listed>, SpecError> {
        let lines = list(&format!("usdt:{}", query.rest), host)?;
        Ok(lines.into_iter().map(super::list::Listed::new).collect())
    }

    fn list_scope(&self) -> super::list::Scope {
        super::list::Scope::User
    }

    fn expand(&self, text: &str, rest: &str, host: &dyn Host) -> Result<Vec<Point>, SpecError> {
        if let Err(checked) = host.check(KernelFeature::Uprobes) {
            return Err(SpecError::new(
                "E0204",
                format!("this kernel lacks what `usdt` probes need (checked: {checked})"),
                "USDT probes are uprobes: the kernel needs CONFIG_UPROBES (and CONFIG_UPROBE_EVENTS)",
            ));
        }
        let spec = parse(rest, host.traced_pid().is_some()).map_err(|m| {
            SpecError::new(
                "E0202",
                format!("malformed usdt probe `{text}`: {m}"),
                "write `usdt:BINARY:PROVIDER:NAME` or `usdt:BINARY:NAME`, e.g. `usdt:/usr/bin/python3:python:function__entry`",
            )
        })?;
        let binaries = binaries(&spec, host)?;
        let mut points = Vec::new();
        for b in &binaries {
            for p in b
                .probes
                .iter()
                .filter(|p| matches(&spec, &p.provider, &p.name))
            {
                let symbol = |name: &str| {
                    host.binary_symbol(&b.path, name)
                        .ok()
                        .flatten()
                        .map(|(a, _)| a)
                };
                let args = p
                    .args
                    .split_whitespace()
                    .map(|a| Access::Usdt(parse_arg(a, p.addr, &symbol).unwrap_or(UNREADABLE)))
                    .collect();
                points.push(Point {
                    provider: "usdt",
                    display: format!("usdt:{}:{}:{}", b.path, p.provider, p.name),
                    tag: "usdt",
                    target: Target::Uprobe {
                        path: b.path.clone(),
                        offset: p.file_offset,
                        ret: false,
                        ref_ctr: p.semaphore_offset,
                    },
                    context: Context {
                        args,
                        args_complete: true,
                        space: AddrSpace::User,
                        ..Context::default()
                    },
                });
            }
        }
        if points.is_empty() {
            return Err(not_found(&spec, &binaries));
        }
        Ok(points)
    }
}

const UNREADABLE: UsdtArg = UsdtArg {
    size: 8,
    signed: false,
    loc: UsdtLoc::Unreadable,
};

fn matches(spec: &Spec, provider: &str, name: &str) -> bool {
    super::wildcard_match(&spec.provider, provider) && super::wildcard_match(&spec.name, name)
}

/// The binaries a spec names, with their probes: one file, or the `-p` process's
/// objects (those that cannot be read are skipped).
fn binaries(spec: &Spec, host: &dyn Host) -> Result<Vec<UsdtBinary>, SpecError> {
    let pattern = match &spec.binary {
        Some(b) if !super::has_wildcard(b) => {
            let binary = host.usdt_probes(b).map_err(|e| {
                SpecError::new(
                    "E0206",
                    e,
                    "give a path to an ELF executable or library, a command in $PATH, or a library name such as `libc`",
                )
                .labeled("binary not found")
            })?;
            if binary.probes.is_empty() {
                return Err(SpecError::new(
                    "E0212",
                    format!("`{}` has no USDT probes (no .note.stapsdt notes)", binary.path),
                    "USDT probes are the DTRACE_PROBE/STAP_PROBE macros of <sys/sdt.h>; `readelf -n` lists a binary's notes, or use `uprobe:` on its functions",
                )
                .labeled("no USDT probes"));
            }
            return Ok(vec![binary]);
        }
        Some(b) => b.as_str(),
        None => "*",
    };
    let Some(pid) = host.traced_pid() else {
        return Err(SpecError::new(
            "E0211",
            format!("`usdt:{pattern}:…` searches the objects a process maps, and no `-p PID` gives one"),
            "give the process with `-p PID` (every object it maps is searched), or name the binary: `usdt:/path/to/binary:PROVIDER:NAME`",
        )
        .labeled("no -p process"));
    };
    let objects = host.mapped_objects(pid).map_err(|e| {
        SpecError::new(
            "E0214",
            format!("cannot list the objects of process {pid}: {e}"),
            "check that the -p process exists and that scry may read its /proc/PID/maps",
        )
        .labeled("process not readable")
    })?;
    Ok(objects
        .iter()
        .filter(|o| super::wildcard_match(pattern, o))
        .filter_map(|o| host.usdt_probes(o).ok())
        .filter(|b| !b.probes.is_empty())
        .collect())
}

/// E0201 for a spec that matched nothing, naming the probes that come closest.
fn not_found(spec: &Spec, binaries: &[UsdtBinary]) -> SpecError {
    let wanted = format!("{}:{}", spec.provider, spec.name);
    let mut names: Vec<String> = binaries
        .iter()
        .flat_map(|b| {
            b.probes
                .iter()
                .map(|p| format!("{}:{}", p.provider, p.name))
        })
        .collect();
    names.sort();
    names.dedup();
    let mut near: Vec<(usize, &String)> = names
        .iter()
        .map(|n| {
            // Compare like with like: the name alone when no provider was given.
            let theirs = if spec.provider == "*" {
                n.rsplit(':').next().unwrap_or(n)
            } else {
                n
            };
            let mine = if spec.provider == "*" {
                &spec.name
            } else {
                &wanted
            };
            (edit_distance(mine, theirs), n)
        })
        .collect();
    near.sort();
    // Close enough to be a typo: a third of the name's letters, at least two.
    let mine = if spec.provider == "*" {
        &spec.name
    } else {
        &wanted
    };
    let limit = (mine.chars().count() / 3).max(2);
    let close: Vec<String> = near
        .iter()
        .take(3)
        .filter(|(d, _)| *d <= limit)
        .map(|(_, n)| format!("`{n}`"))
        .collect();
    let place = match binaries {
        [b] => format!("`{}`", b.path),
        [] => "the process's objects (none has USDT probes)".into(),
        many => format!("the {} objects of the process", many.len()),
    };
    let list = match binaries {
        [b] => format!("`scry -l 'usdt:{}:*'` lists them", b.path),
        _ => "`scry -l 'usdt:*' -p PID` lists them".into(),
    };
    let help = match close.as_slice() {
        [] => list,
        [one] => format!("did you mean {one}? {list}"),
        many => format!("did you mean one of {}? {list}", many.join(", ")),
    };
    SpecError::new(
        "E0201",
        format!("no USDT probe of {place} matches `{wanted}`"),
        help,
    )
    .labeled("matches nothing")
}

/// Levenshtein distance, for suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(prev + usize::from(ca != cb));
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Parses one argument spec of a probe at virtual address `probe_addr`: `SIZE@OPERAND`
/// with a negative SIZE for signed values (a spec without `SIZE@` is 8 unsigned bytes).
/// OPERAND is `$CONST`, `%REG`, `DISP(%BASE)`, `DISP(%BASE,%INDEX,SCALE)`, `(,%INDEX,S)`,
/// `SYM[+OFF](%rip)` (`symbol` gives SYM's virtual address) or an absolute `ADDR`.
pub fn parse_arg(
    spec: &str,
    probe_addr: u64,
    symbol: &dyn Fn(&str) -> Option<u64>,
) -> Result<UsdtArg, String> {
    let (size, operand) = match spec.split_once('@') {
        Some((s, o)) => (
            s.parse::<i8>()
                .map_err(|_| format!("bad size in `{spec}`"))?,
            o,
        ),
        None => (8, spec),
    };
    let signed = size < 0;
    let size = size.unsigned_abs();
    if ![1, 2, 4, 8].contains(&size) {
        return Err(format!("size {size} in `{spec}`"));
    }
    let loc = if let Some(c) = operand.strip_prefix('$') {
        UsdtLoc::Const(int(c).ok_or_else(|| format!("bad constant in `{spec}`"))?)
    } else if let Some(r) = operand.strip_prefix('%') {
        let r = arch::register(r).ok_or_else(|| format!("unknown register in `{spec}`"))?;
        UsdtLoc::Reg {
            off: r.off,
            shift: r.shift,
        }
    } else if let Some((disp, inner)) = operand.split_once('(') {
        let inner = inner
            .strip_suffix(')')
            .ok_or_else(|| format!("unclosed `(` in `{spec}`"))?;
        let regs: Vec<&str> = inner.split(',').map(str::trim).collect();
        let reg64 = |r: &str| -> Result<Option<u32>, String> {
            if r.is_empty() {
                return Ok(None);
            }
            match r.strip_prefix('%').and_then(arch::register) {
                Some(x) if x.bytes == 8 => Ok(Some(x.off)),
                _ => Err(format!(
                    "`{r}` is not a 64-bit address register in `{spec}`"
                )),
            }
        };
        let (base, index) = match regs.as_slice() {
            [b] => (reg64(b)?, None),
            [b, i] => (reg64(b)?, reg64(i)?.map(|i| (i, 1))),
            [b, i, s] => {
                let scale = match *s {
                    "1" => 1,
                    "2" => 2,
                    "4" => 4,
                    "8" => 8,
                    _ => return Err(format!("bad scale in `{spec}`")),
                };
                (reg64(b)?, reg64(i)?.map(|i| (i, scale)))
            }
            _ => return Err(format!("bad address in `{spec}`")),
        };
        let disp = if disp.is_empty() {
            0
        } else if let Some(d) = int(disp) {
            d
        } else if base == Some(arch::IP) && index.is_none() {
            // `sym(%rip)`, `sym+8(%rip)`: the symbol's address, found relative to the
            // probe's instruction (the uprobe's `ip`), so it holds wherever it is loaded.
            let (name, off) = match disp.find(['+', '-']) {
                Some(at) => (
                    &disp[..at],
                    int(&disp[at..]).ok_or_else(|| format!("bad offset in `{spec}`"))?,
                ),
                None => (disp, 0),
            };
            let at = symbol(name).ok_or_else(|| format!("no symbol `{name}` for `{spec}`"))?;
            at.wrapping_sub(probe_addr).wrapping_add(off as u64) as i64
        } else {
            return Err(format!("bad displacement in `{spec}`"));
        };
        UsdtLoc::Mem { base, index, disp }
    } else if let Some(addr) = int(operand) {
        // An absolute address.
        UsdtLoc::Mem {
            base: None,
            index: None,
            disp: addr,
        }
    } else {
        return Err(format!("unknown operand in `{spec}`"));
    };
    Ok(UsdtArg { size, signed, loc })
}

/// A decimal or `0x` hexadecimal integer, possibly negative.
fn int(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = match digits.strip_prefix("0x").or(digits.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok()?,
        None => digits.parse::<u64>().ok()?,
    };
    Some(if neg {
        (v as i64).wrapping_neg()
    } else {
        v as i64
    })
}

/// `-l PATTERN` for USDT probes (`usdt:BINARY:*`, `usdt:BINARY:PROVIDER:NAME`,
/// `usdt:*` with `-p`): one line per probe, `usdt:PATH:PROVIDER:NAME`, sorted, each
/// probe once however many sites it has. bpftrace lists no arguments with `-lv`.
pub fn list(pattern: &str, host: &dyn Host) -> Result<Vec<String>, SpecError> {
    let rest = pattern.split_once(':').map_or("", |(_, r)| r);
    // `usdt:BINARY` (and `usdt:*`, `usdt:`) alone: every probe of it.
    let spec = if !rest.contains(':') {
        Spec {
            binary: (!rest.is_empty() && rest != "*").then(|| rest.to_string()),
            provider: "*".into(),
            name: "*".into(),
        }
    } else {
        parse(rest, host.traced_pid().is_some()).map_err(|m| {
            SpecError::new(
                "E0202",
                format!("malformed usdt pattern `{pattern}`: {m}"),
                "write `usdt:BINARY:*` or `usdt:BINARY:PROVIDER:NAME`",
            )
        })?
    };
    let mut lines: Vec<String> = binaries(&spec, host)?
        .iter()
        .flat_map(|b| {
            b.probes
                .iter()
                .filter(|p| matches(&spec, &p.provider, &p.name))
                .map(|p| format!("usdt:{}:{}:{}", b.path, p.provider, p.name))
        })
        .collect();
    lines.sort();
    lines.dedup();
    Ok(lines)
}

#[cfg(test)]
mod tests;
