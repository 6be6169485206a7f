//! The spec is the single source of truth: no hand-written source file under `crates/*/src` spells the
//! brands or clearance statuses the spec lists. Take them from the generated types (`KNOWN`, `is_known`,
//! `as_str`). Tests are not checked: their JSON bodies spell values as the wire carries them.

#![allow(clippy::unwrap_used)] // test helpers fail loudly

use std::path::{Path, PathBuf};

use hm_api::eligibility::types::Brand as EligibilityBrand;
use hm_api::fleet_clearance::types::{Brand, ClearanceStatus};
use hm_api::vehicle_data::types::VehicleDataBrand;

/// Files that still hold a copied list, each to be switched to the generated types; remove an entry
/// when its file no longer needs it (the test fails while a listed file is already clean).
/// Every hand-written file is clean; add a file here only while it is being switched.
const PENDING: &[&str] = &[];

/// How many of a list's values a file may spell before it counts as a copy of the list.
const THRESHOLD: usize = 5;

fn hand_written_sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path
                .file_name()
                .is_some_and(|n| n != "generated" && n != "target")
            {
                hand_written_sources(&path, found);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The values of `known` that `text` spells as string literals.
fn spelled<'a>(text: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut values: Vec<&str> = known
        .into_iter()
        .filter(|value| text.contains(&format!("\"{value}\"")))
        .collect();
    values.sort_unstable();
    values.dedup();
    values
}

#[test]
fn no_hand_written_file_spells_a_brand_or_status_list() {
    let root = xtask::root();
    let mut files = Vec::new();
    for krate in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        let src = krate.path().join("src");
        if src.is_dir() {
            hand_written_sources(&src, &mut files);
        }
    }
    files.sort();
    assert!(
        files.len() > 20,
        "the walk found only {} files",
        files.len()
    );

    let brands: Vec<&str> = Brand::KNOWN
        .iter()
        .map(Brand::as_str)
        .chain(EligibilityBrand::KNOWN.iter().map(EligibilityBrand::as_str))
        .chain(VehicleDataBrand::KNOWN.iter().map(VehicleDataBrand::as_str))
        .filter(|brand| *brand != "sandbox" && *brand != "unknown")
        .collect();
    let statuses: Vec<&str> = ClearanceStatus::KNOWN
        .iter()
        .map(ClearanceStatus::as_str)
        .collect();

    let mut copies = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let name = file.strip_prefix(&root).unwrap().display().to_string();
        for (what, values) in [
            ("brands", spelled(&text, brands.iter().copied())),
            ("statuses", spelled(&text, statuses.iter().copied())),
        ] {
            if values.len() >= THRESHOLD {
                copies.push((
                    name.clone(),
                    format!(
                        "{name} spells {} {what}: {}",
                        values.len(),
                        values.join(", ")
                    ),
                ));
            }
        }
    }
    let unexpected: Vec<&String> = copies
        .iter()
        .filter(|(name, _)| !PENDING.contains(&name.as_str()))
        .map(|(_, message)| message)
        .collect();
    assert!(
        unexpected.is_empty(),
        "hand-written copies of lists the spec owns; use the generated types' KNOWN/is_known/as_str:\n{}",
        unexpected
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let clean: Vec<&&str> = PENDING
        .iter()
        .filter(|pending| !copies.iter().any(|(name, _)| name == *pending))
        .collect();
    assert!(
        clean.is_empty(),
        "remove from PENDING, these files are clean now: {clean:?}"
    );
}
