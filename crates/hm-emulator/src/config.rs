//! What the emulator knows: applications (who may get tokens) and test vehicles.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::webhooks::{WebhookConfig, WebhookDelivery};

/// Client id of the application in [`EmulatorConfig::demo`].
pub const DEMO_CLIENT_ID: &str = "hm-emulator-demo-client";
/// Client secret of the application in [`EmulatorConfig::demo`]. Not a secret: it is published here.
pub const DEMO_CLIENT_SECRET: &str = "hm-emulator-demo-secret";
/// Key id (`iss` of the JWT assertion) of the demo key registered in [`EmulatorConfig::demo`].
pub const DEMO_KEY_ID: &str = "hm-emulator-demo-key";
/// Public half of the demo key, registered in [`EmulatorConfig::demo`] under [`DEMO_KEY_ID`].
pub const DEMO_PUBLIC_KEY_PEM: &str = include_str!("../testdata/demo-public.pem");
/// Private half of the demo key (PKCS#8 PEM). Published on purpose so tests and examples can sign
/// assertions; it only ever opens the emulator.
pub const DEMO_PRIVATE_KEY_PEM: &str = include_str!("../testdata/demo-private.pem");

/// Demo vehicle: sandbox brand, eligible, clearance approved after 2 s.
pub const DEMO_VIN_APPROVED: &str = "1HMDEM0CAR0000001";
/// Demo vehicle: mercedes-benz, eligible, clearance approved after 2 s.
pub const DEMO_VIN_MERCEDES: &str = "1HMDEM0CAR0000002";
/// Demo vehicle: bmw, eligible, clearance rejected after 2 s.
pub const DEMO_VIN_REJECTED: &str = "1HMDEM0CAR0000003";
/// Demo vehicle: sandbox brand, clearance stays pending for 3 days (to show cancelation).
pub const DEMO_VIN_SLOW: &str = "1HMDEM0CAR0000004";
/// Demo vehicle: ford, not eligible, clearance rejected.
pub const DEMO_VIN_NOT_ELIGIBLE: &str = "1HMDEM0CAR0000005";

/// Every scope an application can hold.
pub const ALL_SCOPES: [&str; 4] = [
    "fleet:clearance",
    "vehicle:eligibility-check",
    "vehicle:data",
    "vehicle:static-data",
];

/// The emulator's configuration, usually read from a TOML file (see `emulator.example.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmulatorConfig {
    /// Lifetime of issued access tokens in seconds (High Mobility: 300).
    #[serde(default = "default_token_lifetime_secs")]
    pub token_lifetime_secs: u64,
    /// Tolerated clock skew on a JWT assertion's `iat`, in seconds (High Mobility: about 30).
    #[serde(default = "default_iat_skew_secs")]
    pub iat_skew_secs: u64,
    /// Whether the virtual clock also moves with real time. `true` suits demos; tests that want
    /// full control set it to `false` and only move time with `EmulatorHandle::advance`.
    #[serde(default = "default_true")]
    pub follow_real_time: bool,
    /// Seconds a clearance stays `revoking` or `canceling` before it becomes `revoked` or `canceled`.
    #[serde(default = "default_removal_delay_secs")]
    pub removal_delay_secs: u64,
    /// Calls per minute and application allowed on `GET /v1/fleets/vehicles/{vin}` (High Mobility: 60).
    #[serde(default = "default_clearance_get_limit")]
    pub clearance_get_limit_per_minute: u32,
    /// Caps that keep the emulator's memory bounded whatever clients send (the `[limits]` table).
    #[serde(default)]
    pub limits: Limits,
    /// Applications that may obtain access tokens.
    #[serde(default)]
    pub applications: Vec<ApplicationConfig>,
    /// Test vehicles the emulator knows.
    #[serde(default)]
    pub vehicles: Vec<VehicleConfig>,
    /// How vehicle data documents are generated (the `[vehicle_data]` table).
    #[serde(default)]
    pub vehicle_data: VehicleDataConfig,
    /// Webhooks the emulator delivers clearance changes to (the `[[webhooks]]` tables).
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
    /// Retries and queue bounds of webhook deliveries (the `[webhook_delivery]` table).
    #[serde(default)]
    pub webhook_delivery: WebhookDelivery,
    /// The embedded MQTT broker and its publisher (the `[mqtt]` table); off by default.
    #[serde(default)]
    pub mqtt: crate::mqtt::MqttConfig,
}

/// How vehicle data documents are generated. Every document has every capability and property
/// of the spec; its values depend only on the VIN and `seed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VehicleDataConfig {
    /// Mixed into every value, so that one VIN gets another document under another seed. Default 0.
    pub seed: u64,
    /// Share of properties answered with a `failure` (`{reason, description}`) instead of `data`,
    /// between 0.0 and 1.0. Default 0.05. The headline properties (odometer, fuel and battery
    /// level, ranges, coordinates, heading) always carry data.
    pub failure_share: f64,
    /// Most documents generated at the same time (1 to 1,024); further requests wait their turn.
    /// Generation runs off the request-serving threads, so a flood of vehicle data requests cannot
    /// starve the other routes. Default: twice the CPU cores.
    pub max_concurrent_documents: Option<u64>,
}

impl Default for VehicleDataConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            failure_share: 0.05,
            max_concurrent_documents: None,
        }
    }
}

/// Caps on what clients can make the emulator hold. A request beyond one gets a 4xx in the API's
/// error shape; none of them can be switched off, so memory stays bounded under any input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body in bytes (413 beyond it). Default 1 MiB.
    pub max_body_bytes: u64,
    /// Most vehicles in one `POST /v1/fleets/vehicles` (422 beyond it). Default 1,000.
    pub max_vehicles_per_request: u64,
    /// Most clearances (distinct VINs) one application can hold (422 beyond it). Default 10,000.
    pub max_clearances_per_application: u64,
    /// Most tags on one vehicle of a clearance request (a per-VIN error beyond it). Default 16.
    pub max_tags_per_vehicle: u64,
    /// Longest tag name or value, in characters (a per-VIN error beyond it). Default 64.
    pub max_tag_length: u64,
    /// Most live access tokens per application; the oldest is forgotten beyond it. Default 10,000.
    pub max_tokens_per_application: u64,
    /// Seconds (real time) a client has to send a complete request head; the connection is
    /// closed after that, so a client that stops mid-head (slowloris) holds nothing. Default 30.
    pub request_head_timeout_secs: u64,
    /// Seconds (real time) a request body may go without a byte arriving; the request is then
    /// answered 408 and the connection closed. Default 30.
    pub request_body_timeout_secs: u64,
    /// Seconds (real time) shutdown waits for open requests to finish before it closes their
    /// connections. Default 5.
    pub shutdown_grace_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_vehicles_per_request: 1_000,
            max_clearances_per_application: 10_000,
            max_tags_per_vehicle: 16,
            max_tag_length: 64,
            max_tokens_per_application: 10_000,
            request_head_timeout_secs: 30,
            request_body_timeout_secs: 30,
            shutdown_grace_secs: 5,
        }
    }
}

/// Longest delay or lifetime the configuration accepts: ten years of virtual time.
const MAX_DURATION_SECS: u64 = 10 * 365 * 24 * 3600;

/// One application of the developer console: its credentials and scopes.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationConfig {
    /// The OAuth client id.
    pub client_id: String,
    /// The client secret for the client-secret flow; `None` allows only JWT assertions.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Public keys (PEM, `-----BEGIN PUBLIC KEY-----`) for the JWT assertion flow, by key id.
    #[serde(default)]
    pub public_keys: BTreeMap<String, String>,
    /// Scopes granted to the application's tokens; all of [`ALL_SCOPES`] when left out.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
}

// Hand-written so that printing a config never prints a secret.
impl fmt::Debug for ApplicationConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApplicationConfig")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("public_keys", &self.public_keys.keys().collect::<Vec<_>>())
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// What a clearance request for a vehicle ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClearanceOutcome {
    /// The clearance becomes `approved`.
    #[default]
    Approve,
    /// The clearance becomes `rejected`.
    Reject,
}

/// A test vehicle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VehicleConfig {
    /// Its VIN: 17 characters of `A-Z` and `0-9`.
    pub vin: String,
    /// Its brand as the clearance and eligibility APIs spell it (`sandbox`, `mercedes-benz`, ...).
    pub brand: String,
    /// What the eligibility check answers.
    #[serde(default = "default_true")]
    pub eligible: bool,
    /// Data delivery methods the eligibility check reports (`pull`, `push`).
    #[serde(default = "default_data_delivery")]
    pub data_delivery: Vec<String>,
    /// Connectivity status the eligibility check reports (`activated`, `deactivated`, `unknown`).
    #[serde(default)]
    pub connectivity_status: Option<String>,
    /// Whether the eligibility check reports a primary user.
    #[serde(default)]
    pub primary_user_assigned: Option<bool>,
    /// Seconds (on the virtual clock) a clearance stays `pending`.
    #[serde(default = "default_clearance_delay_secs")]
    pub clearance_delay_secs: u64,
    /// Whether the clearance is approved or rejected in the end.
    #[serde(default)]
    pub clearance: ClearanceOutcome,
    /// Reason recorded in the changelog when the clearance is rejected.
    #[serde(default)]
    pub rejection_reason: Option<String>,
    /// Whether a pending clearance can be canceled (after one day). High Mobility supports it
    /// for some brands only (the spec names Mercedes-Benz, the Volkswagen group and the
    /// Stellantis brands); the others answer 422. Default false.
    #[serde(default)]
    pub cancelable: bool,
}

impl VehicleConfig {
    /// A vehicle of `brand` that is eligible and approved after 2 s.
    pub fn new(vin: impl Into<String>, brand: impl Into<String>) -> Self {
        Self {
            vin: vin.into(),
            brand: brand.into(),
            eligible: true,
            data_delivery: default_data_delivery(),
            connectivity_status: Some("activated".into()),
            primary_user_assigned: Some(true),
            clearance_delay_secs: default_clearance_delay_secs(),
            clearance: ClearanceOutcome::Approve,
            rejection_reason: None,
            cancelable: false,
        }
    }

    /// Refuses `data_delivery` and `connectivity_status` values the eligibility spec does not list.
    fn check_eligibility_values(&self, i: usize) -> Result<(), Error> {
        use hm_api::eligibility::types::{ConnectivityStatus, DataDelivery};
        let unknown = |key: &str, value: &str, known: Vec<&str>| {
            Err(Error::InvalidConfig(format!(
                "vehicles[{i}].{key} {value:?} is not a value of the eligibility API; use one of {}",
                known.join(", ")
            )))
        };
        for value in &self.data_delivery {
            if !value.parse::<DataDelivery>().is_ok_and(|v| v.is_known()) {
                let known = DataDelivery::KNOWN.iter().map(DataDelivery::as_str);
                return unknown("data_delivery", value, known.collect());
            }
        }
        if let Some(value) = &self.connectivity_status
            && !value
                .parse::<ConnectivityStatus>()
                .is_ok_and(|v| v.is_known())
        {
            let known = ConnectivityStatus::KNOWN
                .iter()
                .map(ConnectivityStatus::as_str);
            return unknown("connectivity_status", value, known.collect());
        }
        Ok(())
    }

    /// How long its clearance stays pending.
    pub fn clearance_delay(&self) -> Duration {
        Duration::from_secs(self.clearance_delay_secs)
    }
}

fn default_token_lifetime_secs() -> u64 {
    300
}
fn default_iat_skew_secs() -> u64 {
    30
}
fn default_true() -> bool {
    true
}
fn default_removal_delay_secs() -> u64 {
    2
}
fn default_clearance_get_limit() -> u32 {
    60
}
fn default_clearance_delay_secs() -> u64 {
    2
}
fn default_scopes() -> Vec<String> {
    ALL_SCOPES.iter().map(|s| s.to_string()).collect()
}
fn default_data_delivery() -> Vec<String> {
    vec!["pull".into()]
}

impl Default for EmulatorConfig {
    /// The same as [`EmulatorConfig::demo`].
    fn default() -> Self {
        Self::demo()
    }
}

impl EmulatorConfig {
    /// A configuration with no applications and no vehicles, and the default timings.
    pub fn empty() -> Self {
        Self {
            token_lifetime_secs: default_token_lifetime_secs(),
            iat_skew_secs: default_iat_skew_secs(),
            follow_real_time: true,
            removal_delay_secs: default_removal_delay_secs(),
            clearance_get_limit_per_minute: default_clearance_get_limit(),
            limits: Limits::default(),
            applications: Vec::new(),
            vehicles: Vec::new(),
            vehicle_data: VehicleDataConfig::default(),
            webhooks: Vec::new(),
            webhook_delivery: WebhookDelivery::default(),
            mqtt: crate::mqtt::MqttConfig::default(),
        }
    }

    /// The built-in configuration: one application ([`DEMO_CLIENT_ID`] / [`DEMO_CLIENT_SECRET`],
    /// demo key [`DEMO_KEY_ID`], all scopes) and five vehicles (`DEMO_VIN_*`).
    pub fn demo() -> Self {
        let mut public_keys = BTreeMap::new();
        public_keys.insert(DEMO_KEY_ID.to_string(), DEMO_PUBLIC_KEY_PEM.to_string());
        // The sandbox vehicles can be canceled, as the sandbox brand could before cancelation
        // became a per-vehicle setting.
        let mut approved = VehicleConfig::new(DEMO_VIN_APPROVED, "sandbox");
        approved.cancelable = true;
        let mut mercedes = VehicleConfig::new(DEMO_VIN_MERCEDES, "mercedes-benz");
        mercedes.data_delivery = vec!["pull".into(), "push".into()];
        mercedes.cancelable = true;
        let mut rejected = VehicleConfig::new(DEMO_VIN_REJECTED, "bmw");
        rejected.clearance = ClearanceOutcome::Reject;
        rejected.rejection_reason = Some("The vehicle owner did not give consent".into());
        let mut slow = VehicleConfig::new(DEMO_VIN_SLOW, "sandbox");
        slow.clearance_delay_secs = 3 * 24 * 3600;
        slow.cancelable = true;
        let mut not_eligible = VehicleConfig::new(DEMO_VIN_NOT_ELIGIBLE, "ford");
        not_eligible.eligible = false;
        not_eligible.data_delivery = Vec::new();
        not_eligible.connectivity_status = Some("deactivated".into());
        not_eligible.primary_user_assigned = Some(false);
        not_eligible.clearance = ClearanceOutcome::Reject;
        not_eligible.rejection_reason = Some("The vehicle is not eligible for data access".into());
        Self {
            applications: vec![ApplicationConfig {
                client_id: DEMO_CLIENT_ID.into(),
                client_secret: Some(DEMO_CLIENT_SECRET.into()),
                public_keys,
                scopes: default_scopes(),
            }],
            vehicles: vec![approved, mercedes, rejected, slow, not_eligible],
            ..Self::empty()
        }
    }

    /// Parses and checks a TOML configuration.
    pub fn from_toml_str(toml_text: &str) -> Result<Self, Error> {
        Self::parse(toml_text, "<string>")
    }

    /// Reads, parses and checks a TOML configuration file.
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    fn parse(text: &str, origin: &str) -> Result<Self, Error> {
        let config: Self = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|span| line_and_column(text, span.start))
                .unwrap_or((0, 0));
            // The offending line names the key, which the parser's message alone does not.
            let source_line = text
                .lines()
                .nth(line.saturating_sub(1))
                .unwrap_or("")
                .trim();
            Error::ConfigParse {
                origin: origin.to_string(),
                line,
                column,
                message: format!(
                    "{} (in `{}`)",
                    without_secrets(e.message().trim(), text),
                    redacted(source_line)
                ),
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Registers a public key (PEM) for the JWT assertion flow of application `client_id`.
    /// The CLI's demo uses this for the key pair it generates at run time.
    pub fn add_public_key(
        &mut self,
        client_id: &str,
        key_id: impl Into<String>,
        public_key_pem: impl Into<String>,
    ) -> Result<(), Error> {
        let key_id = key_id.into();
        let pem = public_key_pem.into();
        parse_public_key(client_id, &key_id, &pem)?;
        let app = self
            .applications
            .iter_mut()
            .find(|a| a.client_id == client_id)
            .ok_or_else(|| Error::UnknownApplication(client_id.to_string()))?;
        app.public_keys.insert(key_id, pem);
        Ok(())
    }

    /// Token lifetime as a [`Duration`].
    pub fn token_lifetime(&self) -> Duration {
        Duration::from_secs(self.token_lifetime_secs)
    }

    /// Checks what the TOML grammar cannot: values in range, unique ids, valid VINs, parseable keys.
    ///
    /// Every duration and cap is bounded here, so no request can later overflow time arithmetic.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |m: String| Err(Error::InvalidConfig(m));
        let year = 365 * 24 * 3600;
        in_range("token_lifetime_secs", self.token_lifetime_secs, 1, year)?;
        in_range("iat_skew_secs", self.iat_skew_secs, 0, 24 * 3600)?;
        in_range(
            "removal_delay_secs",
            self.removal_delay_secs,
            0,
            MAX_DURATION_SECS,
        )?;
        in_range(
            "clearance_get_limit_per_minute",
            self.clearance_get_limit_per_minute.into(),
            1,
            1_000_000,
        )?;
        self.limits.validate()?;
        self.mqtt.validate()?;
        let mut client_ids = std::collections::HashSet::new();
        let mut key_ids = std::collections::HashSet::new();
        for app in &self.applications {
            if app.client_id.is_empty() {
                return invalid("an application has an empty client_id".into());
            }
            if !client_ids.insert(app.client_id.as_str()) {
                return invalid(format!(
                    "client_id {:?} appears twice; client ids must be unique",
                    app.client_id
                ));
            }
            if app
                .client_secret
                .as_deref()
                .is_some_and(|secret| secret.trim().is_empty())
            {
                return invalid(format!(
                    "application {:?} has a blank client_secret; leave it out to allow only JWT assertions",
                    app.client_id
                ));
            }
            if app.client_secret.is_none() && app.public_keys.is_empty() {
                return invalid(format!(
                    "application {:?} has neither client_secret nor public_keys, so it could never get a token",
                    app.client_id
                ));
            }
            for scope in &app.scopes {
                if !ALL_SCOPES.contains(&scope.as_str()) {
                    return invalid(format!(
                        "application {:?} has unknown scope {scope:?}; known scopes: {}",
                        app.client_id,
                        ALL_SCOPES.join(", ")
                    ));
                }
            }
            for (key_id, pem) in &app.public_keys {
                if !key_ids.insert(key_id.as_str()) {
                    return invalid(format!(
                        "key id {key_id:?} appears twice; key ids must be unique"
                    ));
                }
                parse_public_key(&app.client_id, key_id, pem)?;
            }
        }
        let mut vins = std::collections::HashSet::new();
        for (i, vehicle) in self.vehicles.iter().enumerate() {
            if !crate::vin::is_valid(&vehicle.vin) {
                return invalid(format!(
                    "vehicles[{i}].vin {:?} is not {}",
                    vehicle.vin,
                    crate::vin::RULE
                ));
            }
            in_range(
                &format!("vehicles[{i}].clearance_delay_secs"),
                vehicle.clearance_delay_secs,
                0,
                MAX_DURATION_SECS,
            )?;
            if !vins.insert(vehicle.vin.as_str()) {
                return invalid(format!("vehicle VIN {:?} appears twice", vehicle.vin));
            }
            if vehicle.brand.is_empty() {
                return invalid(format!("vehicle {:?} has an empty brand", vehicle.vin));
            }
            // A brand the spec does not list would be accepted by the emulator and refused by
            // High Mobility: a typo must fail here, not in production.
            crate::brands::check_configured_brand(&vehicle.brand).map_err(|e| {
                Error::InvalidConfig(format!("vehicles[{i}] ({:?}): {e}", vehicle.vin))
            })?;
            vehicle.check_eligibility_values(i)?;
        }
        self.vehicle_data.validate()?;
        self.webhook_delivery.validate()?;
        let client_ids: Vec<&str> = self
            .applications
            .iter()
            .map(|a| a.client_id.as_str())
            .collect();
        for (i, webhook) in self.webhooks.iter().enumerate() {
            webhook.check(&format!("webhooks[{i}]"), &client_ids)?;
        }
        Ok(())
    }

    /// The configured vehicle with this VIN.
    pub fn vehicle(&self, vin: &str) -> Option<&VehicleConfig> {
        self.vehicles.iter().find(|v| v.vin == vin)
    }
}

impl VehicleDataConfig {
    /// Checks that `failure_share` is a share and the concurrency cap is in range.
    pub fn validate(&self) -> Result<(), Error> {
        if !(0.0..=1.0).contains(&self.failure_share) {
            return Err(Error::InvalidConfig(format!(
                "vehicle_data.failure_share = {} is out of range; set it between 0.0 and 1.0",
                self.failure_share
            )));
        }
        match self.max_concurrent_documents {
            Some(cap) => in_range("vehicle_data.max_concurrent_documents", cap, 1, 1_024),
            None => Ok(()),
        }
    }

    /// How many documents may be generated at the same time: the configured cap, else twice the
    /// CPU cores.
    pub fn concurrent_documents(&self) -> usize {
        self.max_concurrent_documents.map_or_else(
            || 2 * std::thread::available_parallelism().map_or(1, usize::from),
            |cap| usize::try_from(cap).unwrap_or(usize::MAX),
        )
    }
}

impl Limits {
    /// Checks that every cap is in a range the emulator can honour.
    pub fn validate(&self) -> Result<(), Error> {
        in_range(
            "limits.max_body_bytes",
            self.max_body_bytes,
            1024,
            64 * 1024 * 1024,
        )?;
        in_range(
            "limits.max_vehicles_per_request",
            self.max_vehicles_per_request,
            1,
            100_000,
        )?;
        in_range(
            "limits.max_clearances_per_application",
            self.max_clearances_per_application,
            1,
            1_000_000,
        )?;
        in_range(
            "limits.max_tags_per_vehicle",
            self.max_tags_per_vehicle,
            0,
            1_000,
        )?;
        in_range("limits.max_tag_length", self.max_tag_length, 1, 10_000)?;
        in_range(
            "limits.max_tokens_per_application",
            self.max_tokens_per_application,
            1,
            1_000_000,
        )?;
        in_range(
            "limits.request_head_timeout_secs",
            self.request_head_timeout_secs,
            1,
            3_600,
        )?;
        in_range(
            "limits.request_body_timeout_secs",
            self.request_body_timeout_secs,
            1,
            3_600,
        )?;
        in_range(
            "limits.shutdown_grace_secs",
            self.shutdown_grace_secs,
            0,
            3_600,
        )
    }

    /// How long a client has to send a complete request head.
    pub fn request_head_timeout(&self) -> Duration {
        Duration::from_secs(self.request_head_timeout_secs)
    }

    /// How long a request body may go without a byte arriving.
    pub fn request_body_timeout(&self) -> Duration {
        Duration::from_secs(self.request_body_timeout_secs)
    }

    /// How long shutdown waits for open requests.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

pub(crate) fn in_range(key: &str, value: u64, min: u64, max: u64) -> Result<(), Error> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(Error::ConfigOutOfRange {
            key: key.to_string(),
            value,
            min,
            max,
        })
    }
}

/// The ES256 verifying key in `pem`; fails unless it is a P-256 public key (SPKI PEM).
pub(crate) fn parse_public_key(
    client_id: &str,
    key_id: &str,
    pem: &str,
) -> Result<p256::ecdsa::VerifyingKey, Error> {
    use p256::pkcs8::DecodePublicKey;
    let fail = |reason: String| Error::InvalidPublicKey {
        client_id: client_id.to_string(),
        key_id: key_id.to_string(),
        reason,
    };
    if !pem.contains("-----BEGIN PUBLIC KEY-----") {
        return Err(fail(
            "no -----BEGIN PUBLIC KEY----- block (was a private key given?)".into(),
        ));
    }
    p256::ecdsa::VerifyingKey::from_public_key_pem(pem.trim()).map_err(|e| fail(e.to_string()))
}

/// A configuration line fit for an error message: the value of a `*secret*` key is replaced.
fn redacted(line: &str) -> String {
    match line.split_once('=') {
        Some((key, _)) if is_secret_key(key) => format!("{} = <redacted>", key.trim()),
        _ => line.to_string(),
    }
}

/// `message` with every value of a `*secret*` key in `text` replaced, in case the parser quoted it.
fn without_secrets(message: &str, text: &str) -> String {
    let mut message = message.to_string();
    for (key, value) in text.lines().filter_map(|l| l.split_once('=')) {
        if !is_secret_key(key) {
            continue;
        }
        let value = value.split(" #").next().unwrap_or(value);
        let value = value
            .trim()
            .trim_matches(|c| matches!(c, '"' | '\'' | '[' | ']' | ' '));
        // Shorter values would garble the message (every "x" replaced) and protect nothing.
        if value.chars().count() >= 4 {
            message = message.replace(value, "<redacted>");
        }
    }
    message
}

fn is_secret_key(key: &str) -> bool {
    key.to_ascii_lowercase().contains("secret")
}

fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, column)
}
