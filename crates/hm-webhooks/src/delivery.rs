//! Typed deliveries: the event a webhook reports, with the raw JSON kept for everything else.

use std::collections::HashMap;

use http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::json;
use serde_json::value::RawValue;

use crate::{ClearanceStatus, Error, WebhookSecret, header, sign};

/// The `X-HM-Event` name of a fleet clearance status change.
pub const FLEET_CLEARANCE_CHANGED: &str = "fleet_clearance_changed";

/// The `X-HM-Event` name of the ping sent when a webhook is configured or changed.
pub const PING: &str = "ping";

/// One verified webhook delivery.
///
/// Serialisable, e.g. to print deliveries as JSON lines or to queue them:
/// `{"id": .., "event": {"kind": "fleet_clearance_changed", "vin": .., "status": .., "detail": ..}, "body": {..}}`,
/// with the body embedded exactly as received. Two deliveries are equal when their ids, events
/// and body texts are.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    /// The `X-HM-Delivery` id: the same on every retry of one delivery, so it identifies duplicates.
    pub id: String,
    /// What happened, typed where this crate knows the event.
    pub event: Event,
    /// The whole JSON body exactly as received (surrounding whitespace aside): every field,
    /// including those this crate does not know, and every number as written, however large or
    /// precise. `null` when the body was empty. It prints as JSON; [`Delivery::body_as`] decodes it.
    pub body: Box<RawValue>,
}

impl PartialEq for Delivery {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.event == other.event && self.body.get() == other.body.get()
    }
}

impl Eq for Delivery {}

/// The event a delivery reports. Open: events this crate does not know arrive as [`Event::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// `fleet_clearance_changed`: a fleet vehicle's clearance status changed.
    FleetClearanceChanged {
        /// The vehicle (`vehicle.vin` in the body).
        vin: String,
        /// The new status (`event.action`). A status the spec does not list yet arrives as
        /// `ClearanceStatus::UnknownValue` with the text as sent.
        status: ClearanceStatus,
        /// The reason, e.g. for a rejection (`event.detail`), when there is one: its text when
        /// it is a string, otherwise (e.g. a structured reason) its JSON as received. Never a
        /// reason to refuse the status change.
        detail: Option<String>,
    },
    /// `ping`: sent when the webhook is configured or changed.
    Ping,
    /// An event of another product. Its data is in [`Delivery::body`].
    Other {
        /// The `X-HM-Event` name as sent.
        name: String,
    },
}

impl Event {
    /// The event's name as sent in `X-HM-Event`.
    pub fn name(&self) -> &str {
        match self {
            Event::FleetClearanceChanged { .. } => FLEET_CLEARANCE_CHANGED,
            Event::Ping => PING,
            Event::Other { name } => name,
        }
    }
}

/// A delivery ready to send: its headers (both signatures, id, event, user agent, content type)
/// and the exact body bytes they sign.
#[derive(Debug, Clone)]
pub struct SignedDelivery {
    /// `X-HM-Signature-256`, `X-HM-Signature`, `X-HM-Delivery`, `X-HM-Event`, `User-Agent`, `Content-Type`.
    pub headers: HeaderMap,
    /// The JSON body.
    pub body: Vec<u8>,
}

impl Delivery {
    /// A `fleet_clearance_changed` delivery with the body High Mobility sends:
    /// `{"vehicle": {"vin": ..}, "event": {"action": .., "detail": ..}}` (`detail` only when given).
    pub fn fleet_clearance_changed(
        id: impl Into<String>,
        vin: impl Into<String>,
        status: ClearanceStatus,
        detail: Option<String>,
    ) -> Delivery {
        let vin = vin.into();
        let mut event = json!({ "action": status.to_string() });
        if let Some(detail) = &detail {
            event["detail"] = json!(detail);
        }
        let body = json!({ "vehicle": { "vin": vin }, "event": event });
        Delivery {
            id: id.into(),
            body: serde_json::value::to_raw_value(&body)
                .expect("a serde_json::Value always serialises"),
            event: Event::FleetClearanceChanged {
                vin,
                status,
                detail,
            },
        }
    }

    /// A `ping` delivery, as sent when a webhook is configured or changed. High Mobility does not
    /// document a ping's body; this one is an empty JSON object.
    pub fn ping(id: impl Into<String>) -> Delivery {
        Delivery {
            id: id.into(),
            event: Event::Ping,
            body: RawValue::from_string("{}".to_owned()).expect("`{}` is JSON"),
        }
    }

    /// Decodes the body into `T`: `serde_json::Value` to look at fields the typed event does not
    /// carry, or a type of your own.
    ///
    /// `serde_json::Value` holds a number as an `f64`, `i64` or `u64`: an integer beyond them is
    /// rounded, a number beyond `f64` refused. Where such numbers may come, decode the field into
    /// a `Box<RawValue>` (or `&RawValue`) of your type, which keeps it as written.
    pub fn body_as<'a, T: Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.body.get())
    }

    /// The request a sender makes for this delivery: [`Delivery::body`] as it is, signed with
    /// `secret`, and every header High Mobility sends.
    ///
    /// Fails with the error a receiver (this crate's) would answer when the id or the event name
    /// is not 1 to [`header::MAX_VALUE_BYTES`] visible ASCII characters without spaces at either
    /// end: the same rule decides on both sides.
    pub fn signed(&self, secret: &WebhookSecret) -> Result<SignedDelivery, Error> {
        let body = self.body.get().as_bytes().to_vec();
        let signatures = sign(secret, &body);
        let text = |header: &'static str, text: &str| {
            let text = header::check_text(header, text)?;
            HeaderValue::from_str(text).map_err(|_| Error::InvalidHeader {
                header,
                problem: "it is not visible ASCII",
            })
        };
        let signature = |value: String| {
            HeaderValue::try_from(value).expect("a signature is a prefix and hex digits")
        };
        let mut headers = HeaderMap::new();
        headers.insert(header::SIGNATURE_256, signature(signatures.sha256));
        headers.insert(header::SIGNATURE_SHA1, signature(signatures.sha1));
        headers.insert(header::DELIVERY, text(header::DELIVERY, &self.id)?);
        headers.insert(header::EVENT, text(header::EVENT, self.event.name())?);
        headers.insert(
            http::header::USER_AGENT,
            HeaderValue::from_static(header::USER_AGENT_VALUE),
        );
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(header::CONTENT_TYPE_VALUE),
        );
        Ok(SignedDelivery { headers, body })
    }

    /// The delivery of a request whose headers were checked and whose signature was verified.
    pub(crate) fn from_verified(id: &str, name: &str, body: &[u8]) -> Result<Delivery, Error> {
        let malformed = |detail: String| Error::MalformedBody {
            event: name.to_owned(),
            detail,
        };
        // Kept as received, never as a serde_json::Value, which rounds or refuses numbers
        // beyond f64.
        let body: Box<RawValue> = if body.is_empty() {
            RawValue::NULL.to_owned()
        } else {
            serde_json::from_slice(body).map_err(|e| malformed(format!("it is not JSON ({e})")))?
        };
        let event = match name {
            FLEET_CLEARANCE_CHANGED => clearance_change(&body).map_err(malformed)?,
            PING => Event::Ping,
            other => Event::Other {
                name: other.to_owned(),
            },
        };
        Ok(Delivery {
            id: id.to_owned(),
            event,
            body,
        })
    }
}

/// The typed fields of a `fleet_clearance_changed` body; everything else stays in the raw body.
fn clearance_change(body: &RawValue) -> Result<Event, String> {
    let root = members(body).ok_or_else(|| {
        format!(
            "the body is {}, expected a JSON object with `vehicle` and `event`",
            Kind::of(body)
        )
    })?;
    let vehicle = root.get("vehicle").and_then(|vehicle| members(vehicle));
    let event = root.get("event").and_then(|event| members(event));
    let vin = required_text("vehicle.vin", member(vehicle.as_ref(), "vin"))?;
    let action = required_text("event.action", member(event.as_ref(), "action"))?;
    // The reason is informative: whatever its form, the status change is delivered.
    let detail = match member(event.as_ref(), "detail") {
        None => None,
        Some(detail) if Kind::of(detail) == Kind::Null => None,
        Some(detail) => Some(text(detail).unwrap_or_else(|| detail.get().to_owned())),
    };
    // Open enum: any text parses, an unlisted one into `UnknownValue` (the error cannot happen).
    let status = action
        .parse::<ClearanceStatus>()
        .map_err(|e| format!("`event.action` `{action}`: {e}"))?;
    Ok(Event::FleetClearanceChanged {
        vin,
        status,
        detail,
    })
}

/// The members of `value` when it is a JSON object, their values unparsed.
fn members(value: &RawValue) -> Option<HashMap<String, &RawValue>> {
    match Kind::of(value) {
        Kind::Object => serde_json::from_str(value.get()).ok(),
        _ => None,
    }
}

/// The member `name` of an object, when there is one.
fn member<'a>(object: Option<&HashMap<String, &'a RawValue>>, name: &str) -> Option<&'a RawValue> {
    object.and_then(|object| object.get(name).copied())
}

/// The text of `value` when it is a JSON string.
fn text(value: &RawValue) -> Option<String> {
    match Kind::of(value) {
        Kind::String => serde_json::from_str(value.get()).ok(),
        _ => None,
    }
}

fn required_text(path: &str, value: Option<&RawValue>) -> Result<String, String> {
    let value = value
        .filter(|value| Kind::of(value) != Kind::Null)
        .ok_or_else(|| format!("`{path}` is missing, expected a string"))?;
    text(value).ok_or_else(|| format!("`{path}` is {}, expected a string", Kind::of(value)))
}

/// The kind of a JSON value, to say what was found where something else was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Boolean,
    Number,
    String,
    Array,
    Object,
}

impl Kind {
    /// Told by the first character: a raw value starts with its value, never with whitespace.
    fn of(value: &RawValue) -> Kind {
        match value.get().as_bytes().first() {
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            Some(b'"') => Kind::String,
            Some(b't' | b'f') => Kind::Boolean,
            Some(b'n') => Kind::Null,
            _ => Kind::Number,
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Null => "null",
            Kind::Boolean => "a boolean",
            Kind::Number => "a number",
            Kind::String => "a string",
            Kind::Array => "an array",
            Kind::Object => "an object",
        })
    }
}
