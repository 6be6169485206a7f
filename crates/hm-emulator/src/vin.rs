//! VIN syntax, shared by configuration and the API handlers.

/// True when `vin` is 17 characters of the VIN alphabet (digits and capitals without I, O and Q).
pub fn is_valid(vin: &str) -> bool {
    vin.len() == 17
        && vin.bytes().all(|b| {
            b.is_ascii_digit() || (b.is_ascii_uppercase() && !matches!(b, b'I' | b'O' | b'Q'))
        })
}

#[cfg(test)]
mod tests {
    use super::is_valid;

    #[test]
    fn accepts_vin_alphabet_only() {
        assert!(is_valid("1HMDEM0CAR0000001"));
        assert!(!is_valid("1HMDEM0CAR000000"));
        assert!(!is_valid("1HMDEM0CAR00000011"));
        assert!(!is_valid("EXVETESTVIN000001"));
        assert!(!is_valid("1hmdem0car0000001"));
    }
}
