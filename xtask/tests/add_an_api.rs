//! Adding an API is one `[[spec]]` entry in `openapi/specs.toml` (+ its overlay), adding a message schema
//! one `[[schema]]` entry: in a copy of the workspace (hm-auth, hm-api, hm-api-httpmock, hm-stream) a small
//! fixture spec and a fixture schema are added, codegen runs, and a probe crate compiles that uses the
//! new API module, its `HighMobility` accessor, its open enum and its typed mocks, and the new schema's
//! message types (an open enum, a reference to the Streaming Schema's root type).
//!
//! Cost: the copy sits at a fixed place under the target directory and is synchronised (a file is
//! rewritten only when its contents differ), and cargo builds it into the workspace's own target
//! directory. Registry dependencies are therefore shared with the workspace's builds, and a second run
//! rebuilds nothing; only the first run in a fresh target directory compiles the three crates (and the
//! dependency feature combinations the workspace has not built yet).

#![allow(clippy::unwrap_used)] // test helpers fail loudly on a broken copy

use std::path::{Path, PathBuf};
use std::process::Command;

use xtask::codegen;

const MODULE: &str = "things";
const SCHEMA_MODULE: &str = "gadgets";

fn sync(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        let mut wanted = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            wanted.insert(entry.file_name());
            sync(&entry.path(), &to.join(entry.file_name()));
        }
        for entry in std::fs::read_dir(to).unwrap() {
            let entry = entry.unwrap();
            if !wanted.contains(&entry.file_name()) {
                remove(&entry.path());
            }
        }
    } else {
        write_if_changed(to, &std::fs::read(from).unwrap());
    }
}

fn remove(path: &Path) {
    if path.is_dir() {
        std::fs::remove_dir_all(path).unwrap();
    } else {
        std::fs::remove_file(path).unwrap();
    }
}

/// Keeps the modification time of unchanged files, so that cargo sees nothing to rebuild.
fn write_if_changed(path: &Path, contents: &[u8]) {
    if std::fs::read(path).ok().as_deref() != Some(contents) {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, contents).unwrap();
    }
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// The workspace copy: four crates, the openapi folder, and a root manifest with only those members.
fn copy_workspace(root: &Path, copy: &Path) {
    for dir in [
        "crates/hm-auth",
        "crates/hm-api",
        "crates/hm-api-httpmock",
        "crates/hm-stream",
        "openapi",
    ] {
        sync(&root.join(dir), &copy.join(dir));
    }
    sync(&root.join("Cargo.lock"), &copy.join("Cargo.lock"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let manifest = manifest.replace(
        r#"members = ["crates/*", "xtask"]"#,
        r#"members = ["crates/*"]"#,
    );
    assert!(
        manifest.contains(r#"members = ["crates/*"]"#),
        "root Cargo.toml changed shape"
    );
    write_if_changed(&copy.join("Cargo.toml"), manifest.as_bytes());
}

/// The two entries that add the fixture API and the fixture schema, with their files where
/// `cargo xtask fetch` would put them.
fn add_fixture_spec(copy: &Path) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let spec = std::fs::read(fixtures.join("things.yaml")).unwrap();
    write_if_changed(&copy.join("openapi/fetched/things.yaml"), &spec);
    write_if_changed(
        &copy.join("openapi/overlays/things.overlay.yaml"),
        &std::fs::read(fixtures.join("things.overlay.yaml")).unwrap(),
    );
    let mut specs = std::fs::read_to_string(copy.join("openapi/specs.toml")).unwrap();
    specs.push_str(&format!(
        "\n[[spec]]\nmodule = \"{MODULE}\"\nsummary = \"Things API: a fixture.\"\nfile = \"things.yaml\"\nsha256 = \"{}\"\n",
        xtask::manifest::sha256_hex(&spec)
    ));
    let schema = std::fs::read(fixtures.join("gadgets.schema.json")).unwrap();
    write_if_changed(&copy.join("openapi/fetched/gadgets.schema.json"), &schema);
    specs.push_str(&format!(
        "\n[[schema]]\nmodule = \"{SCHEMA_MODULE}\"\nsummary = \"Gadgets: a fixture.\"\n\
         file = \"gadgets.schema.json\"\nsha256 = \"{}\"\nroot = \"Gadgets\"\n",
        xtask::manifest::sha256_hex(&schema)
    ));
    write_if_changed(&copy.join("openapi/specs.toml"), specs.as_bytes());
}

/// A crate that uses everything the new entry should have produced.
fn add_probe(copy: &Path) {
    let probe = copy.join("crates/probe");
    write_if_changed(
        &probe.join("Cargo.toml"),
        format!(
            "[package]\nname = \"probe\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\n\
             hm-api = {{ path = \"../hm-api\", default-features = false, features = [\"{MODULE}\"] }}\n\
             hm-api-httpmock = {{ path = \"../hm-api-httpmock\", default-features = false, features = [\"{MODULE}\"] }}\n\
             hm-stream = {{ path = \"../hm-stream\" }}\n"
        )
        .as_bytes(),
    );
    write_if_changed(
        &probe.join("src/lib.rs"),
        b"//! Uses what adding the `things` spec generated.\n\
          use hm_api::things::types::{Thing, ThingColour};\n\
          pub use hm_api_httpmock::things::MockServerExt;\n\
          pub fn client(hm: &hm_api::HighMobility) -> &hm_api::things::Client { hm.things() }\n\
          pub fn colours() -> &'static [ThingColour] { ThingColour::KNOWN }\n\
          pub fn labels(thing: &Thing) -> &std::collections::BTreeMap<String, String> { &thing.labels }\n\
          use hm_stream::generated::gadgets::{Gadget, Gadgets, PropertyColourData};\n\
          pub fn gadget_colours() -> &'static [PropertyColourData] { PropertyColourData::KNOWN }\n\
          pub fn vehicle(g: &Gadgets) -> Option<&hm_stream::auto_api::Capabilities> { g.vehicle.as_ref() }\n\
          pub fn colour(g: &Gadget) -> Option<&PropertyColourData> { g.colour.first()?.data.as_ref() }\n",
    );
}

#[test]
fn one_manifest_entry_adds_an_api_or_a_schema_that_compiles() {
    let root = xtask::root();
    let copy = target_dir(&root).join("add-an-api-workspace");
    copy_workspace(&root, &copy);
    add_fixture_spec(&copy);
    add_probe(&copy);

    let manifest = xtask::manifest(&copy).unwrap();
    let files = codegen::render_all(&copy, &manifest).unwrap_or_else(|e| panic!("{e}"));
    codegen::write_all(&copy, &files).unwrap();

    // The wiring names the new API everywhere it must.
    let read = |path: &str| std::fs::read_to_string(copy.join(path)).unwrap();
    assert!(read("crates/hm-api/src/generated/mod.rs").contains("pub mod things;"));
    assert!(read("crates/hm-api/src/generated/mod.rs").contains("client_hooks!(things)"));
    assert!(read("crates/hm-api-httpmock/src/generated/mod.rs").contains("pub mod things;"));
    assert!(read("crates/hm-api/Cargo.toml").contains("\nthings = []\n"));
    assert!(read("crates/hm-api-httpmock/Cargo.toml").contains("\nthings = [\"hm-api/things\"]\n"));
    assert!(read("crates/hm-stream/src/generated/mod.rs").contains("pub mod gadgets;"));
    // The existing APIs' code does not depend on where the workspace is (no absolute paths).
    for module in [
        "oauth",
        "eligibility",
        "fleet_clearance",
        "vehicle_data",
        "vehicle_static_data",
    ] {
        let path = format!("{}/{module}.rs", codegen::CLIENT_DIR);
        assert_eq!(
            read(&path),
            std::fs::read_to_string(root.join(&path)).unwrap(),
            "{path} differs in a copy of the workspace"
        );
    }

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["build", "--offline", "--quiet", "-p", "probe"])
        .current_dir(&copy)
        .env("CARGO_TARGET_DIR", target_dir(&root))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the workspace with the added API and schema does not compile:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
