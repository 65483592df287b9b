//! `--dump ast`: an indented, deterministic rendering of the syntax tree.

use super::Program;

/// Renders the tree, one node per line.
pub fn dump(_program: &Program) -> String {
    todo!("ast dump")
}
