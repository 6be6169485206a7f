//! Reading YAML documents (specs and overlays) into JSON values, with line numbers in errors.

use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

/// Parses YAML text into a JSON value; `path` only names the file in errors.
pub fn parse(text: &str, path: &Path) -> Result<Value> {
    serde_yaml::from_str::<Value>(text).map_err(|e| Error::Yaml {
        path: path.to_owned(),
        location: e
            .location()
            .map(|l| format!(" at line {} column {}", l.line(), l.column()))
            .unwrap_or_default(),
        message: e.to_string(),
    })
}

/// Reads and parses a YAML file.
pub fn read(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    parse(&text, path)
}
