//! A published JSON Schema as a flat set of named definitions, one per Rust type, before typify reads it.
//!
//! The Streaming Schema V2 is published fully inlined: each of its 45 capabilities is an embedded schema
//! (with an `$id`) whose 557 properties each repeat one of 173 `$defs` verbatim, and every one of those
//! repeats the same `failure` and `availability` objects. Read as it is, typify would emit one type per
//! copy, named after where the copy sits. So, in this order:
//!
//! 1. *Embedded schemas*: the document and every subschema with its own `$id` become definitions (the
//!    document under the manifest's `root` name, the others under their property name: `diagnostics`);
//!    their `$defs` become definitions too (a name that two embedded schemas give to different schemas
//!    is prefixed with the embedded schema's name), and an inline copy of one of its own `$defs` becomes
//!    a reference to it. These keep the members they do not list (a capability or property added upstream
//!    later) in a map typify names `extra`; everywhere else an unknown member is ignored, as in the REST
//!    client.
//! 2. *Other schemas*: a `$ref` to the `$id` of another pinned schema becomes that module's root type.
//! 3. *Shared schemas*: an object or enum that occurs more than once becomes one definition, outermost
//!    first. It is named after its description when that is a short name (`Failure`, `Active state`),
//!    else after the property every copy sits under (unless that is `data`, which every value is), else
//!    after the shortest place it occurs.
//! 4. *The rest*: every other object or enum becomes a definition named after its place
//!    (`property_length` + `data`: `PropertyLengthData`), typify's own convention.
//!
//! Every Rust type name is therefore chosen here, and checked to be unique (typify would silently merge
//! two different schemas that it gives the same name).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

/// The definitions of one schema, ready for typify.
#[derive(Debug, Default, PartialEq)]
pub struct Definitions {
    /// Definition name -> schema; references between them are `#/definitions/<name>`.
    pub schemas: BTreeMap<String, Value>,
    /// Definitions that stand for another pinned schema's root type: name -> Rust path.
    pub external: BTreeMap<String, String>,
}

/// Another pinned schema that this one may reference by its `$id`.
#[derive(Debug, Clone)]
pub struct OtherSchema {
    /// The root type's name.
    pub root: String,
    /// The root type's Rust path from the referencing module (e.g. `super::auto_api::Capabilities`).
    pub path: String,
}

/// Turns `doc` into named definitions; `root` names the document's own type, `others` maps the `$id`
/// of other pinned schemas. The error says what cannot be named or resolved.
pub fn definitions(
    doc: Value,
    root: &str,
    others: &BTreeMap<String, OtherSchema>,
) -> Result<Definitions, String> {
    let mut defs = Definitions::default();
    embedded_schemas(doc, root, &mut defs.schemas)?;
    other_schemas(&mut defs, others)?;
    shared_schemas(&mut defs.schemas)?;
    the_rest(&mut defs.schemas)?;
    Ok(defs)
}

/// `{"$ref": "#/definitions/<name>"}`
fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/definitions/{name}") })
}

/// The definition a local `$ref` points at, if it is one (`#/definitions/x` or `#/$defs/x`).
fn local_target(schema: &Value) -> Option<&str> {
    let target = schema.get("$ref")?.as_str()?;
    target
        .strip_prefix("#/definitions/")
        .or_else(|| target.strip_prefix("#/$defs/"))
}

/// JSON text with object keys sorted: equal schemas have equal text whatever serde_json's map order.
fn canonical(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                for (i, (key, value)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    write(value, out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// The direct subschemas of `schema`, each with the segment it adds to a type name.
fn children_mut(schema: &mut Value) -> Vec<(String, &mut Value)> {
    let mut children = Vec::new();
    let Some(map) = schema.as_object_mut() else {
        return children;
    };
    for (keyword, value) in map.iter_mut() {
        match (keyword.as_str(), value) {
            ("properties", Value::Object(properties)) => {
                children.extend(properties.iter_mut().map(|(name, s)| (name.clone(), s)));
            }
            ("items", Value::Array(items)) => {
                children.extend(
                    items
                        .iter_mut()
                        .enumerate()
                        .map(|(i, s)| (format!("item{i}"), s)),
                );
            }
            ("items", item @ Value::Object(_)) => children.push(("item".to_owned(), item)),
            ("additionalProperties", value @ Value::Object(_)) => {
                children.push(("value".to_owned(), value));
            }
            ("allOf" | "anyOf" | "oneOf", Value::Array(variants)) => {
                children.extend(
                    variants
                        .iter_mut()
                        .enumerate()
                        .map(|(i, s)| (format!("variant{i}"), s)),
                );
            }
            _ => {}
        }
    }
    children
}

/// Whether typify gives `schema` a type of its own (a struct, an enum or a checked string).
fn is_nameable(schema: &Value) -> bool {
    let Some(map) = schema.as_object() else {
        return false;
    };
    if map.contains_key("$ref") {
        return false;
    }
    let constrained_string = map.get("type").and_then(Value::as_str) == Some("string")
        && !map.contains_key("format")
        && ["minLength", "maxLength", "pattern"]
            .iter()
            .any(|k| map.contains_key(*k));
    constrained_string
        || ["enum", "properties", "oneOf", "anyOf", "allOf"]
            .iter()
            .any(|k| map.contains_key(*k))
}

fn insert_new(
    schemas: &mut BTreeMap<String, Value>,
    name: String,
    schema: Value,
) -> Result<(), String> {
    if schemas.contains_key(&name) {
        return Err(format!(
            "two different schemas would both become the type `{name}`"
        ));
    }
    schemas.insert(name, schema);
    Ok(())
}

// ---- 1. Embedded schemas ------------------------------------------------------------------------------

/// An embedded schema taken out of its place: its name, body and own `$defs`.
struct Embedded {
    name: String,
    schema: Value,
    defs: Vec<(String, Value)>,
}

fn embedded_schemas(
    doc: Value,
    root: &str,
    schemas: &mut BTreeMap<String, Value>,
) -> Result<(), String> {
    let mut found = Vec::new();
    take_embedded(root.to_owned(), doc, &mut found);

    // Name the `$defs`: a name used for different schemas keeps it for the one most embedded schemas
    // use; the others are prefixed with their first user.
    let mut variants: BTreeMap<&str, BTreeMap<String, BTreeSet<&str>>> = BTreeMap::new();
    for embedded in &found {
        for (name, schema) in &embedded.defs {
            variants
                .entry(name)
                .or_default()
                .entry(canonical(schema))
                .or_default()
                .insert(&embedded.name);
        }
    }
    let mut final_name: HashMap<(String, String), String> = HashMap::new();
    for (name, by_schema) in &variants {
        let most = by_schema.values().map(BTreeSet::len).max().unwrap_or(0);
        let winners = by_schema.values().filter(|u| u.len() == most).count();
        for users in by_schema.values() {
            let unique = by_schema.len() == 1 || (users.len() == most && winners == 1);
            for user in users {
                let chosen = if unique {
                    (*name).to_owned()
                } else {
                    let first = users.first().copied().unwrap_or_default();
                    format!("{first}_{name}")
                };
                final_name.insert(((*user).to_owned(), (*name).to_owned()), chosen);
            }
        }
    }

    for Embedded { name, schema, defs } in found {
        let own: HashMap<String, String> = defs
            .iter()
            .map(|(def, s)| {
                (
                    canonical(s),
                    final_name[&(name.clone(), def.clone())].clone(),
                )
            })
            .collect();
        let resolve = |target: &str| {
            final_name
                .get(&(name.clone(), target.to_owned()))
                .cloned()
                .ok_or_else(|| format!("`{name}` refers to `{target}`, which it does not define"))
        };
        let mut schema = schema;
        refer_to_own_defs(&mut schema, &own, &resolve)?;
        insert_new(schemas, name.clone(), schema)?;
        for (def, mut body) in defs {
            let def_name = final_name[&(name.clone(), def)].clone();
            refer_to_own_defs(&mut body, &own, &resolve)?;
            // Embedded schemas that share a `$defs` entry insert it once.
            match schemas.get(&def_name) {
                Some(existing) if *existing == body => {}
                Some(_) => {
                    return Err(format!(
                        "two different schemas would both become the type `{def_name}`"
                    ));
                }
                None => {
                    schemas.insert(def_name, body);
                }
            }
        }
    }
    Ok(())
}

/// Takes `schema` (named `name`) and every schema embedded in it apart, depth first.
fn take_embedded(name: String, mut schema: Value, found: &mut Vec<Embedded>) {
    let mut inner = Vec::new();
    collect_embedded(&mut schema, &mut inner);
    let mut defs = Vec::new();
    if let Some(map) = schema.as_object_mut() {
        map.remove("$id");
        map.remove("$schema");
        for keyword in ["$defs", "definitions"] {
            if let Some(Value::Object(own)) = map.remove(keyword) {
                defs.extend(own);
            }
        }
        // The members an embedded schema lists grow with new versions: keep the ones it does not list.
        if matches!(
            map.get("additionalProperties"),
            None | Some(Value::Bool(true))
        ) {
            map.insert("additionalProperties".to_owned(), json!({}));
        }
    }
    found.push(Embedded { name, schema, defs });
    for (name, schema) in inner {
        take_embedded(name, schema, found);
    }
}

/// Where [`collect_embedded`] left an embedded schema, until its definition has its name (a `$ref` to a
/// `$defs` entry of the same name means something else).
const EMBEDDED: &str = "#embedded/";

/// Replaces every subschema of `schema` that has its own `$id` by a reference; returns them by name.
fn collect_embedded(schema: &mut Value, found: &mut Vec<(String, Value)>) {
    for (segment, child) in children_mut(schema) {
        if child.get("$id").is_some() {
            let placeholder = json!({ "$ref": format!("{EMBEDDED}{segment}") });
            let taken = std::mem::replace(child, placeholder);
            found.push((segment, taken));
        } else {
            collect_embedded(child, found);
        }
    }
}

/// Inline copies of the embedded schema's own `$defs` become references; local `$ref`s get the
/// definitions' final names.
fn refer_to_own_defs(
    schema: &mut Value,
    own: &HashMap<String, String>,
    resolve: &dyn Fn(&str) -> Result<String, String>,
) -> Result<(), String> {
    for (_, child) in children_mut(schema) {
        let embedded = child
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|target| target.strip_prefix(EMBEDDED));
        if let Some(name) = embedded {
            *child = reference(name);
        } else if let Some(target) = local_target(child) {
            *child = reference(&resolve(target)?);
        } else if let Some(name) = own.get(&canonical(child)) {
            *child = reference(name);
        } else {
            refer_to_own_defs(child, own, resolve)?;
        }
    }
    Ok(())
}

// ---- 2. Other schemas ---------------------------------------------------------------------------------

fn other_schemas(
    defs: &mut Definitions,
    others: &BTreeMap<String, OtherSchema>,
) -> Result<(), String> {
    fn visit(
        schema: &mut Value,
        others: &BTreeMap<String, OtherSchema>,
        used: &mut BTreeMap<String, String>,
    ) -> Result<(), String> {
        for (_, child) in children_mut(schema) {
            match child.get("$ref").and_then(Value::as_str) {
                Some(target) if !target.starts_with('#') => {
                    let other = others.get(target).ok_or_else(|| {
                        format!(
                            "`$ref` to `{target}`, which no [[schema]] entry of openapi/specs.toml provides \
                             (by its `$id`): pin that schema too (references are resolved locally, never \
                             over the network)"
                        )
                    })?;
                    used.insert(other.root.clone(), other.path.clone());
                    *child = reference(&other.root);
                }
                _ => visit(child, others, used)?,
            }
        }
        Ok(())
    }
    let mut used = BTreeMap::new();
    for schema in defs.schemas.values_mut() {
        visit(schema, others, &mut used)?;
    }
    for (name, path) in used {
        // typify replaces the placeholder by the Rust path.
        insert_new(&mut defs.schemas, name.clone(), json!({}))?;
        defs.external.insert(name, path);
    }
    Ok(())
}

// ---- 3. Shared schemas --------------------------------------------------------------------------------

/// Where a subschema occurs: its definition and the segments below it.
struct Place {
    path: Vec<String>,
    description: Option<String>,
}

fn shared_schemas(schemas: &mut BTreeMap<String, Value>) -> Result<(), String> {
    loop {
        let existing: HashMap<String, String> = schemas
            .iter()
            .map(|(name, s)| (canonical(s), name.clone()))
            .collect();
        let mut counts: HashMap<String, usize> = HashMap::new();
        for schema in schemas.values_mut() {
            count(schema, &mut counts);
        }
        let shared = |canon: &str| {
            existing.contains_key(canon) || counts.get(canon).is_some_and(|n| *n >= 2)
        };

        // The outermost shared subschemas, by canonical text, with the places they occur.
        let mut found: BTreeMap<String, (Value, Vec<Place>)> = BTreeMap::new();
        for (name, schema) in schemas.iter_mut() {
            visit_shared(
                schema,
                &mut vec![name.clone()],
                &shared,
                &mut |canon, node, path| {
                    let entry = found
                        .entry(canon.to_owned())
                        .or_insert_with(|| (node.clone(), Vec::new()));
                    entry.1.push(Place {
                        path: path.to_vec(),
                        description: node
                            .get("description")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                    });
                },
            );
        }
        if found.is_empty() {
            return Ok(());
        }

        let new: BTreeMap<&str, &[Place]> = found
            .iter()
            .filter(|(canon, _)| !existing.contains_key(*canon))
            .map(|(canon, (_, places))| (canon.as_str(), places.as_slice()))
            .collect();
        let names = choose_names(&new, schemas)?;
        let name_of = |canon: &str| names.get(canon).or_else(|| existing.get(canon)).cloned();
        for (name, schema) in schemas.iter_mut() {
            visit_shared(
                schema,
                &mut vec![name.clone()],
                &shared,
                &mut |canon, node, _| {
                    if let Some(name) = name_of(canon) {
                        *node = reference(&name);
                    }
                },
            );
        }
        for (canon, name) in names {
            if let Some((schema, _)) = found.remove(&canon) {
                schemas.insert(name, schema);
            }
        }
    }
}

/// Counts every nameable subschema below `schema` (not `schema` itself).
fn count(schema: &mut Value, counts: &mut HashMap<String, usize>) {
    for (_, child) in children_mut(schema) {
        if is_nameable(child) {
            *counts.entry(canonical(child)).or_default() += 1;
        }
        count(child, counts);
    }
}

/// Calls `found` for each outermost nameable subschema below `schema` that `shared` accepts.
fn visit_shared(
    schema: &mut Value,
    path: &mut Vec<String>,
    shared: &dyn Fn(&str) -> bool,
    found: &mut dyn FnMut(&str, &mut Value, &[String]),
) {
    for (segment, child) in children_mut(schema) {
        path.push(segment);
        let canon = is_nameable(child).then(|| canonical(child));
        match canon {
            Some(canon) if shared(&canon) => found(&canon, child, path),
            _ => visit_shared(child, path, shared, found),
        }
        path.pop();
    }
}

/// A way to name a shared schema from the places it occurs; `None` when it has nothing to say.
type NamingRule = dyn Fn(&[Place]) -> Option<String>;

/// Names for new shared schemas: a short description, else the property every copy sits under, else the
/// shortest place; a name two of them want, or one that exists, falls through to the next rule.
fn choose_names(
    new: &BTreeMap<&str, &[Place]>,
    schemas: &BTreeMap<String, Value>,
) -> Result<HashMap<String, String>, String> {
    let by_description = |places: &[Place]| {
        let description = places.first()?.description.as_deref()?;
        let words: Vec<&str> = description
            .split([' ', '-'])
            .filter(|w| !w.is_empty())
            .collect();
        let name_like = (1..=3).contains(&words.len())
            && words
                .iter()
                .all(|w| w.chars().all(|c| c.is_ascii_alphanumeric()));
        name_like.then(|| words.join("_").to_ascii_lowercase())
    };
    let by_property = |places: &[Place]| {
        let keys: BTreeSet<&str> = places
            .iter()
            .filter_map(|p| p.path.last().map(String::as_str))
            .collect();
        // Every value of every property sits under `data`: that name would say nothing.
        (keys.len() == 1)
            .then(|| keys.first().map(|k| (*k).to_owned()))
            .flatten()
            .filter(|key| key != "data")
    };
    let by_place = |places: &[Place]| {
        places
            .iter()
            .map(|p| p.path.join("_"))
            .min_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)))
    };
    let rules: [&NamingRule; 3] = [&by_description, &by_property, &by_place];

    let mut taken: BTreeSet<String> = schemas.keys().cloned().collect();
    let mut names = HashMap::new();
    let mut open: Vec<(&str, &[Place])> = new.iter().map(|(c, p)| (*c, *p)).collect();
    for rule in rules {
        let wanted: Vec<Option<String>> = open.iter().map(|(_, places)| rule(places)).collect();
        let mut still_open = Vec::new();
        for (i, (canon, places)) in open.into_iter().enumerate() {
            let alone = |name: &String| {
                wanted
                    .iter()
                    .enumerate()
                    .all(|(j, other)| j == i || other.as_ref() != Some(name))
            };
            match &wanted[i] {
                Some(name) if !taken.contains(name) && alone(name) => {
                    taken.insert(name.clone());
                    names.insert(canon.to_owned(), name.clone());
                }
                _ => still_open.push((canon, places)),
            }
        }
        open = still_open;
    }
    match open.first() {
        None => Ok(names),
        Some((_, places)) => Err(format!(
            "cannot name the schema shared by {}",
            places
                .iter()
                .map(|p| p.path.join("."))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

// ---- 4. The rest --------------------------------------------------------------------------------------

fn the_rest(schemas: &mut BTreeMap<String, Value>) -> Result<(), String> {
    let mut pending: Vec<String> = schemas.keys().cloned().collect();
    while let Some(name) = pending.pop() {
        let Some(mut schema) = schemas.remove(&name) else {
            continue;
        };
        let mut taken = Vec::new();
        hoist(&mut schema, &name, &mut taken);
        schemas.insert(name, schema);
        for (new_name, body) in taken {
            insert_new(schemas, new_name.clone(), body)?;
            pending.push(new_name);
        }
    }
    Ok(())
}

/// Replaces each outermost nameable subschema of `schema` by a reference to a definition named after
/// its place (`prefix` + segments).
fn hoist(schema: &mut Value, prefix: &str, taken: &mut Vec<(String, Value)>) {
    for (segment, child) in children_mut(schema) {
        let name = format!("{prefix}_{segment}");
        if is_nameable(child) {
            let body = std::mem::replace(child, reference(&name));
            taken.push((name, body));
        } else {
            hoist(child, &name, taken);
        }
    }
}

/// Keeps `map`'s keys in a stable order for tests.
#[cfg(test)]
fn keys(map: &BTreeMap<String, Value>) -> Vec<&str> {
    map.keys().map(String::as_str).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enum_of(values: &[&str]) -> Value {
        json!({"type": "string", "enum": values})
    }

    fn failure() -> Value {
        json!({"description": "Failure", "type": "object", "properties": {
            "reason": enum_of(&["rate_limit", "unknown"]), "description": {"type": "string"}}})
    }

    fn property(data: Value) -> Value {
        json!({"type": "object", "properties": {"data": data, "timestamp": {"type": "string", "format": "date-time"}, "failure": failure()}})
    }

    /// Two capabilities shaped like the Streaming Schema V2: embedded, with inlined `$defs`.
    fn doc() -> Value {
        let length = json!({"type": "object", "properties": {"unit": enum_of(&["meters", "kilometers"]), "value": {"type": "number"}}});
        let position = property(enum_of(&["closed", "open"]));
        json!({
            "$id": "/doc.json", "type": "object",
            "properties": {
                "diagnostics": {
                    "$id": "https://elsewhere/diagnostics.json", "type": "object",
                    "properties": {
                        "odometer": {"type": "array", "items": property(length.clone())},
                        "trip": {"type": "array", "items": property(length.clone())},
                    },
                    "$defs": {"property_length": property(length)}
                },
                "hood": {
                    "$id": "https://elsewhere/hood.json", "type": "object",
                    "properties": {"position": {"type": "array", "items": position.clone()}},
                    "$defs": {"property_position": position}
                },
                "trunk": {
                    "$id": "https://elsewhere/trunk.json", "type": "object",
                    "properties": {"position": {"type": "array", "items": property(enum_of(&["closed", "open", "ajar"]))}},
                    "$defs": {"property_position": property(enum_of(&["closed", "open", "ajar"]))}
                }
            }
        })
    }

    #[test]
    fn every_type_is_a_named_definition() {
        let defs = definitions(doc(), "Capabilities", &BTreeMap::new()).unwrap();
        assert_eq!(
            keys(&defs.schemas),
            [
                "Capabilities",
                "diagnostics",
                "failure",
                "failure_reason",
                "hood",
                "hood_property_position",
                "hood_property_position_data",
                "property_length",
                "property_length_data",
                "property_length_data_unit",
                "trunk",
                "trunk_property_position",
                "trunk_property_position_data",
            ]
        );
        let s = &defs.schemas;
        // Copies of a `$def` became references to it; the shared failure object is one definition.
        assert_eq!(
            s["diagnostics"]["properties"]["odometer"]["items"],
            reference("property_length")
        );
        assert_eq!(
            s["property_length"]["properties"]["failure"],
            reference("failure")
        );
        assert_eq!(s["Capabilities"]["properties"]["hood"], reference("hood"));
        // Embedded schemas keep unknown members; nothing else does.
        assert_eq!(s["hood"]["additionalProperties"], json!({}));
        assert_eq!(s["Capabilities"]["additionalProperties"], json!({}));
        assert!(s["failure"].get("additionalProperties").is_none());
        assert!(s["hood"].get("$id").is_none());
    }

    #[test]
    fn a_reference_to_another_pinned_schema_becomes_its_root_type() {
        let doc = json!({"type": "object", "properties": {"data": {"$ref": "/other.json"}}});
        let others = [(
            "/other.json".to_owned(),
            OtherSchema {
                root: "Other".into(),
                path: "super::other::Other".into(),
            },
        )]
        .into();
        let defs = definitions(doc.clone(), "Envelope", &others).unwrap();
        assert_eq!(
            defs.schemas["Envelope"]["properties"]["data"],
            reference("Other")
        );
        assert_eq!(defs.external["Other"], "super::other::Other");

        let err = definitions(doc, "Envelope", &BTreeMap::new()).unwrap_err();
        assert!(err.contains("`$ref` to `/other.json`"), "{err}");
        assert!(err.contains("openapi/specs.toml"), "{err}");
    }

    #[test]
    fn a_shared_value_is_not_named_after_the_data_member_every_value_has() {
        let state = enum_of(&["open", "closed"]);
        let doc = json!({"type": "object", "properties": {
            "a": {"type": "object", "properties": {"data": state, "x": {"type": "number"}}},
            "b": {"type": "object", "properties": {"data": state, "y": {"type": "number"}}},
        }});
        let defs = definitions(doc, "Root", &BTreeMap::new()).unwrap();
        assert_eq!(
            keys(&defs.schemas),
            ["Root", "Root_a", "Root_a_data", "Root_b"]
        );
        assert_eq!(
            defs.schemas["Root_b"]["properties"]["data"],
            reference("Root_a_data")
        );
    }

    #[test]
    fn shared_units_without_a_description_are_named_after_their_first_place() {
        let unit = enum_of(&["celsius", "kelvin"]);
        let other_unit = enum_of(&["bar", "pascal"]);
        let doc = json!({"type": "object", "properties": {
            "a": {"type": "object", "properties": {"unit": unit, "x": {"type": "number"}}},
            "b": {"type": "object", "properties": {"unit": unit, "y": {"type": "number"}}},
            "c": {"type": "object", "properties": {"unit": other_unit, "x": {"type": "string"}}},
            "d": {"type": "object", "properties": {"unit": other_unit, "y": {"type": "string"}}},
        }});
        let defs = definitions(doc, "Root", &BTreeMap::new()).unwrap();
        assert_eq!(
            keys(&defs.schemas),
            [
                "Root",
                "Root_a",
                "Root_a_unit",
                "Root_b",
                "Root_c",
                "Root_c_unit",
                "Root_d"
            ]
        );
        assert_eq!(
            defs.schemas["Root_b"]["properties"]["unit"],
            reference("Root_a_unit")
        );
    }
}
