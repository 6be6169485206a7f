//! The clearance list's `filter` parameter: URL-encoded JSON `{field: {operator, value}, ...}`.
//!
//! All conditions must hold. Fields: vin, status, brand (eq, in), tags (eq, contains),
//! approved_at, inserted_at (eq, lt, gt, lte, gte; RFC 3339 times compared to the second).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use crate::state::clearance::Clearance;

#[derive(Debug, Clone, PartialEq)]
enum Text {
    Eq(String),
    In(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmp {
    Eq,
    Lt,
    Gt,
    Lte,
    Gte,
}

#[derive(Debug, Clone, PartialEq)]
enum Condition {
    Vin(Text),
    Status(Text),
    Brand(Text),
    TagsEq(BTreeMap<String, String>),
    TagsContain(BTreeMap<String, String>),
    ApprovedAt(Cmp, DateTime<Utc>),
    InsertedAt(Cmp, DateTime<Utc>),
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    conditions: Vec<Condition>,
}

impl Filter {
    /// Parses the (already URL-decoded) JSON text; `Err` says what is wrong, for a 400 answer.
    pub fn parse(text: &str) -> Result<Self, String> {
        // Strict like every JSON body: with a key given twice, which condition would count?
        let value = crate::strict_json::parse(text.as_bytes())
            .map_err(|e| format!("filter must be URL-encoded JSON: {e}"))?;
        let Value::Object(fields) = value else {
            return Err("filter must be a JSON object of {field: {operator, value}}".into());
        };
        let conditions = fields
            .iter()
            .map(|(field, spec)| condition(field, spec))
            .collect::<Result<_, _>>()?;
        Ok(Self { conditions })
    }

    /// Whether `clearance` passes every condition.
    pub fn matches(&self, clearance: &Clearance) -> bool {
        self.conditions.iter().all(|c| match c {
            Condition::Vin(t) => t.matches(&clearance.vin),
            Condition::Status(t) => t.matches(clearance.status().as_str()),
            Condition::Brand(t) => t.matches(&clearance.brand),
            Condition::TagsEq(tags) => &clearance.tags == tags,
            Condition::TagsContain(tags) => {
                tags.iter().all(|(k, v)| clearance.tags.get(k) == Some(v))
            }
            Condition::ApprovedAt(cmp, at) => {
                clearance.approved_at().is_some_and(|t| cmp.holds(t, *at))
            }
            Condition::InsertedAt(cmp, at) => cmp.holds(clearance.inserted_at, *at),
        })
    }
}

impl Text {
    fn matches(&self, s: &str) -> bool {
        match self {
            Text::Eq(v) => v == s,
            Text::In(vs) => vs.iter().any(|v| v == s),
        }
    }
}

impl Cmp {
    fn holds(self, t: DateTime<Utc>, at: DateTime<Utc>) -> bool {
        let (t, at) = (t.timestamp(), at.timestamp());
        match self {
            Cmp::Eq => t == at,
            Cmp::Lt => t < at,
            Cmp::Gt => t > at,
            Cmp::Lte => t <= at,
            Cmp::Gte => t >= at,
        }
    }
}

fn condition(field: &str, spec: &Value) -> Result<Condition, String> {
    let operator = spec
        .get("operator")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("filter field {field} needs an \"operator\""))?;
    let value = spec
        .get("value")
        .ok_or_else(|| format!("filter field {field} needs a \"value\""))?;
    let unsupported = || format!("operator {operator:?} is not supported for filter field {field}");
    match field {
        "vin" | "status" | "brand" => {
            let text = match operator {
                "eq" => Text::Eq(string(field, value)?),
                "in" => Text::In(strings(field, value)?),
                _ => return Err(unsupported()),
            };
            Ok(match field {
                "vin" => Condition::Vin(text),
                "status" => Condition::Status(text),
                _ => Condition::Brand(text),
            })
        }
        "tags" => {
            let tags = tag_map(value)?;
            match operator {
                "eq" => Ok(Condition::TagsEq(tags)),
                "contains" => Ok(Condition::TagsContain(tags)),
                _ => Err(unsupported()),
            }
        }
        "approved_at" | "inserted_at" => {
            let cmp = match operator {
                "eq" => Cmp::Eq,
                "lt" => Cmp::Lt,
                "gt" => Cmp::Gt,
                "lte" => Cmp::Lte,
                "gte" => Cmp::Gte,
                _ => return Err(unsupported()),
            };
            let at = time(field, value)?;
            Ok(if field == "approved_at" {
                Condition::ApprovedAt(cmp, at)
            } else {
                Condition::InsertedAt(cmp, at)
            })
        }
        _ => Err(format!(
            "unknown filter field {field:?}; known fields: vin, status, brand, tags, approved_at, inserted_at"
        )),
    }
}

fn string(field: &str, value: &Value) -> Result<String, String> {
    value
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("filter field {field} with operator eq needs a string value"))
}

fn strings(field: &str, value: &Value) -> Result<Vec<String>, String> {
    value
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .ok_or_else(|| format!("filter field {field} with operator in needs an array of strings"))
}

fn tag_map(value: &Value) -> Result<BTreeMap<String, String>, String> {
    value
        .as_object()
        .and_then(|map| {
            map.iter()
                .map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .ok_or_else(|| "filter field tags needs an object of string values".to_string())
}

fn time(field: &str, value: &Value) -> Result<DateTime<Utc>, String> {
    let text = value.as_str().unwrap_or_default();
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").map(|t| t.and_utc()))
        .map_err(|_| {
            format!("filter field {field} needs an ISO 8601 time such as \"1999-03-31T00:00:00Z\"")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_filters_with_a_reason() {
        for bad in [
            "not json",
            "[]",
            r#"{"colour": {"operator": "eq", "value": "red"}}"#,
            r#"{"vin": {"operator": "lt", "value": "X"}}"#,
            r#"{"vin": {"operator": "in", "value": "X"}}"#,
            r#"{"tags": {"operator": "in", "value": {}}}"#,
            r#"{"approved_at": {"operator": "gt", "value": "yesterday"}}"#,
            r#"{"status": {"value": "approved"}}"#,
        ] {
            assert!(Filter::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn accepts_the_spec_examples() {
        for good in [
            r#"{"vin": {"operator": "in", "value": ["A", "B"]}}"#,
            r#"{"tags": {"operator": "contains", "value": {"some_key": "some_value"}}}"#,
            r#"{"inserted_at": {"operator": "gte", "value": "1999-03-31T00:00:00Z"}}"#,
            r#"{"approved_at": {"operator": "eq", "value": "1999-03-31T00:00:00"}}"#,
        ] {
            assert!(Filter::parse(good).is_ok(), "{good} was refused");
        }
    }
}
