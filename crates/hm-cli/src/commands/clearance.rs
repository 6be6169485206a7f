//! `hm clearance request|wait|list|get|revoke`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use hm_api::ClearanceFilter;
use hm_api::fleet_clearance::types::{
    ClearanceStatus, FleetVehicleDeleteItemResponse, FleetVehicleGetItemResponse,
    FleetVehiclePostResponse, FleetVin,
};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::api::{Reply, Session};
use crate::cli::{
    ClearanceCommand, ClearanceListArgs, ClearanceRequestArgs, ClearanceWaitArgs, VinArgs,
};
use crate::commands::{Ctx, webhooks};
use crate::config::{DEFAULT_TIMEOUT, DEFAULT_WAIT_TIMEOUT};
use crate::error::{ApiProblem, CliError, NetFailure};
use crate::input::read_vehicle_list;
use crate::output::{Table, line, print_fields, print_json, print_raw, progress_bar};
use crate::vocab::{Choice, brand_display};

/// VINs per clearance request (the API takes a list; one huge body is a risk for both sides).
const REQUEST_BATCH: usize = 100;
/// VINs per `vin in` filter when polling, to keep the URL short.
const LIST_BATCH: usize = 100;

/// Runs `hm clearance ...`.
pub async fn run(ctx: &Ctx<'_>, command: &ClearanceCommand) -> Result<(), CliError> {
    match command {
        ClearanceCommand::Request(args) => request_command(ctx, args).await,
        ClearanceCommand::Wait(args) => wait_command(ctx, args).await,
        ClearanceCommand::List(args) => list_command(ctx, args).await,
        ClearanceCommand::Get(args) => get_command(ctx, args).await,
        ClearanceCommand::Revoke(args) => revoke_command(ctx, args).await,
    }
}

/// One clearance: the API's document as received and its typed form.
#[derive(Debug, Clone)]
pub struct Clearance {
    /// The list item exactly as the API sent it (every field kept).
    pub doc: Value,
    /// The typed item, for decisions and tables.
    pub item: FleetVehicleGetItemResponse,
}

/// Lists clearances matching `filter` (all of them when it is empty).
pub async fn list(session: &Session, filter: &ClearanceFilter) -> Result<Vec<Clearance>, CliError> {
    let reply = session.clearance_list(filter).await?;
    decode_list(&reply)
}

fn decode_list(reply: &Reply) -> Result<Vec<Clearance>, CliError> {
    let docs: Vec<Value> = reply.decode("listing clearances")?;
    let items: Vec<FleetVehicleGetItemResponse> = reply.decode("listing clearances")?;
    Ok(docs
        .into_iter()
        .zip(items)
        .map(|(doc, item)| Clearance { doc, item })
        .collect())
}

/// Requests clearance for `(vin, brand)` pairs with `tags`, in batches; returns each batch's reply.
pub async fn request(
    session: &Session,
    vehicles: &[(String, String)],
    tags: &BTreeMap<String, String>,
) -> Result<Vec<Reply>, CliError> {
    let batches = request_batches(session, vehicles, tags).await;
    match batches.failure {
        Some(error) => Err(error),
        None => Ok(batches.replies),
    }
}

/// What a run of batches achieved: the replies of the batches the API accepted and, if a batch
/// failed, its error and the VINs of that batch and the ones after it (not requested).
struct Batches {
    replies: Vec<Reply>,
    failure: Option<CliError>,
    not_requested: Vec<String>,
}

async fn request_batches(
    session: &Session,
    vehicles: &[(String, String)],
    tags: &BTreeMap<String, String>,
) -> Batches {
    let mut replies = Vec::new();
    for (index, batch) in vehicles.chunks(REQUEST_BATCH).enumerate() {
        match session.clearance_request(batch, tags).await {
            Ok(reply) => replies.push(reply),
            Err(error) => {
                return Batches {
                    replies,
                    failure: Some(error),
                    not_requested: vehicles[index * REQUEST_BATCH..]
                        .iter()
                        .map(|(vin, _)| vin.clone())
                        .collect(),
                };
            }
        }
    }
    Batches {
        replies,
        failure: None,
        not_requested: Vec::new(),
    }
}

/// Where waiting ended.
#[derive(Debug)]
pub struct WaitOutcome {
    /// The latest state of every VIN waited for that the API listed, in the order asked.
    pub clearances: Vec<Clearance>,
    /// VINs still pending.
    pub pending: Vec<String>,
    /// Whether `--timeout` ended the wait.
    pub timed_out: bool,
    /// Why the last poll failed, if it did (transient failures only end a wait at `--timeout`).
    pub last_failure: Option<String>,
    /// The failure that ended the wait early (one that polling again cannot cure, e.g. HTTP 403).
    pub failure: Option<CliError>,
}

impl WaitOutcome {
    /// VINs whose clearance ended rejected.
    pub fn rejected(&self) -> Vec<String> {
        self.clearances
            .iter()
            .filter(|c| c.item.status == ClearanceStatus::Rejected)
            .map(|c| c.item.vin.clone())
            .collect()
    }

    /// The command's result: the failure that ended the wait, exit 6 if the wait timed out, 7 if
    /// a clearance was rejected.
    pub fn result(self, waited: Duration) -> Result<(), CliError> {
        if let Some(failure) = self.failure {
            return Err(failure);
        }
        if self.timed_out {
            return Err(CliError::WaitTimeout {
                after: waited,
                pending: self.pending,
                last_failure: self.last_failure,
            });
        }
        let rejected = self.rejected();
        if rejected.is_empty() {
            Ok(())
        } else {
            Err(CliError::Rejected { vins: rejected })
        }
    }
}

/// Polls the list endpoint (a `vin in` filter, which has no rate limit, unlike GET one clearance)
/// until no VIN of `vins` is pending or the session's deadline comes, with a progress bar on a
/// terminal. With `require_listed`, a VIN without any clearance is an error: there is nothing to
/// wait for; otherwise (just requested) it counts as pending until the list shows it.
pub async fn wait(
    session: &Session,
    vins: &[String],
    interval: Duration,
    json: bool,
    require_listed: bool,
) -> Result<WaitOutcome, CliError> {
    let bar = progress_bar(
        vins.len() as u64,
        json,
        "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} decided  {msg}",
    );
    bar.set_message("waiting for approval");
    let result = poll_until_decided(session, vins, interval, require_listed, &bar).await;
    bar.finish_and_clear();
    result
}

async fn poll_until_decided(
    session: &Session,
    vins: &[String],
    interval: Duration,
    require_listed: bool,
    bar: &indicatif::ProgressBar,
) -> Result<WaitOutcome, CliError> {
    let deadline = session.until();
    let mut first = true;
    let mut latest: HashMap<String, Clearance> = HashMap::new();
    let mut last_failure = None;
    let mut failure = None;
    let timed_out = loop {
        match tokio::time::timeout_at(deadline, poll(session, vins)).await {
            Ok(Ok(items)) => {
                last_failure = None;
                for clearance in items {
                    latest.insert(clearance.item.vin.clone(), clearance);
                }
            }
            Err(_)
            | Ok(Err(CliError::Network {
                failure: NetFailure::Deadline,
                ..
            })) => break true,
            // A wait may last hours: a network hiccup or an outage of the API is waited out
            // (the clearances are still pending as far as anyone knows) until --timeout.
            Ok(Err(e)) if is_transient(&e) => {
                tracing::debug!("poll failed, polling on: {e}");
                last_failure = Some(e.to_string());
            }
            Ok(Err(e)) => {
                failure = Some(e);
                break false;
            }
        }
        if last_failure.is_none() && std::mem::take(&mut first) && require_listed {
            let missing: Vec<&String> = vins.iter().filter(|v| !latest.contains_key(*v)).collect();
            if !missing.is_empty() {
                return Err(CliError::Refused {
                    what: format!(
                        "nothing to wait for: {} VIN(s) have no clearance",
                        missing.len()
                    ),
                    problems: missing
                        .iter()
                        .map(|vin| ApiProblem {
                            title: (*vin).clone(),
                            detail: Some(
                                "no clearance; request one with `hm clearance request`".into(),
                            ),
                        })
                        .collect(),
                });
            }
        }
        let decided = vins
            .iter()
            .filter(|v| {
                latest
                    .get(*v)
                    .is_some_and(|c| c.item.status != ClearanceStatus::Pending)
            })
            .count();
        bar.set_position(decided as u64);
        if decided == vins.len() {
            break false;
        }
        let next = Instant::now() + interval;
        tokio::time::sleep_until(next.min(deadline)).await;
        if Instant::now() >= deadline {
            break true;
        }
    };
    let pending = vins
        .iter()
        .filter(|v| {
            latest
                .get(*v)
                .is_none_or(|c| c.item.status == ClearanceStatus::Pending)
        })
        .cloned()
        .collect();
    let clearances: Vec<Clearance> = vins.iter().filter_map(|v| latest.remove(v)).collect();
    Ok(WaitOutcome {
        clearances,
        pending,
        timed_out,
        last_failure,
        failure,
    })
}

/// Whether polling again may succeed: the network or the API's availability let one poll down.
pub fn is_transient(error: &CliError) -> bool {
    match error {
        CliError::Network { failure, .. } => *failure != NetFailure::Redirect,
        CliError::Api { .. } => error.exit_code() == crate::error::EXIT_UNREACHABLE,
        _ => false,
    }
}

/// The clearances of `vins`, listed in batches with a `vin in` filter.
pub async fn poll(session: &Session, vins: &[String]) -> Result<Vec<Clearance>, CliError> {
    let mut all = Vec::new();
    for batch in vins.chunks(LIST_BATCH) {
        let filter = ClearanceFilter::default().vin_in(batch.iter().cloned());
        all.extend(list(session, &filter).await?);
    }
    Ok(all)
}

/// A table of clearances: VIN, brand, status, last change, tags, reason.
pub fn table(items: &[Clearance]) -> Table {
    let mut table = Table::new(["VIN", "BRAND", "STATUS", "SINCE", "TAGS", "REASON"]);
    for Clearance { item, .. } in items {
        let last = item.changelog.last();
        table.row([
            item.vin.clone(),
            item.brand
                .as_ref()
                .map(|b| brand_display(&b.to_string()))
                .unwrap_or_else(|| "-".into()),
            item.status.to_string(),
            last.map(|c| timestamp_text(&c.timestamp))
                .unwrap_or_else(|| "-".into()),
            tags_text(&item.tags),
            item.changelog
                .iter()
                .rev()
                .find_map(|c| c.reason.clone())
                .unwrap_or_default(),
        ]);
    }
    table
}

/// A changelog time as people read it: RFC 3339 in UTC, to the second.
fn timestamp_text(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn tags_text(tags: &BTreeMap<String, String>) -> String {
    let sorted: BTreeMap<_, _> = tags.iter().collect();
    if sorted.is_empty() {
        return "-".into();
    }
    sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The `(vin, brand)` pairs of the arguments and of `--from`; every VIN needs a brand.
fn vehicles(args: &ClearanceRequestArgs) -> Result<Vec<(String, String)>, CliError> {
    let choice = Choice::clearance_brand();
    let mut pairs = Vec::new();
    let mut problems = Vec::new();
    // (VIN, brand as listed, where: "argument" or "line N").
    let mut listed: Vec<(String, Option<String>, String)> = args
        .vins
        .iter()
        .map(|v| (v.clone(), None, "the arguments".to_owned()))
        .collect();
    if let Some(path) = &args.from {
        listed.extend(
            read_vehicle_list(path)?
                .into_iter()
                .map(|r| (r.vin, r.brand, format!("line {}", r.line))),
        );
    }
    // Where each VIN was first seen, with which brand.
    let mut first: HashMap<String, (String, String)> = HashMap::new();
    for (vin, brand, place) in listed {
        let brand = match brand.as_deref().map(|b| choice.check(b)) {
            Some(Ok(brand)) => brand,
            Some(Err(e)) => {
                problems.push(format!("{vin} ({place}): {e}"));
                continue;
            }
            None => match &args.brand {
                Some(brand) => brand.clone(),
                None => {
                    problems.push(format!("{vin}: no brand; give --brand (or a brand column)"));
                    continue;
                }
            },
        };
        match first.get(&vin) {
            Some((seen, at)) if *seen != brand => problems.push(format!(
                "{vin} is listed with two brands: `{seen}` ({at}) and `{brand}` ({place}); keep one"
            )),
            Some(_) => {}
            None => {
                first.insert(vin.clone(), (brand.clone(), place));
                pairs.push((vin, brand));
            }
        }
    }
    if !problems.is_empty() {
        return Err(CliError::Usage(format!(
            "nothing was sent:\n  {}",
            problems.join("\n  ")
        )));
    }
    // The same VIN twice (with the same brand) was kept once: a second would only draw an error.
    Ok(pairs)
}

/// One document for all batches: the reply itself when there was one batch.
fn requested_doc(replies: &[Reply]) -> Result<Value, CliError> {
    if let [one] = replies {
        return one.json("clearance request");
    }
    let mut vehicles = Vec::new();
    for reply in replies {
        let mut doc = reply.json("clearance request")?;
        if let Some(Value::Array(list)) = doc.get_mut("vehicles").map(Value::take) {
            vehicles.extend(list);
        }
    }
    Ok(json!({ "vehicles": vehicles }))
}

async fn request_command(ctx: &Ctx<'_>, args: &ClearanceRequestArgs) -> Result<(), CliError> {
    let pairs = vehicles(args)?;
    let vins: Vec<&str> = pairs.iter().map(|(v, _)| v.as_str()).collect();
    let default_limit = if args.wait {
        DEFAULT_WAIT_TIMEOUT
    } else {
        DEFAULT_TIMEOUT
    };
    let mut session = ctx.connect(&args.connection, default_limit, &vins).await?;
    if args.from.is_some() {
        // A list: --timeout bounds each batch (and the wait), not the whole run.
        session = session.per_request();
    }
    // Listening before the request, so that no decision is missed.
    let mut receiver = match args.webhook_port {
        Some(port) => Some(webhooks::receiver_for_wait(args, port, ctx.json).await?),
        None => None,
    };
    let tags: BTreeMap<String, String> = args.tags.iter().cloned().collect();
    let batches = request_batches(&session, &pairs, &tags).await;
    let replies = batches.replies;
    if let Some(error) = batches.failure {
        if replies.is_empty() {
            return Err(error);
        }
        // Clearances were requested before the failure: say which, or nobody can resume.
        return report_accepted_batches(ctx, &replies, &batches.not_requested, error);
    }
    let mut answers: Vec<FleetVin> = Vec::new();
    for reply in &replies {
        answers.extend(
            reply
                .decode::<FleetVehiclePostResponse>("clearance request")?
                .vehicles,
        );
    }
    let refused: Vec<&FleetVin> = answers
        .iter()
        .filter(|r| r.status == ClearanceStatus::Error)
        .collect();
    let waiting: Vec<String> = answers
        .iter()
        .filter(|r| r.status != ClearanceStatus::Error)
        .map(|r| r.vin.clone())
        .collect();
    let outcome = match &mut receiver {
        _ if !args.wait || waiting.is_empty() => None,
        Some(receiver) => Some(
            webhooks::wait(&session, &waiting, args.interval, ctx.json, receiver)
                .await?
                .0,
        ),
        None => Some(wait(&session, &waiting, args.interval, ctx.json, false).await?),
    };
    if ctx.json {
        match &outcome {
            None if replies.len() == 1 => print_raw(&replies[0].body)?,
            None => print_json(&requested_doc(&replies)?)?,
            Some(outcome) => print_json(&json!({
                "requested": requested_doc(&replies)?,
                "clearances": outcome.clearances.iter().map(|c| &c.doc).collect::<Vec<_>>(),
                "pending": outcome.pending,
                "timed_out": outcome.timed_out,
            }))?,
        }
    } else {
        answer_table(&answers).print()?;
        match &outcome {
            Some(outcome) => {
                line("")?;
                table(&outcome.clearances).print()?;
            }
            None if !waiting.is_empty() => line(
                "\nApproval can take from seconds to days: `hm clearance wait VIN...` waits for it.",
            )?,
            None => {}
        }
    }
    if let Some(outcome) = outcome {
        outcome.result(session.limit)?;
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(CliError::Refused {
            what: format!(
                "clearance request refused for {} of {} VIN(s)",
                refused.len(),
                answers.len()
            ),
            problems: refused
                .iter()
                .map(|r| ApiProblem {
                    title: r.vin.clone(),
                    detail: r.description.clone(),
                })
                .collect(),
        })
    }
}

/// Prints what the accepted batches requested, names the VINs not requested, and returns the
/// failed batch's error.
fn report_accepted_batches(
    ctx: &Ctx<'_>,
    replies: &[Reply],
    not_requested: &[String],
    error: CliError,
) -> Result<(), CliError> {
    let mut doc = requested_doc(replies)?;
    if ctx.json {
        match doc.as_object_mut() {
            Some(map) => {
                map.insert("not_requested".into(), json!(not_requested));
            }
            None => doc = json!({ "requested": doc, "not_requested": not_requested }),
        }
        print_json(&doc)?;
    } else {
        let mut answers: Vec<FleetVin> = Vec::new();
        for reply in replies {
            answers.extend(
                reply
                    .decode::<FleetVehiclePostResponse>("clearance request")?
                    .vehicles,
            );
        }
        answer_table(&answers).print()?;
    }
    ctx.warn(&format!(
        "a batch failed: the VINs above were requested; {} VIN(s) from {} on were not \
         (`not_requested` in --json): request them again once the error below is solved",
        not_requested.len(),
        not_requested.first().map_or("-", String::as_str),
    ));
    Err(error)
}

fn answer_table(answers: &[FleetVin]) -> Table {
    let mut t = Table::new(["VIN", "STATUS", "DESCRIPTION"]);
    for r in answers {
        t.row([
            r.vin.clone(),
            r.status.to_string(),
            r.description.clone().unwrap_or_default(),
        ]);
    }
    t
}

async fn wait_command(ctx: &Ctx<'_>, args: &ClearanceWaitArgs) -> Result<(), CliError> {
    let mut vins = args.vins.clone();
    let mut seen = std::collections::HashSet::new();
    vins.retain(|v| seen.insert(v.clone()));
    let refs: Vec<&str> = vins.iter().map(String::as_str).collect();
    let session = ctx
        .connect(&args.connection, DEFAULT_WAIT_TIMEOUT, &refs)
        .await?;
    let outcome = wait(&session, &vins, args.interval, ctx.json, true).await?;
    if ctx.json {
        print_json(&json!({
            "clearances": outcome.clearances.iter().map(|c| &c.doc).collect::<Vec<_>>(),
            "pending": outcome.pending,
            "timed_out": outcome.timed_out,
        }))?;
    } else {
        table(&outcome.clearances).print()?;
    }
    outcome.result(session.limit)
}

async fn list_command(ctx: &Ctx<'_>, args: &ClearanceListArgs) -> Result<(), CliError> {
    let mut filter = ClearanceFilter::default();
    if let Some(status) = &args.status {
        filter = filter.status_eq(
            status
                .parse()
                .map_err(|e| CliError::Usage(format!("status `{status}`: {e}")))?,
        );
    }
    if let Some(brand) = &args.brand {
        filter = filter.brand_eq(
            brand
                .parse()
                .map_err(|e| CliError::Usage(format!("brand `{brand}`: {e}")))?,
        );
    }
    match args.vins.as_slice() {
        [] => {}
        [one] => filter = filter.vin_eq(one.clone()),
        many => filter = filter.vin_in(many.iter().cloned()),
    }
    let refs: Vec<&str> = args.vins.iter().map(String::as_str).collect();
    let session = ctx
        .connect(&args.connection, DEFAULT_TIMEOUT, &refs)
        .await?;
    let reply = session.clearance_list(&filter).await?;
    if ctx.json {
        return print_raw(&reply.body);
    }
    let items = decode_list(&reply)?;
    if items.is_empty() {
        line("No clearances match.")
    } else {
        table(&items).print()
    }
}

async fn get_command(ctx: &Ctx<'_>, args: &VinArgs) -> Result<(), CliError> {
    let session = ctx
        .connect(&args.connection, DEFAULT_TIMEOUT, &[&args.vin])
        .await?;
    let reply = session.clearance_get(&args.vin).await?;
    if ctx.json {
        return print_raw(&reply.body);
    }
    let item: FleetVehicleGetItemResponse = reply.decode(&format!("clearance of {}", args.vin))?;
    print_fields(&[
        ("VIN", item.vin.clone()),
        (
            "brand",
            item.brand
                .as_ref()
                .map(|b| brand_display(&b.to_string()))
                .unwrap_or_else(|| "-".into()),
        ),
        ("status", item.status.to_string()),
        ("tags", tags_text(&item.tags)),
    ])?;
    if !item.changelog.is_empty() {
        line("")?;
        let mut history = Table::new(["TIME", "STATUS", "REASON"]);
        for change in &item.changelog {
            history.row([
                timestamp_text(&change.timestamp),
                change.status.to_string(),
                change.reason.clone().unwrap_or_default(),
            ]);
        }
        history.print()?;
    }
    Ok(())
}

async fn revoke_command(ctx: &Ctx<'_>, args: &VinArgs) -> Result<(), CliError> {
    let session = ctx
        .connect(&args.connection, DEFAULT_TIMEOUT, &[&args.vin])
        .await?;
    let reply = session.clearance_revoke(&args.vin).await?;
    if ctx.json {
        return print_raw(&reply.body);
    }
    let item: FleetVehicleDeleteItemResponse =
        reply.decode(&format!("revoking the clearance of {}", args.vin))?;
    line(&format!("{}: {}", item.vin, item.status))
}
