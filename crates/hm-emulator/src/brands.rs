//! Brand spellings: the fleet APIs use hyphens (`mercedes-benz`), vehicle data uses underscores.

/// Brands the fleet clearance API accepts (from its published spec).
pub const CLEARANCE_BRANDS: [&str; 28] = [
    "bmw",
    "citroen",
    "ds",
    "mercedes-benz",
    "mini",
    "opel",
    "peugeot",
    "vauxhall",
    "jeep",
    "fiat",
    "alfaromeo",
    "ford",
    "renault",
    "dacia",
    "toyota",
    "lexus",
    "porsche",
    "maserati",
    "kia",
    "tesla",
    "volvo-cars",
    "skoda",
    "audi",
    "volkswagen",
    "seat",
    "cupra",
    "polestar",
    "sandbox",
];

/// Whether the fleet APIs (clearance, eligibility) accept `brand`: a brand of the published list
/// or the brand of a vehicle in the emulator's configuration.
pub fn is_fleet_brand(brand: &str, config: &crate::EmulatorConfig) -> bool {
    CLEARANCE_BRANDS.contains(&brand) || config.vehicles.iter().any(|v| v.brand == brand)
}

/// Brands whose pending clearances can be canceled (Mercedes-Benz, the Volkswagen group, Stellantis),
/// plus `sandbox` so that cancelation can be tried in the emulator.
pub const CANCELABLE_BRANDS: [&str; 16] = [
    "mercedes-benz",
    "volkswagen",
    "audi",
    "skoda",
    "seat",
    "cupra",
    "citroen",
    "ds",
    "opel",
    "peugeot",
    "vauxhall",
    "jeep",
    "fiat",
    "alfaromeo",
    "maserati",
    "sandbox",
];

/// Brands the vehicle data API's `brand` field knows (from its published spec).
const VEHICLE_DATA_BRANDS: [&str; 43] = [
    "abarth",
    "alfaromeo",
    "alpine",
    "audi",
    "bmw",
    "cadillac",
    "chevrolet",
    "chrysler",
    "citroen",
    "cupra",
    "dacia",
    "dodge",
    "ds",
    "fiat",
    "ford",
    "honda",
    "hyundai",
    "iveco",
    "jaguar",
    "jeep",
    "kia",
    "lancia",
    "land_rover",
    "lexus",
    "man",
    "mazda",
    "mercedes_benz",
    "mini",
    "mitsubishi",
    "nissan",
    "opel",
    "peugeot",
    "porsche",
    "renault",
    "sandbox",
    "seat",
    "skoda",
    "smart",
    "subaru",
    "toyota",
    "unknown",
    "volkswagen",
    "volvo_cars",
];

/// The vehicle data spelling of a fleet brand; `unknown` for brands that API does not list.
pub fn vehicle_data_brand(fleet_brand: &str) -> &'static str {
    let underscored = fleet_brand.replace('-', "_");
    VEHICLE_DATA_BRANDS
        .iter()
        .find(|b| **b == underscored)
        .copied()
        .unwrap_or("unknown")
}
