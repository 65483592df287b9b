//! Name resolution, type checking and desugaring: `ast::Program` → `hir::Program`.
//!
//! Probe specs are resolved through the probe registry (wildcards expanded against the
//! [`Host`]), each attach point's body is checked against its context, maps get one
//! type across the whole program, and sugar (ply's `@m[k].count()`, `@x++`, `+=`) becomes
//! plain updates. Emits no code and touches no kernel state beyond the catalog.

mod actions;
mod args;
pub mod builtins;
mod calls;
mod expr;
pub mod functions;
pub mod hir;
mod library;
mod limits;
mod loops;
mod output;
mod pointer;
pub mod print;
mod regs;
mod scope;
mod stack;
mod stmt;
pub mod unify;
pub mod visit;

use std::collections::BTreeMap;

use crate::ast;
use crate::diag::{Diagnostic, Span};
use crate::host::Host;
use crate::lang::agg::ValueKind;
use crate::lang::ty::Ty;
use crate::probe::{self, Point, registry};

/// Entries of a keyed map unless `--max-map-keys` / `BPFTRACE_MAX_MAP_KEYS` say
/// otherwise (bpftrace's default).
pub const DEFAULT_MAX_MAP_KEYS: u32 = 4096;

pub use limits::{DEFAULT_MAX_PROBES, MAX_MAX_PROBES};

/// Compile-time facts that come from the command line.
#[derive(Clone, Debug)]
pub struct Options {
    /// Pid of the `-c` child, the value of `cpid`.
    pub cpid: Option<u32>,
    /// The longest string `str()` reads, NUL included.
    pub max_strlen: u32,
    /// Positional parameters `$1`, `$2`, … as given on the command line.
    pub params: Vec<String>,
    /// Entries of a keyed map.
    pub max_map_keys: u32,
    /// `-p PID`: see `hir::Program::filter_pid`.
    pub filter_pid: Option<u32>,
    /// `--unsafe`: `system()` and `signal()` are allowed.
    pub allow_unsafe: bool,
    /// The most attach points the program may have (`--max-probes`).
    pub max_probes: u32,
    /// How stacks print when the program names no mode (`BPFTRACE_STACK_MODE`).
    pub stack_mode: crate::lang::render::StackMode,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            cpid: None,
            max_strlen: DEFAULT_MAX_STRLEN,
            params: Vec::new(),
            max_map_keys: DEFAULT_MAX_MAP_KEYS,
            allow_unsafe: false,
            filter_pid: None,
            max_probes: DEFAULT_MAX_PROBES,
            stack_mode: crate::lang::render::StackMode::Bpftrace,
        }
    }
}

/// bpftrace's newest default for `max_strlen`.
pub const DEFAULT_MAX_STRLEN: u32 = 1024;
/// The largest `max_strlen` accepted (a string must fit in a program's scratch memory).
pub const MAX_MAX_STRLEN: u32 = 16 * 1024;

/// Checks `program`; returns the typed program or every error found.
pub fn check(
    program: &ast::Program,
    host: &dyn Host,
    options: &Options,
) -> Result<hir::Program, Vec<Diagnostic>> {
    let mut cx = Checker {
        host,
        options,
        maps: Vec::new(),
        map_ids: BTreeMap::new(),
        printfs: Vec::new(),
        diags: Vec::new(),
        notes: Vec::new(),
        warnings: Vec::new(),
    };
    let mut owners = Vec::new();
    let mut points = Vec::new();
    let mut per_spec = Vec::new();
    for probe in &program.probes {
        for spec in &probe.specs {
            let found = cx.resolve(spec);
            per_spec.push((spec, found.len()));
            for point in found {
                owners.push(probe);
                points.push(point);
            }
        }
    }
    if let Some(d) = limits::too_many_probes(&per_spec, options.max_probes) {
        return Err(vec![d]);
    }
    let tables = registry::plan(&mut points);
    // `probe` and `func` have one string size across a probe's points.
    let mut lens: Vec<(u32, u32)> = vec![(1, 1); program.probes.len()];
    let index = |p: &ast::Probe| {
        program
            .probes
            .iter()
            .position(|q| std::ptr::eq(q, p))
            .expect("owner is one of the program's probes")
    };
    let owners: Vec<usize> = owners.into_iter().map(index).collect();
    for (&o, point) in owners.iter().zip(&points) {
        let func = point.context.func.as_ref().map_or(0, |f| f.len() as u32);
        lens[o].0 = lens[o].0.max(point.display.len() as u32 + 1);
        lens[o].1 = lens[o].1.max(func + 1);
    }
    // Maps are global: a probe may read a map that a later probe assigns. A first,
    // silent pass learns every map's type; the second reports and builds.
    let resolve_errors = cx.diags.len();
    for (&o, point) in owners.iter().zip(&points) {
        cx.check_probe(&program.probes[o], point.clone(), lens[o]);
    }
    cx.diags.truncate(resolve_errors);
    cx.printfs.clear();
    let mut probes: Vec<(usize, hir::Probe)> = Vec::new();
    for (&o, point) in owners.iter().zip(points) {
        if let Some(p) = cx.check_probe(&program.probes[o], point, lens[o]) {
            probes.push((o, p));
        }
    }
    if probes.is_empty() && cx.diags.is_empty() {
        cx.diags.push(
            Diagnostic::global("E0205", "the program has no probes")
                .with_help("write at least one probe, e.g. `BEGIN { printf(\"hello\\n\"); }`"),
        );
    }
    if !cx.diags.is_empty() {
        // A wildcard checks one body many times: report each mistake once.
        let mut seen = Vec::new();
        cx.diags.retain(|d| {
            let key = (d.code, d.span, d.message.clone());
            let new = !seen.contains(&key);
            seen.push(key);
            new
        });
        return Err(cx.diags);
    }
    let mut program = hir::Program {
        probes: share(probes, host),
        maps: cx.maps,
        printfs: cx.printfs,
        tables,
        max_map_keys: options.max_map_keys,
        possible_cpus: host.possible_cpus(),
        filter_pid: options.filter_pid,
        notes: cx.notes,
        warnings: {
            let mut seen = Vec::new();
            cx.warnings.retain(|d| {
                let key = (d.code, d.span);
                let new = !seen.contains(&key);
                seen.push(key);
                new
            });
            cx.warnings
        },
    };
    unify::convert_stores(&mut program);
    Ok(program)
}

/// Merges the checked points of one probe into one program where the kernel can tell
/// them apart by the attach cookie (uprobes and tracepoints) and their bodies are the
/// same: `uprobe:libc:str*` is one program attached at every matching function.
fn share(probes: Vec<(usize, hir::Probe)>, host: &dyn Host) -> Vec<hir::Probe> {
    use crate::probe::Target;
    let shareable = |a: &Target, b: &Target| match (a, b) {
        (Target::Uprobe { ret: x, .. }, Target::Uprobe { ret: y, .. }) => x == y,
        (Target::Kprobe { ret: x, .. }, Target::Kprobe { ret: y, .. }) => x == y,
        (Target::Tracepoint { .. }, Target::Tracepoint { .. }) => true,
        _ => false,
    };
    let mut out: Vec<(usize, hir::Probe)> = Vec::new();
    for (owner, p) in probes {
        let same = out.iter_mut().find(|(o, q)| {
            *o == owner
                && shareable(&q.target, &p.target)
                && q.tag == p.tag
                && q.predicate == p.predicate
                && q.body == p.body
                && q.vars == p.vars
        });
        match same {
            Some((_, q)) => q.points.extend(p.points),
            None => out.push((owner, p)),
        }
    }
    // Several uprobes of one program: one link per binary where the kernel has them;
    // several kprobes at function entries (or returns): one link.
    use crate::host::KernelFeature;
    let wants = |p: &hir::Probe, uprobe: bool| {
        p.points.len() > 1
            && p.points.iter().all(|pt| match &pt.target {
                Target::Uprobe { .. } => uprobe,
                Target::Kprobe { offset, .. } => !uprobe && *offset == 0,
                _ => false,
            })
    };
    let uprobe_multi =
        out.iter().any(|(_, p)| wants(p, true)) && host.check(KernelFeature::UprobeMulti).is_ok();
    let kprobe_multi =
        out.iter().any(|(_, p)| wants(p, false)) && host.check(KernelFeature::KprobeMulti).is_ok();
    out.into_iter()
        .map(|(_, mut p)| {
            p.multi_link = (uprobe_multi && wants(&p, true)) || (kprobe_multi && wants(&p, false));
            p
        })
        .collect()
}

struct Checker<'a> {
    host: &'a dyn Host,
    options: &'a Options,
    maps: Vec<hir::Map>,
    map_ids: BTreeMap<String, hir::MapId>,
    printfs: Vec<(hir::Render, Vec<Ty>)>,
    diags: Vec<Diagnostic>,
    /// Notes for stderr about how probes are served (`Provider::note`).
    notes: Vec<String>,
    warnings: Vec<Diagnostic>,
}

/// Per attach point state while checking a body.
pub(crate) struct ProbeScope {
    pub(crate) ctx: probe::Context,
    pub(crate) display: String,
    /// Every variable of the probe (its name and type), indexed by `VarId`.
    pub(crate) vars: Vec<(String, Ty)>,
    /// How each variable was declared.
    pub(crate) info: Vec<scope::VarInfo>,
    /// The visible variables, innermost block last.
    pub(crate) in_scope: Vec<(String, usize)>,
    /// Loops enclosing the statement being checked.
    pub(crate) loops: u32,
    /// The probed binary of a uprobe (for `uaddr()`).
    pub(crate) binary: Option<String>,
    /// String sizes of `probe` and `func` (NUL included): the longest of every point of
    /// the probe, so the points' bodies are the same and may share a program.
    pub(crate) name_lens: (u32, u32),
    /// The context starts with the task's registers (for `reg()`).
    pub(crate) regs: bool,
    /// The probe runs in scry itself (BEGIN, END, `test:`), not in a traced task.
    pub(crate) in_scry: bool,
    /// At a function's entry (kprobe: `Some(false)`, uprobe: `Some(true)`), where
    /// `caller` has a meaning.
    pub(crate) entry: Option<bool>,
}

impl Checker<'_> {
    fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Expands one spec into attach points.
    fn resolve(&mut self, spec: &ast::ProbeSpec) -> Vec<Point> {
        let text = match self.substitute(spec) {
            Some(t) => t,
            None => return Vec::new(),
        };
        match registry::resolve(&text, self.host) {
            Ok(points) => {
                if let Some(p) = points.iter().find(|p| p.target.needs_process())
                    && self.options.cpid.is_none()
                    && self.options.filter_pid.is_none()
                {
                    self.error(
                        Diagnostic::error(
                            "E0215",
                            spec.span,
                            format!(
                                "`{}` watches a process's memory, but there is no process",
                                p.display
                            ),
                        )
                        .with_label("a user-space address")
                        .with_help("give the process with `-p PID`, or run it with `-c CMD`"),
                    );
                    return Vec::new();
                }
                if let Some(note) = registry::note(&text, &points, self.host) {
                    self.notes.push(note);
                }
                points
            }
            Err(e) => {
                self.error(
                    Diagnostic::error(e.code, spec.span, e.message)
                        .with_label(e.label)
                        .with_help(e.help),
                );
                Vec::new()
            }
        }
    }

    /// The spec with positional parameters (`uprobe:$1:main`) replaced by their text.
    fn substitute(&mut self, spec: &ast::ProbeSpec) -> Option<String> {
        let text = &spec.text;
        if !text.contains('$') {
            return Some(text.clone());
        }
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let digits: String = rest[at + 1..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            let n: usize = digits.parse().unwrap_or(0);
            match self.options.params.get(n.wrapping_sub(1)) {
                Some(p) if n > 0 => out.push_str(p),
                _ => {
                    self.error(
                        Diagnostic::error(
                            "E0313",
                            spec.span,
                            format!("`{text}` needs positional parameter `${digits}`"),
                        )
                        .with_label("parameter not given")
                        .with_help(
                            "give it after the program: `scry -e '...' VALUE` or `scry FILE VALUE`",
                        ),
                    );
                    return None;
                }
            }
            rest = &rest[at + 1 + digits.len()..];
        }
        out.push_str(rest);
        Some(out)
    }

    fn check_probe(
        &mut self,
        probe: &ast::Probe,
        point: Point,
        name_lens: (u32, u32),
    ) -> Option<hir::Probe> {
        let info = hir::PointInfo {
            target: point.target.clone(),
            display: point.display.clone(),
            func: point.context.func.clone(),
        };
        let mut scope = ProbeScope {
            name_lens,
            ctx: point.context,
            display: point.display.clone(),
            vars: Vec::new(),
            info: Vec::new(),
            in_scope: Vec::new(),
            loops: 0,
            binary: match &point.target {
                probe::Target::Uprobe { path, .. } => Some(path.clone()),
                _ => None,
            },
            regs: point.target.has_pt_regs(),
            in_scry: matches!(point.target, probe::Target::TestRun(_)),
            entry: match point.target {
                probe::Target::Kprobe { ret: false, .. } => Some(false),
                probe::Target::Uprobe { ret: false, .. } => Some(true),
                _ => None,
            },
        };
        let errors_before = self.diags.len();
        let predicate = probe.predicate.as_ref().and_then(|p| {
            let e = self.expr(p, &mut scope)?;
            self.expect_cond(&e, "a predicate")?;
            Some(e)
        });
        let body = self.block(&probe.body, &mut scope);
        if self.diags.len() > errors_before {
            return None;
        }
        Some(hir::Probe {
            target: point.target,
            tag: point.tag,
            display: point.display,
            predicate,
            body,
            vars: scope.vars.into_iter().map(|(_, t)| t).collect(),
            span: probe.span,
            points: vec![info],
            multi_link: false,
        })
    }

    /// The event id of a record rendered as `render` with fields `tys`: one id for
    /// equal events, so the points of one probe check to the same body.
    pub(crate) fn event(&mut self, render: hir::Render, tys: Vec<Ty>) -> usize {
        let event = (render, tys);
        match self.printfs.iter().position(|e| *e == event) {
            Some(id) => id,
            None => {
                self.printfs.push(event);
                self.printfs.len() - 1
            }
        }
    }

    /// Checks that `e` can be tested for truth: an integer, a bool or a pointer.
    fn expect_cond(&mut self, e: &hir::Expr, what: &str) -> Option<()> {
        if e.ty.is_ptr() {
            return Some(());
        }
        self.expect_int(e, what)
    }

    fn expect_int(&mut self, e: &hir::Expr, what: &str) -> Option<()> {
        if e.ty.is_integral() {
            return Some(());
        }
        self.error(
            Diagnostic::error(
                "E0304",
                e.span,
                format!("{what} must be an integer, found {}", e.ty),
            )
            .with_label(format!("this is {}", e.ty))
            .with_help("compare strings with `==` / `!=` to get an integer"),
        );
        None
    }

    /// Finds or creates map `name`, unifying its key and value types with this use.
    pub(crate) fn use_map(
        &mut self,
        name: &str,
        keys: &[Ty],
        value: ValueKind,
        span: Span,
    ) -> Option<hir::MapId> {
        let display = format!("@{name}");
        let Some(&id) = self.map_ids.get(&display) else {
            let id = self.maps.len();
            self.maps.push(hir::Map {
                name: display.clone(),
                keys: keys.to_vec(),
                value,
                span,
            });
            self.map_ids.insert(display, id);
            return Some(id);
        };
        let first = self.maps[id].span;
        let old_keys = self.maps[id].keys.clone();
        let Some(keys) = unify::unify_all(&old_keys, keys) else {
            let shown = |k: &[Ty]| {
                k.iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            self.error(
                Diagnostic::error(
                    "E0304",
                    span,
                    format!(
                        "map `{display}` is used with keys [{}] here but [{}] before",
                        shown(keys),
                        shown(&old_keys)
                    ),
                )
                .with_label("different key types")
                .with_note(first, "first used here")
                .with_help("use the same number and kinds of keys everywhere a map appears"),
            );
            return None;
        };
        let Some(value) = unify::unify_values(&self.maps[id].value, &value) else {
            let old = describe_value(&self.maps[id].value);
            self.error(
                Diagnostic::error(
                    "E0304",
                    span,
                    format!(
                        "map `{display}` holds {old} but is used here as {}",
                        describe_value(&value)
                    ),
                )
                .with_label("conflicting use")
                .with_note(first, "first used here")
                .with_help("a map holds one kind of value; use another map name"),
            );
            return None;
        };
        self.maps[id].keys = keys;
        self.maps[id].value = value;
        Some(id)
    }

    /// Looks up a map that must already exist (for reads).
    pub(crate) fn known_map(&self, name: &str) -> Option<hir::MapId> {
        self.map_ids.get(&format!("@{name}")).copied()
    }
}

pub(crate) fn describe_value(v: &ValueKind) -> String {
    match v {
        ValueKind::Count => "count()".into(),
        ValueKind::Sum { .. } => "sum()".into(),
        ValueKind::Scalar(t) => format!("{t} values"),
        ValueKind::Avg => "avg()".into(),
        ValueKind::Stats => "stats()".into(),
        ValueKind::Min => "min()".into(),
        ValueKind::Max => "max()".into(),
        ValueKind::Hist => "hist()".into(),
        ValueKind::Lhist(l) => format!("lhist(_, {}, {}, {})", l.min, l.max, l.step),
    }
}
