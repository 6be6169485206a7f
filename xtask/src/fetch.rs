//! `cargo xtask fetch`: put the pinned files (specs, schemas, fixtures) into `openapi/fetched/`, verified
//! by digest.

use std::path::Path;

use crate::error::{Error, Result};
use crate::manifest::Manifest;

/// Environment variable naming a local folder that holds the published files (CI sets it).
pub const SOURCE_DIR_ENV: &str = "HM_OPENAPI_DIR";

/// Fetches every pinned file of the manifest from `from` (a folder) or else from its pinned URL.
pub fn fetch(root: &Path, manifest: &Manifest, from: Option<&Path>) -> Result<()> {
    for pinned in manifest.pinned_files() {
        let target = pinned.fetched_path(root);
        if let Ok(existing) = std::fs::read(&target)
            && pinned
                .verify(&existing, &target.display().to_string())
                .is_ok()
        {
            println!("up to date   {}", pinned.file);
            continue;
        }
        let (bytes, origin) = match from {
            Some(dir) => {
                let path = dir.join(&pinned.file);
                let bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
                (bytes, path.display().to_string())
            }
            None => {
                let url = manifest.url(&pinned.file);
                (download(&url)?, url)
            }
        };
        pinned.verify(&bytes, &origin)?;
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
        }
        std::fs::write(&target, &bytes).map_err(|e| Error::io("write", &target, e))?;
        println!("fetched      {} from {origin}", pinned.file);
    }
    Ok(())
}

fn download(url: &str) -> Result<Vec<u8>> {
    let failed = |message: String| Error::Download {
        url: url.to_owned(),
        message,
    };
    let response = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .and_then(|client| client.get(url).send())
        .map_err(|e| failed(e.to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("HTTP {}", response.status())));
    }
    let bytes = response.bytes().map_err(|e| failed(e.to_string()))?;
    Ok(bytes.to_vec())
}
