//! The MQTT V2 message: an envelope around vehicle data, generic over how the data is decoded.

use std::collections::BTreeMap;
use std::ops::Deref;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// One message of the stream (`json-schema/janus/0002`): who sent it, which vehicle, and the data.
///
/// `D` is how `data` is decoded: [`VehicleData`] by default (capability → property → values, the
/// values kept as JSON), `serde_json::Value` for untouched JSON, or any type generated from the
/// Streaming Schema V2. Unknown envelope fields are ignored; the raw payload stays available in
/// [`Delivery::payload`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message<D = VehicleData> {
    /// Message format version (2).
    pub version: u32,
    /// The application the data is streamed for.
    pub application_id: Uuid,
    /// Unique per message; a redelivered message keeps it.
    pub message_id: String,
    /// The vehicle.
    pub vin: String,
    /// The vehicle data.
    pub data: D,
}

/// Vehicle data as the Streaming Schema V2 shapes it: capability → property → array of values.
///
/// Every capability and property is accepted, including ones the schema does not know yet.
///
/// ```
/// let data: hm_stream::VehicleData = serde_json::from_str(
///     r#"{"diagnostics": {"odometer": [{"data": {"value": 2050, "unit": "kilometers"},
///         "timestamp": "2021-10-06T13:59:25.648943Z"}]}}"#,
/// )?;
/// let odometer = &data.property("diagnostics", "odometer")[0];
/// assert_eq!(odometer.data.as_ref().unwrap()["value"], 2050);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VehicleData(pub BTreeMap<String, Capability>);

/// The properties of one capability (e.g. `diagnostics`), each an array of values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Capability(pub BTreeMap<String, Vec<Property>>);

/// One value of a property: the data, when it was measured, or why it is missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Property {
    /// The value; its shape depends on the property (a number with a unit, a string, an object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// When the vehicle measured it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "rfc3339"
    )]
    pub timestamp: Option<DateTime<Utc>>,
    /// Why the value could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// How often the property is updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<Value>,
}

/// Why a property has no value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// E.g. `rate_limit`, `unauthorised`, `privacy_mode_active`; new reasons are kept as they come.
    pub reason: String,
    /// A human-readable explanation.
    pub description: String,
}

/// Reads an RFC 3339 timestamp (the schema's `date-time`) with chrono's dedicated parser, several
/// times faster than its general `FromStr`, which serde would use.
fn rfc3339<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    let Some(text) = Option::<std::borrow::Cow<'de, str>>::deserialize(deserializer)? else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(&text)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|e| serde::de::Error::custom(format!("invalid date-time `{text}`: {e}")))
}

impl VehicleData {
    /// The values of one property; empty when the message does not carry it.
    pub fn property(&self, capability: &str, property: &str) -> &[Property] {
        self.0
            .get(capability)
            .and_then(|c| c.0.get(property))
            .map_or(&[], Vec::as_slice)
    }

    /// Every value in the message as `(capability, property, value)`, in name order.
    pub fn values(&self) -> impl Iterator<Item = (&str, &str, &Property)> {
        self.0.iter().flat_map(|(capability, properties)| {
            properties.0.iter().flat_map(move |(property, values)| {
                values
                    .iter()
                    .map(move |value| (capability.as_str(), property.as_str(), value))
            })
        })
    }
}

/// A decoded message as the handler receives it, with the MQTT details and the raw payload.
///
/// Dereferences to its [`Message`], so `delivery.vin` and `delivery.data` work directly.
#[derive(Debug, Clone)]
pub struct Delivery<D = VehicleData> {
    /// The decoded message.
    pub message: Message<D>,
    /// The MQTT topic it was published on.
    pub topic: String,
    /// The payload exactly as received: the raw JSON escape hatch.
    pub payload: Bytes,
    /// The broker marked it as a redelivery (MQTT DUP flag): an earlier delivery was not acknowledged.
    pub redelivered: bool,
}

impl<D> Deref for Delivery<D> {
    type Target = Message<D>;

    fn deref(&self) -> &Message<D> {
        &self.message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{
        "version": 2,
        "message_id": "M-1",
        "application_id": "48aa1779-91c2-468e-97e9-ab112efd53b9",
        "vin": "EXVETESTVIN000001",
        "future_field": true,
        "data": {
            "diagnostics": {
                "odometer": [{"data": {"value": 2050, "unit": "kilometers"}, "timestamp": "2021-10-06T13:59:25.648943Z"}],
                "speed": [{"failure": {"reason": "rate_limit", "description": "later"}}]
            },
            "a_capability_from_the_future": {"x": [{"data": "y", "unknown_entry_field": 1}]}
        }
    }"#;

    #[test]
    fn decodes_known_and_unknown_capabilities() {
        let message: Message = serde_json::from_str(EXAMPLE).expect("decodes");
        assert_eq!(message.vin, "EXVETESTVIN000001");
        let values: Vec<_> = message.data.values().map(|(c, p, _)| (c, p)).collect();
        assert_eq!(
            values,
            [
                ("a_capability_from_the_future", "x"),
                ("diagnostics", "odometer"),
                ("diagnostics", "speed")
            ]
        );
        let speed = &message.data.property("diagnostics", "speed")[0];
        assert_eq!(
            speed.failure.as_ref().map(|f| f.reason.as_str()),
            Some("rate_limit")
        );
        assert!(message.data.property("charging", "status").is_empty());
    }

    #[test]
    fn raw_json_is_a_choice_of_type_parameter() {
        let message: Message<Value> = serde_json::from_str(EXAMPLE).expect("decodes");
        assert_eq!(
            message.data["diagnostics"]["odometer"][0]["data"]["value"],
            2050
        );
    }

    #[test]
    fn the_shape_is_checked() {
        // A property that is an object instead of an array of values.
        let wrong = EXAMPLE.replace(
            r#""x": [{"data": "y", "unknown_entry_field": 1}]"#,
            r#""x": {"data": "y"}"#,
        );
        assert!(serde_json::from_str::<Message>(&wrong).is_err());
        let no_vin = EXAMPLE.replace(r#""vin": "EXVETESTVIN000001","#, "");
        assert!(serde_json::from_str::<Message<Value>>(&no_vin).is_err());
        let bad_time = EXAMPLE.replace("2021-10-06T13:59:25.648943Z", "yesterday");
        let error = serde_json::from_str::<Message>(&bad_time).expect_err("not a date-time");
        assert!(
            error.to_string().contains("invalid date-time `yesterday`"),
            "{error}"
        );
    }

    #[test]
    fn timestamps_are_rfc3339_in_any_offset_and_may_be_null() {
        let entry: Property =
            serde_json::from_str(r#"{"data": 1, "timestamp": "2021-10-06T15:59:25+02:00"}"#)
                .expect("offset");
        assert_eq!(
            entry.timestamp.map(|t| t.to_rfc3339()).as_deref(),
            Some("2021-10-06T13:59:25+00:00")
        );
        let entry: Property = serde_json::from_str(r#"{"timestamp": null}"#).expect("null");
        assert_eq!(entry, Property::default());
    }
}
