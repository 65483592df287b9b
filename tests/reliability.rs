//! Bad inputs and hostile surroundings: files that are not regular files, a reader that
//! stops reading, huge programs.

mod common;

use common::{run, scry};
use std::io::{BufRead, BufReader};

#[test]
fn a_closed_output_pipe_is_a_quiet_exit() {
    let mut child = std::process::Command::new(scry())
        .args(["-e", "interval:ms:1 { printf(\"x\\n\"); }"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "Attaching 1 probe...\n");
    drop(out);
    let status = child.wait_with_output().unwrap();
    assert_eq!(status.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&status.stderr), "");
}

#[test]
fn only_regular_files_are_read() {
    let dir = std::env::temp_dir().join(format!("scry-reliability-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let fifo = fifo.to_str().unwrap().to_string();
    // A FIFO as the program file and as a probed binary: errors at once, no hang.
    let r = run(&[&fifo]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
    let r = run(&["-e", &format!("uprobe:{fifo}:f {{ }}")]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("error[E0206]") && r.stderr.contains("FIFO"),
        "{}",
        r.stderr
    );
    // /dev/zero: no endless read.
    let r = run(&["/dev/zero"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
    let r = run(&["-e", "uprobe:/dev/zero:f { }"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("error[E0206]"), "{}", r.stderr);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_hundred_thousand_statements_compile() {
    let body: String = (0..100_000)
        .map(|i| format!("$x{} = {i}; ", i % 50))
        .collect();
    let file = std::env::temp_dir().join(format!("scry-big-{}.bt", std::process::id()));
    std::fs::write(&file, format!("BEGIN {{ {body} exit(); }}")).unwrap();
    let r = run(&["--dump", "insns", file.to_str().unwrap()]);
    std::fs::remove_file(&file).unwrap();
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}
