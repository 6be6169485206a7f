//! `hm vehicle-data VIN` (a summary by capability, each value with its age) and
//! `hm vehicle-data --all-approved --ndjson` (every approved vehicle, streamed).

use std::io::{IsTerminal, Write};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use hm_api::ClearanceFilter;
use hm_api::fleet_clearance::types::ClearanceStatus;
use hm_api::vehicle_data::types::VehicleData;
use serde_json::Value;

use crate::api::Session;
use crate::bulk::{self, Failures, Gate};
use crate::cli::VehicleDataArgs;
use crate::commands::{Ctx, clearance};
use crate::config::DEFAULT_TIMEOUT;
use crate::error::CliError;
use crate::output::{self, age, fields_text, human_value, out, print_raw, progress_bar};
use crate::vocab::brand_display;

/// Fetches and decodes the vehicle data document of `vin`; returns the typed model (as JSON, for
/// the summary) next to the document as received.
pub async fn fetch(session: &Session, vin: &str) -> Result<(Value, bytes::Bytes), CliError> {
    let reply = session.vehicle_data(vin).await?;
    let typed: VehicleData = reply.decode(&format!("vehicle data of {vin}"))?;
    let summary = serde_json::to_value(&typed)
        .map_err(|e| CliError::Other(format!("cannot encode the vehicle data: {e}")))?;
    Ok((summary, reply.body))
}

fn property<'a>(doc: &'a Value, capability: &str, name: &str) -> Option<&'a Value> {
    doc.get(capability)?.get(name)
}

/// The headline values: odometer, fuel and charge level, range, location, locks, ignition, each
/// with its age.
pub fn headline(doc: &Value, now: DateTime<Utc>) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    let mut add = |label: &'static str, capability: &str, name: &str| {
        if let Some(p) = property(doc, capability, name)
            && p.get("data").is_some()
        {
            lines.push((label, property_text(name, p, now)));
        }
    };
    add("odometer", "diagnostics", "odometer");
    add("fuel level", "diagnostics", "fuel_level");
    add("charge level", "charging", "battery_level");
    add("range", "diagnostics", "estimated_range");
    add("electric range", "charging", "estimated_range");
    add("doors", "doors", "locks_state");
    add("ignition", "ignition", "state");
    add("location", "vehicle_location", "coordinates");
    lines
}

/// Every property, grouped by capability: `(capability, [(property, value)])`.
pub fn by_capability(doc: &Value, now: DateTime<Utc>) -> Vec<(String, Vec<(String, String)>)> {
    let Some(map) = doc.as_object() else {
        return Vec::new();
    };
    let mut groups = Vec::new();
    for (capability, properties) in map {
        let Some(properties) = properties.as_object() else {
            continue;
        };
        let lines = properties
            .iter()
            .map(|(name, p)| (name.clone(), property_text(name, p, now)))
            .collect();
        groups.push((capability.clone(), lines));
    }
    groups
}

/// A property for people: its value and how old it is, or why it is unavailable.
fn property_text(name: &str, property: &Value, now: DateTime<Utc>) -> String {
    match property {
        Value::Array(items) => items
            .iter()
            .map(|p| property_text(name, p, now))
            .collect::<Vec<_>>()
            .join("; "),
        Value::Object(map) => {
            if let Some(failure) = map.get("failure") {
                let reason = failure
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or("failure");
                let description = failure
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                return format!("unavailable ({reason}) {description}")
                    .trim_end()
                    .to_owned();
            }
            let value = match map.get("data") {
                Some(data) => human_value(name, data),
                None => human_value(name, property),
            };
            match map.get("timestamp").and_then(Value::as_str) {
                Some(at) => format!("{value} ({})", age(at, now)),
                None => value,
            }
        }
        other => human_value(name, other),
    }
}

/// The summary for people, as text.
pub fn summary_text(doc: &Value, now: DateTime<Utc>, indent: usize) -> String {
    let vin = doc.get("vin").and_then(Value::as_str).unwrap_or("?");
    let brand = doc
        .get("brand")
        .and_then(Value::as_str)
        .map(brand_display)
        .unwrap_or_else(|| "?".into());
    let pad = " ".repeat(indent);
    let mut text = format!("{pad}Vehicle {vin} ({brand})\n");
    text.push_str(&fields_text(&headline(doc, now), indent + 2));
    text
}

/// Checks that `body` is one JSON object (a vehicle document), without building it: each
/// `--ndjson` line must be one, or a script reading them breaks.
fn json_object(body: &[u8]) -> Result<(), String> {
    serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(|e| e.to_string())?;
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Ok(()),
        _ => Err("the document is not a JSON object".into()),
    }
}

/// Runs `hm vehicle-data`.
pub async fn run(ctx: &Ctx<'_>, args: &VehicleDataArgs) -> Result<(), CliError> {
    if args.all_approved {
        return all_approved(ctx, args).await;
    }
    let vin = args.vin.clone().unwrap_or_default();
    let session = ctx
        .connect(&args.connection, DEFAULT_TIMEOUT, &[&vin])
        .await?;
    let (doc, raw) = fetch(&session, &vin).await?;
    if ctx.json {
        return print_raw(&raw);
    }
    let now = Utc::now();
    let mut text = summary_text(&doc, now, 0);
    for (capability, lines) in by_capability(&doc, now) {
        if lines.is_empty() {
            continue;
        }
        text.push_str(&format!("\n[{capability}]\n"));
        let refs: Vec<(&str, String)> =
            lines.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        text.push_str(&fields_text(&refs, 0));
    }
    out(&text)
}

/// Every approved vehicle's document, one line each as it arrives; failures summarised at the end.
async fn all_approved(ctx: &Ctx<'_>, args: &VehicleDataArgs) -> Result<(), CliError> {
    // Retries are the bulk runner's, so that one 429 pauses every worker.
    let session = ctx
        .session(
            &args.connection,
            DEFAULT_TIMEOUT,
            hm_auth::RetryPolicy::disabled(),
        )?
        .per_request();
    session.authenticate().await?;
    let approved = clearance::list(
        &session,
        &ClearanceFilter::default().status_eq(ClearanceStatus::Approved),
    )
    .await?;
    let vins: Vec<String> = approved.into_iter().map(|c| c.item.vin).collect();
    let total = vins.len();
    let bar = progress_bar(
        total as u64,
        false,
        "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} vehicles  {msg}",
    );
    let gate = Gate::default();
    let session = &session;
    let fetch = |vin: String, until| async move { session.vehicle_data_until(&vin, until).await };
    let mut results = bulk::run(
        vins,
        usize::from(args.concurrency),
        &gate,
        session.limit,
        fetch,
    );
    let mut failures = Failures::default();
    let stdout = std::io::stdout();
    while let Some((vin, result)) = results.next().await {
        bar.inc(1);
        let reply = match result {
            Ok(reply) if (200..300).contains(&reply.status) => reply,
            Ok(reply) => {
                failures.push(vin.clone(), crate::api::vehicle_data_error(&vin, reply));
                bar.set_message(format!("{} failed", failures.len()));
                continue;
            }
            Err(error) => {
                failures.push(vin, error);
                bar.set_message(format!("{} failed", failures.len()));
                continue;
            }
        };
        if let Err(detail) = json_object(&reply.body) {
            failures.push(
                vin.clone(),
                CliError::MalformedReply {
                    what: format!("vehicle data of {vin}"),
                    detail: reply.secrets.scrub(&detail),
                    request_id: reply.request_id,
                },
            );
            continue;
        }
        let mut lock = stdout.lock();
        let written = lock
            .write_all(crate::scrub::escape_json(&output::one_line(&reply.body)).as_bytes())
            .and_then(|()| lock.write_all(b"\n"))
            .and_then(|()| lock.flush());
        if let Err(e) = written {
            bar.finish_and_clear();
            return Err(output::io_error(e));
        }
    }
    bar.finish_and_clear();
    if failures.len() == 0 && std::io::stderr().is_terminal() {
        eprintln!("{total} vehicle(s) fetched");
    }
    failures.finish(total, ctx.json)
}
