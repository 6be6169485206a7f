//! VIN syntax, shared by configuration and the API handlers.
//!
//! High Mobility's own published examples (`EXVETESTVIN000001`, `VIN00000000000001`) contain `I`
//! and `O`, which ISO 3779 forbids in production VINs, so the ISO rule is not applied here.

/// The rule, for error messages.
pub const RULE: &str = "17 characters of A-Z and 0-9";

/// True when `vin` is 17 characters of `A-Z` and `0-9`.
pub fn is_valid(vin: &str) -> bool {
    vin.len() == 17
        && vin
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::is_valid;

    #[test]
    fn accepts_17_capitals_and_digits_including_the_spec_examples() {
        for good in [
            "1HMDEM0CAR0000001",
            "EXVETESTVIN000001",
            "VIN00000000000001",
            "1HM62652356323000",
            "QQQQQQQQQQQQQQQQQ",
        ] {
            assert!(is_valid(good), "{good}");
        }
        for bad in [
            "1HMDEM0CAR000000",
            "1HMDEM0CAR00000011",
            "1hmdem0car0000001",
            "1HMDEM0CAR000000-",
            "1HMDEM0CAR000000 ",
            "1HMDEM0CAR00000Ä",
            "",
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
    }
}
