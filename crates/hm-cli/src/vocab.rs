//! The API's vocabulary as the CLI uses it: brands, clearance statuses, environments.
//!
//! Every list the CLI needs lives here, so that taking them from the generated types (once hm-api
//! offers `KNOWN` for its string enums) is a change to this file only. The lists are checked
//! against the generated enums' `FromStr` in the tests below, so a spelling drift fails the build.

use clap::builder::{PossibleValue, TypedValueParser};

/// Brands the clearance API knows, as it spells them (the spelling of all human output).
pub const CLEARANCE_BRANDS: &[&str] = &[
    "alfaromeo",
    "audi",
    "bmw",
    "citroen",
    "cupra",
    "dacia",
    "ds",
    "fiat",
    "ford",
    "jeep",
    "kia",
    "lexus",
    "maserati",
    "mercedes-benz",
    "mini",
    "opel",
    "peugeot",
    "polestar",
    "porsche",
    "renault",
    "sandbox",
    "seat",
    "skoda",
    "tesla",
    "toyota",
    "vauxhall",
    "volkswagen",
    "volvo-cars",
];

/// Brands the eligibility API knows (fewer than clearance).
pub const ELIGIBILITY_BRANDS: &[&str] = &[
    "alfaromeo",
    "bmw",
    "citroen",
    "ds",
    "fiat",
    "ford",
    "jeep",
    "lexus",
    "mercedes-benz",
    "mini",
    "opel",
    "peugeot",
    "renault",
    "sandbox",
    "toyota",
    "vauxhall",
    "volvo-cars",
];

/// Statuses a clearance can be in, as the API spells them.
pub const CLEARANCE_STATUSES: &[&str] = &[
    "pending",
    "approved",
    "rejected",
    "revoking",
    "revoked",
    "canceling",
    "canceled",
];

/// The named environments of `--env`.
pub const ENVIRONMENTS: &[&str] = &["sandbox", "production"];

/// The brand in the clearance API's spelling, whatever API sent it: `mercedes_benz` (vehicle data)
/// and `Mercedes-Benz` (static data) both become `mercedes-benz`. Unknown brands are lower-cased.
pub fn brand_display(raw: &str) -> String {
    let key = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let wanted = key(raw);
    CLEARANCE_BRANDS
        .iter()
        .find(|b| key(b) == wanted)
        .map(|b| (*b).to_owned())
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

/// A clap value parser for one of `known` (case-insensitive, `_` for `-`), with the possible
/// values in help and completions and a "did you mean" for a typo.
#[derive(Clone, Debug)]
pub struct Choice {
    what: &'static str,
    known: &'static [&'static str],
}

impl Choice {
    /// A brand of the clearance API.
    pub fn clearance_brand() -> Self {
        Choice {
            what: "brand",
            known: CLEARANCE_BRANDS,
        }
    }

    /// A brand of the eligibility API.
    pub fn eligibility_brand() -> Self {
        Choice {
            what: "brand",
            known: ELIGIBILITY_BRANDS,
        }
    }

    /// A clearance status.
    pub fn clearance_status() -> Self {
        Choice {
            what: "status",
            known: CLEARANCE_STATUSES,
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
            "unknown {} `{text}`; {hint}use one of: {}",
            self.what,
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
    use hm_api::eligibility::types::Brand as EligibilityBrand;
    use hm_api::fleet_clearance::types::{Brand, ClearanceStatus};

    #[test]
    fn every_listed_value_is_a_known_value_of_the_generated_enum() {
        for brand in CLEARANCE_BRANDS {
            let parsed: Brand = brand.parse().expect("parses");
            assert!(!matches!(parsed, Brand::UnknownValue(_)), "{brand}");
            assert_eq!(parsed.to_string(), *brand);
        }
        for brand in ELIGIBILITY_BRANDS {
            let parsed: EligibilityBrand = brand.parse().expect("parses");
            assert!(
                !matches!(parsed, EligibilityBrand::UnknownValue(_)),
                "{brand}"
            );
        }
        for status in CLEARANCE_STATUSES {
            let parsed: ClearanceStatus = status.parse().expect("parses");
            assert!(
                !matches!(parsed, ClearanceStatus::UnknownValue(_)),
                "{status}"
            );
        }
    }

    #[test]
    fn brands_read_the_same_in_every_apis_spelling() {
        assert_eq!(brand_display("mercedes_benz"), "mercedes-benz");
        assert_eq!(brand_display("Mercedes-Benz"), "mercedes-benz");
        assert_eq!(brand_display("Volvo Cars"), "volvo-cars");
        assert_eq!(brand_display("Alfa Romeo"), "alfaromeo");
        assert_eq!(brand_display("Trabant"), "trabant");
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
}
