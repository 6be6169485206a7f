//! The generation pipeline's promises: fresh committed output, deterministic bytes, and clear errors for
//! stale files, corrupted specs, wrong digests and specs progenitor cannot handle.

#![allow(clippy::unwrap_used)] // test helpers fail loudly on broken fixtures

use std::path::{Path, PathBuf};

use xtask::codegen;
use xtask::error::Error;
use xtask::manifest::SpecEntry;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn read_fixture(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

/// rust-analyzer's pattern: the committed generated files must be what the specs produce today.
#[test]
fn committed_generated_code_is_fresh_and_deterministic() {
    let root = xtask::root();
    let manifest = xtask::manifest(&root).unwrap();
    let first = match codegen::render_all(&root, &manifest) {
        Ok(files) => files,
        Err(e @ Error::NotFetched { .. }) => panic!("{e}"),
        Err(e) => panic!("codegen failed: {e}"),
    };
    let stale = codegen::stale_files(&root, &first);
    let diffs: String = stale.iter().map(|s| s.diff.as_str()).collect();
    assert!(
        stale.is_empty(),
        "generated code is stale; run `cargo xtask codegen` and commit:\n{diffs}"
    );
    let second = codegen::render_all(&root, &manifest).unwrap();
    assert_eq!(first, second, "two codegen runs gave different bytes");
}

#[test]
fn stale_and_stray_files_are_reported_with_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let generated = root.join(codegen::CLIENT_DIR);
    std::fs::create_dir_all(&generated).unwrap();
    std::fs::write(generated.join("a.rs"), "fn old() {}\n").unwrap();
    std::fs::write(generated.join("stray.rs"), "fn stray() {}\n").unwrap();
    let expected = [(generated.join("a.rs"), "fn new() {}\n".to_owned())].into();

    let stale = codegen::stale_files(root, &expected);
    assert_eq!(stale.len(), 2);
    assert!(stale[0].diff.contains("-fn old() {}"), "{}", stale[0].diff);
    assert!(stale[0].diff.contains("+fn new() {}"), "{}", stale[0].diff);
    assert!(stale[1].path.ends_with("stray.rs"));

    assert_eq!(codegen::write_all(root, &expected).unwrap(), 2);
    assert!(codegen::stale_files(root, &expected).is_empty());
    assert!(!generated.join("stray.rs").exists());
}

#[test]
fn a_malformed_spec_names_its_line() {
    let path = fixture("malformed.yaml");
    let err = codegen::correct(
        &read_fixture("malformed.yaml"),
        &path,
        &fixture("empty.overlay.yaml"),
        "malformed.yaml",
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("malformed.yaml: malformed YAML at line 6"),
        "{err}"
    );
}

#[test]
fn a_wrong_digest_names_file_and_both_digests() {
    let entry = SpecEntry {
        module: "eligibility".into(),
        summary: "Eligibility API.".into(),
        file: "hm-eligibility-v1.yml".into(),
        sha256: "0".repeat(64),
        rename: Default::default(),
    };
    let err = entry
        .verify(b"tampered", "/tmp/x/hm-eligibility-v1.yml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("hm-eligibility-v1.yml: sha256 mismatch"),
        "{err}"
    );
    assert!(
        err.contains(&format!("expected {}", "0".repeat(64))),
        "{err}"
    );
    assert!(
        err.contains(&xtask::manifest::sha256_hex(b"tampered")),
        "{err}"
    );
}

#[test]
fn fetch_refuses_a_tampered_or_missing_file() {
    let source = tempfile::tempdir().unwrap();
    let target = tempfile::tempdir().unwrap();
    let manifest = xtask::manifest(&xtask::root()).unwrap();

    // Missing: the error names the path it looked for.
    let err = xtask::fetch::fetch(target.path(), &manifest, Some(source.path()))
        .unwrap_err()
        .to_string();
    assert!(err.contains(&manifest.specs[0].file), "{err}");

    // Tampered: the error names file, pinned and actual digest, and nothing is written.
    std::fs::write(
        source.path().join(&manifest.specs[0].file),
        "openapi: 3.0.3\n",
    )
    .unwrap();
    let err = xtask::fetch::fetch(target.path(), &manifest, Some(source.path()))
        .unwrap_err()
        .to_string();
    assert!(err.contains(&manifest.specs[0].sha256), "{err}");
    assert!(
        err.contains(&xtask::manifest::sha256_hex(b"openapi: 3.0.3\n")),
        "{err}"
    );
    assert!(
        !target
            .path()
            .join(xtask::FETCHED_DIR)
            .join(&manifest.specs[0].file)
            .exists()
    );
}

#[test]
fn two_error_types_are_refused_before_progenitor_panics() {
    let err = codegen::correct(
        &read_fixture("two_error_types.yaml"),
        &fixture("two_error_types.yaml"),
        &fixture("empty.overlay.yaml"),
        "two_error_types.yaml",
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("two_error_types.yaml"), "{err}");
    assert!(err.contains("GET /v1/things/{id}"), "{err}");
    assert!(err.contains("2 different error response types"), "{err}");
    assert!(err.contains("point these responses at one schema"), "{err}");
}

#[test]
fn a_progenitor_panic_becomes_an_error_naming_the_operation() {
    // Bypass validation to reach progenitor's own assertion.
    let value = xtask::yaml::parse(
        &read_fixture("two_error_types.yaml"),
        &fixture("two_error_types.yaml"),
    )
    .unwrap();
    let spec: openapiv3::OpenAPI = serde_json::from_value(value).unwrap();
    let err = xtask::generate::client(&spec, "two_error_types.yaml", &Default::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("two_error_types.yaml"), "{err}");
    assert!(err.contains("in GET /v1/things/{id}"), "{err}");
    assert!(err.contains("panicked"), "{err}");
    assert!(err.contains("overlay"), "{err}");
}

#[test]
fn a_missing_fetch_names_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = xtask::manifest(&xtask::root()).unwrap();
    let err = codegen::corrected_spec(dir.path(), &manifest.specs[0])
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("cargo xtask fetch"), "{err}");
}

/// Runs a fixture through the pipeline with an empty overlay and returns the error.
fn correction_error(name: &str) -> String {
    codegen::correct(
        &read_fixture(name),
        &fixture(name),
        &fixture("empty.overlay.yaml"),
        name,
    )
    .err()
    .unwrap()
    .to_string()
}

#[test]
fn a_swagger_2_file_is_named_as_such() {
    let err = correction_error("swagger2.yaml");
    assert!(
        err.starts_with("swagger2.yaml is a Swagger 2.0 document"),
        "{err}"
    );
    assert!(err.contains("reads OpenAPI 3.0.x"), "{err}");
    assert!(err.contains("convert it to OpenAPI 3.0 first"), "{err}");
    assert!(!err.contains("overlay"), "{err}");
}

#[test]
fn an_asyncapi_file_is_named_as_such() {
    let err = correction_error("asyncapi.yaml");
    assert!(
        err.starts_with("asyncapi.yaml is an AsyncAPI 2.6.0 document"),
        "{err}"
    );
    assert!(err.contains("reads OpenAPI 3.0.x"), "{err}");
    assert!(!err.contains("overlay"), "{err}");
}

#[test]
fn an_openapi_3_1_file_is_named_as_such() {
    let err = correction_error("openapi31.yaml");
    assert!(
        err.starts_with("openapi31.yaml is an OpenAPI 3.1.0 document"),
        "{err}"
    );
    assert!(err.contains("reads OpenAPI 3.0.x"), "{err}");
    assert!(err.contains("convert it to 3.0"), "{err}");
    assert!(!err.contains("overlay"), "{err}");
}
