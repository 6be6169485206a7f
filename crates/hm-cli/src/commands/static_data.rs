//! `hm static-data VIN`: manufacturer, model and equipment.

use serde_json::Value;

use crate::cli::VinArgs;
use crate::commands::Ctx;
use crate::error::{CliError, api_error};
use crate::output::{human_value, print_json};

/// Runs `hm static-data`.
pub async fn run(ctx: &Ctx<'_>, args: &VinArgs) -> Result<(), CliError> {
    let session = ctx.session().await?;
    let call = session
        .hm
        .vehicle_static_data()
        .get_static_data()
        .vin(args.vin.clone());
    let data = match call.send().await {
        Ok(rv) => rv.into_inner(),
        Err(e) => return Err(api_error(format!("static data of {}", args.vin), e).await),
    };
    let doc = serde_json::to_value(&data)
        .map_err(|e| CliError::Other(format!("cannot encode the static data as JSON: {e}")))?;
    if ctx.json {
        return print_json(&doc);
    }
    println!("Vehicle {}", args.vin);
    print_tree(&doc, 0);
    Ok(())
}

/// Prints nested objects as an indented outline; lists of objects one item per line.
fn print_tree(value: &Value, depth: usize) {
    let indent = "  ".repeat(depth);
    let Some(map) = value.as_object() else {
        println!("{indent}{}", human_value("", value));
        return;
    };
    for (key, child) in map {
        let label = key.replace('_', " ");
        match child {
            Value::Object(inner) if !inner.contains_key("value") => {
                println!("{indent}{label}:");
                print_tree(child, depth + 1);
            }
            Value::Array(items) if items.iter().any(Value::is_object) => {
                println!("{indent}{label}:");
                for item in items {
                    println!("{indent}  - {}", item_text(item));
                }
            }
            _ => println!("{indent}{label}: {}", human_value(key, child)),
        }
    }
}

fn item_text(item: &Value) -> String {
    match item.get("description").and_then(Value::as_str) {
        Some(description) => match item.get("manufacturer_id").and_then(Value::as_str) {
            Some(id) => format!("{description} ({id})"),
            None => description.to_owned(),
        },
        None => human_value("", item),
    }
}
