//! A small applier of OpenAPI Overlay 1.0 documents: each action selects nodes with a JSONPath `target`
//! and either merges `update` into them or removes them.
//!
//! Stricter than the Overlay specification on purpose: an action must carry a one-line reason in
//! `description`, and an action that matches nothing is an error, so that a change upstream cannot
//! silently disable one of our corrections.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use serde_json_path::JsonPath;

use crate::error::{Error, Result};

/// A parsed overlay document.
#[derive(Debug, Deserialize)]
pub struct Overlay {
    /// Overlay format version; we read 1.0.x.
    pub overlay: String,
    /// The actions, applied in order.
    pub actions: Vec<Action>,
    #[serde(skip)]
    path: PathBuf,
}

/// One overlay action.
#[derive(Debug, Deserialize)]
pub struct Action {
    /// JSONPath (RFC 9535) selecting the nodes to change.
    pub target: String,
    /// Why the published spec needs this correction.
    #[serde(default)]
    pub description: String,
    /// Value deep-merged into each selected node.
    pub update: Option<Value>,
    /// Whether to remove the selected nodes.
    #[serde(default)]
    pub remove: bool,
}

impl Overlay {
    /// Reads an overlay file.
    pub fn load(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Err(Error::Overlay {
                overlay: path.to_owned(),
                message: format!(
                    "does not exist; every [[spec]] of openapi/specs.toml has an overlay file (even one \
                     without corrections): create it, e.g.\n\n{}",
                    skeleton(path)
                ),
            });
        }
        let value = crate::yaml::read(path)?;
        let mut overlay: Overlay =
            serde_path_to_error::deserialize(value).map_err(|e| Error::Overlay {
                overlay: path.to_owned(),
                message: format!(
                    "not an Overlay 1.0 document at `{}`: {}",
                    e.path(),
                    e.inner()
                ),
            })?;
        overlay.path = path.to_owned();
        if !overlay.overlay.starts_with("1.0") {
            return Err(overlay.error(format!(
                "overlay version {} is not supported; write `overlay: 1.0.0`",
                overlay.overlay
            )));
        }
        Ok(overlay)
    }

    fn error(&self, message: String) -> Error {
        Error::Overlay {
            overlay: self.path.clone(),
            message,
        }
    }

    /// Applies every action to `doc`, in order.
    pub fn apply(&self, doc: &mut Value) -> Result<()> {
        for (index, action) in self.actions.iter().enumerate() {
            let name = format!("action {} (target `{}`)", index + 1, action.target);
            if action.description.trim().is_empty() {
                return Err(self.error(format!(
                    "{name} has no `description`: every correction must say why it is needed"
                )));
            }
            if action.update.is_none() && !action.remove {
                return Err(self.error(format!("{name} has neither `update` nor `remove: true`")));
            }
            let path = JsonPath::parse(&action.target)
                .map_err(|e| self.error(format!("{name}: invalid JSONPath: {e}")))?;
            let pointers: Vec<String> = path
                .query_located(doc)
                .locations()
                .map(|location| location.to_json_pointer())
                .collect();
            if pointers.is_empty() {
                return Err(self.error(format!(
                    "{name} matches nothing in the spec; has the upstream file changed? \
                     Check the target against the fetched spec and update or drop the action"
                )));
            }
            if action.remove && pointers.iter().any(String::is_empty) {
                return Err(self.error(format!(
                    "{name} removes the whole document, which an overlay cannot do; target the members \
                     to remove instead"
                )));
            }
            if action.remove {
                // Remove from the back so that earlier array indices stay valid.
                for pointer in pointers.iter().rev() {
                    remove(doc, pointer);
                }
            } else if let Some(update) = &action.update {
                for pointer in &pointers {
                    if let Some(node) = doc.pointer_mut(pointer) {
                        merge(node, update);
                    }
                }
            }
        }
        Ok(())
    }
}

/// The smallest valid overlay for the spec `path` is named after.
fn skeleton(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().replace(".overlay.yaml", ""))
        .unwrap_or_default();
    format!(
        "overlay: 1.0.0\ninfo:\n  title: Corrections to the {name} spec\n  version: 1.0.0\nactions: []\n"
    )
}

/// Overlay merge semantics: objects merge key by key, arrays are appended to, anything else is replaced.
fn merge(target: &mut Value, update: &Value) {
    match (target, update) {
        (Value::Object(target), Value::Object(update)) => {
            for (key, value) in update {
                match target.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (Value::Array(target), Value::Array(update)) => target.extend(update.iter().cloned()),
        (Value::Array(target), update) => target.push(update.clone()),
        (target, update) => *target = update.clone(),
    }
}

fn remove(doc: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let key = last.replace("~1", "/").replace("~0", "~");
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.remove(&key);
        }
        Some(Value::Array(items)) => {
            if let Ok(index) = key.parse::<usize>()
                && index < items.len()
            {
                items.remove(index);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn overlay(actions: Value) -> Overlay {
        let mut overlay: Overlay =
            serde_json::from_value(json!({"overlay": "1.0.0", "actions": actions})).unwrap();
        overlay.path = PathBuf::from("test.overlay.yaml");
        overlay
    }

    #[test]
    fn update_merges_objects_and_remove_deletes_nodes() {
        let mut doc =
            json!({"paths": {"/a": {"get": {"summary": "A"}, "post": {}}}, "tags": ["x"]});
        overlay(json!([
            {"target": "$.paths['/a'].get", "description": "name it", "update": {"operationId": "get_a"}},
            {"target": "$.paths['/a'].post", "description": "not offered", "remove": true},
            {"target": "$.tags", "description": "more tags", "update": ["y"]},
        ]))
        .apply(&mut doc)
        .unwrap();
        assert_eq!(
            doc,
            json!({"paths": {"/a": {"get": {"summary": "A", "operationId": "get_a"}}}, "tags": ["x", "y"]})
        );
    }

    #[test]
    fn removes_several_array_items() {
        let mut doc = json!({"p": [{"in": "header"}, {"in": "path"}, {"in": "header"}]});
        overlay(json!([{"target": "$.p[?@.in == 'header']", "description": "r", "remove": true}]))
            .apply(&mut doc)
            .unwrap();
        assert_eq!(doc, json!({"p": [{"in": "path"}]}));
    }

    #[test]
    fn an_action_without_reason_or_match_is_refused() {
        let mut doc = json!({"a": 1});
        let err = overlay(json!([{"target": "$.a", "update": 2}]))
            .apply(&mut doc)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no `description`"), "{err}");
        let err = overlay(json!([{"target": "$.b", "description": "r", "update": 2}]))
            .apply(&mut doc)
            .unwrap_err()
            .to_string();
        assert!(err.contains("matches nothing"), "{err}");
    }
}
