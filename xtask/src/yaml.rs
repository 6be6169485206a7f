//! Reading YAML documents (specs and overlays) into JSON values, with line numbers in errors.
//!
//! saphyr is a maintained, pure-Rust YAML 1.2 parser (serde_yaml is deprecated and its libyaml port
//! unmaintained). It refuses duplicate keys and bounds alias expansion. The conversion to JSON is ours:
//! OpenAPI documents are JSON-compatible YAML, so anything else (tags, non-string keys that are not
//! scalars, non-finite numbers, several documents) is reported rather than guessed at.

use std::path::Path;

use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde_json::{Map, Number, Value};

use crate::error::{Error, Result};

/// Parses YAML text into a JSON value; `path` only names the file in errors.
pub fn parse(text: &str, path: &Path) -> Result<Value> {
    let fail = |location: String, message: String| Error::Yaml {
        path: path.to_owned(),
        location,
        message,
    };
    let documents = Yaml::load_from_str(text).map_err(|e| {
        let marker = e.marker();
        fail(
            format!(" at line {} column {}", marker.line(), marker.col() + 1),
            e.info().to_owned(),
        )
    })?;
    let mut documents = documents.into_iter();
    let (Some(document), None) = (documents.next(), documents.next()) else {
        return Err(fail(
            String::new(),
            "expected exactly one YAML document".to_owned(),
        ));
    };
    to_json(&document, "$").map_err(|message| fail(String::new(), message))
}

/// Reads and parses a YAML file.
pub fn read(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    parse(&text, path)
}

/// Converts one node; `at` is its JSONPath, for errors.
fn to_json(node: &Yaml<'_>, at: &str) -> std::result::Result<Value, String> {
    Ok(match node {
        Yaml::Value(scalar) => scalar_to_json(scalar, at)?,
        Yaml::Sequence(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| to_json(item, &format!("{at}[{i}]")))
                .collect::<std::result::Result<_, _>>()?,
        ),
        Yaml::Mapping(entries) => {
            let mut map = Map::with_capacity(entries.len());
            for (key, value) in entries {
                let key = key_text(key, at)?;
                let value = to_json(value, &format!("{at}['{key}']"))?;
                map.insert(key, value);
            }
            Value::Object(map)
        }
        Yaml::Tagged(tag, _) => {
            return Err(format!(
                "{at}: the tag `{tag}` is not supported; JSON-compatible YAML has no tags"
            ));
        }
        Yaml::Representation(..) | Yaml::Alias(_) | Yaml::BadValue => {
            return Err(format!(
                "{at}: a value that does not resolve (unknown alias?)"
            ));
        }
    })
}

fn scalar_to_json(scalar: &Scalar<'_>, at: &str) -> std::result::Result<Value, String> {
    Ok(match scalar {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Number((*i).into()),
        Scalar::FloatingPoint(f) => {
            Value::Number(Number::from_f64(f.into_inner()).ok_or_else(|| {
                format!("{at}: {f} is not a number JSON can hold (infinite or NaN)")
            })?)
        }
        Scalar::String(s) => Value::String(s.to_string()),
    })
}

/// JSON object keys are strings; a YAML key such as `200:` (an integer) becomes `"200"`.
fn key_text(key: &Yaml<'_>, at: &str) -> std::result::Result<String, String> {
    match key {
        Yaml::Value(Scalar::String(s)) => Ok(s.to_string()),
        Yaml::Value(Scalar::Integer(i)) => Ok(i.to_string()),
        Yaml::Value(Scalar::Boolean(b)) => Ok(b.to_string()),
        Yaml::Value(Scalar::Null) => Ok("null".to_owned()),
        Yaml::Value(Scalar::FloatingPoint(f)) => Ok(f.to_string()),
        _ => Err(format!(
            "{at}: a mapping key that is not a scalar; JSON objects need string keys"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_str(text: &str) -> std::result::Result<Value, String> {
        parse(text, Path::new("t.yaml")).map_err(|e| e.to_string())
    }

    #[test]
    fn json_compatible_yaml_becomes_json() {
        let text = "a: 1\nb: 1.5\nc: [x, 'y', \"z\"]\nd: ~\ne: true\n200: ok\nf: &anchor {g: 2}\nh: *anchor\ni: '2024-05-02'\n";
        assert_eq!(
            parse_str(text).unwrap(),
            json!({"a": 1, "b": 1.5, "c": ["x", "y", "z"], "d": null, "e": true, "200": "ok",
                   "f": {"g": 2}, "h": {"g": 2}, "i": "2024-05-02"})
        );
    }

    #[test]
    fn malformed_or_ambiguous_yaml_is_refused_with_a_place() {
        let err = parse_str("a: 1\nb: [unclosed\n").unwrap_err();
        assert!(err.contains("t.yaml: malformed YAML at line 3"), "{err}");
        let err = parse_str("a: 1\na: 2\n").unwrap_err();
        assert!(err.contains("t.yaml: malformed YAML at line"), "{err}");
        let err = parse_str("a: !custom 1\n").unwrap_err();
        assert!(err.contains("$['a']: the tag"), "{err}");
        let err = parse_str("a: .inf\n").unwrap_err();
        assert!(err.contains("infinite or NaN"), "{err}");
        let err = parse_str("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(err.contains("exactly one YAML document"), "{err}");
    }
}
