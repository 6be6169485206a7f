//! Attack findings (issue 9): `cargo xtask fetch` / `codegen [--check]` meeting a careless user or a
//! hostile input. Each finding is fixed (brief B-fix); its test keeps it fixed.

// Test helpers: a failing unwrap is a broken test setup, not a finding.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::json;
use xtask::manifest::Manifest;

fn manifest_with(entry: &str) -> Result<Manifest, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("specs.toml");
    std::fs::write(
        &path,
        format!("upstream = \"https://example.com/specs\"\n\n[[spec]]\n{entry}\n"),
    )
    .unwrap();
    Manifest::load(&path).map_err(|e| e.to_string())
}

fn entry(module: &str) -> String {
    format!(
        "module = \"{module}\"\nsummary = \"An API.\"\nfile = \"x.yml\"\nsha256 = \"{}\"",
        xtask::manifest::sha256_hex(b"x")
    )
}

/// The manifest refuses only `default`, `types` and `generated`, but every module becomes a glob
/// re-exported `hm_api::<module>`, a `HighMobility::<module>()` accessor and a name in
/// `generated/mod.rs`. These names pass the manifest and `cargo xtask codegen`, then break the build
/// with errors deep in generated code (duplicate `HighMobility::new`/`base_url`..., `hm_api::auth`
/// shadowed by the hm-auth re-export so hm-api-httpmock's `hm_api::auth::types` does not resolve,
/// private `error`/`context` modules shadowing the API, `reqwest`/`progenitor_client` made ambiguous).
#[test]
fn attack_manifest_refuses_module_names_that_clash_with_hm_api() {
    let clashing = [
        "auth",
        "error",
        "context",
        "high_mobility",
        "clearance_filter",
        "new",
        "base_url",
        "unauthenticated",
        "with_http_client",
        "build",
        "reqwest",
        "progenitor_client",
        "hm_auth",
    ];
    let accepted: Vec<_> = clashing
        .iter()
        .filter(|module| manifest_with(&entry(module)).is_ok())
        .collect();
    assert!(
        accepted.is_empty(),
        "the manifest accepts module names that cannot compile: {accepted:?}"
    );
}

/// `file` is joined to `openapi/fetched/` and to the upstream URL unchecked: `cargo xtask fetch`
/// writes wherever it points (`../../crates/...`, an absolute path), and a sub-folder fails with a bare
/// "No such file or directory" on write.
#[test]
fn attack_manifest_refuses_file_names_that_leave_the_fetched_folder() {
    for file in [
        "../../crates/hm-auth/src/lib.rs",
        "/tmp/evil.yml",
        "sub/dir.yml",
    ] {
        let text = entry("things").replace("x.yml", file);
        let result = manifest_with(&text);
        let err = result
            .err()
            .unwrap_or_else(|| panic!("`file = {file:?}` was accepted"));
        assert!(err.contains("file"), "{err}");
    }
}

/// A digest pasted in upper case (as several tools print it) or truncated is accepted by the manifest
/// and then reported at fetch time as a "mismatch" between two digests that look the same.
#[test]
fn attack_manifest_checks_the_digest_form() {
    let digest = xtask::manifest::sha256_hex(b"x");
    for bad in [digest.to_uppercase(), digest[..63].to_owned()] {
        let text = entry("things").replace(&digest, &bad);
        match manifest_with(&text) {
            Err(err) => assert!(err.contains("sha256"), "{err}"),
            Ok(manifest) => {
                let result = manifest.specs[0].verify(b"x", "test");
                assert!(
                    result.is_ok(),
                    "`sha256 = {bad:?}` accepted but then: {}",
                    result.unwrap_err()
                );
            }
        }
    }
}

/// `openapi: 3.0` (or the number 3.0, unquoted) is a 3.0 document, but the version check tells the
/// user that "3.1 changed the schema dialect" and to "convert it to 3.0".
#[test]
fn attack_openapi_3_0_without_patch_version_gets_a_truthful_message() {
    for doc in [json!({"openapi": 3.0}), json!({"openapi": "3.0"})] {
        if let Err(e) = xtask::validate::check_version(&doc, "x.yml") {
            let message = e.to_string();
            assert!(
                !message.contains("3.1") && !message.contains("convert it to 3.0"),
                "{doc}: {message}"
            );
        }
    }
}

/// `[features]` is rewritten wholesale: a feature someone added by hand to hm-api's Cargo.toml (a TLS
/// backend switch, `unstable`, ...) is silently deleted by the next `cargo xtask codegen`.
#[test]
fn attack_codegen_keeps_or_refuses_hand_written_features() {
    let text = "[package]\nname = \"hm-api\"\n\n[features]\ndefault = [\"oauth\"]\noauth = []\n\
                rustls = [\"reqwest/rustls-tls\"]\n\n[dependencies]\nreqwest = \"0.12\"\n";
    let lines = vec!["default = [\"oauth\"]".to_owned(), "oauth = []".to_owned()];
    if let Ok(updated) = xtask::wiring::replace_features(text, &lines) {
        assert!(
            updated.contains("rustls = [\"reqwest/rustls-tls\"]"),
            "the hand-written feature is gone:\n{updated}"
        );
    }
}

/// A git checkout with `core.autocrlf=true` (Windows default) has CRLF generated files; there is no
/// `.gitattributes` pinning LF, so `cargo xtask codegen --check` reports every generated file stale on
/// such a machine ("output identical on any machine").
#[test]
fn attack_check_passes_on_a_crlf_checkout() {
    let root = xtask::root();
    let pinned = std::fs::read_to_string(root.join(".gitattributes"))
        .is_ok_and(|text| text.contains("eol=lf"));
    if pinned {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(xtask::codegen::CLIENT_DIR).join("mod.rs");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let expected = "// generated\npub mod a;\n".to_owned();
    std::fs::write(&path, expected.replace('\n', "\r\n")).unwrap();
    let files = BTreeMap::from([(path, expected)]);
    let stale = xtask::codegen::stale_files(dir.path(), &files);
    assert!(
        stale.is_empty(),
        "a CRLF checkout is reported stale:\n{}",
        stale.iter().map(|s| s.diff.as_str()).collect::<String>()
    );
}

/// An overlay action `remove: true` whose target is the document root "matches" and is accepted, but
/// removes nothing: the stricter-than-spec promise "a target that matches nothing is an error" is
/// silently bypassed.
#[test]
fn attack_overlay_remove_of_the_root_is_not_silently_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.overlay.yaml");
    std::fs::write(
        &path,
        "overlay: 1.0.0\nactions:\n  - target: $\n    description: drop everything\n    remove: true\n",
    )
    .unwrap();
    let overlay = xtask::overlay::Overlay::load(&path).unwrap();
    let mut doc = json!({"openapi": "3.0.3", "paths": {}});
    let before = doc.clone();
    if overlay.apply(&mut doc).is_ok() {
        assert_ne!(doc, before, "the action was accepted and removed nothing");
    }
}

/// A user adding an API gets, for the overlay file they have not written yet, a bare
/// "cannot read ...: No such file or directory" instead of what to create.
#[test]
fn attack_missing_overlay_says_what_to_create() {
    let err = xtask::overlay::Overlay::load(Path::new("openapi/overlays/new_api.overlay.yaml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("overlay: 1.0.0") || err.contains("create"),
        "{err}"
    );
}

/// What held: billion laughs (alias expansion), deep nesting, duplicate keys, binary input, a BOM,
/// and Swagger 2.0 / 3.1 are refused or read with clear errors and without a crash.
#[test]
fn attack_held_hostile_yaml() {
    let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let p = i - 1;
        laughs.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    assert!(xtask::yaml::parse(&laughs, Path::new("b.yaml")).is_err());
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(xtask::yaml::parse(&deep, Path::new("d.yaml")).is_err());
    let dup = xtask::yaml::parse("a: 1\na: 2\n", Path::new("t.yaml"))
        .unwrap_err()
        .to_string();
    assert!(dup.contains("duplicated key"), "{dup}");
    assert!(xtask::yaml::parse("\0\x01", Path::new("t.yaml")).is_err());
    assert!(xtask::yaml::parse("\u{feff}openapi: 3.0.3\n", Path::new("t.yaml")).is_ok());
    let swagger = xtask::validate::check_version(&json!({"swagger": 2.0}), "s.yml").unwrap_err();
    assert!(swagger.to_string().contains("Swagger 2.0"), "{swagger}");
}

/// A stray folder under `crates/*/src/generated/` is listed by `--check` as a stale file with an empty
/// diff, and `cargo xtask codegen` then stops with "cannot remove ...: Is a directory (os error 21)",
/// so the remedy `--check` prints does not work.
#[test]
fn attack_stray_folder_in_generated_is_reported_usefully() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join(xtask::codegen::CLIENT_DIR).join("old")).unwrap();
    let files = BTreeMap::new();
    let stale = xtask::codegen::stale_files(root, &files);
    assert!(
        stale.iter().all(|s| !s.diff.is_empty()),
        "--check lists a stale entry but shows nothing: {:?}",
        stale.iter().map(|s| &s.path).collect::<Vec<_>>()
    );
    if let Err(e) = xtask::codegen::write_all(root, &files) {
        let message = e.to_string();
        assert!(!message.contains("os error"), "{message}");
    }
}

/// A YAML 1.1 merge key (`<<: *defaults`, common in hand-written YAML such as overlays) is neither
/// applied nor refused: it becomes a literal property named `<<`, so the merged fields are silently
/// missing from the result.
#[test]
fn attack_yaml_merge_key_is_applied_or_refused() {
    let text = "base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n";
    if let Ok(value) = xtask::yaml::parse(text, Path::new("t.yaml")) {
        assert_eq!(value["c"], json!({"x": 1, "y": 2}), "{value}");
    }
}

/// Scalars whose JSON value is changed on the way: an integer beyond i64 is rounded to a float
/// (12345678901234567890 -> 1.2345678901234567e19, e.g. in an example or a `maximum`), an explicit
/// `!!int "5"` stays the string "5", and a key `1.10` becomes "1.1".
#[test]
fn attack_yaml_scalars_keep_their_value_or_are_refused() {
    for (text, expected) in [
        (
            "a: 12345678901234567890\n",
            json!({"a": 12345678901234567890u64}),
        ),
        ("a: !!int \"5\"\n", json!({"a": 5})),
        ("1.10: x\n", json!({"1.10": "x"})),
    ] {
        if let Ok(value) = xtask::yaml::parse(text, Path::new("t.yaml")) {
            assert_eq!(value, expected, "{text:?}");
        }
    }
}

/// Generates the fixture API `things` with `renames` (as a `rename = {...}` of its manifest entry).
fn generate_things(renames: &[(&str, &str)]) -> Result<String, String> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let spec = std::fs::read_to_string(fixtures.join("things.yaml")).unwrap();
    let corrected = xtask::codegen::correct(
        &spec,
        &fixtures.join("things.yaml"),
        &fixtures.join("empty.overlay.yaml"),
        "things.yaml",
    )
    .map_err(|e| e.to_string())?;
    let entry = xtask::manifest::SpecEntry {
        module: "things".into(),
        summary: "Things.".into(),
        file: "things.yaml".into(),
        sha256: String::new(),
        rename: renames
            .iter()
            .map(|(from, to)| ((*from).to_owned(), (*to).to_owned()))
            .collect(),
    };
    xtask::codegen::generate(&corrected, &entry)
        .map(|(client, _)| client)
        .map_err(|e| e.to_string())
}

/// A `rename` whose schema does not exist (a typo, or upstream renamed the schema) is silently
/// ignored: the public type falls back to progenitor's name at the next codegen, breaking every
/// caller, although the overlay's equivalent rule ("an action that matches nothing is an error")
/// exists precisely to catch this.
#[test]
fn attack_rename_of_a_missing_schema_is_an_error() {
    let Err(err) = generate_things(&[("Thnig", "Widget")]) else {
        panic!("a rename that matches nothing was accepted");
    };
    assert!(err.contains("Thnig"), "{err}");
}

/// A `rename` onto a name the spec already uses generates two `pub struct ThingErrors` in one module:
/// codegen reports success and the crate no longer compiles.
#[test]
fn attack_rename_onto_an_existing_type_is_an_error() {
    match generate_things(&[("Thing", "ThingErrors")]) {
        Ok(code) => {
            let file = syn::parse_file(&code).unwrap();
            let types = file
                .items
                .iter()
                .find_map(|item| match item {
                    syn::Item::Mod(m) if m.ident == "types" => m.content.as_ref(),
                    _ => None,
                })
                .expect("a types module");
            let defined = types
                .1
                .iter()
                .filter(|item| matches!(item, syn::Item::Struct(s) if s.ident == "ThingErrors"))
                .count();
            assert_eq!(defined, 1, "`ThingErrors` is defined {defined} times");
        }
        Err(err) => assert!(err.contains("ThingErrors"), "{err}"),
    }
}

/// A `rename` to something that is not a type name is blamed on the spec ("correct that operation or
/// schema in the overlay", "progenitor produced code that does not parse") instead of the manifest.
#[test]
fn attack_invalid_rename_target_names_the_manifest() {
    for target in ["type", "not valid"] {
        let err = generate_things(&[("Thing", target)]).unwrap_err();
        assert!(
            err.contains("rename") || err.contains("specs.toml"),
            "rename to {target:?}: {err}"
        );
    }
}

/// What held: `--check` compares whole files, so a one-character hand edit in a generated file and a
/// stray generated file are both reported with a diff.
#[test]
fn attack_held_check_sees_hand_edits_and_stray_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let generated = root.join(xtask::codegen::CLIENT_DIR);
    std::fs::create_dir_all(&generated).unwrap();
    std::fs::write(generated.join("mod.rs"), "pub mod a;\npub mod b;\n").unwrap();
    std::fs::write(generated.join("stray.rs"), "pub struct X;\n").unwrap();
    let files = BTreeMap::from([(
        generated.join("mod.rs"),
        "pub mod a;\npub mod c;\n".to_owned(),
    )]);
    let stale = xtask::codegen::stale_files(root, &files);
    assert_eq!(stale.len(), 2);
    assert!(stale.iter().all(|s| !s.diff.is_empty()));
}
