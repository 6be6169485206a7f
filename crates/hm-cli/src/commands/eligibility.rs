//! `hm eligibility VIN --brand BRAND` and `hm eligibility --from FILE`.

use futures::StreamExt;
use hm_api::eligibility::types::Eligibility;

use crate::api::{Reply, Session};
use crate::cli::EligibilityArgs;
use crate::commands::Ctx;
use crate::config::DEFAULT_TIMEOUT;
use crate::error::CliError;
use crate::input::read_vehicle_list;
use crate::output::{Table, print_json, print_raw, progress_bar};
use crate::vocab::Choice;

/// Checks the eligibility of one vehicle and decodes the answer.
pub async fn check(session: &Session, vin: &str, brand: &str) -> Result<Eligibility, CliError> {
    session
        .eligibility(vin, brand)
        .await?
        .decode(&format!("eligibility check of {vin}"))
}

/// A table of eligibility results.
pub fn table(results: &[Eligibility]) -> Table {
    let mut table = Table::new([
        "VIN",
        "ELIGIBLE",
        "DATA DELIVERY",
        "CONNECTIVITY",
        "PRIMARY USER",
    ]);
    for e in results {
        table.row([
            e.vin.clone(),
            if e.eligible { "yes" } else { "no" }.to_owned(),
            e.data_delivery
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            e.connectivity_status
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_else(|| "-".into()),
            match e.primary_user_assigned {
                Some(true) => "assigned",
                Some(false) => "not assigned",
                None => "-",
            }
            .to_owned(),
        ]);
    }
    table
}

/// The `(vin, brand)` pairs of the command line or of `--from`; every row needs a brand.
fn vehicles(args: &EligibilityArgs) -> Result<Vec<(String, String)>, CliError> {
    let Some(path) = &args.from else {
        let vin = args.vin.clone().unwrap_or_default();
        let brand = args.brand.clone().ok_or_else(|| {
            CliError::Usage(
                "--brand is required: the eligibility API needs the vehicle's brand".into(),
            )
        })?;
        return Ok(vec![(vin, brand)]);
    };
    let choice = Choice::eligibility_brand();
    let mut problems = Vec::new();
    let mut pairs = Vec::new();
    for row in read_vehicle_list(path)? {
        match row.brand.as_deref().map(|b| choice.check(b)) {
            Some(Ok(brand)) => pairs.push((row.vin, brand)),
            Some(Err(e)) => problems.push(format!("{}: {e}", row.vin)),
            None => match &args.brand {
                Some(brand) => pairs.push((row.vin, brand.clone())),
                None => problems.push(format!(
                    "{}: no brand; add a brand column or --brand",
                    row.vin
                )),
            },
        }
    }
    if !problems.is_empty() {
        return Err(CliError::Usage(format!(
            "{}: nothing was sent:\n  {}",
            path.display(),
            problems.join("\n  ")
        )));
    }
    Ok(pairs)
}

/// Runs `hm eligibility`.
pub async fn run(ctx: &Ctx<'_>, args: &EligibilityArgs) -> Result<(), CliError> {
    let pairs = vehicles(args)?;
    let vins: Vec<&str> = pairs.iter().map(|(v, _)| v.as_str()).collect();
    if args.from.is_none() {
        let session = ctx
            .connect(&args.connection, DEFAULT_TIMEOUT, &vins)
            .await?;
        let (vin, brand) = &pairs[0];
        let reply = session.eligibility(vin, brand).await?;
        return if ctx.json {
            print_raw(&reply.body)
        } else {
            let result: Eligibility = reply.decode(&format!("eligibility check of {vin}"))?;
            table(std::slice::from_ref(&result)).print()
        };
    }
    // A list: each check is bounded by --timeout, not the whole run.
    ctx.check_vins(&args.connection, &vins)?;
    let session = ctx
        .session(
            &args.connection,
            DEFAULT_TIMEOUT,
            hm_auth::RetryPolicy::default(),
        )?
        .per_request();
    session.authenticate().await?;
    let bar = progress_bar(
        pairs.len() as u64,
        ctx.json,
        "{spinner} {bar:30} {pos}/{len} checked",
    );
    let session = &session;
    let results: Vec<(String, Result<Reply, CliError>)> = futures::stream::iter(pairs.iter())
        .map(|(vin, brand)| async move { (vin.clone(), session.eligibility(vin, brand).await) })
        .buffered(usize::from(args.concurrency))
        .inspect(|_| bar.inc(1))
        .collect()
        .await;
    bar.finish_and_clear();
    let mut failures = crate::bulk::Failures::default();
    let mut documents = Vec::new();
    let mut checks = Vec::new();
    for (vin, result) in results {
        match result.and_then(|reply| {
            let what = format!("eligibility check of {vin}");
            Ok((reply.json(&what)?, reply.decode::<Eligibility>(&what)?))
        }) {
            Ok((document, check)) => {
                documents.push(document);
                checks.push(check);
            }
            Err(CliError::BrokenPipe) => return Err(CliError::BrokenPipe),
            Err(error) => failures.push(vin, error),
        }
    }
    if ctx.json {
        print_json(&documents)?;
    } else if !checks.is_empty() {
        table(&checks).print()?;
    }
    failures.finish(pairs.len(), ctx.json)
}
