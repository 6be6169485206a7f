//! The shape of a vehicle data document, for hm-emulator: the 200 response schema of the vehicle data
//! operation and every schema it reaches, after our overlay and normalisation, reduced to the keywords
//! a document generator needs (types, fields, enums, bounds, formats, references).
//!
//! The emulator cannot read the spec at run time (`hm demo` must work without fetched specs), so
//! `cargo xtask codegen` writes this artefact and `--check` keeps it fresh. A keyword the generator
//! would not understand (`oneOf`, `pattern`, ...) stops code generation with the remedy, instead of
//! the emulator silently serving documents the spec does not allow.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Where the artefact goes, relative to the workspace root.
pub const SHAPE_PATH: &str = "crates/hm-emulator/src/generated/vehicle_data_shape.json";
/// The folder holding only generated files of the emulator.
pub const SHAPE_DIR: &str = "crates/hm-emulator/src/generated";
/// The manifest module whose spec the shape comes from.
pub const MODULE: &str = "vehicle_data";
/// The operation (named by our overlay) whose 200 response is the document.
pub const OPERATION_ID: &str = "get_vehicle_data";

/// Keywords the emulator's generator reads; they are kept.
const KEPT: &[&str] = &[
    "type",
    "properties",
    "required",
    "items",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "format",
    "$ref",
];
/// Keywords that do not constrain values (or that every generated document satisfies anyway:
/// properties always carry a timestamp, so `minProperties: 1` holds); they are dropped.
const DROPPED: &[&str] = &[
    "description",
    "example",
    "examples",
    "deprecated",
    "title",
    "minProperties",
];
/// Values of `type` and `format` the generator produces.
const TYPES: &[&str] = &["object", "array", "string", "integer", "number", "boolean"];
const FORMATS: &[&str] = &["date-time"];

const REF_PREFIX: &str = "#/components/schemas/";

/// Whether the workspace at `root` has the emulator (a trimmed copy of the workspace may not).
pub fn wanted(root: &Path) -> bool {
    root.join("crates/hm-emulator/Cargo.toml").is_file()
}

/// The artefact's text for the corrected vehicle data spec `doc` (`file` names it in errors).
pub fn render(doc: &Value, file: &str) -> Result<String> {
    let fail = |message: String| Error::Spec {
        file: file.to_owned(),
        message: format!(
            "{message}; the emulator's vehicle data generator (crates/hm-emulator/src/documents/shape.rs) \
             and xtask/src/emulator_shape.rs must learn it first"
        ),
    };
    let root = response_ref(doc).ok_or_else(|| {
        fail(format!(
            "no operation {OPERATION_ID} with a 200 application/json response that refers to a component schema"
        ))
    })?;
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .ok_or_else(|| fail("no components.schemas".into()))?;

    let mut trimmed = BTreeMap::new();
    let mut todo = vec![root.clone()];
    while let Some(name) = todo.pop() {
        if trimmed.contains_key(&name) {
            continue;
        }
        let schema = schemas
            .get(&name)
            .ok_or_else(|| fail(format!("schema `{name}` is referred to but not defined")))?;
        let mut refs = BTreeSet::new();
        let schema = trim(schema, &name, &mut refs).map_err(fail)?;
        todo.extend(refs);
        trimmed.insert(name, schema);
    }

    let mut text = format!(
        "{{\n  \"@generated\": \"by `cargo xtask codegen` from {file}, corrected by openapi/overlays/{MODULE}.overlay.yaml; do not edit\",\n  \"root\": {},\n  \"schemas\": {{\n",
        Value::String(root)
    );
    let last = trimmed.len().saturating_sub(1);
    for (i, (name, schema)) in trimmed.iter().enumerate() {
        let comma = if i == last { "" } else { "," };
        text.push_str(&format!(
            "    {}: {schema}{comma}\n",
            Value::String(name.clone())
        ));
    }
    text.push_str("  }\n}\n");
    Ok(text)
}

/// The component schema named by the 200 JSON response of [`OPERATION_ID`].
fn response_ref(doc: &Value) -> Option<String> {
    let operation = doc
        .get("paths")?
        .as_object()?
        .values()
        .filter_map(Value::as_object)
        .flat_map(|item| item.values())
        .find(|op| op.get("operationId").and_then(Value::as_str) == Some(OPERATION_ID))?;
    let reference = operation
        .pointer("/responses/200/content/application~1json/schema/$ref")?
        .as_str()?;
    reference.strip_prefix(REF_PREFIX).map(str::to_owned)
}

/// `schema` with only [`KEPT`] keywords, keys in sorted order (whatever serde_json's map
/// ordering), references shortened to the schema name and collected in `refs`. `Err` names the
/// first keyword or value the generator would not understand, with where it is.
fn trim(schema: &Value, at: &str, refs: &mut BTreeSet<String>) -> Result<Value, String> {
    let map = schema
        .as_object()
        .ok_or_else(|| format!("`{at}` is not a schema object"))?;
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    let mut out = Map::new();
    for key in keys {
        let value = &map[key];
        let here = format!("{at}.{key}");
        match key.as_str() {
            "$ref" => {
                let name = value
                    .as_str()
                    .and_then(|r| r.strip_prefix(REF_PREFIX))
                    .ok_or_else(|| format!("`{here}` is not a local component reference"))?;
                refs.insert(name.to_owned());
                out.insert(key.clone(), Value::String(name.to_owned()));
            }
            "properties" => {
                let fields = value
                    .as_object()
                    .ok_or_else(|| format!("`{here}` is not an object"))?;
                let mut names: Vec<&String> = fields.keys().collect();
                names.sort();
                let mut kept = Map::new();
                for name in names {
                    let field = trim(&fields[name], &format!("{here}.{name}"), refs)?;
                    kept.insert(name.clone(), field);
                }
                out.insert(key.clone(), Value::Object(kept));
            }
            "items" => {
                out.insert(key.clone(), trim(value, &here, refs)?);
            }
            "type" if !value.as_str().is_some_and(|t| TYPES.contains(&t)) => {
                return Err(format!("`{here}` is {value}, not one of {TYPES:?}"));
            }
            "format" if !value.as_str().is_some_and(|f| FORMATS.contains(&f)) => {
                return Err(format!("`{here}` is {value}, not one of {FORMATS:?}"));
            }
            "enum"
                if !value.as_array().is_some_and(|values| {
                    !values.is_empty() && values.iter().all(Value::is_string)
                }) =>
            {
                return Err(format!("`{here}` is not a non-empty list of strings"));
            }
            k if KEPT.contains(&k) => {
                out.insert(key.clone(), value.clone());
            }
            k if DROPPED.contains(&k) => {}
            other => return Err(format!("`{at}` uses the keyword `{other}`")),
        }
    }
    if !out.contains_key("$ref") && !out.contains_key("type") {
        // The capabilities list their properties without `type: object`; they are objects.
        if !out.contains_key("properties") {
            return Err(format!(
                "`{at}` has neither `type`, `properties` nor `$ref`"
            ));
        }
        out.insert("type".to_owned(), Value::String("object".to_owned()));
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(response: Value, schemas: Value) -> Value {
        json!({
            "paths": {"/v1/x/{vin}": {"get": {
                "operationId": OPERATION_ID,
                "responses": {"200": {"content": {"application/json": {"schema": response}}}}
            }}},
            "components": {"schemas": schemas}
        })
    }

    #[test]
    fn keeps_what_the_generator_reads_and_follows_references() {
        let doc = spec(
            json!({"$ref": "#/components/schemas/response"}),
            json!({
                "response": {"description": "d", "properties": {
                    "b": {"$ref": "#/components/schemas/unit"},
                    "a": {"type": "string", "example": "x", "enum": ["on", "off"]}
                }},
                "unit": {"type": "number", "minimum": 0, "maximum": 1, "deprecated": true},
                "unused": {"type": "string"}
            }),
        );
        let text = render(&doc, "v.yml").unwrap();
        let shape: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(shape["root"], "response");
        assert_eq!(
            shape["schemas"],
            json!({
                "response": {"type": "object", "properties": {
                    "a": {"type": "string", "enum": ["on", "off"]},
                    "b": {"$ref": "unit"}
                }},
                "unit": {"type": "number", "minimum": 0, "maximum": 1}
            })
        );
        // Sorted keys, one schema per line: readable diffs, identical bytes on every machine.
        assert!(text.find("\"a\"").unwrap() < text.find("\"b\"").unwrap());
        assert_eq!(text.lines().count(), 8, "{text}");
    }

    #[test]
    fn refuses_keywords_the_generator_does_not_know() {
        for (schema, named) in [
            (json!({"oneOf": [{"type": "string"}]}), "oneOf"),
            (json!({"type": "string", "pattern": "^a$"}), "pattern"),
            (json!({"type": "string", "format": "uuid"}), "format"),
            (json!({"type": "null"}), "type"),
            (json!({"type": "string", "enum": [1, 2]}), "enum"),
            (json!({"description": "no type"}), "neither"),
        ] {
            let doc = spec(
                json!({"$ref": "#/components/schemas/response"}),
                json!({"response": {"type": "object", "properties": {"p": schema}}}),
            );
            let err = render(&doc, "v.yml").unwrap_err().to_string();
            assert!(err.contains(named), "{named}: {err}");
            assert!(err.contains("response.properties.p"), "{err}");
            assert!(err.contains("must learn it first"), "{err}");
        }
    }

    #[test]
    fn names_a_missing_operation_or_schema() {
        let no_op = json!({"paths": {}, "components": {"schemas": {}}});
        assert!(
            render(&no_op, "v.yml")
                .unwrap_err()
                .to_string()
                .contains(OPERATION_ID)
        );
        let dangling = spec(json!({"$ref": "#/components/schemas/gone"}), json!({}));
        assert!(
            render(&dangling, "v.yml")
                .unwrap_err()
                .to_string()
                .contains("`gone` is referred to but not defined")
        );
    }
}
