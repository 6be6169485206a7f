//! Fault injection: make a route slow, flaky, rate limited or down, at run time.
//!
//! Faults are decided per request in arrival order from a seeded generator, so a test that sends
//! the same requests sees the same failures every run. Outage windows are measured on the
//! emulator's virtual clock, so `EmulatorHandle::advance` ends them as it ends everything else;
//! added latency is a tokio sleep, which a test with paused time skips without waiting.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::state::clock::VirtualClock;

/// The emulated operations a [`Fault`] can be attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Route {
    /// `POST` and `DELETE /v1/access_tokens`.
    AccessTokens,
    /// `POST /v1/eligibility`.
    Eligibility,
    /// `POST /v1/fleets/vehicles`.
    ClearanceCreate,
    /// `GET /v1/fleets/vehicles`.
    ClearanceList,
    /// `GET /v1/fleets/vehicles/{vin}`.
    ClearanceGet,
    /// `DELETE /v1/fleets/vehicles/{vin}`.
    ClearanceDelete,
    /// `GET /v1/vehicle-data/autoapi-13/{vin}`.
    VehicleData,
    /// `GET /v1/vehicle-static-data/{vin}` and its sub-resources.
    StaticData,
}

impl Route {
    /// Every route.
    pub const ALL: [Route; 8] = [
        Route::AccessTokens,
        Route::Eligibility,
        Route::ClearanceCreate,
        Route::ClearanceList,
        Route::ClearanceGet,
        Route::ClearanceDelete,
        Route::VehicleData,
        Route::StaticData,
    ];

    /// Every route that needs an access token (all but [`Route::AccessTokens`]).
    pub const API: [Route; 7] = [
        Route::Eligibility,
        Route::ClearanceCreate,
        Route::ClearanceList,
        Route::ClearanceGet,
        Route::ClearanceDelete,
        Route::VehicleData,
        Route::StaticData,
    ];

    /// The route serving `method` on the router path pattern `matched_path`.
    pub(crate) fn from_request(method: &axum::http::Method, matched_path: &str) -> Option<Route> {
        use axum::http::Method;
        Some(match (matched_path, method) {
            ("/v1/access_tokens", _) => Route::AccessTokens,
            ("/v1/eligibility", _) => Route::Eligibility,
            ("/v1/fleets/vehicles", &Method::POST) => Route::ClearanceCreate,
            ("/v1/fleets/vehicles", _) => Route::ClearanceList,
            ("/v1/fleets/vehicles/{vin}", &Method::DELETE) => Route::ClearanceDelete,
            ("/v1/fleets/vehicles/{vin}", _) => Route::ClearanceGet,
            ("/v1/vehicle-data/autoapi-13/{vin}", _) => Route::VehicleData,
            (p, _) if p.starts_with("/v1/vehicle-static-data/") => Route::StaticData,
            _ => return None,
        })
    }
}

/// What to do to the requests of one route. Combine the parts freely; the default does nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// Added before the route answers (also before an injected failure).
    pub latency: Duration,
    /// Share (0.0 to 1.0) of requests answered with `error_status` instead.
    pub error_share: f64,
    /// The status of injected errors: 500 or 503 (anything else is treated as 503).
    pub error_status: u16,
    /// Share (0.0 to 1.0) of requests answered with 429 and a `Retry-After` header.
    pub too_many_requests_share: f64,
    /// The `Retry-After` of injected 429 answers (whole seconds, at least 1).
    pub retry_after: Duration,
    /// When set, every request is answered with 503 for this long (virtual time) after the fault is set.
    pub outage: Option<Duration>,
    /// Seed of the generator that picks which requests fail.
    pub seed: u64,
}

impl Default for Fault {
    fn default() -> Self {
        Self {
            latency: Duration::ZERO,
            error_share: 0.0,
            error_status: 503,
            too_many_requests_share: 0.0,
            retry_after: Duration::from_secs(1),
            outage: None,
            seed: 0x5eed,
        }
    }
}

impl Fault {
    /// Only added latency.
    pub fn latency(latency: Duration) -> Self {
        Self {
            latency,
            ..Self::default()
        }
    }

    /// `share` of requests fail with `status` (500 or 503).
    pub fn errors(share: f64, status: u16) -> Self {
        Self {
            error_share: share,
            error_status: status,
            ..Self::default()
        }
    }

    /// `share` of requests get 429 with `Retry-After: retry_after`.
    pub fn too_many_requests(share: f64, retry_after: Duration) -> Self {
        Self {
            too_many_requests_share: share,
            retry_after,
            ..Self::default()
        }
    }

    /// The route is down (503) for `duration` of virtual time from now.
    pub fn outage(duration: Duration) -> Self {
        Self {
            outage: Some(duration),
            ..Self::default()
        }
    }

    /// The same fault with another generator seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The same fault with `latency` added.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }
}

/// The outcome of fault injection for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
    /// Serve the request normally.
    Pass,
    /// Answer with this 5xx status.
    Error(u16),
    /// Answer 429 with this `Retry-After` in seconds.
    TooManyRequests(u64),
    /// The route is in an outage: answer 503.
    Outage,
}

#[derive(Debug)]
struct Active {
    fault: Fault,
    rng: SplitMix64,
    outage_until: Option<DateTime<Utc>>,
    injected: u64,
}

/// The faults currently set, per route. Reach it through `EmulatorHandle::faults`.
#[derive(Debug)]
pub struct Faults {
    clock: Arc<VirtualClock>,
    active: Mutex<HashMap<Route, Active>>,
}

impl Faults {
    /// No faults; outage windows measured on `clock`.
    pub(crate) fn new(clock: Arc<VirtualClock>) -> Self {
        Self {
            clock,
            active: Mutex::default(),
        }
    }

    /// Sets (or replaces) the fault of `route`. An outage window starts now (virtual time).
    pub fn set(&self, route: Route, fault: Fault) {
        let outage_until = fault.outage.map(|d| {
            let now = self.clock.now();
            chrono::Duration::from_std(d)
                .ok()
                .and_then(|d| now.checked_add_signed(d))
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
        });
        let active = Active {
            rng: SplitMix64(fault.seed),
            outage_until,
            fault,
            injected: 0,
        };
        self.lock().insert(route, active);
    }

    /// Sets the same fault on every route that needs an access token ([`Route::API`]),
    /// each with its own generator.
    pub fn set_api(&self, fault: Fault) {
        for route in Route::API {
            self.set(route, fault.clone());
        }
    }

    /// Removes the fault of `route`.
    pub fn clear(&self, route: Route) {
        self.lock().remove(&route);
    }

    /// Removes every fault.
    pub fn clear_all(&self) {
        self.lock().clear();
    }

    /// How many failures (5xx, 429, outage answers) have been injected on `route` since its fault was set.
    pub fn injected(&self, route: Route) -> u64 {
        self.lock().get(&route).map(|a| a.injected).unwrap_or(0)
    }

    /// Decides the fate of one request on `route`, and the latency to add first.
    pub(crate) fn decide(&self, route: Route) -> (Duration, Injected) {
        let mut guard = self.lock();
        let Some(active) = guard.get_mut(&route) else {
            return (Duration::ZERO, Injected::Pass);
        };
        let fault = &active.fault;
        let now = self.clock.now();
        let outcome = if active.outage_until.is_some_and(|until| now < until) {
            Injected::Outage
        } else {
            let draw = active.rng.next_f64();
            if draw < fault.error_share {
                Injected::Error(if fault.error_status == 500 { 500 } else { 503 })
            } else if draw < fault.error_share + fault.too_many_requests_share {
                Injected::TooManyRequests(fault.retry_after.as_secs().max(1))
            } else {
                Injected::Pass
            }
        };
        if outcome != Injected::Pass {
            active.injected += 1;
        }
        (fault.latency, outcome)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Route, Active>> {
        // A panic while holding this lock cannot leave the map inconsistent, so poison is ignored.
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A tiny seeded generator: reproducible across platforms and versions, unlike a library RNG.
#[derive(Debug)]
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_share_is_roughly_honoured_and_reproducible() {
        let run = || {
            let faults = Faults::new(Arc::new(VirtualClock::new(false)));
            faults.set(Route::VehicleData, Fault::errors(0.2, 503).with_seed(7));
            (0..1000)
                .map(|_| faults.decide(Route::VehicleData).1)
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let failures = first.iter().filter(|o| **o != Injected::Pass).count();
        assert!((150..250).contains(&failures), "{failures} failures");
    }

    #[test]
    fn an_outage_ends_when_the_virtual_clock_passes_it() {
        let clock = Arc::new(VirtualClock::new(false));
        let faults = Faults::new(clock.clone());
        faults.set(Route::AccessTokens, Fault::outage(Duration::from_secs(2)));
        assert_eq!(faults.decide(Route::AccessTokens).1, Injected::Outage);
        clock.advance(Duration::from_millis(1999));
        assert_eq!(faults.decide(Route::AccessTokens).1, Injected::Outage);
        clock.advance(Duration::from_millis(1));
        assert_eq!(faults.decide(Route::AccessTokens).1, Injected::Pass);
        // An outage too long for the calendar lasts forever instead of overflowing.
        faults.set(Route::AccessTokens, Fault::outage(Duration::MAX));
        clock.advance(Duration::from_secs(1 << 40));
        assert_eq!(faults.decide(Route::AccessTokens).1, Injected::Outage);
    }
}
