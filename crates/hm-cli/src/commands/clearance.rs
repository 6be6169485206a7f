//! `hm clearance request|list|get|revoke`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hm_api::ClearanceFilter;
use hm_api::fleet_clearance::types::{
    Brand, ClearanceStatus, FleetVehicle, FleetVehicleGetItemResponse, FleetVehicleRequest,
    FleetVin,
};
use serde_json::json;

use crate::cli::{ClearanceCommand, ClearanceListArgs, ClearanceRequestArgs, VinArgs};
use crate::commands::{CLEARANCE_BRANDS, Ctx, parse_brand};
use crate::config::Session;
use crate::error::{ApiProblem, CliError, api_error};
use crate::output::{Table, print_fields, print_json, progress_bar};

/// Statuses a clearance can be in, as the API spells them.
const STATUSES: &[&str] = &[
    "pending",
    "approved",
    "rejected",
    "revoking",
    "revoked",
    "canceling",
    "canceled",
];

/// Runs `hm clearance ...`.
pub async fn run(ctx: &Ctx<'_>, command: &ClearanceCommand) -> Result<(), CliError> {
    match command {
        ClearanceCommand::Request(args) => request_command(ctx, args).await,
        ClearanceCommand::List(args) => list_command(ctx, args).await,
        ClearanceCommand::Get(args) => get_command(ctx, args).await,
        ClearanceCommand::Revoke(args) => revoke_command(ctx, args).await,
    }
}

/// Requests clearance for each `(vin, brand)`, all with `tags`.
pub async fn request(
    session: &Session,
    vehicles: &[(String, Brand)],
    tags: &BTreeMap<String, String>,
) -> Result<Vec<FleetVin>, CliError> {
    let body = FleetVehicleRequest {
        vehicles: vehicles
            .iter()
            .map(|(vin, brand)| FleetVehicle {
                brand: brand.clone(),
                control_measures: None,
                tags: tags.clone(),
                vin: vin.clone(),
            })
            .collect(),
    };
    match session
        .hm
        .fleet_clearance()
        .create_clearance()
        .body(body)
        .send()
        .await
    {
        Ok(rv) => Ok(rv.into_inner().vehicles),
        Err(e) => {
            let vins: Vec<&str> = vehicles.iter().map(|(vin, _)| vin.as_str()).collect();
            Err(api_error(format!("clearance request for {}", vins.join(", ")), e).await)
        }
    }
}

/// Lists clearances matching `filter` (all of them when it is empty).
pub async fn list(
    session: &Session,
    filter: &ClearanceFilter,
) -> Result<Vec<FleetVehicleGetItemResponse>, CliError> {
    let mut call = session.hm.fleet_clearance().list_clearances();
    if !filter.is_empty() {
        call = call.filter(filter.to_json());
    }
    match call.send().await {
        Ok(rv) => Ok(rv.into_inner().0),
        Err(e) => Err(api_error("listing clearances".to_owned(), e).await),
    }
}

/// Polls the list endpoint (a `vin in` filter, which has no rate limit, unlike GET one clearance)
/// until no VIN of `vins` is pending, with a progress bar; gives up after `timeout`.
pub async fn wait(
    session: &Session,
    vins: &[String],
    interval: Duration,
    timeout: Duration,
    json: bool,
) -> Result<Vec<FleetVehicleGetItemResponse>, CliError> {
    let started = Instant::now();
    let bar = progress_bar(vins.len() as u64, json);
    bar.set_message("waiting for approval");
    let filter = ClearanceFilter::default().vin_in(vins.iter().cloned());
    loop {
        let items = list(session, &filter).await?;
        let decided = vins
            .iter()
            .filter(|vin| {
                items
                    .iter()
                    .any(|i| &i.vin == *vin && i.status != ClearanceStatus::Pending)
            })
            .count();
        bar.set_position(decided as u64);
        if decided == vins.len() {
            bar.finish_and_clear();
            return Ok(items);
        }
        if started.elapsed() >= timeout {
            bar.abandon();
            return Err(CliError::WaitTimeout {
                secs: timeout.as_secs(),
                pending: vins.len() - decided,
            });
        }
        let left = timeout.saturating_sub(started.elapsed());
        tokio::time::sleep(interval.min(left)).await;
    }
}

/// A table of clearances: VIN, brand, status, tags, last change, reason.
pub fn table(items: &[FleetVehicleGetItemResponse]) -> Table {
    let mut table = Table::new(["VIN", "BRAND", "STATUS", "SINCE", "TAGS", "REASON"]);
    for item in items {
        let last = item.changelog.last();
        table.row([
            item.vin.clone(),
            item.brand
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_else(|| "-".into()),
            item.status.to_string(),
            last.map(|c| {
                c.timestamp
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            })
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

fn tags_text(tags: &BTreeMap<String, String>) -> String {
    if tags.is_empty() {
        return "-".into();
    }
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

async fn request_command(ctx: &Ctx<'_>, args: &ClearanceRequestArgs) -> Result<(), CliError> {
    let brand: Brand = parse_brand(&args.brand, CLEARANCE_BRANDS, "clearance")?;
    if !(args.interval.is_finite() && args.interval > 0.0) {
        return Err(CliError::Usage(
            "--interval must be a positive number of seconds".into(),
        ));
    }
    let session = ctx.session().await?;
    let tags: BTreeMap<String, String> = args.tags.iter().cloned().collect();
    let vehicles: Vec<(String, Brand)> = args
        .vins
        .iter()
        .map(|vin| (vin.clone(), brand.clone()))
        .collect();
    let replies = request(&session, &vehicles, &tags).await?;
    let failed: Vec<&FleetVin> = replies
        .iter()
        .filter(|r| r.status == ClearanceStatus::Error)
        .collect();
    let waiting: Vec<String> = replies
        .iter()
        .filter(|r| r.status != ClearanceStatus::Error)
        .map(|r| r.vin.clone())
        .collect();
    let decided = if args.wait && !waiting.is_empty() {
        let interval = Duration::from_secs_f64(args.interval);
        Some(
            wait(
                &session,
                &waiting,
                interval,
                Duration::from_secs(args.timeout),
                ctx.json,
            )
            .await?,
        )
    } else {
        None
    };
    if ctx.json {
        print_json(&json!({ "requested": replies, "clearances": decided }))?;
    } else {
        let mut t = Table::new(["VIN", "STATUS", "DESCRIPTION"]);
        for r in &replies {
            t.row([
                r.vin.clone(),
                r.status.to_string(),
                r.description.clone().unwrap_or_default(),
            ]);
        }
        t.print();
        if let Some(items) = &decided {
            println!();
            table(items).print();
        } else if !waiting.is_empty() {
            println!(
                "\nApproval can take from seconds to days; check with `hm clearance list` or use --wait."
            );
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::Api {
            operation: "clearance request".into(),
            status: 200,
            problems: failed
                .iter()
                .map(|r| ApiProblem {
                    title: format!("{} was not accepted", r.vin),
                    detail: r.description.clone(),
                })
                .collect(),
            hint: Some("check the VIN and the brand, then request again".into()),
        })
    }
}

async fn list_command(ctx: &Ctx<'_>, args: &ClearanceListArgs) -> Result<(), CliError> {
    let mut filter = ClearanceFilter::default();
    if let Some(status) = &args.status {
        let normal = status.trim().to_ascii_lowercase();
        if !STATUSES.contains(&normal.as_str()) {
            return Err(CliError::Usage(format!(
                "unknown status `{status}`; use one of: {}",
                STATUSES.join(", ")
            )));
        }
        let status: ClearanceStatus = normal
            .parse()
            .map_err(|e| CliError::Usage(format!("status `{status}`: {e}")))?;
        filter = filter.status_eq(status);
    }
    if let Some(brand) = &args.brand {
        filter = filter.brand_eq(parse_brand(brand, CLEARANCE_BRANDS, "clearance")?);
    }
    match args.vins.as_slice() {
        [] => {}
        [one] => filter = filter.vin_eq(one.clone()),
        many => filter = filter.vin_in(many.iter().cloned()),
    }
    let session = ctx.session().await?;
    let items = list(&session, &filter).await?;
    if ctx.json {
        print_json(&items)
    } else if items.is_empty() {
        println!("No clearances match.");
        Ok(())
    } else {
        table(&items).print();
        Ok(())
    }
}

async fn get_command(ctx: &Ctx<'_>, args: &VinArgs) -> Result<(), CliError> {
    let session = ctx.session().await?;
    let item = match session
        .hm
        .fleet_clearance()
        .get_clearance()
        .vin(args.vin.clone())
        .send()
        .await
    {
        Ok(rv) => rv.into_inner(),
        Err(e) => return Err(api_error(format!("clearance of {}", args.vin), e).await),
    };
    if ctx.json {
        return print_json(&item);
    }
    print_fields(&[
        ("VIN", item.vin.clone()),
        (
            "brand",
            item.brand
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_else(|| "-".into()),
        ),
        ("status", item.status.to_string()),
        ("tags", tags_text(&item.tags)),
    ]);
    if !item.changelog.is_empty() {
        println!();
        let mut history = Table::new(["TIME", "STATUS", "REASON"]);
        for change in &item.changelog {
            history.row([
                change
                    .timestamp
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                change.status.to_string(),
                change.reason.clone().unwrap_or_default(),
            ]);
        }
        history.print();
    }
    Ok(())
}

async fn revoke_command(ctx: &Ctx<'_>, args: &VinArgs) -> Result<(), CliError> {
    let session = ctx.session().await?;
    let reply = match session
        .hm
        .fleet_clearance()
        .delete_clearance()
        .vin(args.vin.clone())
        .send()
        .await
    {
        Ok(rv) => rv.into_inner(),
        Err(e) => {
            return Err(api_error(format!("revoking the clearance of {}", args.vin), e).await);
        }
    };
    if ctx.json {
        print_json(&reply)
    } else {
        println!("{}: {}", reply.vin, reply.status);
        Ok(())
    }
}
