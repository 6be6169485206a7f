//! The API's vocabulary as the CLI uses it. Brands and clearance statuses come from the generated
//! enums (`KNOWN`, `as_str`), so the CLI accepts exactly what the spec lists and learns a new brand
//! with the next `cargo xtask codegen`. Environments are hm-auth's, not the spec's.

use clap::builder::{PossibleValue, TypedValueParser};
use hm_api::eligibility::types::Brand as EligibilityBrand;
use hm_api::fleet_clearance::types::{Brand, ClearanceStatus};
use hm_api::vehicle_data::types::VehicleDataBrand;

/// The named environments of `--env`.
pub const ENVIRONMENTS: &[&str] = &["sandbox", "production"];

/// A spelling reduced to its letters and digits in lower case, so that the APIs' spellings of one
/// brand meet: `Mercedes-Benz` (static data), `mercedes_benz` (vehicle data), `mercedes-benz`.
fn brand_key(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The brand as people read it, whatever API sent it: the clearance API's spelling when it knows
/// the brand (`mercedes_benz` and `Mercedes-Benz` both become `mercedes-benz`), else the vehicle
/// data API's (`Land Rover` becomes `land_rover`), else the text lower-cased.
pub fn brand_display(raw: &str) -> String {
    let wanted = brand_key(raw);
    let clearance = Brand::KNOWN.iter().map(Brand::as_str);
    let vehicle_data = VehicleDataBrand::KNOWN.iter().map(VehicleDataBrand::as_str);
    clearance
        .chain(vehicle_data)
        .find(|known| brand_key(known) == wanted)
        .map(str::to_owned)
        .unwrap_or_else(|| raw.trim().to_lowercase())
}

/// The closest of `known` to `text`, if it is close enough to be a plausible typo.
pub fn did_you_mean<'a>(text: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let text = text.to_ascii_lowercase();
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(&text, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// A clap value parser for one of the values a generated enum lists (case-insensitive, `_` for
/// `-`), with the values in help and completions and a "did you mean" for a typo. It yields the
/// API's spelling.
#[derive(Clone, Debug)]
pub struct Choice {
    what: &'static str,
    known: Vec<&'static str>,
}

/// `values` in alphabetical order, for lists of brands people scan for theirs.
fn sorted(mut values: Vec<&'static str>) -> Vec<&'static str> {
    values.sort_unstable();
    values
}

impl Choice {
    /// A brand of the clearance API.
    pub fn clearance_brand() -> Self {
        Choice {
            what: "brand",
            known: sorted(Brand::KNOWN.iter().map(Brand::as_str).collect()),
        }
    }

    /// A brand of the eligibility API (it knows fewer than clearance).
    pub fn eligibility_brand() -> Self {
        Choice {
            what: "brand",
            known: sorted(
                EligibilityBrand::KNOWN
                    .iter()
                    .map(EligibilityBrand::as_str)
                    .collect(),
            ),
        }
    }

    /// A clearance status, in the spec's (lifecycle) order.
    pub fn clearance_status() -> Self {
        Choice {
            what: "status",
            known: ClearanceStatus::KNOWN
                .iter()
                .map(ClearanceStatus::as_str)
                .collect(),
        }
    }

    /// Checks `text`, returning the API's spelling or a message with a suggestion.
    pub fn check(&self, text: &str) -> Result<String, String> {
        let normal = text.trim().to_ascii_lowercase().replace('_', "-");
        if let Some(known) = self.known.iter().find(|k| **k == normal) {
            return Ok((*known).to_owned());
        }
        let hint = match did_you_mean(&normal, self.known.iter().copied()) {
            Some(close) => format!("did you mean `{close}`? "),
            None => String::new(),
        };
        Err(format!(
            "unknown {} `{}`; {hint}use one of: {}",
            self.what,
            text.escape_debug(),
            self.known.join(", ")
        ))
    }
}

impl TypedValueParser for Choice {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        let text = value.to_string_lossy();
        self.check(&text).map_err(|message| {
            let name = arg.map(|a| format!("{a}: ")).unwrap_or_default();
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("{name}{message}\n"),
            )
            .with_cmd(cmd)
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(self.known.iter().map(|k| PossibleValue::new(*k))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_the_spec_lists_is_accepted_in_the_apis_spelling() {
        for brand in Brand::KNOWN {
            assert_eq!(
                Choice::clearance_brand().check(brand.as_str()),
                Ok(brand.as_str().to_owned())
            );
        }
        for brand in EligibilityBrand::KNOWN {
            assert_eq!(
                Choice::eligibility_brand().check(brand.as_str()),
                Ok(brand.as_str().to_owned())
            );
        }
        for status in ClearanceStatus::KNOWN {
            assert_eq!(
                Choice::clearance_status().check(&status.as_str().to_uppercase()),
                Ok(status.as_str().to_owned())
            );
        }
    }

    #[test]
    fn brands_read_the_same_in_every_apis_spelling() {
        let mercedes = Brand::MercedesBenz.as_str();
        assert_eq!(
            brand_display(VehicleDataBrand::MercedesBenz.as_str()),
            mercedes
        );
        assert_eq!(brand_display("Mercedes-Benz"), mercedes);
        assert_eq!(brand_display("Volvo Cars"), Brand::VolvoCars.as_str());
        assert_eq!(brand_display("Alfa Romeo"), Brand::Alfaromeo.as_str());
        // Known to vehicle data only: its spelling, whichever API sent it.
        assert_eq!(
            brand_display("Land Rover"),
            VehicleDataBrand::LandRover.as_str()
        );
        assert_eq!(brand_display(" Trabant "), "trabant");
        assert_eq!(brand_display(""), "");
    }

    #[test]
    fn typos_get_a_suggestion() {
        assert_eq!(
            did_you_mean("sandbx", ENVIRONMENTS.iter().copied()),
            Some("sandbox")
        );
        assert_eq!(
            did_you_mean("prod", ENVIRONMENTS.iter().copied()),
            Some("production")
        );
        assert_eq!(did_you_mean("zzz", ENVIRONMENTS.iter().copied()), None);
        let brand = Choice::clearance_brand();
        assert_eq!(brand.check("Mercedes_Benz"), Ok("mercedes-benz".into()));
        let error = brand.check("mercedez-benz").expect_err("typo");
        assert!(error.contains("did you mean `mercedes-benz`"), "{error}");
        assert!(
            Choice::clearance_status()
                .check("aproved")
                .expect_err("typo")
                .contains("`approved`")
        );
    }

    #[test]
    fn a_refused_value_is_echoed_without_control_characters() {
        let error = Choice::clearance_brand()
            .check("bmw\u{1b}[2J")
            .expect_err("not a brand");
        assert!(!error.contains('\u{1b}'), "{error}");
        assert!(error.contains(r"bmw\u{1b}[2J"), "{error}");
    }
}
