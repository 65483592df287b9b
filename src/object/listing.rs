//! `--dump insns`: every program as a verifier-syntax listing, with the source text of
//! each construct as a `;` comment above the instructions it produced.

use std::fmt::Write;

use super::Module;
use crate::bpf::disasm::disasm;

/// Renders every program of `module`; `source` is the program text the spans point into.
pub fn listing(module: &Module, source: &str) -> String {
    let mut out = String::new();
    for prog in &module.progs {
        let _ = writeln!(out, "prog {} ({}):", prog.name, prog.section);
        let map_name = |slot: usize| {
            prog.map_relocs
                .iter()
                .find(|r| r.insn == slot)
                .and_then(|r| module.maps.get(r.map))
                .map(|m| m.name.clone())
        };
        let mut last_comment = String::new();
        let mut marks = prog.source_map.iter().peekable();
        for (slot, text) in disasm(&prog.insns, &map_name) {
            while let Some(&&(at, span)) = marks.peek() {
                if at > slot {
                    break;
                }
                marks.next();
                // The construct's own text (its first line): for one-liners the whole
                // source line would repeat the entire program.
                let start = (span.start as usize).min(source.len());
                let end = (span.end as usize).clamp(start, source.len());
                let text = &source[start..end];
                let comment = text.lines().next().unwrap_or("").trim().to_string();
                if comment != last_comment && !comment.is_empty() {
                    let _ = writeln!(out, "; {comment}");
                    last_comment = comment;
                }
            }
            let _ = writeln!(out, "{slot:>4}: {text}");
        }
        out.push('\n');
    }
    for f in &module.funcs {
        let _ = writeln!(out, "func {} (.text):", f.name);
        let map_name = |slot: usize| {
            f.map_relocs
                .iter()
                .find(|r| r.insn == slot)
                .and_then(|r| module.maps.get(r.map))
                .map(|m| m.name.clone())
        };
        for (slot, text) in disasm(&f.insns, &map_name) {
            let _ = writeln!(out, "{slot:>4}: {text}");
        }
        out.push('\n');
    }
    out
}
