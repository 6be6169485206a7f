//! What the generated code calls to be lenient where servers are sloppy and strict where a mistake
//! would send a request elsewhere. `cargo xtask codegen` (xtask/src/postprocess.rs) wires these in.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer};

/// A date-time as servers send it: RFC 3339 with `Z` or an offset, or without zone (the published
/// examples' `2022-03-22T09:36:51`), which is taken as UTC.
#[allow(dead_code)] // unused when every API feature is off
pub(crate) fn date_time<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<DateTime<Utc>, D::Error> {
    let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    parse_date_time(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "`{}` is not a date-time (expected ISO 8601, e.g. 2024-05-02T10:00:00Z)",
            shorten(&text)
        ))
    })
}

/// [`date_time`] for an optional field: `null` is `None`.
#[allow(dead_code)] // unused when every API feature is off
pub(crate) fn optional_date_time<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    #[derive(Deserialize)]
    struct Lenient(#[serde(deserialize_with = "date_time")] DateTime<Utc>);
    Ok(Option::<Lenient>::deserialize(deserializer)?.map(|Lenient(value)| value))
}

/// An optional list or map that a server may send as `null` instead of leaving it out or empty.
#[allow(dead_code)] // unused when every API feature is off
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

fn parse_date_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(value) = DateTime::parse_from_rfc3339(text) {
        return Some(value.to_utc());
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|naive| naive.and_utc())
}

/// A path parameter as one percent-encoded URL path segment. An empty value, `.` and `..` are refused:
/// the URL parser drops or resolves them (percent-encoded dots too), so the request would reach another
/// endpoint with the caller's token.
#[allow(dead_code)] // unused when every API feature is off
pub(crate) fn path_segment(value: &str) -> Result<String, String> {
    if ["", ".", ".."].contains(&value) {
        return Err(format!(
            "the path parameter `{value}` is empty or a relative path segment, not an identifier such as \
             a VIN; check where the value comes from"
        ));
    }
    // `%` is encoded too, so `%2E` stays a literal and cannot become a dot segment.
    Ok(progenitor_client::encode_path(value))
}

/// At most 64 characters of `text`, for error messages.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times_with_offset_or_without_zone_are_utc() {
        for (text, utc) in [
            ("2022-03-22T09:36:51Z", "2022-03-22T09:36:51+00:00"),
            ("2022-03-22T09:36:51", "2022-03-22T09:36:51+00:00"),
            ("2022-03-22 09:36:51.5", "2022-03-22T09:36:51.500+00:00"),
            ("2022-03-22T11:36:51+02:00", "2022-03-22T09:36:51+00:00"),
        ] {
            assert_eq!(
                parse_date_time(text).map(|d| d.to_rfc3339()).as_deref(),
                Some(utc),
                "{text}"
            );
        }
        assert_eq!(parse_date_time("yesterday"), None);
    }

    #[test]
    fn dot_segments_are_refused_and_the_rest_encoded() {
        for refused in ["", ".", ".."] {
            assert!(path_segment(refused).is_err(), "{refused:?}");
        }
        assert_eq!(path_segment("a/b").unwrap(), "a%2Fb");
        assert_eq!(path_segment("%2E").unwrap(), "%252E");
        assert_eq!(path_segment("...").unwrap(), "...");
    }
}
