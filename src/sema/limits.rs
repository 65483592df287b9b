//! Limits the whole program must keep, checked once its specs are expanded and before
//! anything is lowered or attached: `--max-probes` (bpftrace's `max_probes`).

use crate::ast;
use crate::diag::Diagnostic;

/// bpftrace's default `max_probes`.
pub const DEFAULT_MAX_PROBES: u32 = 1024;
/// The largest `--max-probes` accepted.
pub const MAX_MAX_PROBES: u32 = 1 << 20;

/// E0220 when the specs expand to more than `max` attach points, shown at the spec
/// that contributes the most (BEGIN and END count, as in bpftrace).
pub fn too_many_probes(per_spec: &[(&ast::ProbeSpec, usize)], max: u32) -> Option<Diagnostic> {
    let total: usize = per_spec.iter().map(|(_, n)| n).sum();
    if total <= max as usize {
        return None;
    }
    let &(largest, n) = per_spec
        .iter()
        .max_by_key(|(s, n)| (*n, std::cmp::Reverse(s.span.start)))?;
    let label = if n == 1 {
        "1 attach point".to_string()
    } else {
        format!("{n} attach points")
    };
    let others = total - n;
    let d = Diagnostic::error(
        "E0220",
        largest.span,
        format!("the program has {total} attach points, more than --max-probes allows ({max})"),
    )
    .with_label(if others > 0 {
        format!("{label} here, {others} elsewhere")
    } else {
        label
    })
    .with_help(format!(
        "narrow the wildcard, or raise the limit: --max-probes {total} (or BPFTRACE_MAX_PROBES={total}); every attach point costs the kernel time to attach and detach"
    ));
    Some(d)
}
