//! The generated hm-api clients, authenticated by hm-auth, against the emulator: the same code that
//! talks to High Mobility works unchanged, and every body decodes into the generated types.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use hm_api::fleet_clearance::types::{Brand, ClearanceStatus, FleetVehicle, FleetVehicleRequest};
use hm_api::vehicle_data::types::{UnitLengthUnit, VehicleDataBrand};
use hm_api::{ClearanceFilter, HighMobility};
use hm_auth::{Authenticator, Credentials, Environment};
use hm_emulator::{
    DEMO_CLIENT_ID, DEMO_KEY_ID, DEMO_PRIVATE_KEY_PEM, DEMO_VIN_MERCEDES, DEMO_VIN_SLOW, Emulator,
    EmulatorConfig,
};

async fn client(config: EmulatorConfig) -> (hm_emulator::EmulatorHandle, HighMobility) {
    let emulator = Emulator::start(config).await.unwrap();
    let credentials =
        Credentials::private_key_pem(DEMO_CLIENT_ID, DEMO_KEY_ID, DEMO_PRIVATE_KEY_PEM).unwrap();
    let auth = Authenticator::builder(
        credentials,
        Environment::custom(emulator.base_url()).unwrap(),
    )
    .build()
    .unwrap();
    let hm = HighMobility::with_http_client(auth, reqwest::Client::new());
    (emulator, hm)
}

fn frozen() -> EmulatorConfig {
    EmulatorConfig {
        follow_real_time: false,
        ..EmulatorConfig::demo()
    }
}

#[tokio::test]
async fn clearance_and_vehicle_data_through_the_generated_clients() {
    let (emulator, hm) = client(frozen()).await;
    let request = FleetVehicleRequest {
        vehicles: vec![
            FleetVehicle {
                vin: DEMO_VIN_MERCEDES.into(),
                brand: Brand::MercedesBenz,
                control_measures: None,
                tags: BTreeMap::from([("fleet".to_string(), "north".to_string())]),
            },
            FleetVehicle {
                vin: DEMO_VIN_SLOW.into(),
                brand: Brand::Sandbox,
                control_measures: None,
                tags: BTreeMap::new(),
            },
        ],
    };
    let created = hm
        .fleet_clearance()
        .create_clearance()
        .body(request)
        .send()
        .await
        .unwrap();
    assert!(
        created
            .vehicles
            .iter()
            .all(|v| v.status == ClearanceStatus::Pending)
    );

    emulator.advance(Duration::from_secs(2));
    let one = hm
        .fleet_clearance()
        .get_clearance()
        .vin(DEMO_VIN_MERCEDES)
        .send()
        .await
        .unwrap();
    assert_eq!(one.status, ClearanceStatus::Approved);
    assert_eq!(one.changelog.len(), 2);

    let filter = ClearanceFilter::default().status_eq(ClearanceStatus::Pending);
    let pending = hm
        .fleet_clearance()
        .list_clearances()
        .filter(filter.to_json())
        .send()
        .await
        .unwrap();
    assert_eq!(
        pending.iter().map(|c| c.vin.as_str()).collect::<Vec<_>>(),
        [DEMO_VIN_SLOW]
    );

    let data = hm
        .vehicle_data()
        .get_vehicle_data()
        .vin(DEMO_VIN_MERCEDES)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(data.brand, Some(VehicleDataBrand::MercedesBenz));
    let odometer = data.diagnostics.unwrap().odometer.unwrap();
    assert_eq!(odometer.data.unwrap().unit, UnitLengthUnit::Kilometers);
    assert!(odometer.timestamp.unwrap() <= emulator.now());
    let coordinates = data
        .vehicle_location
        .unwrap()
        .coordinates
        .unwrap()
        .data
        .unwrap();
    assert!((52.0..53.0).contains(&coordinates.latitude));

    let deleted = hm
        .fleet_clearance()
        .delete_clearance()
        .vin(DEMO_VIN_MERCEDES)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.vin, DEMO_VIN_MERCEDES);
    let refused = hm
        .vehicle_data()
        .get_vehicle_data()
        .vin(DEMO_VIN_MERCEDES)
        .send()
        .await;
    assert_eq!(refused.unwrap_err().status().map(|s| s.as_u16()), Some(403));
}

#[tokio::test]
async fn static_data_through_the_generated_client() {
    let (_emulator, hm) = client(frozen()).await;
    let summary = hm
        .vehicle_static_data()
        .get_static_data()
        .vin(DEMO_VIN_MERCEDES)
        .send()
        .await
        .unwrap();
    assert_eq!(
        summary.manufacturer.as_ref().unwrap().brand.as_deref(),
        Some("Mercedes-Benz")
    );
}
