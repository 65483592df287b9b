//! Parser (lalrpop): tokens → `ast::Program` with spans; parse errors become diagnostics.

use crate::ast;
use crate::diag::Diagnostic;

/// Parses a whole program.
pub fn parse(_source: &str) -> Result<ast::Program, Vec<Diagnostic>> {
    todo!("parser")
}
