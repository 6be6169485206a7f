//! Checks the corrected spec for what progenitor 0.15 would panic on, so that the user gets an error that
//! names the operation and the remedy instead of a backtrace.

use std::collections::{BTreeMap, BTreeSet};

use openapiv3::{OpenAPI, Operation, ReferenceOr, Response, StatusCode};
use serde_json::Value;

use crate::error::{Error, Result};

/// What the pipeline reads, quoted in errors about other documents.
const ACCEPTED: &str = "the pipeline reads OpenAPI 3.0.x documents (progenitor 0.15)";

/// Checks what kind of document `doc` is before anything else reads it, so that a Swagger 2.0, AsyncAPI
/// or OpenAPI 3.1 file gets an error that names it (rather than one about the overlay or serde).
pub fn check_version(doc: &Value, file: &str) -> Result<()> {
    let field = |name: &str| {
        doc.get(name).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    let problem = if let Some(version) = field("swagger") {
        format!(
            "is a Swagger {version} document; {ACCEPTED}: convert it to OpenAPI 3.0 first (e.g. with \
             swagger2openapi), pin the converted file and correct that one"
        )
    } else if let Some(version) = field("asyncapi") {
        format!(
            "is an AsyncAPI {version} document (message-driven APIs such as MQTT); {ACCEPTED}, \
             which describe HTTP APIs: it cannot generate a client from it"
        )
    } else if let Some(version) = field("openapi") {
        // `3.0` without patch number (or the YAML number 3.0) still names OpenAPI 3.0; `correct`
        // writes it out in full for openapiv3.
        if version.starts_with("3.0.") || version == "3.0" {
            return Ok(());
        }
        format!(
            "is an OpenAPI {version} document; {ACCEPTED}: {}",
            if version.starts_with("3.") {
                "3.1 changed the schema dialect (JSON Schema 2020-12), which openapiv3 cannot read; \
                 convert it to 3.0 or pin an earlier 3.0 version of the spec"
            } else {
                "pin a 3.0.x version of the spec"
            }
        )
    } else if doc.is_object() {
        format!(
            "has no `openapi`, `swagger` or `asyncapi` version field, so it is not an API description; \
             {ACCEPTED}: check that the manifest names the right file"
        )
    } else {
        format!("is not a YAML mapping; {ACCEPTED}: check that the manifest names the right file")
    };
    Err(Error::UnsupportedDocument {
        file: file.to_owned(),
        problem,
    })
}

/// Writes a version accepted by [`check_version`] as openapiv3 reads it: `3.0` (string or number)
/// becomes `"3.0.0"`.
pub fn full_version(doc: &mut Value) {
    if let Some(version) = doc.get_mut("openapi")
        && !matches!(version, Value::String(v) if v.starts_with("3.0."))
    {
        *version = Value::String("3.0.0".to_owned());
    }
}

/// Validates every operation of `spec`; `file` and `overlay` only name things in errors.
pub fn validate(spec: &OpenAPI, file: &str, overlay: &str) -> Result<()> {
    let mut seen = BTreeSet::new();
    for (path, method, operation) in operations(spec) {
        let fail = |message: String| Error::Generate {
            file: file.to_owned(),
            operation: format!(" in {} {path}", method.to_uppercase()),
            message,
        };
        let Some(id) = operation.operation_id.as_deref() else {
            return Err(fail(format!(
                "it has no operationId; add one (a snake_case Rust name) in {overlay}"
            )));
        };
        if !seen.insert(id.to_owned()) {
            return Err(fail(format!(
                "operationId `{id}` is used twice; rename one in {overlay}"
            )));
        }
        for (kind, range) in [("success", 2..3), ("error", 4..6)] {
            let types = response_types(spec, operation, range);
            if types.len() > 1 {
                let list = types
                    .iter()
                    .map(|(ty, codes)| format!("{} -> {ty}", codes.join(", ")))
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(fail(format!(
                    "operation `{id}` has {} different {kind} response types ({list}); progenitor 0.15 \
                     needs one per operation: in {overlay}, point these responses at one schema or \
                     remove the ones without a body",
                    types.len()
                )));
            }
        }
        if let Some(ReferenceOr::Item(body)) = &operation.request_body
            && body.content.len() > 1
        {
            return Err(fail(format!(
                "operation `{id}` accepts {} request media types; keep only application/json in {overlay}",
                body.content.len()
            )));
        }
    }
    Ok(())
}

/// Every (path, method, operation) of the spec.
pub fn operations(spec: &OpenAPI) -> impl Iterator<Item = (&str, &str, &Operation)> {
    spec.paths.paths.iter().flat_map(|(path, item)| {
        item.as_item().into_iter().flat_map(move |item| {
            item.iter()
                .map(move |(method, op)| (path.as_str(), method, op))
        })
    })
}

/// The distinct response body types among statuses whose first digit is in `range`, each with its codes.
fn response_types(
    spec: &OpenAPI,
    operation: &Operation,
    range: std::ops::Range<u16>,
) -> BTreeMap<String, Vec<String>> {
    let mut types: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (status, response) in &operation.responses.responses {
        let (class, label) = match status {
            StatusCode::Code(code) => (code / 100, code.to_string()),
            StatusCode::Range(class) => (*class, format!("{class}XX")),
        };
        if range.contains(&class) {
            types
                .entry(body_type(spec, response))
                .or_default()
                .push(label);
        }
    }
    if range.start == 4
        && let Some(default) = &operation.responses.default
    {
        types
            .entry(body_type(spec, default))
            .or_default()
            .push("default".to_owned());
    }
    types
}

/// How progenitor classifies a response body: a JSON schema, another media type, or none.
fn body_type(spec: &OpenAPI, response: &ReferenceOr<Response>) -> String {
    let response = match response {
        ReferenceOr::Item(response) => response,
        ReferenceOr::Reference { reference } => {
            let name = reference.rsplit('/').next().unwrap_or_default();
            match spec.components.as_ref().and_then(|c| c.responses.get(name)) {
                Some(ReferenceOr::Item(response)) => response,
                _ => return reference.clone(),
            }
        }
    };
    let json = response.content.iter().find(|(media, _)| {
        media.as_str() == "application/json" || media.starts_with("application/json;")
    });
    match json {
        Some((_, media)) => match &media.schema {
            Some(ReferenceOr::Reference { reference }) => reference.clone(),
            Some(ReferenceOr::Item(schema)) => {
                format!(
                    "inline schema {}",
                    serde_json::to_string(schema).unwrap_or_default()
                )
            }
            None => "JSON without schema".to_owned(),
        },
        None if response.content.is_empty() => "no body".to_owned(),
        None => "non-JSON body".to_owned(),
    }
}
