//! Validates emulator responses against the published OpenAPI specs, so the emulator cannot drift.
//!
//! OpenAPI 3.0 component schemas become one JSON Schema document with `definitions`:
//! `#/components/schemas/X` refs are rewritten to `#/definitions/X` and `nullable: true` widens
//! `type` to include `null`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Value, json};

/// Where `cargo xtask fetch` put a spec file.
pub fn spec_path(file: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../openapi/fetched")
        .join(file);
    if !path.is_file() {
        panic!(
            "spec file {} is missing: run `cargo xtask fetch` first",
            path.display()
        );
    }
    path
}

struct Spec {
    doc: Value,
    schema_root: Value,
}

fn convert(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref")
                && let Some(name) = r.strip_prefix("#/components/schemas/")
            {
                *r = format!("#/definitions/{name}");
            }
            if map.remove("nullable") == Some(Value::Bool(true)) {
                match map.get("type").cloned() {
                    Some(Value::String(t)) => {
                        map.insert("type".into(), json!([t, "null"]));
                    }
                    _ => {
                        // A nullable $ref or composition: allow null beside it.
                        let inner = Value::Object(std::mem::take(map));
                        map.insert("anyOf".into(), json!([inner, {"type": "null"}]));
                    }
                }
            }
            map.remove("example");
            map.remove("examples");
            map.values_mut().for_each(convert);
        }
        Value::Array(items) => items.iter_mut().for_each(convert),
        _ => {}
    }
}

/// Corrections of known defects of the published specs, one reason each (the same ones the
/// project's overlay files make before code generation).
fn correct(file: &str, schemas: &mut Value) {
    if file == "hm-fleet-clearance-v1.yml" {
        // ClearanceUnauthorizedErrors.errors.items refers to `Errors`, itself an array, which
        // would demand `errors: [[...]]`; the API sends `errors: [{title, ...}]`.
        schemas["ClearanceUnauthorizedErrors"]["properties"]["errors"]["items"] =
            json!({"$ref": "#/definitions/Error"});
    }
}

fn load(file: &str) -> Spec {
    let path = spec_path(file);
    let text = std::fs::read_to_string(&path).expect("spec readable");
    let doc: Value = xtask::yaml::parse(&text, &path).expect("spec is YAML");
    let mut schemas = doc["components"]["schemas"].clone();
    convert(&mut schemas);
    correct(file, &mut schemas);
    Spec {
        schema_root: json!({ "definitions": schemas }),
        doc,
    }
}

fn specs() -> &'static Mutex<HashMap<String, &'static Spec>> {
    static SPECS: OnceLock<Mutex<HashMap<String, &'static Spec>>> = OnceLock::new();
    SPECS.get_or_init(Default::default)
}

fn spec(file: &str) -> &'static Spec {
    let mut all = specs().lock().expect("spec cache");
    all.entry(file.to_string())
        .or_insert_with(|| Box::leak(Box::new(load(file))))
}

/// The error schema used when an operation documents no schema for a status (e.g. a 400 for a bad
/// filter, which the spec does not list): the API's own error family.
fn fallback_schema(file: &str) -> &'static str {
    match file {
        "hm-oauth-rest-v1.yml" => "AccessTokensError",
        "hm-eligibility-v1.yml" => "GeneralErrors",
        "hm-fleet-clearance-v1.yml" => "FleetErrors",
        "hm-vehicle-data-api-v1.yml" => "response500",
        "hm-vehicle-static-data-api-v1.yml" => "VehicleStaticDataResponseError",
        other => panic!("no fallback error schema for {other}"),
    }
}

fn validator(
    file: &str,
    template: &str,
    method: &str,
    status: u16,
    has_body: bool,
) -> Option<Arc<jsonschema::Validator>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Arc<jsonschema::Validator>>>>> =
        OnceLock::new();
    let key = format!("{file} {method} {template} {status} {has_body}");
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache.lock().expect("validator cache").get(&key) {
        return found.clone();
    }
    let spec = spec(file);
    let operation = &spec.doc["paths"][template][method.to_ascii_lowercase()];
    assert!(
        operation.is_object(),
        "{method} {template} is not in {file}"
    );
    let response = &operation["responses"][status.to_string()];
    let schema = &response["content"]["application/json"]["schema"];
    let mut schema = if schema.is_object() {
        schema.clone()
    } else if response.is_object() && !has_body {
        return None; // documented without a body, and none was sent
    } else {
        json!({ "$ref": format!("#/components/schemas/{}", fallback_schema(file)) })
    };
    convert(&mut schema);
    let mut root = spec.schema_root.clone();
    root.as_object_mut()
        .expect("object")
        .extend(schema.as_object().expect("schema is an object").clone());
    let validator = Arc::new(jsonschema::validator_for(&root).expect("spec schema compiles"));
    cache
        .lock()
        .expect("validator cache")
        .insert(key, Some(validator.clone()));
    Some(validator)
}

/// Asserts that `body` matches the error schema of `file`'s API family (the schema used for
/// statuses an operation does not document), for answers outside any documented operation.
pub fn assert_error_family(file: &str, body: &Value) {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let validator = cache
        .lock()
        .expect("family cache")
        .entry(file.to_string())
        .or_insert_with(|| {
            let mut root = spec(file).schema_root.clone();
            root["$ref"] = json!(format!("#/definitions/{}", fallback_schema(file)));
            Arc::new(jsonschema::validator_for(&root).expect("spec schema compiles"))
        })
        .clone();
    assert_valid(
        &validator,
        body,
        &format!(
            "error body does not match {file}'s {}",
            fallback_schema(file)
        ),
    );
}

fn assert_valid(validator: &jsonschema::Validator, body: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .take(10)
        .collect();
    assert!(
        errors.is_empty(),
        "{what}:\n{}\nbody: {body:#}",
        errors.join("\n")
    );
}

/// Asserts that `body`, answered with `status` by `method` on `template` (a path of the spec),
/// matches the spec's response schema. An empty body (`Value::Null`) is accepted only where the
/// spec documents the status without one.
pub fn assert_matches(file: &str, template: &str, method: &str, status: u16, body: &Value) {
    let Some(validator) = validator(file, template, method, status, !body.is_null()) else {
        return;
    };
    assert_valid(
        &validator,
        body,
        &format!("{method} {template} -> {status} does not match {file}"),
    );
}
