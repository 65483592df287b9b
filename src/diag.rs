//! Diagnostics: user mistakes as structured data, rendered to text in one place.
//!
//! Every stage (lexer, parser, sema, runtime) reports a [`Diagnostic`] carrying a stable
//! code, the primary span, optional secondary labels and a help line. Rendering with
//! codespan-reporting happens only at the edge ([`render`]); stages never print.

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, Config};
use std::fmt;
use std::ops::Range;

/// A byte range in the program source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// A span from byte offsets.
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// As a `Range<usize>` for slicing and codespan.
    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// A user-facing error (or warning) with a stable code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code such as `E0201`; documented in `docs/diagnostics.md`.
    pub code: &'static str,
    /// One-line summary.
    pub message: String,
    /// Where the problem is; `None` for errors not tied to the source (e.g. a failed attach).
    pub span: Option<Span>,
    /// Text under the primary caret.
    pub label: String,
    /// Extra labelled spans.
    pub notes: Vec<(Span, String)>,
    /// A suggestion on how to fix it.
    pub help: Option<String>,
    /// Free-form trailing text (e.g. a verifier log).
    pub detail: Option<String>,
    /// Warnings do not stop compilation.
    pub is_warning: bool,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            message: message.into(),
            span: Some(span),
            label: String::new(),
            notes: Vec::new(),
            help: None,
            detail: None,
            is_warning: false,
        }
    }

    /// An error with no source location.
    pub fn global(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            span: None,
            ..Diagnostic::error(code, Span::default(), message)
        }
    }

    /// Sets the label under the primary caret.
    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = label.into();
        self
    }

    /// Adds a secondary labelled span.
    pub fn with_note(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.notes.push((span, text.into()));
        self
    }

    /// Sets the help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// The same diagnostic as a warning: printed, and the program still runs.
    pub fn warning(mut self) -> Diagnostic {
        self.is_warning = true;
        self
    }

    /// Sets trailing detail text.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Diagnostic {
        self.detail = Some(detail.into());
        self
    }
}

/// Renders diagnostics as plain text (no colour) against `source` named `name`.
pub fn render(name: &str, source: &str, diags: &[Diagnostic]) -> String {
    let file = SimpleFile::new(name, source);
    let config = Config::default();
    let mut out = String::new();
    for d in diags {
        let mut cs = if d.is_warning {
            CsDiagnostic::warning()
        } else {
            CsDiagnostic::error()
        }
        .with_code(d.code)
        .with_message(&d.message);
        let mut labels = Vec::new();
        if let Some(span) = d.span {
            let range = clamp(span.range(), source.len());
            labels.push(Label::primary((), range).with_message(&d.label));
        }
        for (span, text) in &d.notes {
            labels.push(Label::secondary((), clamp(span.range(), source.len())).with_message(text));
        }
        cs = cs.with_labels(labels);
        let mut notes = Vec::new();
        if let Some(help) = &d.help {
            notes.push(format!("help: {help}"));
        }
        if let Some(detail) = &d.detail {
            notes.push(detail.clone());
        }
        cs = cs.with_notes(notes);
        // Writing to a String cannot fail except on a broken span, which clamp() rules out.
        let _ = term::emit_to_string(&mut out, &config, &file, &cs);
    }
    out
}

fn clamp(r: Range<usize>, len: usize) -> Range<usize> {
    let start = r.start.min(len);
    start..r.end.clamp(start, len)
}

/// Where a span is in a program's text, as bpftrace prints a source location
/// (`stdin:1:9-62`): lines and columns from 1, the end column one past the last byte.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SourceLocation {
    /// The program's name (`stdin` for `-e`, else the script's path).
    pub file: String,
    /// First line.
    pub line: u32,
    /// Column of the first byte.
    pub column: u32,
    /// Last line.
    pub end_line: u32,
    /// Column one past the last byte (on the last line).
    pub end_column: u32,
}

impl SourceLocation {
    /// The location of `span` in `source`, a program called `file`.
    pub fn of(file: &str, source: &str, span: Span) -> SourceLocation {
        let at = |pos: u32| {
            let pos = (pos as usize).min(source.len());
            let before = &source.as_bytes()[..pos];
            let line = before.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
            let start = before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            (line, (pos - start) as u32 + 1)
        };
        let (line, column) = at(span.start);
        let (end_line, end_column) = at(span.end.max(span.start));
        SourceLocation {
            file: file.to_string(),
            line,
            column,
            end_line,
            end_column,
        }
    }
}

impl fmt::Display for SourceLocation {
    /// `file:line:column-end` on one line, `file:line-end_line` across lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line != self.end_line {
            write!(f, "{}:{}-{}", self.file, self.line, self.end_line)
        } else {
            write!(
                f,
                "{}:{}:{}-{}",
                self.file, self.line, self.column, self.end_column
            )
        }
    }
}
