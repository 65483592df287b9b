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
mod loops;
mod output;
mod pointer;
pub mod print;
mod scope;
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
    /// `--unsafe`: `system()` and `signal()` are allowed.
    pub allow_unsafe: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            cpid: None,
            max_strlen: DEFAULT_MAX_STRLEN,
            params: Vec::new(),
            max_map_keys: DEFAULT_MAX_MAP_KEYS,
            allow_unsafe: false,
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
    };
    let mut owners = Vec::new();
    let mut points = Vec::new();
    for probe in &program.probes {
        for spec in &probe.specs {
            for point in cx.resolve(spec) {
                owners.push(probe);
                points.push(point);
            }
        }
    }
    let tables = registry::plan(&mut points);
    // Maps are global: a probe may read a map that a later probe assigns. A first,
    // silent pass learns every map's type; the second reports and builds.
    let resolve_errors = cx.diags.len();
    for (probe, point) in owners.iter().zip(&points) {
        cx.check_probe(probe, point.clone());
    }
    cx.diags.truncate(resolve_errors);
    cx.printfs.clear();
    let mut probes = Vec::new();
    for (probe, point) in owners.into_iter().zip(points) {
        if let Some(p) = cx.check_probe(probe, point) {
            probes.push(p);
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
        probes,
        maps: cx.maps,
        printfs: cx.printfs,
        tables,
        max_map_keys: options.max_map_keys,
        possible_cpus: host.possible_cpus(),
    };
    unify::convert_stores(&mut program);
    Ok(program)
}

struct Checker<'a> {
    host: &'a dyn Host,
    options: &'a Options,
    maps: Vec<hir::Map>,
    map_ids: BTreeMap<String, hir::MapId>,
    printfs: Vec<(hir::Render, Vec<Ty>)>,
    diags: Vec<Diagnostic>,
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
            Ok(points) => points,
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

    fn check_probe(&mut self, probe: &ast::Probe, point: Point) -> Option<hir::Probe> {
        let mut scope = ProbeScope {
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
        })
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
