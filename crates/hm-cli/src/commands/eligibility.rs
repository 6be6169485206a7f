//! `hm eligibility VIN --brand BRAND`.

use hm_api::eligibility::types::{Brand, Eligibility, EligibilityRequest};

use crate::cli::EligibilityArgs;
use crate::commands::{Ctx, ELIGIBILITY_BRANDS, parse_brand};
use crate::config::Session;
use crate::error::{CliError, api_error};
use crate::output::{Table, print_json};

/// Checks the eligibility of one vehicle.
pub async fn check(session: &Session, vin: &str, brand: Brand) -> Result<Eligibility, CliError> {
    let request = EligibilityRequest {
        vin: vin.to_owned(),
        brand,
    };
    match session
        .hm
        .eligibility()
        .check_eligibility()
        .body(request)
        .send()
        .await
    {
        Ok(rv) => Ok(rv.into_inner()),
        Err(e) => Err(api_error(format!("eligibility check of {vin}"), e).await),
    }
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

/// Runs `hm eligibility`.
pub async fn run(ctx: &Ctx<'_>, args: &EligibilityArgs) -> Result<(), CliError> {
    let brand: Brand = parse_brand(&args.brand, ELIGIBILITY_BRANDS, "eligibility")?;
    let session = ctx.session().await?;
    let result = check(&session, &args.vin, brand).await?;
    if ctx.json {
        print_json(&result)
    } else {
        table(std::slice::from_ref(&result)).print();
        Ok(())
    }
}
