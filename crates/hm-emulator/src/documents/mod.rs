//! Deterministic response documents: the same VIN always yields the same values.

pub mod shape;
pub mod static_data;
pub mod vehicle_data;

/// A stable 64-bit hash of a VIN (FNV-1a), the seed of every generated value.
pub(crate) fn seed(vin: &str) -> u64 {
    vin.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A value in `[low, high)` picked by `seed` and `salt`, rounded to `decimals`.
pub(crate) fn pick(seed: u64, salt: u64, low: f64, high: f64, decimals: i32) -> f64 {
    let mixed =
        (seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let unit = (mixed >> 11) as f64 / (1u64 << 53) as f64;
    let scale = 10f64.powi(decimals);
    ((low + unit * (high - low)) * scale).round() / scale
}
