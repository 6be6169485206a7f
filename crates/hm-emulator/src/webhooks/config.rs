//! The `[[webhooks]]` and `[webhook_delivery]` tables of the configuration: where deliveries go,
//! what signs them, and how persistently they are retried.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use hm_webhooks::{FLEET_CLEARANCE_CHANGED, PING, WebhookSecret};
use serde::{Deserialize, Serialize};
use url::{Host, Url};

use crate::Error;
use crate::config::in_range;

/// The events the emulator can send.
pub const EVENTS: [&str; 2] = [FLEET_CLEARANCE_CHANGED, PING];

/// One webhook, as configured for an application in High Mobility's console: the URL deliveries
/// are POSTed to, the secret that signs them, and the events to send.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// An `https` URL, or an `http` URL of a loopback address (`127.0.0.1`, `[::1]`, `localhost`).
    pub url: String,
    /// The secret deliveries are signed with (`X-HM-Signature-256` and the legacy `X-HM-Signature`).
    pub secret: String,
    /// The events to send; all of them when left out. The `ping` on registration is always sent.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// The application whose clearance changes are sent; every configured application when left out.
    #[serde(default)]
    pub client_id: Option<String>,
}

impl WebhookConfig {
    /// A webhook for every event of every application.
    pub fn new(url: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            secret: secret.into(),
            events: None,
            client_id: None,
        }
    }

    /// Checks the URL, secret and event names, and returns the URL and secret in usable form.
    /// `which` names the webhook in messages, e.g. `webhooks[0]`.
    pub(crate) fn check(
        &self,
        which: &str,
        client_ids: &[&str],
    ) -> Result<(Url, WebhookSecret), Error> {
        let invalid = |reason: String| Error::InvalidWebhook {
            which: which.to_string(),
            reason,
        };
        let url = check_url(&self.url).map_err(invalid)?;
        let secret = WebhookSecret::new(self.secret.as_str())
            .map_err(|e| invalid(format!("secret: {e}")))?;
        if let Some(events) = &self.events {
            if events.is_empty() {
                return Err(invalid(
                    "events is empty, so nothing but the ping would be sent; leave it out to send every event"
                        .into(),
                ));
            }
            if let Some(unknown) = events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
                return Err(invalid(format!(
                    "unknown event {unknown:?}; the emulator sends {}",
                    EVENTS.join(", ")
                )));
            }
        }
        if let Some(client_id) = &self.client_id
            && !client_ids.contains(&client_id.as_str())
        {
            return Err(invalid(format!(
                "client_id {client_id:?} is not a configured application; add it to [[applications]] or leave client_id out"
            )));
        }
        Ok((url, secret))
    }

    /// Whether deliveries of `event` go to this webhook.
    pub(crate) fn wants(&self, event: &str) -> bool {
        self.events
            .as_ref()
            .is_none_or(|events| events.iter().any(|e| e == event))
    }

    /// Whether changes of application `client_id` go to this webhook.
    pub(crate) fn serves(&self, client_id: &str) -> bool {
        self.client_id.as_deref().is_none_or(|c| c == client_id)
    }
}

// Hand-written so that printing a config never prints the secret, nor a password or token in the URL.
impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &shown_url(&self.url))
            .field("secret", &"<redacted>")
            .field("events", &self.events)
            .field("client_id", &self.client_id)
            .finish()
    }
}

/// An `https` URL, or `http` to loopback only: deliveries carry signed clearance data, and High
/// Mobility's console takes nothing else.
fn check_url(text: &str) -> Result<Url, String> {
    // Never quoted whole: it may carry a password or a token.
    let shown = shown_url(text);
    let url = Url::parse(text).map_err(|e| format!("url {shown:?} is not a URL ({e})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "url {shown:?} carries credentials, which would be logged with it; leave them out \
             (deliveries are authenticated by their signature)"
        ));
    }
    let loopback = match url.host() {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(format!(
            "url {shown:?} uses http to a host that is not loopback; use https (http is accepted only for {}, [{}] and localhost)",
            Ipv4Addr::LOCALHOST,
            Ipv6Addr::LOCALHOST
        )),
        _ => Err(format!("url {shown:?} is not an https URL")),
    }
}

/// A webhook URL as messages and logs show it, parsable or not: what lies between `://` and
/// the last `@` (user and password) and the query (a `?token=`) are cut out.
pub(crate) fn shown_url(text: &str) -> String {
    let mut shown = text.to_owned();
    if let Some(start) = shown.find("://").map(|i| i + 3)
        && let Some(at) = shown.rfind('@')
        && at >= start
    {
        shown.replace_range(start..=at, "***@");
    }
    if let Some(query) = shown.find('?') {
        shown.truncate(query);
        shown.push_str("?***");
    }
    shown
}

/// How deliveries are retried and how many may wait (the `[webhook_delivery]` table).
///
/// A delivery that fails (an answer other than 2xx, no answer within `timeout_secs`, a refused
/// connection, or a fault that drops it) is retried under the same `X-HM-Delivery` id after
/// `first_retry_secs`, then twice as long each time up to `max_retry_secs`, on the emulator's
/// virtual clock, until `max_attempts` attempts were made; then it is abandoned and logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookDelivery {
    /// Attempts per delivery, the first one included. Default 10.
    pub max_attempts: u32,
    /// Seconds of virtual time before the first retry. Default 10.
    pub first_retry_secs: u64,
    /// Longest wait between two attempts, in seconds of virtual time. Default 3,600.
    pub max_retry_secs: u64,
    /// Seconds an attempt may take, answer included, on the emulator's virtual clock. Default 10.
    pub timeout_secs: u64,
    /// Deliveries held per webhook (waiting or being sent); a new one beyond it is dropped and
    /// logged, so a receiver that is down cannot grow the emulator's memory. Default 10,000.
    pub max_queued: u64,
}

impl Default for WebhookDelivery {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            first_retry_secs: 10,
            max_retry_secs: 3600,
            timeout_secs: 10,
            max_queued: 10_000,
        }
    }
}

impl WebhookDelivery {
    /// Checks that every setting is in a range the emulator can honour.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        let day = 24 * 3600;
        in_range(
            "webhook_delivery.max_attempts",
            self.max_attempts.into(),
            1,
            100,
        )?;
        in_range(
            "webhook_delivery.first_retry_secs",
            self.first_retry_secs,
            0,
            day,
        )?;
        in_range(
            "webhook_delivery.max_retry_secs",
            self.max_retry_secs,
            self.first_retry_secs,
            7 * day,
        )?;
        in_range("webhook_delivery.timeout_secs", self.timeout_secs, 1, 300)?;
        in_range("webhook_delivery.max_queued", self.max_queued, 1, 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_to_loopback() {
        for ok in [
            "https://example.com/hooks/hm",
            "https://203.0.113.7:8443/",
            "http://127.0.0.1:9000/webhooks",
            "http://127.8.9.10/",
            "http://[::1]:9000/",
            "http://localhost:9000/x?y=1",
            "http://LOCALHOST/",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}: {:?}", check_url(ok));
        }
        for (bad, says) in [
            ("http://example.com/hook", "use https"),
            ("http://10.0.0.1/hook", "use https"),
            ("http://localhost.example.com/", "use https"),
            ("ftp://127.0.0.1/", "not an https URL"),
            ("https://", "not a URL"),
            ("127.0.0.1:9000", "not a URL"),
            ("https://user:pass@example.com/", "carries credentials"),
        ] {
            let error = check_url(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
            assert!(!error.contains("pass@"), "{error}");
        }
    }

    #[test]
    fn urls_are_shown_without_userinfo_or_query() {
        for (text, shown) in [
            ("https://user:pw@exa mple.com/", "https://***@exa mple.com/"),
            ("http://user:p@w@[::1/", "http://***@[::1/"),
            (
                "https://example.com/h?token=abc",
                "https://example.com/h?***",
            ),
            ("https://example.com/hook", "https://example.com/hook"),
            ("not a url @ all", "not a url @ all"),
        ] {
            assert_eq!(shown_url(text), shown);
        }
        let error = check_url("https://u:s3cret@exa mple.com/?token=t0ken").unwrap_err();
        assert!(
            !error.contains("s3cret") && !error.contains("t0ken"),
            "{error}"
        );
    }
}
