//! Parser (lalrpop): tokens from `lexer` → `ast::Program` with spans. Parse errors become
//! diagnostics here, at the edge; the grammar itself knows nothing of diagnostics.

use lalrpop_util::{ParseError, lalrpop_mod};

use crate::ast;
use crate::diag::{Diagnostic, Span};
use crate::lexer::{LexError, Lexer, Token};

lalrpop_mod!(
    #[allow(clippy::all, clippy::pedantic, unused, missing_docs)]
    grammar,
    "/parser/grammar.rs"
);

/// Parses a whole program.
/// The deepest nesting of expressions and blocks a program may have: every stage
/// after the parser handles at least this (`ast::depth` checks it).
pub const MAX_DEPTH: usize = 1000;

pub fn parse(source: &str) -> Result<ast::Program, Vec<Diagnostic>> {
    grammar::ProgramParser::new()
        .parse(Lexer::new(source))
        .map_err(|e| vec![diagnostic(e, source)])
}

fn diagnostic(e: ParseError<usize, Token, LexError>, source: &str) -> Diagnostic {
    match e {
        ParseError::User { error } => *error.0,
        ParseError::InvalidToken { location } => Diagnostic::error(
            "E0001",
            Span::new(location, location + 1),
            "unexpected character",
        )
        .with_label("not expected here"),
        ParseError::UnrecognizedEof { location, expected } => {
            let at = Span::new(location.min(source.len()), location.min(source.len()));
            Diagnostic::error("E0011", at, "unexpected end of input")
                .with_label(format!("expected {}", readable(&expected)))
                .with_help("is a `}` or `)` missing?")
        }
        ParseError::UnrecognizedToken {
            token: (l, tok, r),
            expected,
        } => {
            let found = describe(&tok);
            if expected.iter().any(|e| e == "\"{\"")
                && expected
                    .iter()
                    .all(|e| e == "\"{\"" || e == "\",\"" || e == "\"/\"")
            {
                return Diagnostic::error(
                    "E0012",
                    Span::new(l, r),
                    format!("probe without a body: found {found}"),
                )
                .with_label("expected `{` to start the probe body")
                .with_help("every probe needs a body, e.g. `BEGIN { printf(\"hi\\n\"); }`");
            }
            Diagnostic::error("E0010", Span::new(l, r), format!("unexpected {found}"))
                .with_label(format!("expected {}", readable(&expected)))
                .with_help("check for a missing `;`, operator or bracket just before this")
        }
        ParseError::ExtraToken { token: (l, tok, r) } => Diagnostic::error(
            "E0010",
            Span::new(l, r),
            format!("unexpected {}", describe(&tok)),
        )
        .with_label("not expected here"),
    }
}

/// lalrpop's expected-token names (`"\"ident\""`) as a readable list.
fn readable(expected: &[String]) -> String {
    let names: Vec<String> = expected
        .iter()
        .map(|e| {
            let bare = e.trim_matches('"');
            match bare {
                "identifier" | "variable" | "map" | "integer" | "string" | "spec" | "include"
                | "end of predicate" => bare.to_string(),
                other => format!("`{other}`"),
            }
        })
        .collect();
    match names.len() {
        0 => "nothing more".to_string(),
        1 => names[0].clone(),
        n if n > 8 => "an expression or statement".to_string(),
        _ => format!("one of {}", names.join(", ")),
    }
}

fn describe(tok: &Token) -> String {
    use crate::lexer::Tok;
    match tok {
        Token::Spec(s) => format!("probe `{s}`"),
        Token::Include(_) => "`#include`".to_string(),
        Token::EndPred => "end of predicate `/`".to_string(),
        Token::Body(Tok::Ident(s)) => format!("identifier `{s}`"),
        Token::Body(Tok::Type(s)) => format!("type `{s}`"),
        Token::Body(Tok::Var(s)) => format!("variable `${s}`"),
        Token::Body(Tok::Map(s)) => format!("map `@{s}`"),
        Token::Body(Tok::Int(Some(v))) => format!("integer `{v}`"),
        Token::Body(Tok::Param(Some(n))) => format!("parameter `${n}`"),
        Token::Body(Tok::Str(Ok(s))) => format!("string {:?}", String::from_utf8_lossy(s)),
        Token::Body(t) => format!("`{}`", punct(t)),
    }
}

fn punct(t: &crate::lexer::Tok) -> &'static str {
    use crate::lexer::Tok::*;
    match t {
        If => "if",
        Else => "else",
        While => "while",
        Unroll => "unroll",
        For => "for",
        Break => "break",
        Continue => "continue",
        Return => "return",
        ParamCount => "$#",
        LParen => "(",
        RParen => ")",
        LBracket => "[",
        RBracket => "]",
        LBrace => "{",
        RBrace => "}",
        Comma => ",",
        Semi => ";",
        Dot => ".",
        DotDot => "..",
        Arrow => "->",
        Question => "?",
        Colon => ":",
        Assign => "=",
        Plus => "+",
        Minus => "-",
        Star => "*",
        Slash => "/",
        Percent => "%",
        Amp => "&",
        Pipe => "|",
        Caret => "^",
        Shl => "<<",
        Shr => ">>",
        EqEq => "==",
        Ne => "!=",
        Lt => "<",
        Le => "<=",
        Gt => ">",
        Ge => ">=",
        AndAnd => "&&",
        OrOr => "||",
        Bang => "!",
        Tilde => "~",
        PlusPlus => "++",
        MinusMinus => "--",
        PlusEq => "+=",
        MinusEq => "-=",
        StarEq => "*=",
        SlashEq => "/=",
        PercentEq => "%=",
        AmpEq => "&=",
        PipeEq => "|=",
        CaretEq => "^=",
        ShlEq => "<<=",
        ShrEq => ">>=",
        _ => "token",
    }
}
