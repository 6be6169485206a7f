//! The emulator's shared, mutable state.

pub mod clearance;
pub mod clock;
pub mod rate_limit;
pub mod replay;
pub mod tokens;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use p256::ecdsa::VerifyingKey;

use crate::Error;
use crate::config::{ApplicationConfig, EmulatorConfig, parse_public_key};
use crate::documents::shape::Shape;
use crate::documents::vehicle_data::Generator;
use crate::faults::Faults;
use crate::webhooks::Webhooks;

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
    pub verifying_key: VerifyingKey,
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

    /// Registers (or replaces) a public key of a known application. A key id belongs to one
    /// application: registering it for another is refused, as the config loader refuses it.
    pub fn add_key(&mut self, client_id: &str, key_id: &str, pem: &str) -> Result<(), Error> {
        if !self.apps.contains_key(client_id) {
            return Err(Error::UnknownApplication(client_id.to_string()));
        }
        if let Some(owner) = self.keys.get(key_id)
            && owner.client_id != client_id
        {
            return Err(Error::KeyIdTaken {
                key_id: key_id.to_string(),
                owner: owner.client_id.clone(),
                client_id: client_id.to_string(),
            });
        }
        let verifying_key = parse_public_key(client_id, key_id, pem)?;
        self.keys.insert(
            key_id.to_string(),
            Key {
                client_id: client_id.to_string(),
                verifying_key,
            },
        );
        Ok(())
    }
}

/// Everything the handlers share.
pub struct AppState {
    /// The configuration the emulator started with (vehicles, timings, limits).
    pub config: EmulatorConfig,
    /// Applications and keys.
    pub registry: RwLock<Registry>,
    /// Issued tokens.
    pub tokens: tokens::TokenStore,
    /// Assertion ids seen recently, to refuse replays.
    pub replay: replay::ReplayGuard,
    /// Clearances.
    pub clearances: clearance::Clearances,
    /// The limit on `GET /v1/fleets/vehicles/{vin}`.
    pub clearance_get_limit: rate_limit::SlidingWindow,
    /// The virtual clock.
    pub clock: Arc<clock::VirtualClock>,
    /// Injected faults.
    pub faults: Faults,
    /// The address the server listens on; set once the socket is bound.
    pub local_addr: OnceLock<SocketAddr>,
    /// Generates vehicle data documents, a bounded number at a time.
    pub vehicle_data: Generator,
    /// Webhook deliveries; told of every clearance change.
    pub webhooks: Arc<Webhooks>,
}

impl AppState {
    /// State for a validated configuration.
    pub fn new(config: EmulatorConfig) -> Result<Self, Error> {
        config.validate()?;
        let clock = Arc::new(clock::VirtualClock::new(config.follow_real_time));
        let webhooks = Arc::new(Webhooks::new(&config, clock.clone())?);
        Ok(Self {
            registry: RwLock::new(Registry::from_config(&config)?),
            tokens: tokens::TokenStore::new(config.limits.max_tokens_per_application),
            replay: replay::ReplayGuard::default(),
            clearances: clearance::Clearances::observed_by(webhooks.clone()),
            clearance_get_limit: rate_limit::SlidingWindow::new(
                config.clearance_get_limit_per_minute,
                Duration::from_secs(60),
            ),
            faults: Faults::new(clock.clone()),
            clock,
            local_addr: OnceLock::new(),
            vehicle_data: Generator::new(
                Shape::builtin().map_err(Error::BuiltInShape)?,
                config.vehicle_data.clone(),
            ),
            webhooks,
            config,
        })
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
