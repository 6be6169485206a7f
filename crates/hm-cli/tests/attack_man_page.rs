//! Attack: a person reads `man hm`. The page lists subcommands as hm-demo(1), hm-clearance(1),
//! ... which `hm man` never produces, and documents none of the flags a command takes.

#[test]
fn the_man_page_documents_the_flags_and_names_no_missing_pages() {
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_hm"))
        .arg("man")
        .output()
        .expect("runs");
    assert!(out.status.success(), "{out:?}");
    let page = String::from_utf8_lossy(&out.stdout).replace("\\-", "-");
    let missing: Vec<&str> = [
        "--timeout",
        "--env",
        "--client-secret-file",
        "--key-file",
        "--from",
        "--wait",
        "--all-approved",
    ]
    .into_iter()
    .filter(|flag| !page.contains(flag))
    .collect();
    assert!(missing.is_empty(), "hm(1) does not document {missing:?}");
    assert!(
        !page.contains("hm-clearance(1)"),
        "hm(1) refers to hm-clearance(1), which `hm man` does not generate"
    );
}

#[test]
fn help_into_a_closed_pipe_ends_with_the_sigpipe_status() {
    for args in [vec!["--help"], vec!["clearance", "request", "--help"]] {
        // A pipe whose reader is gone before hm starts: every write fails with EPIPE.
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hm"))
            .args(&args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(141), "{args:?}: {out:?}");
    }
}
