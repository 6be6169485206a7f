//! Brand spellings, all taken from the generated enums: the fleet clearance API spells
//! `mercedes-benz`, vehicle data `mercedes_benz`, static data a display name such as `Mercedes-Benz`.
//! A brand is carried over from one API to another by comparing spellings without case and
//! separators, so a brand added to the specs needs no change here.

use hm_api::eligibility::types::Brand as EligibilityBrand;
use hm_api::fleet_clearance::types::Brand as ClearanceBrand;
use hm_api::vehicle_data::types::VehicleDataBrand;

/// A spelling reduced to lower-case letters and digits (`Mercedes-Benz` -> `mercedesbenz`).
fn key(brand: &str) -> String {
    brand
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Whether the clearance API accepts `brand`: only a brand its spec lists (a configured vehicle's
/// brand was checked against the same list when the configuration was loaded).
pub fn is_clearance_brand(brand: &str) -> bool {
    brand.parse::<ClearanceBrand>().is_ok_and(|b| b.is_known())
}

/// Whether the eligibility API accepts `brand`: only a brand its spec lists, which are fewer than
/// clearance's (a vehicle configured with a clearance-only brand is answered 422 here too, as
/// High Mobility does).
pub fn is_eligibility_brand(brand: &str) -> bool {
    brand
        .parse::<EligibilityBrand>()
        .is_ok_and(|b| b.is_known())
}

/// Why a configured brand is refused: the clearance spec does not list it. Names the spec's
/// spelling of the same brand when one differs only in case or separators (`Mercedes-Benz`,
/// `mercedes_benz`), else the brand that starts the same (`volvo` -> `volvo-cars`).
pub fn check_configured_brand(brand: &str) -> Result<(), String> {
    if is_clearance_brand(brand) {
        return Ok(());
    }
    let wanted = key(brand);
    let close = ClearanceBrand::KNOWN
        .iter()
        .map(ClearanceBrand::as_str)
        .find(|known| key(known) == wanted)
        .or_else(|| {
            ClearanceBrand::KNOWN
                .iter()
                .map(ClearanceBrand::as_str)
                .find(|known| {
                    let known = key(known);
                    !wanted.is_empty() && (known.starts_with(&wanted) || wanted.starts_with(&known))
                })
        });
    Err(match close {
        Some(known) => format!(
            "brand {brand:?} is not a brand of the fleet clearance spec; did you mean {known:?}?"
        ),
        None => format!(
            "brand {brand:?} is not a brand of the fleet clearance spec; its brands are: {}",
            ClearanceBrand::KNOWN
                .iter()
                .map(ClearanceBrand::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// The vehicle data spelling of a fleet brand; that enum's own `unknown` for brands the vehicle
/// data spec does not list.
pub fn vehicle_data_brand(fleet_brand: &str) -> VehicleDataBrand {
    let wanted = key(fleet_brand);
    VehicleDataBrand::KNOWN
        .iter()
        .find(|b| key(b.as_str()) == wanted)
        .cloned()
        .unwrap_or(VehicleDataBrand::Unknown)
}

/// The display name static data uses for a fleet brand: each word capitalised
/// (`mercedes-benz` -> `Mercedes-Benz`), a word without vowels read as an acronym (`bmw` -> `BMW`).
pub fn display_name(fleet_brand: &str) -> String {
    fleet_brand
        .split('-')
        .map(|word| {
            if word
                .chars()
                .any(|c| "aeiouy".contains(c.to_ascii_lowercase()))
            {
                let mut chars = word.chars();
                chars
                    .next()
                    .map(|first| first.to_uppercase().chain(chars).collect())
                    .unwrap_or_default()
            } else {
                word.to_uppercase()
            }
        })
        .collect::<Vec<String>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_clearance_brand_finds_its_vehicle_data_spelling() {
        for brand in ClearanceBrand::KNOWN {
            let data = vehicle_data_brand(brand.as_str());
            assert!(data.is_known(), "{brand:?}");
            if data.as_str() != "unknown" {
                assert_eq!(data.as_str().replace('_', "-"), brand.as_str());
            }
        }
        assert_eq!(
            vehicle_data_brand("mercedes-benz").as_str(),
            "mercedes_benz"
        );
        assert_eq!(vehicle_data_brand("not-a-brand"), VehicleDataBrand::Unknown);
    }

    #[test]
    fn configured_brands_must_be_spec_brands_and_typos_name_the_spelling() {
        assert!(check_configured_brand("mercedes-benz").is_ok());
        let typo = check_configured_brand("Mercedes-Benz").unwrap_err();
        assert!(typo.contains("did you mean \"mercedes-benz\""), "{typo}");
        let short = check_configured_brand("volvo").unwrap_err();
        assert!(short.contains("did you mean \"volvo-cars\""), "{short}");
        let other = check_configured_brand("zzz").unwrap_err();
        assert!(other.contains("sandbox"), "{other}");
    }

    #[test]
    fn display_names() {
        assert_eq!(display_name("mercedes-benz"), "Mercedes-Benz");
        assert_eq!(display_name("bmw"), "BMW");
        assert_eq!(display_name("kia"), "Kia");
        assert_eq!(display_name("sandbox"), "Sandbox");
    }
}
