//! Output for people (tables, key/value lists, ages, wrapped lists) and for scripts (JSON, NDJSON).
//!
//! Everything goes through [`out`], which turns a closed stdout (`hm ... | head -1`) into
//! [`CliError::BrokenPipe`] instead of a panic.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::Value;

use crate::error::CliError;

/// Width human output wraps at: the terminal's, or 100 columns when stdout is not a terminal.
fn width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|w: &usize| *w >= 40)
        .unwrap_or(100)
}

/// Writes human `text` to stdout, control characters escaped (server text must not drive the
/// terminal); a closed pipe becomes [`CliError::BrokenPipe`].
pub fn out(text: &str) -> Result<(), CliError> {
    write_stdout(crate::scrub::escape_controls(text).as_bytes())
}

/// Writes JSON `text` to stdout as serde_json wrote it, only the characters a terminal would obey
/// or hide turned into JSON escapes (the same JSON); a closed pipe becomes
/// [`CliError::BrokenPipe`].
pub fn out_json(text: &str) -> Result<(), CliError> {
    write_stdout(crate::scrub::escape_json(text).as_bytes())
}

/// Writes bytes to stdout unchanged.
fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(io_error)
}

/// Maps a write error on stdout.
pub fn io_error(error: std::io::Error) -> CliError {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        CliError::BrokenPipe
    } else {
        CliError::Other(format!("cannot write the output: {error}"))
    }
}

/// Writes `text` and a newline.
pub fn line(text: &str) -> Result<(), CliError> {
    out(&format!("{text}\n"))
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Other(format!("cannot encode the output as JSON: {e}")))?;
    out_json(&(text + "\n"))
}

/// Prints a document as the API sent it, ending in a newline. Valid JSON holds no raw control
/// character but whitespace; DEL, C1 and format characters in its strings are printed as JSON
/// escapes; anything else is printed with its controls escaped.
pub fn print_raw(body: &[u8]) -> Result<(), CliError> {
    if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
        let text = String::from_utf8_lossy(body);
        return line(text.trim_end_matches('\n'));
    }
    match std::str::from_utf8(body) {
        Ok(text) => out_json(text)?,
        Err(_) => write_stdout(body)?,
    }
    if body.ends_with(b"\n") {
        Ok(())
    } else {
        write_stdout(b"\n")
    }
}

/// A JSON document on one line, unchanged otherwise: JSON strings cannot hold a raw line break,
/// so the line breaks of a valid document are all whitespace between tokens.
pub fn one_line(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .chars()
        .filter(|c| *c != '\n' && *c != '\r')
        .collect()
}

/// A table with a header row; columns are padded to their widest cell.
#[derive(Debug, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Self {
        Table {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// The table as text, one line per row, ending in a newline. A last column too long for the
    /// width is wrapped under itself.
    pub fn render(&self) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let indent: usize = widths
            .iter()
            .take(columns.saturating_sub(1))
            .map(|w| w + 2)
            .sum();
        let line = |cells: &[String]| {
            let mut text = String::new();
            for (i, cell) in cells.iter().enumerate().take(columns) {
                if i + 1 == columns {
                    text.push_str(&wrap(cell, indent));
                } else {
                    text.push_str(&format!("{cell:<width$}  ", width = widths[i]));
                }
            }
            text.trim_end().to_owned() + "\n"
        };
        let mut out = line(&self.headers);
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }

    /// Prints the table on stdout.
    pub fn print(&self) -> Result<(), CliError> {
        out(&self.render())
    }
}

/// Wraps `text` (a list joined with `, ` or `; `, or prose) to the output width for a value that
/// starts at column `indent`; continuation lines are indented to that column.
pub fn wrap(text: &str, indent: usize) -> String {
    let room = width().saturating_sub(indent).max(30);
    if text.chars().count() <= room {
        return text.to_owned();
    }
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > room {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    lines.push(current);
    lines.join(&format!("\n{}", " ".repeat(indent)))
}

/// `label: value` lines with the values aligned (and wrapped), as text.
pub fn fields_text(fields: &[(&str, String)], indent: usize) -> String {
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    let pad = " ".repeat(indent);
    fields
        .iter()
        .map(|(key, value)| {
            format!(
                "{pad}{:<width$}  {}\n",
                format!("{key}:"),
                wrap(value, indent + width + 2)
            )
        })
        .collect()
}

/// Prints `label: value` lines with the values aligned.
pub fn print_fields(fields: &[(&str, String)]) -> Result<(), CliError> {
    out(&fields_text(fields, 0))
}

static LOGGING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Says that log lines go to stderr (`-v`): progress bars would be torn by them, so none is drawn.
pub fn logging_to_stderr() {
    LOGGING.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// A progress bar on stderr, drawn only when stderr is a terminal, JSON is not requested and no
/// log is written there.
pub fn progress_bar(len: u64, json: bool, template: &str) -> ProgressBar {
    let logging = LOGGING.load(std::sync::atomic::Ordering::Relaxed);
    let target = if json || logging || !std::io::stderr().is_terminal() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A duration for people: `1.5 s`, `2 min`, `3 h 5 min`, `2 d 4 h`.
pub fn duration_text(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..=59 => {
            let exact = d.as_secs_f64();
            if exact.fract() == 0.0 {
                format!("{secs} s")
            } else {
                format!("{exact:.1} s")
            }
        }
        60..=3599 if secs.is_multiple_of(60) => format!("{} min", secs / 60),
        60..=3599 => format!("{} min {} s", secs / 60, secs % 60),
        3600..=86399 => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
        _ => format!("{} d {} h", secs / 86400, secs % 86400 / 3600),
    }
}

/// How long ago an RFC 3339 timestamp was: `12 s ago`, `3 min ago`; the timestamp itself if it
/// cannot be read, `in the future` for a clock ahead of ours.
pub fn age(timestamp: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let Ok(at) = chrono::DateTime::parse_from_rfc3339(timestamp) else {
        return timestamp.to_owned();
    };
    match (now - at.with_timezone(&chrono::Utc)).to_std() {
        Ok(elapsed) => {
            let rounded = Duration::from_secs(elapsed.as_secs());
            format!("{} ago", duration_text(rounded))
        }
        Err(_) => "in the future".to_owned(),
    }
}

/// A location in the one format of all human output: `52.52000, 13.40500 (lat, lon)`.
pub fn location(lat: f64, lon: f64) -> String {
    format!("{lat:.5}, {lon:.5} (lat, lon)")
}

/// A human form of a property value: `{value, unit}` as "12.3 kilometers", fractions of levels as
/// percentages, coordinates as [`location`], brands in the clearance spelling, objects as
/// `key=value` lists.
pub fn human_value(key: &str, value: &Value) -> String {
    match value {
        Value::Object(map) => {
            if let (Some(v), Some(unit)) =
                (map.get("value"), map.get("unit").and_then(Value::as_str))
            {
                return format!("{} {}", number(v), unit.replace('_', " "));
            }
            if let (Some(lat), Some(lon)) = (
                map.get("latitude").and_then(Value::as_f64),
                map.get("longitude").and_then(Value::as_f64),
            ) {
                return location(lat, lon);
            }
            map.iter()
                .map(|(k, v)| format!("{k}={}", human_value(k, v)))
                .collect::<Vec<_>>()
                .join(", ")
        }
        Value::Number(n) if is_level(key) => match n.as_f64() {
            Some(f) if (0.0..=1.0).contains(&f) => format!("{:.0} %", f * 100.0),
            _ => n.to_string(),
        },
        Value::Number(_) => number(value),
        Value::String(s) if key == "brand" => crate::vocab::brand_display(s),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
        Value::Null => "-".to_owned(),
        Value::Array(items) => items
            .iter()
            .map(|v| human_value(key, v))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

fn is_level(key: &str) -> bool {
    key.ends_with("_level") || key == "charge_limit" || key.ends_with("_percentage")
}

fn number(value: &Value) -> String {
    match value.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        Some(f) => format!("{f}"),
        None => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ages_and_durations_read_naturally() {
        let now = chrono::DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .expect("time")
            .with_timezone(&chrono::Utc);
        assert_eq!(age("2024-05-01T11:59:48Z", now), "12 s ago");
        assert_eq!(age("2024-05-01T11:57:00Z", now), "3 min ago");
        assert_eq!(age("2024-04-29T10:00:00Z", now), "2 d 2 h ago");
        assert_eq!(age("2024-05-01T12:00:05Z", now), "in the future");
        assert_eq!(age("yesterday", now), "yesterday");
        assert_eq!(duration_text(Duration::from_millis(1500)), "1.5 s");
    }

    #[test]
    fn values_read_the_same_everywhere() {
        let at = json!({"latitude": 52.52, "longitude": 13.405});
        assert_eq!(
            human_value("coordinates", &at),
            "52.52000, 13.40500 (lat, lon)"
        );
        assert_eq!(
            human_value("brand", &json!("mercedes_benz")),
            "mercedes-benz"
        );
        assert_eq!(human_value("battery_level", &json!(0.5)), "50 %");
        assert_eq!(
            human_value("odometer", &json!({"value": 12.0, "unit": "kilometers"})),
            "12 kilometers"
        );
    }

    #[test]
    fn long_lists_wrap_under_their_column() {
        let list = (0..40)
            .map(|i| format!("item{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let wrapped = wrap(&list, 10);
        assert!(wrapped.lines().count() > 1);
        assert!(wrapped.lines().all(|l| l.chars().count() <= 100));
        assert!(
            wrapped
                .lines()
                .skip(1)
                .all(|l| l.starts_with("          i"))
        );
        assert_eq!(one_line(b"{\n  \"a\": \"x y\"\n}\n"), "{  \"a\": \"x y\"}");
    }
}
