//! Output for people (aligned tables, key/value lists) and for scripts (JSON).

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::error::CliError;

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Other(format!("cannot encode the output as JSON: {e}")))?;
    println!("{text}");
    Ok(())
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

    /// The table as text, one line per row, ending in a newline.
    pub fn render(&self) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut text = String::new();
            for (i, cell) in cells.iter().enumerate().take(columns) {
                if i + 1 == columns {
                    text.push_str(cell);
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
    pub fn print(&self) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(self.render().as_bytes());
    }
}

/// Prints `label: value` lines with the values aligned.
pub fn print_fields(fields: &[(&str, String)]) {
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (key, value) in fields {
        println!("{:<width$}  {value}", format!("{key}:"), width = width + 1);
    }
}

/// A progress bar on stdout, hidden when stdout is not a terminal or when JSON is requested.
pub fn progress_bar(len: u64, json: bool) -> ProgressBar {
    let target = if json || !std::io::stdout().is_terminal() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stdout()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} decided  {msg}",
    ) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// A human form of a property value: `{value, unit}` as "12.3 kilometers", fractions of levels as
/// percentages, objects as `key=value` lists.
pub fn human_value(key: &str, value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if let (Some(v), Some(unit)) =
                (map.get("value"), map.get("unit").and_then(Value::as_str))
            {
                return format!("{} {}", number(v), unit.replace('_', " "));
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

fn number(value: &serde_json::Value) -> String {
    match value.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        Some(f) => format!("{f}"),
        None => value.to_string(),
    }
}
