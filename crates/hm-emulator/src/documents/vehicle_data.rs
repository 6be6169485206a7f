//! The vehicle data document (`GET /v1/vehicle-data/autoapi-13/{vin}`): every capability and
//! property of the spec, generated from its shape ([`super::shape`]) and decoded into hm-api's
//! `VehicleData`, so that the emulator serves exactly what the client decodes.
//!
//! A few headline properties (odometer, levels, ranges, position) get plausible values of a
//! car instead of random ones and always carry data: demos and summaries show them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hm_api::vehicle_data::types::{
    ChargingPropertyLength, ChargingPropertyPercentage, CustomTypeCoordinates,
    CustomTypePercentage, DiagnosticsPropertyLength, DiagnosticsPropertyPercentage, UnitAngle,
    UnitAngleUnit, UnitLength, UnitLengthUnit, VehicleData, VehicleLocationPropertyAngle,
    VehicleLocationPropertyCoordinates,
};

use super::shape::{Draw, Shape, mix};
use super::{pick, seed};
use tokio::sync::Semaphore;

use crate::config::VehicleDataConfig;

/// Generates documents on tokio's blocking threads, at most a fixed number at a time: a document
/// takes milliseconds of CPU, and a flood of requests generating them on the request-serving
/// threads would starve every other route.
#[derive(Clone)]
pub struct Generator {
    shape: &'static Shape,
    settings: VehicleDataConfig,
    permits: Arc<Semaphore>,
}

impl Generator {
    /// A generator of documents from `shape` that runs at most
    /// `settings.concurrent_documents()` generations at a time.
    pub fn new(shape: &'static Shape, settings: VehicleDataConfig) -> Self {
        Self {
            shape,
            permits: Arc::new(Semaphore::new(settings.concurrent_documents())),
            settings,
        }
    }

    /// [`document`] for `vin`, once a permit is free; `Err` describes a bug of the emulator (the
    /// document does not fit hm-api's types, or generation panicked).
    pub async fn document(
        &self,
        vin: String,
        fleet_brand: String,
        request_id: String,
        now: DateTime<Utc>,
    ) -> Result<VehicleData, String> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            // The permit lives as long as the work, even if the request is dropped meanwhile.
            let _permit = permit;
            document(
                this.shape,
                &this.settings,
                &vin,
                &fleet_brand,
                &request_id,
                now,
            )
            .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }
}

/// The document for `vin` as read at `now`, with the brand in vehicle data's spelling.
///
/// Values depend only on the VIN and `settings.seed`; timestamps lie shortly before `now`.
/// `Err` means the generated document does not fit hm-api's types (a bug of the emulator).
pub fn document(
    shape: &Shape,
    settings: &VehicleDataConfig,
    vin: &str,
    fleet_brand: &str,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<VehicleData, serde_json::Error> {
    let s = seed(vin) ^ mix(settings.seed);
    let value = shape.generate(&Draw {
        seed: s,
        now,
        failure_share: settings.failure_share,
    });
    let mut doc: VehicleData = serde_json::from_value(value)?;
    doc.request_id = Some(request_id.to_owned());
    doc.vin = Some(vin.to_owned());
    doc.brand = Some(crate::brands::vehicle_data_brand(fleet_brand));
    headline(&mut doc, s);
    Ok(doc)
}

fn km(value: f64) -> UnitLength {
    UnitLength {
        unit: UnitLengthUnit::Kilometers,
        value,
    }
}

/// Overwrites the headline properties with a plausible car's values, keeping their timestamps.
fn headline(doc: &mut VehicleData, s: u64) {
    let battery = pick(s, 1, 0.2, 0.95, 2);
    if let Some(d) = doc.diagnostics.as_mut() {
        d.odometer = Some(DiagnosticsPropertyLength {
            data: Some(km(pick(s, 2, 5_000.0, 180_000.0, 1))),
            timestamp: d.odometer.take().and_then(|p| p.timestamp),
            failure: None,
        });
        d.fuel_level = Some(DiagnosticsPropertyPercentage {
            data: Some(CustomTypePercentage(pick(s, 3, 0.05, 1.0, 2))),
            timestamp: d.fuel_level.take().and_then(|p| p.timestamp),
            failure: None,
        });
        d.estimated_range = Some(DiagnosticsPropertyLength {
            data: Some(km(pick(s, 4, 60.0, 700.0, 0))),
            timestamp: d.estimated_range.take().and_then(|p| p.timestamp),
            failure: None,
        });
    }
    if let Some(c) = doc.charging.as_mut() {
        c.battery_level = Some(ChargingPropertyPercentage {
            data: Some(CustomTypePercentage(battery)),
            timestamp: c.battery_level.take().and_then(|p| p.timestamp),
            failure: None,
        });
        c.estimated_range = Some(ChargingPropertyLength {
            data: Some(km((battery * 420.0).round())),
            timestamp: c.estimated_range.take().and_then(|p| p.timestamp),
            failure: None,
        });
    }
    if let Some(l) = doc.vehicle_location.as_mut() {
        l.coordinates = Some(VehicleLocationPropertyCoordinates {
            data: Some(CustomTypeCoordinates {
                latitude: pick(s, 6, 52.40, 52.60, 6),
                longitude: pick(s, 7, 13.25, 13.55, 6),
            }),
            timestamp: l.coordinates.take().and_then(|p| p.timestamp),
            failure: None,
        });
        l.heading = Some(VehicleLocationPropertyAngle {
            data: Some(UnitAngle {
                unit: UnitAngleUnit::Degrees,
                value: pick(s, 8, 0.0, 360.0, 1),
            }),
            timestamp: l.heading.take().and_then(|p| p.timestamp),
            failure: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generator(cap: u64) -> Generator {
        let settings = VehicleDataConfig {
            max_concurrent_documents: Some(cap),
            ..VehicleDataConfig::default()
        };
        Generator::new(Shape::builtin().unwrap_or_else(|e| panic!("{e}")), settings)
    }

    #[tokio::test]
    async fn generation_waits_for_a_permit_and_holds_one_while_it_runs() {
        let generator = generator(2);
        assert_eq!(generator.permits.available_permits(), 2);
        let busy = generator
            .permits
            .clone()
            .acquire_many_owned(2)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let waiting = generator.document("VIN00000000000001".into(), "bmw".into(), "r".into(), now);
        tokio::pin!(waiting);
        assert!(
            futures::poll!(waiting.as_mut()).is_pending(),
            "with every permit taken, a document is not generated"
        );
        drop(busy);
        let doc = waiting.await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(doc.vin.as_deref(), Some("VIN00000000000001"));
        assert_eq!(
            generator.permits.available_permits(),
            2,
            "the permit is returned"
        );
    }

    #[test]
    fn the_cap_is_configured_or_twice_the_cores() {
        assert_eq!(generator(3).permits.available_permits(), 3);
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert_eq!(
            VehicleDataConfig::default().concurrent_documents(),
            2 * cores
        );
        for bad in [0, 1_025] {
            let settings = VehicleDataConfig {
                max_concurrent_documents: Some(bad),
                ..VehicleDataConfig::default()
            };
            assert!(settings.validate().is_err(), "{bad}");
        }
    }
}
