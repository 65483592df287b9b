//! Generates the parser from src/parser/grammar.lalrpop into OUT_DIR.

fn main() {
    lalrpop::Configuration::new()
        .use_cargo_dir_conventions()
        .process()
        .expect("lalrpop grammar compiles");
    println!("cargo:rerun-if-changed=src/parser/grammar.lalrpop");
}
