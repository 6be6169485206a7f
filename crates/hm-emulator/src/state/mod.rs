//! The emulator's shared, mutable state.

pub mod clearance;
pub mod clock;
pub mod rate_limit;
pub mod tokens;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::http::HeaderMap;
use jsonwebtoken::DecodingKey;

use crate::Error;
use crate::config::{ApplicationConfig, EmulatorConfig, check_public_key};
use crate::faults::Faults;

/// An application as the token endpoint needs it.
pub struct App {
    /// Its client secret, if the client-secret flow is allowed.
    pub client_secret: Option<String>,
    /// Its scopes.
    pub scopes: Arc<[String]>,
}

/// A registered public key.
pub struct Key {
    /// The application it belongs to.
    pub client_id: String,
    /// The verifying key.
    pub decoding_key: DecodingKey,
}

/// Applications and keys, changeable at run time (`EmulatorHandle::register_key`).
#[derive(Default)]
pub struct Registry {
    /// Applications by client id.
    pub apps: HashMap<String, App>,
    /// Keys by key id (the `iss` of an assertion).
    pub keys: HashMap<String, Key>,
}

impl Registry {
    fn from_config(config: &EmulatorConfig) -> Result<Self, Error> {
        let mut registry = Self::default();
        for app in &config.applications {
            registry.add_app(app)?;
        }
        Ok(registry)
    }

    fn add_app(&mut self, app: &ApplicationConfig) -> Result<(), Error> {
        self.apps.insert(
            app.client_id.clone(),
            App {
                client_secret: app.client_secret.clone(),
                scopes: app.scopes.clone().into(),
            },
        );
        for (key_id, pem) in &app.public_keys {
            self.add_key(&app.client_id, key_id, pem)?;
        }
        Ok(())
    }

    /// Registers (or replaces) a public key of a known application.
    pub fn add_key(&mut self, client_id: &str, key_id: &str, pem: &str) -> Result<(), Error> {
        if !self.apps.contains_key(client_id) {
            return Err(Error::UnknownApplication(client_id.to_string()));
        }
        check_public_key(client_id, key_id, pem)?;
        let decoding_key =
            DecodingKey::from_ec_pem(pem.as_bytes()).map_err(|e| Error::InvalidPublicKey {
                client_id: client_id.to_string(),
                key_id: key_id.to_string(),
                reason: e.to_string(),
            })?;
        self.keys.insert(
            key_id.to_string(),
            Key {
                client_id: client_id.to_string(),
                decoding_key,
            },
        );
        Ok(())
    }
}

/// Why a request to a protected endpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// 401: no, unknown, expired or revoked token.
    Unauthorized(&'static str),
    /// 403: the token lacks the scope.
    Forbidden(String),
}

/// Everything the handlers share.
pub struct AppState {
    /// The configuration the emulator started with (vehicles, timings).
    pub config: EmulatorConfig,
    /// Applications and keys.
    pub registry: RwLock<Registry>,
    /// Issued tokens.
    pub tokens: tokens::TokenStore,
    /// Assertion ids seen recently, with the real unix time they were seen, to refuse replays.
    pub seen_jtis: Mutex<HashMap<String, i64>>,
    /// Clearances.
    pub clearances: clearance::Clearances,
    /// The limit on `GET /v1/fleets/vehicles/{vin}`.
    pub clearance_get_limit: rate_limit::SlidingWindow,
    /// The virtual clock.
    pub clock: clock::VirtualClock,
    /// Injected faults.
    pub faults: Faults,
    /// Accepted `aud` values of assertions: the base URL(s) plus `/v1`. Set once the port is known.
    pub audiences: RwLock<Vec<String>>,
}

impl AppState {
    /// State for a validated configuration.
    pub fn new(config: EmulatorConfig) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self {
            registry: RwLock::new(Registry::from_config(&config)?),
            tokens: tokens::TokenStore::default(),
            seen_jtis: Mutex::new(HashMap::new()),
            clearances: clearance::Clearances::default(),
            clearance_get_limit: rate_limit::SlidingWindow::new(
                config.clearance_get_limit_per_minute,
                Duration::from_secs(60),
            ),
            clock: clock::VirtualClock::new(config.follow_real_time),
            faults: Faults::default(),
            audiences: RwLock::new(Vec::new()),
            config,
        })
    }

    /// Checks the bearer token in `headers` and that it carries `scope`; returns the client id.
    pub fn authorize(&self, headers: &HeaderMap, scope: &str) -> Result<Arc<str>, AuthFailure> {
        let value = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .ok_or(AuthFailure::Unauthorized(
                "Missing or invalid authorization header",
            ))?;
        let token =
            self.tokens
                .check(value, self.clock.now())
                .map_err(|problem| match problem {
                    tokens::TokenProblem::Unknown => AuthFailure::Unauthorized("Invalid token"),
                    tokens::TokenProblem::Expired => AuthFailure::Unauthorized("Token has expired"),
                })?;
        if !token.scopes.iter().any(|s| s == scope) {
            return Err(AuthFailure::Forbidden(format!(
                "The access token does not have the scope {scope}"
            )));
        }
        Ok(token.client_id)
    }

    /// The registry for reading.
    pub fn registry(&self) -> std::sync::RwLockReadGuard<'_, Registry> {
        self.registry.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The registry for changing.
    pub fn registry_mut(&self) -> std::sync::RwLockWriteGuard<'_, Registry> {
        self.registry.write().unwrap_or_else(|p| p.into_inner())
    }
}
