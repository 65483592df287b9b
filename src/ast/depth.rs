//! How deep a program nests, measured without recursion (the parser builds trees of
//! any depth: `!!!…1`, `1+1+…`, nested `if`s and ternaries), so that every later stage,
//! which recurses, is only given programs it can handle.

use super::{Block, Expr, ExprKind, ForIter, Program, StmtKind};
use crate::diag::Diagnostic;

/// A node to visit: an expression or a block, at a depth.
enum Node<'a> {
    Expr(&'a Expr),
    Block(&'a Block),
}

/// The error for the first place `program` nests deeper than `limit`, if any.
pub fn too_deep(program: &Program, limit: usize) -> Option<Diagnostic> {
    let mut stack: Vec<(Node<'_>, usize)> = Vec::new();
    let mut children: Vec<Node<'_>> = Vec::new();
    for p in &program.probes {
        if let Some(e) = &p.predicate {
            stack.push((Node::Expr(e), 1));
        }
        stack.push((Node::Block(&p.body), 1));
    }
    while let Some((node, depth)) = stack.pop() {
        let span = match &node {
            Node::Expr(e) => e.span,
            Node::Block(b) => b.span,
        };
        if depth > limit {
            return Some(
                Diagnostic::error(
                    "E0006",
                    span,
                    format!("the program nests deeper than {limit} levels here"),
                )
                .with_label("too deep")
                .with_help(
                    "split the expression or the nested blocks with variables, e.g. `$a = ...; $b = $a + ...;`",
                ),
            );
        }
        let d = depth + 1;
        children.clear();
        match node {
            Node::Block(b) => {
                for s in &b.stmts {
                    match &s.kind {
                        StmtKind::Expr(e) | StmtKind::Return(Some(e)) => {
                            children.push(Node::Expr(e))
                        }
                        StmtKind::Assign { target, value, .. } => {
                            children.push(Node::Expr(target));
                            children.push(Node::Expr(value));
                        }
                        StmtKind::Let { value, .. } => {
                            value.iter().for_each(|e| children.push(Node::Expr(e)))
                        }
                        StmtKind::While { cond, body } => {
                            children.push(Node::Expr(cond));
                            children.push(Node::Block(body));
                        }
                        StmtKind::Unroll { count, body } => {
                            children.push(Node::Expr(count));
                            children.push(Node::Block(body));
                        }
                        StmtKind::For { iter, body, .. } => {
                            match iter {
                                ForIter::Range(a, b) => {
                                    children.push(Node::Expr(a));
                                    children.push(Node::Expr(b));
                                }
                                ForIter::Map(m) => children.push(Node::Expr(m)),
                            }
                            children.push(Node::Block(body));
                        }
                        StmtKind::If { cond, then, else_ } => {
                            children.push(Node::Expr(cond));
                            children.push(Node::Block(then));
                            if let Some(e) = else_ {
                                children.push(Node::Block(e));
                            }
                        }
                        StmtKind::Break | StmtKind::Continue | StmtKind::Return(None) => {}
                    }
                }
            }
            Node::Expr(e) => match &e.kind {
                ExprKind::Int(_)
                | ExprKind::Str(_)
                | ExprKind::Ident(_)
                | ExprKind::Var(_)
                | ExprKind::Param(_)
                | ExprKind::ParamCount => {}
                ExprKind::Map { keys, .. } | ExprKind::Tuple(keys) => {
                    keys.iter().for_each(|e| children.push(Node::Expr(e)))
                }
                ExprKind::Call { args, .. } => {
                    args.iter().for_each(|e| children.push(Node::Expr(e)))
                }
                ExprKind::Method { recv, args, .. } => {
                    children.push(Node::Expr(recv));
                    args.iter().for_each(|e| children.push(Node::Expr(e)));
                }
                ExprKind::Field { base, .. } | ExprKind::TupleIndex { base, .. } => {
                    children.push(Node::Expr(base))
                }
                ExprKind::Unary { expr: inner, .. }
                | ExprKind::Cast { expr: inner, .. }
                | ExprKind::Deref(inner)
                | ExprKind::IncDec { target: inner, .. } => children.push(Node::Expr(inner)),
                ExprKind::Binary { lhs, rhs, .. } => {
                    children.push(Node::Expr(lhs));
                    children.push(Node::Expr(rhs));
                }
                ExprKind::Ternary { cond, then, else_ } => {
                    children.push(Node::Expr(cond));
                    children.push(Node::Expr(then));
                    children.push(Node::Expr(else_));
                }
                ExprKind::Index { base, keys } => {
                    children.push(Node::Expr(base));
                    keys.iter().for_each(|e| children.push(Node::Expr(e)));
                }
            },
        }
        stack.extend(children.drain(..).map(|n| (n, d)));
    }
    None
}
