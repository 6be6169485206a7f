//! `hm static-data VIN`: manufacturer, model and equipment.

use hm_api::vehicle_static_data::types::VehicleStaticDataResponse;
use serde_json::Value;

use crate::cli::VinArgs;
use crate::commands::Ctx;
use crate::config::DEFAULT_TIMEOUT;
use crate::error::CliError;
use crate::output::{human_value, out, print_raw, wrap};

/// Runs `hm static-data`.
pub async fn run(ctx: &Ctx<'_>, args: &VinArgs) -> Result<(), CliError> {
    let session = ctx
        .connect(&args.connection, DEFAULT_TIMEOUT, &[&args.vin])
        .await?;
    let reply = session.static_data(&args.vin).await?;
    if ctx.json {
        return print_raw(&reply.body);
    }
    let typed: VehicleStaticDataResponse = reply.decode(&format!("static data of {}", args.vin))?;
    let doc = serde_json::to_value(&typed)
        .map_err(|e| CliError::Other(format!("cannot encode the static data: {e}")))?;
    let mut text = format!("Vehicle {}\n", args.vin);
    tree(&doc, 0, &mut text);
    out(&text)
}

/// Nested objects as an indented outline; lists of objects one item per line.
fn tree(value: &Value, depth: usize, text: &mut String) {
    let indent = "  ".repeat(depth);
    let Some(map) = value.as_object() else {
        text.push_str(&format!("{indent}{}\n", human_value("", value)));
        return;
    };
    for (key, child) in map {
        let label = key.replace('_', " ");
        match child {
            Value::Object(inner) if !inner.contains_key("value") => {
                text.push_str(&format!("{indent}{label}:\n"));
                tree(child, depth + 1, text);
            }
            Value::Array(items) if items.iter().any(Value::is_object) => {
                text.push_str(&format!("{indent}{label}:\n"));
                for item in items {
                    text.push_str(&format!(
                        "{indent}  - {}\n",
                        wrap(&item_text(item), indent.len() + 4)
                    ));
                }
            }
            _ => {
                let start = indent.len() + label.len() + 2;
                text.push_str(&format!(
                    "{indent}{label}: {}\n",
                    wrap(&human_value(key, child), start)
                ));
            }
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
