//! Decoding a payload, and what the consumer reports when it cannot.

use std::fmt;

use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::{Delivery, Message};

/// A message that could not be decoded: reported with its `message_id` (when it has one), then
/// acknowledged or handed to the dead-letter handler, as the application chose
/// (see [`Consumer::dead_letter`](crate::Consumer::dead_letter)).
#[derive(Clone)]
pub struct BadMessage {
    /// The `message_id` found in the payload, if any.
    pub message_id: Option<String>,
    /// The MQTT topic it was published on.
    pub topic: String,
    /// The payload exactly as received.
    pub payload: Bytes,
    /// What is wrong with it.
    pub problem: Problem,
}

impl fmt::Debug for BadMessage {
    // The payload may be large: its size is enough to recognise it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BadMessage")
            .field("message_id", &self.message_id)
            .field("topic", &self.topic)
            .field("payload_bytes", &self.payload.len())
            .field("problem", &self.problem)
            .finish()
    }
}

/// Why a message is bad.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The payload is not JSON (or not UTF-8, or truncated).
    NotJson {
        /// What the parser reported, with the position.
        detail: String,
    },
    /// The payload is JSON but not a message of the expected shape (a missing `vin`, data that is
    /// not capability → property → array, ...).
    SchemaMismatch {
        /// What the decoder reported, with the position.
        detail: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotJson { detail } => write!(f, "not JSON: {detail}"),
            Problem::SchemaMismatch { detail } => {
                write!(f, "does not match the MQTT V2 message schema: {detail}")
            }
        }
    }
}

/// Decodes one payload into a delivery, or says why it is bad.
pub(crate) fn decode<D: DeserializeOwned>(
    topic: String,
    payload: Bytes,
    redelivered: bool,
) -> Result<Delivery<D>, BadMessage> {
    // UTF-8 is checked once for the whole payload, which is much faster than serde_json checking
    // each string and raw value on its own (it does when decoding bytes, not when decoding text).
    let text = match std::str::from_utf8(&payload) {
        Ok(text) => text,
        Err(error) => {
            return Err(BadMessage {
                message_id: None,
                topic,
                payload,
                problem: Problem::NotJson {
                    detail: format!("not UTF-8: {error}"),
                },
            });
        }
    };
    match serde_json::from_str::<Message<D>>(text) {
        Ok(message) => Ok(Delivery {
            message,
            topic,
            payload,
            redelivered,
        }),
        Err(error) => {
            let detail = short(&error.to_string());
            let problem = if error.is_data() {
                Problem::SchemaMismatch { detail }
            } else {
                Problem::NotJson { detail }
            };
            Err(BadMessage {
                message_id: message_id(&payload),
                topic,
                payload,
                problem,
            })
        }
    }
}

/// The payload's top-level `message_id`, when it is JSON and has a string one.
fn message_id(payload: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Id {
        message_id: Option<String>,
    }
    serde_json::from_slice::<Id>(payload).ok()?.message_id
}

/// Decoder messages can quote a value from the payload: keep reports short.
fn short(detail: &str) -> String {
    const LIMIT: usize = 300;
    match detail.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &detail[..cut]),
        None => detail.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VehicleData;

    const GOOD: &str = r#"{"version":2,"application_id":"48aa1779-91c2-468e-97e9-ab112efd53b9","message_id":"m1","vin":"V","data":{"race":{"vehicle_moving":[{"data":"moving"}]}}}"#;

    fn run(payload: &str) -> Result<Delivery<VehicleData>, BadMessage> {
        decode("t".to_owned(), Bytes::from(payload.to_owned()), false)
    }

    #[test]
    fn good_messages_decode() {
        let delivery = run(GOOD).expect("good");
        assert_eq!(delivery.message_id, "m1");
        assert_eq!(delivery.payload, GOOD.as_bytes());
    }

    #[test]
    fn bad_messages_say_what_is_wrong_and_keep_their_id() {
        let not_json = run("{\"message_id\": \"m2\", oops").expect_err("not json");
        assert!(
            matches!(not_json.problem, Problem::NotJson { .. }),
            "{not_json:?}"
        );
        assert_eq!(not_json.message_id, None);

        let no_vin = GOOD.replace(r#""vin":"V","#, "");
        let mismatch = run(&no_vin).expect_err("mismatch");
        assert_eq!(mismatch.message_id.as_deref(), Some("m1"));
        assert!(
            mismatch.problem.to_string().contains("missing field `vin`"),
            "{}",
            mismatch.problem
        );

        let binary = decode::<VehicleData>("t".into(), Bytes::from_static(&[0xff, 0x00]), false)
            .expect_err("binary");
        assert!(matches!(binary.problem, Problem::NotJson { .. }));
        assert!(format!("{binary:?}").contains("payload_bytes: 2"));
    }

    #[test]
    fn long_details_are_cut() {
        assert_eq!(short(&"x".repeat(1000)).chars().count(), 301);
        assert_eq!(short("short"), "short");
    }
}
