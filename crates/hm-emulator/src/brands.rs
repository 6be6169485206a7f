//! Brand spellings, all taken from the generated enums: the fleet clearance API spells
//! `mercedes-benz`, vehicle data `mercedes_benz`, static data a display name such as `Mercedes-Benz`.
//! A brand is carried over from one API to another by comparing spellings without case and
//! separators, so a brand added to the specs needs no change here.

use hm_api::eligibility::types::Brand as EligibilityBrand;
use hm_api::fleet_clearance::types::Brand as ClearanceBrand;
use hm_api::vehicle_data::types::VehicleDataBrand;

use crate::EmulatorConfig;

/// A spelling reduced to lower-case letters and digits (`Mercedes-Benz` -> `mercedesbenz`).
fn key(brand: &str) -> String {
    brand
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Whether the clearance API accepts `brand`: a brand of its spec, or the brand of a vehicle in
/// the emulator's configuration (which may try a brand the spec does not list yet).
pub fn is_clearance_brand(brand: &str, config: &EmulatorConfig) -> bool {
    brand.parse::<ClearanceBrand>().is_ok_and(|b| b.is_known()) || is_configured(brand, config)
}

/// Whether the eligibility API accepts `brand` (its spec lists fewer brands than clearance).
pub fn is_eligibility_brand(brand: &str, config: &EmulatorConfig) -> bool {
    brand
        .parse::<EligibilityBrand>()
        .is_ok_and(|b| b.is_known())
        || is_configured(brand, config)
}

fn is_configured(brand: &str, config: &EmulatorConfig) -> bool {
    config.vehicles.iter().any(|v| v.brand == brand)
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
    fn display_names() {
        assert_eq!(display_name("mercedes-benz"), "Mercedes-Benz");
        assert_eq!(display_name("bmw"), "BMW");
        assert_eq!(display_name("kia"), "Kia");
        assert_eq!(display_name("sandbox"), "Sandbox");
    }
}
