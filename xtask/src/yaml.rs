//! Reading YAML documents (specs and overlays) into JSON values, with line numbers in errors.
//!
//! saphyr is a maintained, pure-Rust YAML 1.2 parser (serde_yaml is deprecated and its libyaml port
//! unmaintained). It refuses duplicate keys and bounds alias expansion. The conversion to JSON is ours:
//! OpenAPI documents are JSON-compatible YAML, so anything else (tags, non-string keys that are not
//! scalars, non-finite numbers, several documents) is reported rather than guessed at.

use std::path::Path;

use saphyr::{Scalar, ScalarStyle, Tag, Yaml, YamlLoader};
use serde_json::{Map, Number, Value};

use crate::error::{Error, Result};

/// Parses YAML text into a JSON value; `path` only names the file in errors.
pub fn parse(text: &str, path: &Path) -> Result<Value> {
    let fail = |location: String, message: String| Error::Yaml {
        path: path.to_owned(),
        location,
        message,
    };
    let scan_error = |e: saphyr::ScanError| {
        let marker = e.marker();
        fail(
            format!(" at line {} column {}", marker.line(), marker.col() + 1),
            e.info().to_owned(),
        )
    };
    // Scalars stay as written (`Representation`): we resolve them ourselves, so that a value never
    // changes on the way (a big integer rounded, `!!int "5"` kept a string, a key `1.10` read as 1.1).
    let mut loader = YamlLoader::<Yaml>::default();
    loader.early_parse(false);
    saphyr_parser::Parser::new_from_str(text)
        .load(&mut loader, true)
        .map_err(scan_error)?;
    if let Some(e) = loader.error() {
        return Err(scan_error(e.clone()));
    }
    let mut documents = loader.into_documents().into_iter();
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
        Yaml::Representation(text, style, tag) => scalar_to_json(text, *style, tag.as_deref(), at)?,
        Yaml::Value(scalar) => early_scalar_to_json(scalar, at)?,
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
        Yaml::Alias(_) | Yaml::BadValue => {
            return Err(format!(
                "{at}: a value that does not resolve (unknown alias?)"
            ));
        }
    })
}

/// Resolves a scalar as written, by the YAML 1.2 core schema; what JSON cannot hold exactly is refused.
fn scalar_to_json(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    at: &str,
) -> std::result::Result<Value, String> {
    let resolved = match tag {
        Some(tag) if tag.is_yaml_core_schema() => match tag.suffix.as_str() {
            "str" => return Ok(Value::String(text.to_owned())),
            "int" => {
                return integer(text).ok_or_else(|| {
                    format!("{at}: `{text}` is tagged !!int but is not an integer")
                });
            }
            "float" | "bool" | "null" => Scalar::parse_from_cow_and_metadata(
                text.into(),
                ScalarStyle::Plain,
                Some(&std::borrow::Cow::Borrowed(tag)),
            )
            .ok_or_else(|| format!("{at}: `{text}` does not match its tag `{tag}`"))?,
            _ => {
                return Err(format!(
                    "{at}: the tag `{tag}` is not supported; JSON-compatible YAML has no tags"
                ));
            }
        },
        Some(tag) => {
            return Err(format!(
                "{at}: the tag `{tag}` is not supported; JSON-compatible YAML has no tags"
            ));
        }
        None if style != ScalarStyle::Plain => return Ok(Value::String(text.to_owned())),
        None => Scalar::parse_from_cow(text.into()),
    };
    match resolved {
        // A decimal integer beyond i64 would otherwise come back as a rounded float.
        Scalar::FloatingPoint(_) if is_decimal_integer(text) => integer(text).ok_or_else(|| {
            format!("{at}: the integer {text} does not fit 64 bits; JSON tools would round it, so quote it if it is text")
        }),
        scalar => early_scalar_to_json(&scalar, at),
    }
}

fn is_decimal_integer(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// An integer JSON holds exactly (i64 or u64).
fn integer(text: &str) -> Option<Value> {
    let text = text.strip_prefix('+').unwrap_or(text);
    if let Ok(i) = text.parse::<i64>() {
        return Some(Value::Number(i.into()));
    }
    text.parse::<u64>().ok().map(|u| Value::Number(u.into()))
}

fn early_scalar_to_json(scalar: &Scalar<'_>, at: &str) -> std::result::Result<Value, String> {
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

/// JSON object keys are strings: a scalar key is taken as written (`200:` is `"200"`, `1.10:` is
/// `"1.10"`). A YAML 1.1 merge key `<<` is refused rather than kept as a literal property.
fn key_text(key: &Yaml<'_>, at: &str) -> std::result::Result<String, String> {
    match key {
        Yaml::Representation(text, ScalarStyle::Plain, None) if text == "<<" => Err(format!(
            "{at}: a YAML merge key (`<<`) is not supported (YAML 1.2 has none); write the keys out"
        )),
        Yaml::Representation(text, _, _) => Ok(text.to_string()),
        Yaml::Value(scalar) => match early_scalar_to_json(scalar, at)? {
            Value::String(s) => Ok(s),
            other => Ok(other.to_string()),
        },
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
    fn scalars_keep_their_value() {
        assert_eq!(
            parse_str("a: 18446744073709551615\nb: -9223372036854775808\nc: !!int \"5\"\nd: !!str 5\n1.10: x\n'<<': y\ne: 0x1F\n").unwrap(),
            json!({"a": 18446744073709551615u64, "b": -9223372036854775808i64, "c": 5, "d": "5",
                   "1.10": "x", "<<": "y", "e": 31})
        );
        let err = parse_str("a: 18446744073709551616\n").unwrap_err();
        assert!(err.contains("does not fit 64 bits"), "{err}");
        let err = parse_str("a: !!int x\n").unwrap_err();
        assert!(err.contains("is not an integer"), "{err}");
        let err = parse_str("b: &b {x: 1}\nc:\n  <<: *b\n").unwrap_err();
        assert!(err.contains("merge key"), "{err}");
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
