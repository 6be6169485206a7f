//! The MQTT V2 message: an envelope around vehicle data, generic over how the data is decoded.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::de::{self, DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};
use uuid::Uuid;

/// One message of the stream (`json-schema/janus/0002`): who sent it, which vehicle, and the data.
///
/// `D` is how `data` is decoded: [`VehicleData`] by default (capability → property → values, the
/// values kept as JSON), `serde_json::Value` for untouched JSON, or any type generated from the
/// Streaming Schema V2. Envelope fields this version does not know are kept in
/// [`extra`](Message::extra) and written back when the message is serialized; the raw payload
/// stays available in [`Delivery::payload`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message<D = VehicleData> {
    /// Message format version (2): any JSON number, as the schema says (`2`, `2.0`, `2.1`).
    pub version: Number,
    /// The application the data is streamed for.
    pub application_id: Uuid,
    /// Unique per message; a redelivered message keeps it.
    pub message_id: String,
    /// The vehicle.
    pub vin: String,
    /// The vehicle data.
    pub data: D,
    /// Envelope fields this version does not know, as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Vehicle data as the Streaming Schema V2 shapes it: capability → property → array of values.
///
/// Every capability and property is accepted, including ones the schema does not know yet. Each
/// value's `data` is kept as the JSON text received and decoded when asked for.
///
/// ```
/// let data: hm_stream::VehicleData = serde_json::from_str(
///     r#"{"diagnostics": {"odometer": [{"data": {"value": 2050, "unit": "kilometers"},
///         "timestamp": "2021-10-06T13:59:25.648943Z"}]}}"#,
/// )?;
/// let odometer = &data.property("diagnostics", "odometer")[0];
/// let value: serde_json::Value = odometer.data_as().expect("has data")?;
/// assert_eq!(value["value"], 2050);
/// assert_eq!(odometer.data.as_deref().map(|raw| raw.get()), Some(r#"{"value": 2050, "unit": "kilometers"}"#));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VehicleData(pub BTreeMap<String, Capability>);

/// The properties of one capability (e.g. `diagnostics`), each an array of values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Capability(pub BTreeMap<String, Vec<Property>>);

/// One value of a property: the data, when it was measured, or why it is missing. Fields this
/// version does not know are kept in [`extra`](Property::extra).
///
/// `data` and `availability` are kept as the JSON text received (checked to be JSON), not decoded:
/// building a `serde_json::Value` for every value would take most of the time spent decoding a
/// message, for values an application may only store or never read. [`Property::data_as`] decodes
/// `data` into `serde_json::Value` or any type.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Property {
    /// The value as received; its shape depends on the property (a number with a unit, a
    /// string, an object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
    /// When the vehicle measured it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// Why the value could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// How often the property is updated, as received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<Box<RawValue>>,
    /// Fields this version does not know, as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Property {
    /// `data` decoded as `T` (`serde_json::Value`, a number, a type of your own); `None` when the
    /// value has no data (see `failure`).
    pub fn data_as<T: DeserializeOwned>(&self) -> Option<Result<T, serde_json::Error>> {
        self.data
            .as_deref()
            .map(|raw| serde_json::from_str(raw.get()))
    }
}

/// Equal when every field is; `data` and `availability` compare as JSON text.
impl PartialEq for Property {
    fn eq(&self, other: &Self) -> bool {
        fn text(raw: &Option<Box<RawValue>>) -> Option<&str> {
            raw.as_deref().map(RawValue::get)
        }
        text(&self.data) == text(&other.data)
            && self.timestamp == other.timestamp
            && self.failure == other.failure
            && text(&self.availability) == text(&other.availability)
            && self.extra == other.extra
    }
}

/// Why a property has no value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// E.g. `rate_limit`, `unauthorised`, `privacy_mode_active`; new reasons are kept as they come.
    pub reason: String,
    /// A human-readable explanation.
    pub description: String,
    /// Fields this version does not know, as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

// `Message` and `Property` are decoded by hand rather than derived with `#[serde(flatten)]`, which
// would buffer every field (the whole `data`) before decoding it: here each field is decoded
// straight from the input and only unknown ones are kept as JSON values.

impl<'de, D: Deserialize<'de>> Deserialize<'de> for Message<D> {
    fn deserialize<De: Deserializer<'de>>(deserializer: De) -> Result<Self, De::Error> {
        struct Fields<D>(PhantomData<D>);
        impl<'de, D: Deserialize<'de>> Visitor<'de> for Fields<D> {
            type Value = Message<D>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an MQTT V2 message (a JSON object)")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Message<D>, A::Error> {
                let (mut version, mut application_id, mut message_id, mut vin, mut data) =
                    (None, None, None, None, None);
                let mut extra = Map::new();
                while let Some(key) = map.next_key::<Text>()? {
                    match key.0.as_ref() {
                        "version" => once(&mut version, "version", map.next_value()?)?,
                        "application_id" => {
                            once(&mut application_id, "application_id", map.next_value()?)?
                        }
                        "message_id" => once(&mut message_id, "message_id", map.next_value()?)?,
                        "vin" => once(&mut vin, "vin", map.next_value()?)?,
                        "data" => once(&mut data, "data", map.next_value()?)?,
                        _ => unknown(&mut extra, key, map.next_value()?)?,
                    }
                }
                Ok(Message {
                    version: version.ok_or_else(|| de::Error::missing_field("version"))?,
                    application_id: application_id
                        .ok_or_else(|| de::Error::missing_field("application_id"))?,
                    message_id: message_id.ok_or_else(|| de::Error::missing_field("message_id"))?,
                    vin: vin.ok_or_else(|| de::Error::missing_field("vin"))?,
                    data: data.ok_or_else(|| de::Error::missing_field("data"))?,
                    extra,
                })
            }
        }
        deserializer.deserialize_map(Fields(PhantomData))
    }
}

impl<'de> Deserialize<'de> for Property {
    fn deserialize<De: Deserializer<'de>>(deserializer: De) -> Result<Self, De::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = Property;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a property value (a JSON object)")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Property, A::Error> {
                const NAMES: [&str; 4] = ["data", "timestamp", "failure", "availability"];
                let mut property = Property::default();
                let mut seen = [false; NAMES.len()];
                while let Some(key) = map.next_key::<Text>()? {
                    let Some(field) = NAMES.iter().position(|name| *name == key.0) else {
                        unknown(&mut property.extra, key, map.next_value()?)?;
                        continue;
                    };
                    if std::mem::replace(&mut seen[field], true) {
                        return Err(de::Error::duplicate_field(NAMES[field]));
                    }
                    match field {
                        0 => property.data = map.next_value()?,
                        1 => property.timestamp = map.next_value::<Rfc3339>()?.0,
                        2 => property.failure = map.next_value()?,
                        _ => property.availability = map.next_value()?,
                    }
                }
                Ok(property)
            }
        }
        deserializer.deserialize_map(Fields)
    }
}

/// A string (a field name, a timestamp), borrowed from the input when it has no escapes.
struct Text<'de>(std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<De: Deserializer<'de>>(deserializer: De) -> Result<Self, De::Error> {
        struct Chars;
        impl<'de> Visitor<'de> for Chars {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(text.into()))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Text<'de>, E> {
                Ok(Text(text.to_owned().into()))
            }
        }
        deserializer.deserialize_str(Chars)
    }
}

fn once<T, E: de::Error>(slot: &mut Option<T>, name: &'static str, value: T) -> Result<(), E> {
    match slot.replace(value) {
        Some(_) => Err(E::duplicate_field(name)),
        None => Ok(()),
    }
}

fn unknown<E: de::Error>(
    extra: &mut Map<String, Value>,
    key: Text<'_>,
    value: Value,
) -> Result<(), E> {
    let name = key.0.into_owned();
    if extra.contains_key(&name) {
        return Err(E::custom(format!("duplicate field `{name}`")));
    }
    extra.insert(name, value);
    Ok(())
}

/// An RFC 3339 timestamp (the schema's `date-time`) or null, read with chrono's dedicated parser,
/// several times faster than its general `FromStr`, which serde would use.
struct Rfc3339(Option<DateTime<Utc>>);

thread_local! {
    /// The last timestamp this thread parsed, as text and as time. The values of one message
    /// mostly share their timestamp, and parsing took a tenth of the time spent decoding one.
    static LAST_TIMESTAMP: std::cell::RefCell<(String, DateTime<Utc>)> =
        const { std::cell::RefCell::new((String::new(), DateTime::UNIX_EPOCH)) };
}

impl<'de> Deserialize<'de> for Rfc3339 {
    fn deserialize<De: Deserializer<'de>>(deserializer: De) -> Result<Self, De::Error> {
        let Some(text) = Option::<Text<'de>>::deserialize(deserializer)? else {
            return Ok(Rfc3339(None));
        };
        let text = text.0.as_ref();
        LAST_TIMESTAMP.with_borrow_mut(|(last_text, last_time)| {
            if text != last_text.as_str() {
                let time = DateTime::parse_from_rfc3339(text)
                    .map_err(|e| de::Error::custom(format!("invalid date-time `{text}`: {e}")))?;
                *last_time = time.with_timezone(&Utc);
                last_text.clear();
                last_text.push_str(text);
            }
            Ok(Rfc3339(Some(*last_time)))
        })
    }
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
    fn unknown_fields_are_kept_and_written_back() {
        let message: Message = serde_json::from_str(EXAMPLE).expect("decodes");
        assert_eq!(message.extra["future_field"], true);
        let x = &message.data.property("a_capability_from_the_future", "x")[0];
        assert_eq!(x.extra["unknown_entry_field"], 1);
        assert_eq!(x.data_as::<String>().expect("data").expect("a string"), "y");
        let again = serde_json::to_value(&message).expect("encodes");
        let original: Value = serde_json::from_str(EXAMPLE).expect("json");
        assert_eq!(again, original);
    }

    #[test]
    fn versions_are_json_numbers() {
        for version in ["2", "2.0", "2.1"] {
            let payload = EXAMPLE.replace(r#""version": 2"#, &format!(r#""version": {version}"#));
            let message: Message = serde_json::from_str(&payload).expect(version);
            assert_eq!(message.version.to_string(), version);
        }
        let text = EXAMPLE.replace(r#""version": 2"#, r#""version": "2""#);
        assert!(serde_json::from_str::<Message>(&text).is_err());
    }

    #[test]
    fn duplicate_fields_are_refused() {
        for (field, again) in [
            ("vin", r#""vin": "OTHER","#),
            ("future_field", r#""future_field": 1,"#),
        ] {
            let payload = EXAMPLE.replacen('{', &format!("{{{again}"), 1);
            let error = serde_json::from_str::<Message>(&payload).expect_err(field);
            assert!(error.to_string().contains("duplicate field"), "{error}");
        }
        let entry = r#"{"data": 1, "data": 2}"#;
        assert!(serde_json::from_str::<Property>(entry).is_err());
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

    /// The last timestamp parsed is reused for the same text only.
    #[test]
    fn each_value_keeps_its_own_timestamp() {
        let data: VehicleData = serde_json::from_str(
            r#"{"c": {"p": [{"timestamp": "2021-10-06T13:59:25Z"}, {"timestamp": "2021-10-06T13:59:26Z"},
                {"timestamp": "2021-10-06T13:59:26Z"}, {"timestamp": "2021-10-06T15:59:26+02:00"}]}}"#,
        )
        .expect("decodes");
        let seconds: Vec<_> = data
            .property("c", "p")
            .iter()
            .map(|v| v.timestamp.expect("a time").timestamp() % 60)
            .collect();
        assert_eq!(seconds, [25, 26, 26, 26]);
        let bad = r#"{"c": {"p": [{"timestamp": "2021-10-06T13:59:26Z"}, {"timestamp": "2021-10-06T13:59:26"}]}}"#;
        assert!(serde_json::from_str::<VehicleData>(bad).is_err());
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
        let entry: Property =
            serde_json::from_str(r#"{"timestamp": null, "data": null}"#).expect("null");
        assert_eq!(entry, Property::default());
    }
}
