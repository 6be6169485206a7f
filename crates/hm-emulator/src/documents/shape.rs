//! The whole vehicle data schema as a tree the emulator can fill with values.
//!
//! The tree comes from `generated/vehicle_data_shape.json`, which `cargo xtask codegen` derives from
//! the published spec (after the project's overlay), so the emulator needs no spec at run time and
//! serves every capability and property the spec defines. Values are drawn from a hash of the
//! seed and the value's path, so a document does not depend on the order fields are visited in.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde_json::{Map, Number, Value};

/// The artefact written by `cargo xtask codegen` (`xtask/src/emulator_shape.rs`).
const ARTEFACT: &str = include_str!("../generated/vehicle_data_shape.json");

/// Ranges that make numbers plausible where the spec only says `number` or `integer`: a field or
/// schema whose name contains the key gets values in `[low, high]` with `decimals` decimals.
/// Everything else gets `[0, 1000]` (numbers) or `[0, 100]` (integers), or the spec's own bounds.
const PLAUSIBLE: &[(&str, f64, f64, i32)] = &[
    ("percentage", 0.0, 1.0, 2), // the spec: "Percentage value between 0.0 - 1.0"
    ("latitude", 47.0, 55.0, 6),
    ("longitude", 5.0, 15.0, 6),
    ("hour", 0.0, 23.0, 0),
    ("minute", 0.0, 59.0, 0),
    ("month", 1.0, 12.0, 0),
    ("year", 2024.0, 2030.0, 0),
];

/// Longest generated array when the spec gives no `maxItems`.
const DEFAULT_MAX_ITEMS: usize = 3;
/// Items of an array keyed by an enum (one item per enum value): at least this many...
const USUAL_KEYED_ITEMS: usize = 4;
/// ...and at most this many.
const MAX_KEYED_ITEMS: usize = 8;
/// Property timestamps lie up to this many seconds before the request.
const MAX_AGE_SECS: u64 = 2 * 3600;
/// Other date-time values lie up to this many days before the request (events that happened),
/// or around it for the names of [`MAY_BE_FUTURE`].
const DATE_SPREAD_DAYS: u64 = 30;
/// Parts of a field name that make its date-time one that may lie ahead (`next_oil_service_date`,
/// `brake_service_due_date`); every other date-time is of something that has happened.
const MAY_BE_FUTURE: [&str; 2] = ["due", "next"];

type Id = usize;

#[derive(Debug)]
enum Node {
    /// A named schema that is only a reference to another.
    Ref(Id),
    /// `{data, failure, timestamp}`: one value of a capability property.
    Property {
        data: Option<Id>,
        failure: Id,
    },
    Object(Vec<Field>),
    Array {
        items: Id,
        min: usize,
        /// The spec's `maxItems`, if it gives one.
        max: Option<usize>,
        /// Set when each item holds one value of an enum (a wheel, a door): items then take the
        /// enum's values in order instead of random ones, as a vehicle reports each wheel once.
        key: Option<Key>,
    },
    Enum(Vec<Box<str>>),
    /// A string of `min..=max` characters of `A-Z0-9`.
    Code {
        min: usize,
        max: usize,
    },
    /// Free text: the field name and a number.
    Text(Box<str>),
    DateTime,
    Integer {
        low: i64,
        high: i64,
    },
    Number {
        low: f64,
        high: f64,
        decimals: i32,
    },
    Boolean,
}

#[derive(Debug)]
struct Field {
    name: Box<str>,
    node: Id,
    /// Mixed into the salt of everything below the field.
    hash: u64,
}

/// The field of an array item that is filled from its enum, by position.
#[derive(Debug, Clone)]
struct Key {
    field: Box<str>,
    values: Vec<Box<str>>,
}

/// The vehicle data document's schema as a tree, parsed once.
#[derive(Debug)]
pub struct Shape {
    nodes: Vec<Node>,
    root: Id,
}

/// What one document is generated from.
pub struct Draw {
    /// Mixes the VIN and the configured seed.
    pub seed: u64,
    /// The time of the request; timestamps lie before it.
    pub now: DateTime<Utc>,
    /// Share of properties answered with a `failure` instead of `data`, in `[0, 1]`.
    pub failure_share: f64,
}

impl Shape {
    /// The built-in shape; `Err` only if the committed artefact is broken (a bug, reported once).
    pub fn builtin() -> Result<&'static Shape, String> {
        static SHAPE: OnceLock<Result<Shape, String>> = OnceLock::new();
        SHAPE
            .get_or_init(|| Shape::parse(ARTEFACT))
            .as_ref()
            .map_err(|e| {
                format!(
                    "the built-in vehicle data shape (src/generated/vehicle_data_shape.json) is invalid: {e}; \
                     run `cargo xtask codegen` and report this as a bug of hm-emulator"
                )
            })
    }

    /// Parses the artefact's text.
    pub fn parse(text: &str) -> Result<Shape, String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let schemas = doc
            .get("schemas")
            .and_then(Value::as_object)
            .ok_or("no \"schemas\" object")?;
        let root = doc
            .get("root")
            .and_then(Value::as_str)
            .ok_or("no \"root\"")?;
        // Named schemas take the first ids, so a reference resolves before its target is built.
        let ids: HashMap<&str, Id> = schemas
            .keys()
            .enumerate()
            .map(|(i, name)| (name.as_str(), i))
            .collect();
        let mut parser = Parser {
            ids: &ids,
            nodes: (0..schemas.len()).map(|_| None).collect(),
        };
        for (name, schema) in schemas {
            let node = parser.node(schema, name)?;
            parser.nodes[ids[name.as_str()]] = Some(node);
        }
        let mut nodes: Vec<Node> = parser
            .nodes
            .into_iter()
            .map(|n| n.ok_or("a schema was not built"))
            .collect::<Result<_, _>>()?;
        let keys: Vec<(Id, Option<Key>)> = nodes
            .iter()
            .enumerate()
            .filter_map(|(id, node)| match node {
                Node::Array { items, .. } => Some((id, key_of(&nodes, *items))),
                _ => None,
            })
            .collect();
        for (id, found) in keys {
            if let Node::Array { key, .. } = &mut nodes[id] {
                *key = found;
            }
        }
        let root = *ids
            .get(root)
            .ok_or_else(|| format!("root {root:?} is not a schema"))?;
        check_acyclic(&nodes, root)?;
        Ok(Shape { nodes, root })
    }

    /// A whole document: every field of the root schema, recursively.
    pub fn generate(&self, draw: &Draw) -> Value {
        self.value(draw, self.root, mix(draw.seed), false)
    }

    fn resolve(&self, mut id: Id) -> &Node {
        // Chains of references are as long as the artefact's; a cycle of pure references cannot be
        // built by `parse` (each named schema is one node), but bound the walk anyway.
        for _ in 0..self.nodes.len() {
            match &self.nodes[id] {
                Node::Ref(target) => id = *target,
                node => return node,
            }
        }
        &Node::Boolean
    }

    /// The value of node `id`; `future` is set below a field whose name allows a date ahead.
    fn value(&self, draw: &Draw, id: Id, salt: u64, future: bool) -> Value {
        match self.resolve(id) {
            Node::Ref(_) => Value::Null,
            Node::Property { data, failure } => {
                let mut map = Map::new();
                let age = 1 + mix(salt ^ 1) % MAX_AGE_SECS;
                let at = draw.now.trunc_subsecs(0) - Duration::seconds(age as i64);
                map.insert("timestamp".into(), time(at));
                match data {
                    Some(data) if unit(mix(salt ^ 2)) >= draw.failure_share => {
                        map.insert(
                            "data".into(),
                            self.value(draw, *data, mix(salt ^ 3), future),
                        );
                    }
                    _ => {
                        map.insert(
                            "failure".into(),
                            self.value(draw, *failure, mix(salt ^ 4), future),
                        );
                    }
                }
                Value::Object(map)
            }
            Node::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|f| {
                        (
                            f.name.to_string(),
                            self.value(
                                draw,
                                f.node,
                                mix(salt ^ f.hash),
                                future || MAY_BE_FUTURE.iter().any(|part| f.name.contains(part)),
                            ),
                        )
                    })
                    .collect(),
            ),
            Node::Array {
                items,
                min,
                max,
                key,
            } => {
                let count = match key {
                    // Four corners at least (the first four values of the spec's location enums),
                    // more on some vehicles (a spare wheel, a hatch).
                    Some(key) => {
                        let n = key.values.len();
                        let usual = n.min(USUAL_KEYED_ITEMS);
                        let count = usual + (mix(salt) % (n - usual + 1) as u64) as usize;
                        count.clamp(*min, max.unwrap_or(usize::MAX))
                    }
                    None => {
                        let max = max.unwrap_or(DEFAULT_MAX_ITEMS.max(*min));
                        *min + (mix(salt) % (max - *min + 1) as u64) as usize
                    }
                };
                (0..count)
                    .map(|i| {
                        let mut item = self.value(draw, *items, mix(salt ^ (i as u64 + 1)), future);
                        if let Some(key) = key {
                            set_key(&mut item, key, i);
                        }
                        item
                    })
                    .collect()
            }
            Node::Enum(values) => {
                Value::String(values[(mix(salt) % values.len() as u64) as usize].to_string())
            }
            Node::Code { min, max } => {
                let len = *min + (mix(salt) % (*max - *min + 1) as u64) as usize;
                const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789";
                let text: String = (0..len)
                    .map(|i| {
                        ALPHABET[(mix(salt ^ (i as u64 + 7)) % ALPHABET.len() as u64) as usize]
                            as char
                    })
                    .collect();
                Value::String(text)
            }
            Node::Text(label) => Value::String(format!("{label} {}", 1 + mix(salt) % 99)),
            Node::DateTime => {
                let spread = DATE_SPREAD_DAYS * 86_400;
                let back = 1 + (mix(salt) % spread) as i64;
                let offset = if future && mix(salt ^ 5) & 1 == 1 {
                    back
                } else {
                    -back
                };
                time(draw.now.trunc_subsecs(0) + Duration::seconds(offset))
            }
            Node::Integer { low, high } => {
                let span = high.abs_diff(*low).saturating_add(1);
                Value::from(low.wrapping_add_unsigned(mix(salt) % span))
            }
            Node::Number {
                low,
                high,
                decimals,
            } => {
                let scale = 10f64.powi(*decimals);
                let x = ((low + unit(mix(salt)) * (high - low)) * scale).round() / scale;
                Number::from_f64(x.clamp(*low, *high)).map_or(Value::Null, Value::Number)
            }
            Node::Boolean => Value::Bool(mix(salt) & 1 == 1),
        }
    }
}

/// Refuses a schema that contains itself: generating it would never end.
fn check_acyclic(nodes: &[Node], root: Id) -> Result<(), String> {
    // 0 = not seen, 1 = on the current path, 2 = done.
    let mut state = vec![0u8; nodes.len()];
    let mut stack = vec![(root, false)];
    while let Some((id, leaving)) = stack.pop() {
        if leaving {
            state[id] = 2;
            continue;
        }
        match state[id] {
            1 => return Err("the schema contains itself".into()),
            2 => continue,
            _ => {}
        }
        state[id] = 1;
        stack.push((id, true));
        let children: Vec<Id> = match &nodes[id] {
            Node::Ref(target) => vec![*target],
            Node::Property { data, failure } => data.iter().copied().chain([*failure]).collect(),
            Node::Object(fields) => fields.iter().map(|f| f.node).collect(),
            Node::Array { items, .. } => vec![*items],
            _ => Vec::new(),
        };
        for child in children {
            if state[child] == 1 {
                return Err("the schema contains itself".into());
            }
            if state[child] == 0 {
                stack.push((child, false));
            }
        }
    }
    Ok(())
}

/// Puts the `index`th enum value into the key field of an item (inside `data` for a property).
fn set_key(item: &mut Value, key: &Key, index: usize) {
    if item.get("data").is_none() && item.get("failure").is_some() {
        return;
    }
    let target = match item.get("data") {
        Some(_) => &mut item["data"],
        None => item,
    };
    if let Some(map) = target.as_object_mut() {
        map.insert(
            key.field.to_string(),
            Value::String(key.values[index % key.values.len()].to_string()),
        );
    }
}

/// The key of an array whose items (or the items' `data`) are objects with a required enum field.
fn key_of(nodes: &[Node], items: Id) -> Option<Key> {
    let resolve = |mut id: Id| {
        while let Node::Ref(target) = &nodes[id] {
            id = *target;
        }
        &nodes[id]
    };
    let object = match resolve(items) {
        Node::Property {
            data: Some(data), ..
        } => resolve(*data),
        other => other,
    };
    let Node::Object(fields) = object else {
        return None;
    };
    fields.iter().find_map(|f| match resolve(f.node) {
        Node::Enum(values) => Some(Key {
            field: f.name.clone(),
            values: values.iter().take(MAX_KEYED_ITEMS).cloned().collect(),
        }),
        _ => None,
    })
}

struct Parser<'a> {
    ids: &'a HashMap<&'a str, Id>,
    nodes: Vec<Option<Node>>,
}

impl Parser<'_> {
    /// The node of `schema`; `name` is its schema or field name, for plausible values and text.
    fn node(&mut self, schema: &Value, name: &str) -> Result<Node, String> {
        if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
            let id = self
                .ids
                .get(target)
                .ok_or_else(|| format!("{name}: unknown schema {target:?}"))?;
            return Ok(Node::Ref(*id));
        }
        let number = |key: &str| schema.get(key).and_then(Value::as_f64);
        let size = |key: &str| schema.get(key).and_then(Value::as_u64).map(|n| n as usize);
        let kind = schema
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Ok(match kind {
            "object" => {
                let fields = schema
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|fields| {
                        fields
                            .iter()
                            .map(|(field, sub)| {
                                Ok(Field {
                                    node: self.add(sub, field)?,
                                    hash: fnv(field),
                                    name: field.as_str().into(),
                                })
                            })
                            .collect::<Result<Vec<_>, String>>()
                    })
                    .transpose()?
                    .unwrap_or_default();
                let named = |n: &str| fields.iter().find(|f| &*f.name == n).map(|f| f.node);
                match (named("failure"), named("timestamp")) {
                    (Some(failure), Some(_)) => Node::Property {
                        data: named("data"),
                        failure,
                    },
                    _ => Node::Object(fields),
                }
            }
            "array" => {
                let items = schema
                    .get("items")
                    .ok_or_else(|| format!("{name}: array without items"))?;
                let min = size("minItems").unwrap_or(1);
                let max = size("maxItems");
                if max.is_some_and(|max| max < min) {
                    return Err(format!("{name}: maxItems below minItems"));
                }
                Node::Array {
                    items: self.add(items, name)?,
                    min,
                    max,
                    key: None,
                }
            }
            "string" => {
                if let Some(values) = schema.get("enum").and_then(Value::as_array) {
                    let values: Vec<Box<str>> = values
                        .iter()
                        .filter_map(Value::as_str)
                        .map(Into::into)
                        .collect();
                    if values.is_empty() {
                        return Err(format!("{name}: empty enum"));
                    }
                    Node::Enum(values)
                } else if schema.get("format").and_then(Value::as_str) == Some("date-time") {
                    Node::DateTime
                } else if let (Some(min), Some(max)) = (size("minLength"), size("maxLength")) {
                    if max < min {
                        return Err(format!("{name}: maxLength below minLength"));
                    }
                    Node::Code { min, max }
                } else if let Some(min) = size("minLength") {
                    Node::Code { min, max: min }
                } else if let Some(max) = size("maxLength") {
                    Node::Code {
                        min: max.min(1),
                        max,
                    }
                } else {
                    Node::Text(name.into())
                }
            }
            "integer" => {
                let (low, high, _) = plausible(name).unwrap_or((0.0, 100.0, 0));
                let low = number("minimum").unwrap_or(low) as i64;
                let high = number("maximum").unwrap_or(high) as i64;
                if high < low {
                    return Err(format!("{name}: maximum below minimum"));
                }
                Node::Integer { low, high }
            }
            "number" => {
                let (low, high, decimals) = plausible(name).unwrap_or((0.0, 1000.0, 1));
                let low = number("minimum").unwrap_or(low);
                let high = number("maximum").unwrap_or(high);
                if low.is_nan() || high.is_nan() || high < low {
                    return Err(format!("{name}: maximum below minimum"));
                }
                Node::Number {
                    low,
                    high,
                    decimals,
                }
            }
            "boolean" => Node::Boolean,
            other => return Err(format!("{name}: unsupported type {other:?}")),
        })
    }

    /// Builds an inline schema as a node of its own (a reference stays a reference).
    fn add(&mut self, schema: &Value, name: &str) -> Result<Id, String> {
        let node = self.node(schema, name)?;
        if let Node::Ref(id) = node {
            return Ok(id);
        }
        self.nodes.push(Some(node));
        Ok(self.nodes.len() - 1)
    }
}

fn plausible(name: &str) -> Option<(f64, f64, i32)> {
    PLAUSIBLE
        .iter()
        .find(|(key, ..)| name.contains(key))
        .map(|&(_, low, high, decimals)| (low, high, decimals))
}

fn time(at: DateTime<Utc>) -> Value {
    Value::String(crate::state::clock::wire_time(at))
}

/// FNV-1a of a name.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64's finaliser: every input bit affects every output bit.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A uniform value in `[0, 1)` from a hash.
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw(seed: u64, failure_share: f64) -> Draw {
        Draw {
            seed,
            now: DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
            failure_share,
        }
    }

    #[test]
    fn the_builtin_shape_fills_every_capability() {
        let shape = Shape::builtin().unwrap_or_else(|e| panic!("{e}"));
        let doc = shape.generate(&draw(0, 0.0));
        let capabilities: Vec<&Map<String, Value>> = doc
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
            .filter_map(Value::as_object)
            .collect();
        assert!(capabilities.len() >= 34, "{}", capabilities.len());
        let properties: usize = capabilities.iter().map(|c| c.len()).sum();
        assert!(properties > 300, "{properties}");
    }

    #[test]
    fn same_seed_same_document_other_seed_other_document() {
        let shape = Shape::builtin().unwrap_or_else(|e| panic!("{e}"));
        let a = shape.generate(&draw(1, 0.1));
        assert_eq!(a, shape.generate(&draw(1, 0.1)));
        assert_ne!(a, shape.generate(&draw(2, 0.1)));
    }

    #[test]
    fn only_due_and_next_dates_lie_ahead() {
        let shape = Shape::builtin().unwrap_or_else(|e| panic!("{e}"));
        let mut ahead = std::collections::BTreeSet::new();
        for seed in 0..40 {
            let d = draw(seed, 0.0);
            let doc = shape.generate(&d);
            let mut stack = vec![(String::new(), &doc)];
            while let Some((path, value)) = stack.pop() {
                match value {
                    Value::Object(map) => {
                        stack.extend(map.iter().map(|(k, v)| (format!("{path}.{k}"), v)));
                    }
                    Value::Array(items) => {
                        stack.extend(items.iter().map(|v| (path.clone(), v)));
                    }
                    Value::String(text) => {
                        if let Ok(at) = text.parse::<DateTime<Utc>>()
                            && at > d.now
                        {
                            ahead.insert(path);
                        }
                    }
                    _ => {}
                }
            }
        }
        assert!(
            !ahead.is_empty(),
            "due and next dates lie ahead on some vehicles"
        );
        for path in &ahead {
            assert!(
                MAY_BE_FUTURE.iter().any(|part| path.contains(part)),
                "{path} lies ahead"
            );
        }
    }

    #[test]
    fn keyed_arrays_report_each_enum_value_once() {
        let shape = Shape::builtin().unwrap_or_else(|e| panic!("{e}"));
        let doc = shape.generate(&draw(3, 0.0));
        let tires = doc["diagnostics"]["tire_pressures"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let locations: Vec<&str> = tires
            .iter()
            .filter_map(|t| t["data"]["location"].as_str())
            .collect();
        assert_eq!(
            locations[..4],
            ["front_left", "front_right", "rear_right", "rear_left"]
        );
    }

    #[test]
    fn a_broken_artefact_is_an_error_not_a_panic() {
        for text in [
            "",
            "{}",
            r#"{"root": "r", "schemas": {}}"#,
            r#"{"root": "r", "schemas": {"r": {"$ref": "gone"}}}"#,
            r#"{"root": "r", "schemas": {"r": {"type": "array"}}}"#,
            r#"{"root": "r", "schemas": {"r": {"type": "number", "minimum": 2, "maximum": 1}}}"#,
            r#"{"root": "r", "schemas": {"r": {"type": "tuple"}}}"#,
            r#"{"root": "r", "schemas": {"r": {"type": "array", "items": {"$ref": "r"}}}}"#,
        ] {
            assert!(Shape::parse(text).is_err(), "{text}");
        }
    }
}
