//! Policy that applies to every spec, as named steps run after the overlay.

use serde_json::Value;

/// A named normalisation step.
pub struct Step {
    /// Short name, shown by `cargo xtask codegen`.
    pub name: &'static str,
    /// Why every spec gets it.
    pub reason: &'static str,
    /// The transformation.
    pub apply: fn(&mut Value),
}

/// The steps, in the order they run.
pub const STEPS: &[Step] = &[Step {
    name: "accept_unknown_fields",
    reason: "drop `additionalProperties: false` so that a field the server adds later still decodes",
    apply: accept_unknown_fields,
}];

/// Runs every step on `doc`.
pub fn normalise(doc: &mut Value) {
    for step in STEPS {
        (step.apply)(doc);
    }
}

fn accept_unknown_fields(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("additionalProperties") == Some(&Value::Bool(false)) {
                map.remove("additionalProperties");
            }
            map.values_mut().for_each(accept_unknown_fields);
        }
        Value::Array(items) => items.iter_mut().for_each(accept_unknown_fields),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drops_only_closed_additional_properties() {
        let mut doc = json!({"a": {"additionalProperties": false, "properties": {"b": {"additionalProperties": {"type": "string"}}}}});
        normalise(&mut doc);
        assert_eq!(
            doc,
            json!({"a": {"properties": {"b": {"additionalProperties": {"type": "string"}}}}})
        );
    }
}
