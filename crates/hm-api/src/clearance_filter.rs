//! The `filter` query of `GET /v1/fleets/vehicles`: `{field: {operator, value}}` as JSON text, which the
//! client URL-encodes. The spec declares it as an object; it travels as a JSON string.

use serde_json::{Map, Value, json};

use crate::fleet_clearance::types::{Brand, ClearanceStatus};

/// A typed filter for listing clearances; one condition per field, the last one set wins.
///
/// ```
/// use hm_api::ClearanceFilter;
/// use hm_api::fleet_clearance::types::{Brand, ClearanceStatus};
///
/// let filter = ClearanceFilter::default()
///     .brand_eq(Brand::Bmw)
///     .status_in([ClearanceStatus::Approved, ClearanceStatus::Pending]);
/// assert_eq!(
///     filter.to_json(),
///     r#"{"brand":{"operator":"eq","value":"bmw"},"status":{"operator":"in","value":["approved","pending"]}}"#
/// );
/// // hm.fleet_clearance().list_clearances().filter(filter.to_json()).send().await?
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClearanceFilter {
    conditions: Map<String, Value>,
}

/// A comparison for the date fields `approved_at` and `inserted_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateOperator {
    /// Equal to.
    Eq,
    /// Before.
    Lt,
    /// After.
    Gt,
    /// At or before.
    Lte,
    /// At or after.
    Gte,
}

impl DateOperator {
    fn as_str(self) -> &'static str {
        match self {
            DateOperator::Eq => "eq",
            DateOperator::Lt => "lt",
            DateOperator::Gt => "gt",
            DateOperator::Lte => "lte",
            DateOperator::Gte => "gte",
        }
    }
}

impl ClearanceFilter {
    fn with(mut self, field: &str, operator: &str, value: Value) -> Self {
        self.conditions.insert(
            field.to_owned(),
            json!({"operator": operator, "value": value}),
        );
        self
    }

    /// Only this VIN.
    pub fn vin_eq(self, vin: impl Into<String>) -> Self {
        self.with("vin", "eq", Value::String(vin.into()))
    }

    /// Only these VINs.
    pub fn vin_in<S: Into<String>>(self, vins: impl IntoIterator<Item = S>) -> Self {
        let vins = vins.into_iter().map(|v| Value::String(v.into())).collect();
        self.with("vin", "in", Value::Array(vins))
    }

    /// Only clearances in this status.
    pub fn status_eq(self, status: ClearanceStatus) -> Self {
        self.with("status", "eq", Value::String(status.to_string()))
    }

    /// Only clearances in one of these statuses.
    pub fn status_in(self, statuses: impl IntoIterator<Item = ClearanceStatus>) -> Self {
        let statuses = statuses
            .into_iter()
            .map(|s| Value::String(s.to_string()))
            .collect();
        self.with("status", "in", Value::Array(statuses))
    }

    /// Only vehicles of this brand.
    pub fn brand_eq(self, brand: Brand) -> Self {
        self.with("brand", "eq", Value::String(brand.to_string()))
    }

    /// Only vehicles of one of these brands.
    pub fn brand_in(self, brands: impl IntoIterator<Item = Brand>) -> Self {
        let brands = brands
            .into_iter()
            .map(|b| Value::String(b.to_string()))
            .collect();
        self.with("brand", "in", Value::Array(brands))
    }

    /// Only vehicles whose tags are exactly these.
    pub fn tags_eq<K: Into<String>, V: Into<String>>(
        self,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.with("tags", "eq", tags_value(tags))
    }

    /// Only vehicles whose tags include these.
    pub fn tags_contains<K: Into<String>, V: Into<String>>(
        self,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.with("tags", "contains", tags_value(tags))
    }

    /// Compare the approval time (ISO 8601, e.g. `2024-03-31T00:00:00Z`).
    pub fn approved_at(self, operator: DateOperator, timestamp: impl Into<String>) -> Self {
        self.with(
            "approved_at",
            operator.as_str(),
            Value::String(timestamp.into()),
        )
    }

    /// Compare the time the clearance was requested (ISO 8601).
    pub fn inserted_at(self, operator: DateOperator, timestamp: impl Into<String>) -> Self {
        self.with(
            "inserted_at",
            operator.as_str(),
            Value::String(timestamp.into()),
        )
    }

    /// Whether no condition is set (then omit the `filter` query).
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    /// The JSON text to pass to `list_clearances().filter(..)`.
    pub fn to_json(&self) -> String {
        Value::Object(self.conditions.clone()).to_string()
    }
}

fn tags_value<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> Value {
    Value::Object(
        tags.into_iter()
            .map(|(k, v)| (k.into(), Value::String(v.into())))
            .collect(),
    )
}
