//! Tokens (logos), with modal lexing.
//!
//! Outside braces the lexer is in *header* mode: a probe spec such as
//! `uprobe:/bin/bash:readline` or `tracepoint:syscalls:sys_enter_*` is one [`Token::Spec`]
//! (a run of characters up to whitespace, `,` or `{`), `#include` lines become
//! [`Token::Include`], and a `/` starts a predicate. Inside a predicate and inside braces
//! the logos-generated body tokens apply; the `/` that closes a predicate is the one
//! followed (after blanks and comments) by `{`, lexed as [`Token::EndPred`], which keeps
//! division inside predicates unambiguous. The lexer knows no grammar beyond that.

mod body;

pub use body::Tok;

use crate::diag::{Diagnostic, Span};
use logos::Logos;

/// A token as the parser sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum Token {
    /// A probe spec in header mode.
    Spec(String),
    /// `#include ...` (the text after `#include`).
    Include(String),
    /// The `/` that ends a predicate.
    EndPred,
    /// Any body token.
    Body(Tok),
}

/// A lexical error, already a diagnostic.
#[derive(Clone, Debug, PartialEq)]
pub struct LexError(pub Box<Diagnostic>);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Header,
    Predicate,
    Body,
}

/// The modal lexer; an iterator of `(start, token, end)` triples for lalrpop.
pub struct Lexer<'s> {
    src: &'s str,
    pos: usize,
    mode: Mode,
    depth: u32,
    failed: bool,
}

impl<'s> Lexer<'s> {
    /// Lexes `src` from the start (a leading `#!` line is skipped).
    pub fn new(src: &'s str) -> Lexer<'s> {
        let pos = if src.starts_with("#!") {
            src.find('\n').unwrap_or(src.len())
        } else {
            0
        };
        Lexer {
            src,
            pos,
            mode: Mode::Header,
            depth: 0,
            failed: false,
        }
    }

    fn rest(&self) -> &'s str {
        &self.src[self.pos..]
    }

    /// Skips blanks and comments in header mode; an unterminated comment is an error.
    fn skip_blank(&mut self) -> Result<(), LexError> {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with("//") {
                self.pos += trimmed.find('\n').unwrap_or(trimmed.len());
            } else if trimmed.starts_with("/*") {
                match trimmed.strip_prefix("/*").and_then(|t| t.find("*/")) {
                    Some(end) => self.pos += end + 4,
                    None => return Err(unterminated_comment(self.pos, self.src.len())),
                }
            } else {
                return Ok(());
            }
        }
    }

    /// True if only blanks and comments stand between here and a `{`.
    fn brace_follows(&self, from: usize) -> bool {
        let mut probe = Lexer {
            src: self.src,
            pos: from,
            mode: Mode::Header,
            depth: 0,
            failed: false,
        };
        probe.skip_blank().is_ok() && probe.rest().starts_with('{')
    }

    fn header(&mut self) -> Option<Result<(usize, Token, usize), LexError>> {
        if let Err(e) = self.skip_blank() {
            return Some(Err(e));
        }
        let start = self.pos;
        let rest = self.rest();
        let c = rest.chars().next()?;
        match c {
            '{' => {
                self.mode = Mode::Body;
                self.depth = 1;
                self.pos += 1;
                Some(Ok((start, Token::Body(Tok::LBrace), start + 1)))
            }
            ',' => {
                self.pos += 1;
                Some(Ok((start, Token::Body(Tok::Comma), start + 1)))
            }
            '/' => {
                self.mode = Mode::Predicate;
                self.pos += 1;
                Some(Ok((start, Token::Body(Tok::Slash), start + 1)))
            }
            '#' if rest.starts_with("#include") => {
                let line_end = rest.find('\n').unwrap_or(rest.len());
                self.pos += line_end;
                let text = rest["#include".len()..line_end].trim().to_string();
                Some(Ok((start, Token::Include(text), start + line_end)))
            }
            c if c.is_ascii_alphanumeric() || c == '_' => {
                let len = rest
                    .find(|c: char| c.is_whitespace() || c == ',' || c == '{')
                    .unwrap_or(rest.len());
                self.pos += len;
                Some(Ok((
                    start,
                    Token::Spec(rest[..len].to_string()),
                    start + len,
                )))
            }
            other => {
                let end = start + other.len_utf8();
                self.pos = end;
                Some(Err(LexError(Box::new(
                    Diagnostic::error("E0001", Span::new(start, end), format!("unexpected character {other:?}"))
                        .with_label("not expected here")
                        .with_help("a probe starts with its spec, e.g. `BEGIN` or `tracepoint:syscalls:sys_enter_read`"),
                ))))
            }
        }
    }

    fn body(&mut self) -> Option<Result<(usize, Token, usize), LexError>> {
        let base = self.pos;
        let mut lx = Tok::lexer(self.rest());
        let tok = lx.next()?;
        let span = lx.span();
        let (start, end) = (base + span.start, base + span.end);
        self.pos = end;
        let tok = match tok {
            Ok(t) => t,
            Err(()) => {
                let ch = &self.src[start..end];
                return Some(Err(LexError(Box::new(
                    Diagnostic::error(
                        "E0001",
                        Span::new(start, end),
                        format!(
                            "unexpected character {:?}",
                            ch.chars().next().unwrap_or(' ')
                        ),
                    )
                    .with_label("not part of the language")
                    .with_help("remove it, or put it inside a string literal"),
                ))));
            }
        };
        if let Some(e) = body::error_of(&tok, Span::new(start, end), self.src) {
            return Some(Err(LexError(Box::new(e))));
        }
        match (&tok, self.mode) {
            (Tok::Slash, Mode::Predicate) if self.brace_follows(end) => {
                self.mode = Mode::Header;
                return Some(Ok((start, Token::EndPred, end)));
            }
            (Tok::LBrace, Mode::Body) => self.depth += 1,
            (Tok::RBrace, Mode::Body) => {
                self.depth -= 1;
                if self.depth == 0 {
                    self.mode = Mode::Header;
                }
            }
            _ => {}
        }
        Some(Ok((start, Token::Body(tok), end)))
    }
}

impl Iterator for Lexer<'_> {
    type Item = Result<(usize, Token, usize), LexError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = match self.mode {
            Mode::Header => self.header(),
            Mode::Predicate | Mode::Body => self.body(),
        };
        if matches!(item, Some(Err(_))) {
            self.failed = true;
        }
        item
    }
}

fn unterminated_comment(start: usize, end: usize) -> LexError {
    LexError(Box::new(
        Diagnostic::error(
            "E0003",
            Span::new(start, end.min(start + 2)),
            "unterminated block comment",
        )
        .with_label("this comment is never closed")
        .with_help("close it with `*/`"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Token> {
        Lexer::new(src).map(|t| t.expect("lexes").1).collect()
    }

    #[test]
    fn spec_with_path_then_predicate_with_division() {
        let toks = kinds("uprobe:/bin/bash:readline / $x / 2 == 1 / { @ = 1 }");
        assert_eq!(toks[0], Token::Spec("uprobe:/bin/bash:readline".into()));
        assert_eq!(toks[1], Token::Body(Tok::Slash));
        assert_eq!(toks[3], Token::Body(Tok::Slash), "division stays division");
        assert_eq!(toks[7], Token::EndPred);
        assert_eq!(toks[8], Token::Body(Tok::LBrace));
    }

    #[test]
    fn header_mode_returns_after_the_closing_brace() {
        let toks = kinds("BEGIN{ if (1) { } }\nt:a:b,t:c:d { }");
        assert!(toks.contains(&Token::Spec("t:a:b".into())));
        assert!(toks.contains(&Token::Spec("t:c:d".into())));
        assert_eq!(toks[0], Token::Spec("BEGIN".into()));
    }

    #[test]
    fn shebang_include_and_comments() {
        let toks = kinds("#!/usr/bin/env scry\n#include <linux/sched.h>\n// c\n/* d */ BEGIN { }");
        assert_eq!(toks[0], Token::Include("<linux/sched.h>".into()));
        assert_eq!(toks[1], Token::Spec("BEGIN".into()));
    }

    #[test]
    fn errors() {
        let first_err = |s: &str| {
            Lexer::new(s)
                .find_map(|t| t.err())
                .expect("an error")
                .0
                .code
        };
        assert_eq!(first_err("BEGIN { ` }"), "E0001");
        assert_eq!(first_err("BEGIN { \"abc }"), "E0002");
        assert_eq!(first_err("/* x"), "E0003");
        assert_eq!(first_err("BEGIN { 99999999999999999999 }"), "E0004");
        assert_eq!(first_err(r#"BEGIN { "\q" }"#), "E0005");
    }
}
