//! Typed deliveries: the event a webhook reports, with the raw JSON kept for everything else.

use http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{ClearanceStatus, Error, WebhookSecret, header, sign};

/// The `X-HM-Event` name of a fleet clearance status change.
pub const FLEET_CLEARANCE_CHANGED: &str = "fleet_clearance_changed";

/// The `X-HM-Event` name of the ping sent when a webhook is configured or changed.
pub const PING: &str = "ping";

/// One verified webhook delivery.
///
/// Serialisable, e.g. to print deliveries as JSON lines or to queue them:
/// `{"id": .., "event": {"kind": "fleet_clearance_changed", "vin": .., "status": .., "detail": ..}, "body": {..}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// The `X-HM-Delivery` id: the same on every retry of one delivery, so it identifies duplicates.
    pub id: String,
    /// What happened, typed where this crate knows the event.
    pub event: Event,
    /// The whole JSON body as received, with every field, including those this crate does not
    /// know. `null` when the body was empty.
    pub body: Value,
}

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
        /// The reason, e.g. for a rejection (`event.detail`), when there is one.
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
        Delivery {
            id: id.into(),
            body: json!({ "vehicle": { "vin": vin }, "event": event }),
            event: Event::FleetClearanceChanged {
                vin,
                status,
                detail,
            },
        }
    }

    /// The request a sender makes for this delivery: [`Delivery::body`] serialised, signed with
    /// `secret`, and every header High Mobility sends.
    ///
    /// Fails only when the id or the event name is not visible ASCII, which receivers (this
    /// crate's included) refuse.
    pub fn signed(&self, secret: &WebhookSecret) -> Result<SignedDelivery, Error> {
        let body = self.body.to_string().into_bytes();
        let signatures = sign(secret, &body);
        let value = |header: &'static str, text: &str| {
            let invalid = Error::InvalidHeader {
                header,
                problem: "it is not visible ASCII",
            };
            if !text.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
                return Err(invalid);
            }
            HeaderValue::from_str(text).map_err(|_| invalid)
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            header::SIGNATURE_256,
            value(header::SIGNATURE_256, &signatures.sha256)?,
        );
        headers.insert(
            header::SIGNATURE_SHA1,
            value(header::SIGNATURE_SHA1, &signatures.sha1)?,
        );
        headers.insert(header::DELIVERY, value(header::DELIVERY, &self.id)?);
        headers.insert(header::EVENT, value(header::EVENT, self.event.name())?);
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

    /// Reads the delivery id, the event name and the body of a request whose signature has been
    /// verified.
    pub(crate) fn from_verified(headers: &HeaderMap, body: &[u8]) -> Result<Delivery, Error> {
        let id = single_text_header(headers, header::DELIVERY)?;
        let name = single_text_header(headers, header::EVENT)?;
        let malformed = |detail: String| Error::MalformedBody {
            event: name.to_owned(),
            detail,
        };
        let body: Value = if body.is_empty() {
            Value::Null
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

/// The typed fields of a `fleet_clearance_changed` body; unknown fields stay in the raw body.
fn clearance_change(body: &Value) -> Result<Event, String> {
    let text = |pointer: &str| match body.pointer(pointer) {
        Some(Value::String(text)) => Ok(Some(text.clone())),
        None | Some(Value::Null) => Ok(None),
        Some(other) => Err(format!(
            "`{}` is {}, expected a string",
            &pointer[1..].replace('/', "."),
            json_kind(other)
        )),
    };
    let required = |pointer: &str| {
        text(pointer)?.ok_or_else(|| {
            format!(
                "`{}` is missing, expected a string",
                &pointer[1..].replace('/', ".")
            )
        })
    };
    if !body.is_object() {
        return Err(format!(
            "the body is {}, expected a JSON object with `vehicle` and `event`",
            json_kind(body)
        ));
    }
    let vin = required("/vehicle/vin")?;
    let action = required("/event/action")?;
    let detail = text("/event/detail")?;
    let status = action
        .parse::<ClearanceStatus>()
        .unwrap_or(ClearanceStatus::UnknownValue(action));
    Ok(Event::FleetClearanceChanged {
        vin,
        status,
        detail,
    })
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The value of a header that must be present once, as non-empty visible ASCII.
fn single_text_header<'h>(headers: &'h HeaderMap, header: &'static str) -> Result<&'h str, Error> {
    let invalid = |problem| Error::InvalidHeader { header, problem };
    let mut values = headers.get_all(header).iter();
    let value = values.next().ok_or(Error::MissingHeader { header })?;
    if values.next().is_some() {
        return Err(invalid("it was sent more than once"));
    }
    let text = value
        .to_str()
        .map_err(|_| invalid("it is not visible ASCII"))?
        .trim();
    if text.is_empty() {
        return Err(invalid("it is empty"));
    }
    Ok(text)
}
