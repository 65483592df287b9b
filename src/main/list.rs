//! `-l`: prints the probes a pattern (or a program's probe specs) matches on this
//! machine, one a line, each followed by its arguments with `-v`, as bpftrace does.
//! The matching lives in `probe::list`; this file is the driver's part: the command
//! line's pattern or the program's specs in, text on stdout or diagnostics out.

use std::io::Write;

use scry::ast;
use scry::diag::{Diagnostic, Span};
use scry::host::system::System;
use scry::probe::list::{self, ListError, Listed};
use scry::probe::registry;

/// Lists what the comma-separated `pattern` matches; diagnostics point into it.
pub fn patterns(pattern: &str, verbose: bool, pid: Option<u32>) -> Result<(), Vec<Diagnostic>> {
    let found = list::list(
        pattern,
        &registry::listable(),
        verbose,
        pid,
        &System::new().with_pid(pid),
    )
    .map_err(|e| vec![diagnostic(e, 0)])?;
    print(&found);
    Ok(())
}

/// Lists what each probe spec of `program` matches (not BEGIN/END, as bpftrace);
/// diagnostics point at the spec.
pub fn program(
    program: &ast::Program,
    verbose: bool,
    pid: Option<u32>,
) -> Result<(), Vec<Diagnostic>> {
    let host = System::new().with_pid(pid);
    let kinds = registry::listable();
    let mut found = Vec::new();
    for spec in program.probes.iter().flat_map(|p| &p.specs) {
        let kind = spec.text.split(':').next().unwrap_or_default();
        if ["BEGIN", "END", "begin", "end"].contains(&kind) {
            continue;
        }
        found.extend(
            list::list(&spec.text, &kinds, verbose, pid, &host)
                .map_err(|e| vec![diagnostic(e, spec.span.start as usize)])?,
        );
    }
    print(&found);
    Ok(())
}

fn print(found: &[Listed]) {
    let mut out = std::io::stdout().lock();
    for l in found {
        // A closed pipe (`scry -l | head`) ends the listing quietly.
        if writeln!(out, "{}", l.name).is_err() {
            return;
        }
        for p in &l.params {
            if writeln!(out, "    {p}").is_err() {
                return;
            }
        }
    }
}

fn diagnostic(e: ListError, base: usize) -> Diagnostic {
    let span = Span::new(base + e.range.start, base + e.range.end);
    Diagnostic::error(e.error.code, span, e.error.message)
        .with_label(e.error.label)
        .with_help(e.error.help)
}
