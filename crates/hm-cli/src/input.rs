//! What the user types or pipes in: VINs, durations, tags and lists of vehicles (CSV or stdin).

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use crate::error::CliError;

/// Checks and normalises a VIN: 17 characters of A-Z and 0-9, lower case accepted.
///
/// The published sandbox VINs (`EXVETESTVIN000001`) contain I and O, which ISO 3779 forbids in
/// production VINs; the API accepts them, so the CLI does too ([`iso_3779_warning`] says more).
pub fn parse_vin(text: &str) -> Result<String, String> {
    let vin = text.trim().to_ascii_uppercase();
    let len = vin.chars().count();
    if len != 17 {
        return Err(format!(
            "a VIN has 17 characters, `{text}` has {len}; check for a missing or extra character"
        ));
    }
    if let Some(bad) = vin
        .chars()
        .find(|c| !(c.is_ascii_digit() || c.is_ascii_uppercase()))
    {
        return Err(format!(
            "`{text}` is not a VIN: `{bad}` cannot appear in a VIN (allowed: digits and letters A-Z)"
        ));
    }
    Ok(vin)
}

/// A warning for a VIN with I, O or Q (not allowed in production VINs by ISO 3779), if it has one.
pub fn iso_3779_warning(vin: &str) -> Option<String> {
    vin.chars().find(|c| matches!(c, 'I' | 'O' | 'Q')).map(|c| {
        format!(
            "VIN {vin} contains `{c}`, which ISO 3779 does not allow in production VINs \
             (sandbox VINs may have it); check for a mistyped 1 or 0"
        )
    })
}

/// Parses a duration such as `30s`, `2m`, `1m30s`, `500ms`, `1h` or a plain number of seconds (`0.5`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!("`{text}` is not a duration: use a number with a unit, e.g. 30s, 2m, 1m30s, 500ms")
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = trimmed.parse::<f64>() {
        return seconds(secs).ok_or_else(bad);
    }
    let mut total = Duration::ZERO;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let unit_len = rest[number_len..]
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len() - number_len);
        let number: f64 = rest[..number_len].parse().map_err(|_| bad())?;
        let factor = match &rest[number_len..number_len + unit_len] {
            "ms" => 0.001,
            "s" | "sec" | "secs" => 1.0,
            "m" | "min" | "mins" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += seconds(number * factor).ok_or_else(bad)?;
        rest = &rest[number_len + unit_len..];
    }
    Ok(total)
}

fn seconds(secs: f64) -> Option<Duration> {
    (0.0..1e9)
        .contains(&secs)
        .then(|| Duration::from_secs_f64(secs))
}

/// A positive duration (for `--timeout` and `--interval`).
pub fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration.is_zero() {
        return Err(format!("`{text}` is zero: give a positive duration"));
    }
    Ok(duration)
}

/// Parses `key=value`.
pub fn parse_tag(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!("expected a tag as key=value, got `{text}`")),
    }
}

static STDIN_CLAIMED: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// Reserves stdin for `what`: only one input (a secret or a vehicle list) can be read from it.
pub fn claim_stdin(what: &'static str) -> Result<(), CliError> {
    let owner = *STDIN_CLAIMED.get_or_init(|| what);
    if owner == what {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "stdin (`-`) is already used for {owner}; give {what} as a file instead"
        )))
    }
}

/// The origin name of a list read from stdin.
const STDIN: &str = "stdin";

/// One line of a vehicle list: a VIN and, if the list has a brand column, its brand as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedVehicle {
    /// The normalised VIN.
    pub vin: String,
    /// The brand column, if present and not empty.
    pub brand: Option<String>,
    /// The line of the list it is on (1-based; comments and blank lines count).
    pub line: usize,
}

/// Reads vehicles from a CSV file, or from stdin for `-`.
///
/// Accepted: one VIN per line, or `vin,brand` columns; a header row naming `vin` (and `brand`) is
/// recognised in any column order. Blank lines and lines starting with `#` are skipped. Every bad
/// line is reported with its number.
pub fn read_vehicle_list(path: &Path) -> Result<Vec<ListedVehicle>, CliError> {
    let (text, origin) = if path == Path::new("-") {
        claim_stdin("the vehicle list")?;
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| {
            CliError::Usage(format!("cannot read the vehicle list from stdin: {e}"))
        })?;
        (text, STDIN.to_owned())
    } else {
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::Usage(format!(
                "cannot read the vehicle list {}: {e}; check the path",
                path.display()
            ))
        })?;
        (text, path.display().to_string())
    };
    parse_vehicle_list(&text, &origin)
}

/// Parses the text of a vehicle list (see [`read_vehicle_list`]).
pub fn parse_vehicle_list(text: &str, origin: &str) -> Result<Vec<ListedVehicle>, CliError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let mut columns = (0, Some(1));
    let mut vehicles = Vec::new();
    let mut problems = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 1;
        let record = record
            .map_err(|e| CliError::Usage(format!("{origin}: line {line} is not valid CSV: {e}")))?;
        let line = record
            .position()
            .and_then(|p| usize::try_from(p.line()).ok())
            .unwrap_or(line);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let lower: Vec<String> = record.iter().map(str::to_ascii_lowercase).collect();
        if vehicles.is_empty() && problems.is_empty() && lower.iter().any(|c| c == "vin") {
            let vin = lower.iter().position(|c| c == "vin").unwrap_or(0);
            columns = (vin, lower.iter().position(|c| c == "brand"));
            continue;
        }
        let vin_text = record.get(columns.0).unwrap_or("");
        match parse_vin(vin_text) {
            Ok(vin) => vehicles.push(ListedVehicle {
                vin,
                brand: columns
                    .1
                    .and_then(|i| record.get(i))
                    .filter(|b| !b.is_empty())
                    .map(str::to_owned),
                line,
            }),
            // A line piped in may be a secret meant for another flag: never quote it.
            Err(_) if origin == STDIN => problems.push(format!(
                "line {line}: not a VIN ({} characters; a VIN has 17, digits and letters A-Z)",
                vin_text.chars().count()
            )),
            Err(e) => problems.push(format!("line {line}: {e}")),
        }
    }
    if !problems.is_empty() {
        let shown: Vec<&str> = problems.iter().take(10).map(String::as_str).collect();
        let more = problems.len().saturating_sub(shown.len());
        return Err(CliError::Usage(format!(
            "{origin}: {} bad line(s), nothing was sent:\n  {}{}",
            problems.len(),
            shown.join("\n  "),
            if more > 0 {
                format!("\n  ... and {more} more")
            } else {
                String::new()
            }
        )));
    }
    if vehicles.is_empty() {
        return Err(CliError::Usage(format!(
            "{origin}: no VINs found; expected one VIN per line or `vin,brand` columns"
        )));
    }
    Ok(vehicles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vins_of_the_published_examples_are_accepted() {
        assert_eq!(
            parse_vin("exvetestvin000001").as_deref(),
            Ok("EXVETESTVIN000001")
        );
        assert!(parse_vin("VIN00000000000001").is_ok());
        assert!(parse_vin("1HM62652356323000").is_ok());
        assert!(parse_vin("1HM6265235632300").is_err());
        assert!(parse_vin("1HM-2652356323000").is_err());
        assert!(iso_3779_warning("EXVETESTVIN000001").is_some());
        assert!(iso_3779_warning("1HMDEM0CAR0000001").is_none());
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("0.2"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("-1").is_err());
        assert!(parse_positive_duration("0s").is_err());
    }

    #[test]
    fn vehicle_lists_take_plain_vins_or_columns_with_a_header() {
        let list = parse_vehicle_list(
            "# fleet\nvin,brand\n1hmdem0car0000001,sandbox\n\n1HMDEM0CAR0000002,mercedes-benz\n",
            "t",
        )
        .expect("parses");
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].vin, "1HMDEM0CAR0000001");
        assert_eq!(list[1].brand.as_deref(), Some("mercedes-benz"));
        let swapped =
            parse_vehicle_list("Brand,VIN\nbmw,1HMDEM0CAR0000003\n", "t").expect("parses");
        assert_eq!(swapped[0].vin, "1HMDEM0CAR0000003");
        assert_eq!(swapped[0].brand.as_deref(), Some("bmw"));
        let plain = parse_vehicle_list("1HMDEM0CAR0000001\n1HMDEM0CAR0000002", "t").expect("ok");
        assert!(plain.iter().all(|v| v.brand.is_none()));
        let bad = parse_vehicle_list("1HMDEM0CAR0000001\nshort\n", "t").expect_err("bad line");
        assert!(bad.to_string().contains("line 2"), "{bad}");
        let commented =
            parse_vehicle_list("# a\n\n1HMDEM0CAR0000001\nshort\n", "t").expect_err("bad");
        assert!(commented.to_string().contains("line 4"), "{commented}");
        assert!(parse_vehicle_list("\n# nothing\n", "t").is_err());
    }

    #[test]
    fn a_bad_line_from_stdin_is_not_quoted() {
        let piped = parse_vehicle_list("hm-client-secret-value\n", STDIN).expect_err("bad");
        assert!(piped.to_string().contains("line 1"), "{piped}");
        assert!(!piped.to_string().contains("hm-client-secret"), "{piped}");
        let file = parse_vehicle_list("short\n", "fleet.csv").expect_err("bad");
        assert!(file.to_string().contains("`short`"), "{file}");
    }
}
