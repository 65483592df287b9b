//! docs/language.md lists every builtin, function and probe type the code knows.

use scry::sema::{builtins::BUILTINS, functions::FUNCTIONS};

fn doc() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/language.md")).unwrap()
}

#[test]
fn every_builtin_and_function_is_documented() {
    let doc = doc();
    for b in BUILTINS {
        assert!(
            doc.contains(&format!("| `{}` |", b.name)),
            "builtin {} undocumented",
            b.name
        );
    }
    for f in FUNCTIONS {
        assert!(
            doc.contains(&format!("| `{}` |", f.signature)),
            "function {} undocumented (want a row for `{}`)",
            f.name,
            f.signature
        );
    }
}

#[test]
fn every_probe_type_is_documented() {
    let doc = doc();
    for p in scry::probe::registry::providers() {
        let kind = p.name();
        assert!(
            doc.contains(&format!("| `{kind}")),
            "probe {kind} undocumented"
        );
        for alias in p.aliases() {
            assert!(
                doc.contains(&format!("`{alias}`")),
                "alias {alias} undocumented"
            );
        }
    }
}
