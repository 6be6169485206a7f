//! JSON parsing that refuses what `serde_json::Value` silently accepts: a key that appears twice
//! in one object (serde_json keeps the last one, so two parsers could read two different requests).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Parses `bytes` as one JSON document; a duplicate key at any depth is an error that names it.
pub fn parse(bytes: &[u8]) -> Result<Value, String> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = Strict
        .deserialize(&mut deserializer)
        .map_err(|e| e.to_string())?;
    deserializer.end().map_err(|e| e.to_string())?;
    Ok(value)
}

/// The path of the first `null` in `value` (`vehicles[0].tags`), if it holds one.
///
/// No request schema of the published specs is nullable (`tests/spec_check.rs` keeps that
/// true), while hm-api's generated types read `null` as "absent" for the client's sake: a
/// server that decoded with them alone would accept bodies High Mobility refuses.
pub fn first_null(value: &Value) -> Option<String> {
    null_below(value).map(|path| path.trim_start_matches('.').to_owned())
}

/// [`first_null`]'s walk: every key of the path is written `.key`.
fn null_below(value: &Value) -> Option<String> {
    match value {
        Value::Null => Some(String::new()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| null_below(item).map(|rest| format!("[{i}]{rest}"))),
        Value::Object(map) => map
            .iter()
            .find_map(|(key, item)| null_below(item).map(|rest| format!(".{key}{rest}"))),
        _ => None,
    }
}

/// A seed that builds a [`Value`], refusing duplicate keys.
struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Strict)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            let value = map.next_value_seed(Strict)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::parse;
    use serde_json::json;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        assert!(parse(br#"{"a": 1, "a": 1}"#).unwrap_err().contains("\"a\""));
        assert!(parse(br#"{"x": [{"b": 1, "b": 2}]}"#).is_err());
        assert_eq!(
            parse(br#"{"a": {"b": 1}, "b": [1, 2.5, null, "s"]}"#).unwrap(),
            json!({"a": {"b": 1}, "b": [1, 2.5, null, "s"]})
        );
    }

    #[test]
    fn first_null_names_its_path() {
        use super::first_null;
        assert_eq!(first_null(&json!({"a": [1, {"b": 2}]})), None);
        assert_eq!(
            first_null(&json!({"vehicles": [{"vin": "V"}, {"tags": null}]})).as_deref(),
            Some("vehicles[1].tags")
        );
        assert_eq!(
            first_null(&json!({"a": {"b": [[0, null]]}})).as_deref(),
            Some("a.b[0][1]")
        );
        assert_eq!(first_null(&json!(null)).as_deref(), Some(""));
    }

    #[test]
    fn trailing_data_and_bad_utf8_are_refused() {
        assert!(parse(br#"{"a": 1} x"#).is_err());
        assert!(parse(b"{\"a\": \"\xff\"}").is_err());
        assert!(parse(b"").is_err());
    }
}
