//! The import rules of ARCHITECTURE.md, enforced: which layer of `src/` may use which,
//! where the kernel may be touched, and how long a file may grow.

use std::path::{Path, PathBuf};

/// Layers and the crate modules each may import (besides itself).
const RULES: &[(&str, &[&str])] = &[
    ("lang", &[]),
    ("bpf", &[]),
    ("diag", &[]),
    ("host", &["lang", "diag"]),
    ("probe", &["lang", "bpf", "host", "diag"]),
    ("lexer", &["diag"]),
    ("ast", &["diag"]),
    ("parser", &["ast", "lexer", "diag"]),
    ("sema", &["ast", "lang", "probe", "host", "diag"]),
    ("object", &["bpf", "lang", "diag"]),
    ("artifact", &["bpf", "lang", "probe", "diag"]),
    (
        "codegen",
        &[
            "ast", "sema", "lang", "probe", "bpf", "object", "artifact", "diag",
        ],
    ),
    ("output", &["lang", "artifact", "diag"]),
    (
        "runtime",
        &["artifact", "probe", "lang", "bpf", "output", "host", "diag"],
    ),
];

/// Files allowed to call into libbpf or libc: the kernel boundary.
fn may_touch_kernel(rel: &str) -> bool {
    rel.starts_with("runtime/") || rel == "host/system.rs"
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The crate modules `text` names through `crate::`.
fn imports(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        // `scry::crate::` does not occur; skip `$crate::` in macros.
        if text[..i].ends_with('$') {
            continue;
        }
        let rest = &text[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && !found.contains(&name) {
            found.push(name);
        }
    }
    found
}

#[test]
fn layers_import_only_what_they_may() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut problems = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let layer = rel
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_string();
        let text = std::fs::read_to_string(f).unwrap();
        let Some((_, allowed)) = RULES.iter().find(|(l, _)| *l == layer) else {
            // The driver (main.rs, lib.rs) wires everything together.
            assert!(
                ["main", "lib"].contains(&layer.as_str()),
                "{rel}: a new top-level module needs a row in RULES"
            );
            continue;
        };
        for m in imports(&text) {
            if m != layer && !allowed.contains(&m.as_str()) {
                problems.push(format!("{rel}: `{layer}` may not import `crate::{m}`"));
            }
        }
        let kernel = ["libbpf_rs", "libbpf_sys", "libc::"];
        if !may_touch_kernel(&rel) && kernel.iter().any(|k| text.contains(k)) {
            problems.push(format!(
                "{rel}: only runtime/ and host/system.rs touch the kernel"
            ));
        }
        let lines = text.lines().count();
        if lines > 1000 {
            problems.push(format!("{rel}: {lines} lines (at most 1,000)"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checker_sees_imports() {
    assert_eq!(
        imports("use crate::lang::ty::Ty;\nfn f() { crate::probe::arch::x86_64::AX; }"),
        ["lang", "probe"]
    );
}
