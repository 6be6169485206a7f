//! hm-api and hm-api-httpmock have one cargo feature per API. The workspace entries enable none
//! (a member cannot turn off what `[workspace.dependencies]` turns on), and every member names the
//! APIs it uses, so that `cargo build -p X` compiles only X's APIs.

#![allow(clippy::unwrap_used)] // test helpers fail loudly on a broken manifest

use std::process::Command;

use toml::Value;

const GENERATED: [&str; 2] = ["hm-api", "hm-api-httpmock"];

fn manifest(path: &std::path::Path) -> Value {
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn workspace_entries_enable_no_api_and_members_name_theirs() {
    let root = xtask::root();
    let workspace = manifest(&root.join("Cargo.toml"));
    for name in GENERATED {
        let entry = &workspace["workspace"]["dependencies"][name];
        assert_eq!(
            entry.get("default-features").and_then(Value::as_bool),
            Some(false),
            "[workspace.dependencies] {name} must have default-features = false"
        );
    }

    let mut members: Vec<_> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("Cargo.toml"))
        .filter(|p| p.is_file())
        .collect();
    members.push(root.join("xtask/Cargo.toml"));
    let mut uses = 0;
    for path in &members {
        let member = manifest(path);
        // A crate whose own features forward to hm-api's (hm-api-httpmock) names them there.
        let forwards = member
            .get("features")
            .and_then(Value::as_table)
            .is_some_and(|features| {
                features
                    .values()
                    .filter_map(Value::as_array)
                    .flatten()
                    .filter_map(Value::as_str)
                    .any(|s| s.starts_with("hm-api/"))
            });
        for table in ["dependencies", "dev-dependencies", "build-dependencies"] {
            for name in GENERATED {
                let Some(dep) = member.get(table).and_then(|t| t.get(name)) else {
                    continue;
                };
                uses += 1;
                let place = format!("{} [{table}] {name}", path.display());
                assert_eq!(
                    dep.get("workspace").and_then(Value::as_bool),
                    Some(true),
                    "{place}: use `workspace = true`, not a path"
                );
                let features = dep.get("features").and_then(Value::as_array);
                assert!(
                    features.is_some_and(|f| !f.is_empty()) || forwards,
                    "{place}: name the APIs used, e.g. features = [\"fleet-clearance\"]"
                );
            }
        }
    }
    assert!(uses >= 6, "found only {uses} uses of the generated crates");
}

/// What cargo resolves: hm-webhooks, which names only the clearance API, gets only that one.
#[test]
fn a_member_alone_compiles_only_the_apis_it_names() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-p",
            "hm-webhooks",
            "-e",
            "features,normal",
            "-i",
            "hm-api",
        ])
        .current_dir(xtask::root())
        .output()
        .unwrap();
    let tree = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        tree.contains("hm-api feature \"fleet-clearance\""),
        "{tree}"
    );
    for other in ["default", "vehicle-data", "oauth", "eligibility"] {
        assert!(
            !tree.contains(&format!("hm-api feature \"{other}\"")),
            "hm-webhooks alone enables hm-api's {other}:\n{tree}"
        );
    }
}
