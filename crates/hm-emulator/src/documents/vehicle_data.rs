//! The vehicle data document (`GET /v1/vehicle-data/autoapi-13/{vin}`), built from hm-api's
//! generated types so that the emulator serves exactly what the client decodes.

use chrono::{DateTime, SubsecRound, Utc};
use hm_api::vehicle_data::types::{
    Charging, ChargingPropertyLength, ChargingPropertyPercentage, CustomTypeCoordinates,
    CustomTypeDoorPosition, CustomTypeDoorPositionLocation, CustomTypeIgnitionState,
    CustomTypeLocation, CustomTypeLocationWheel, CustomTypeLock, CustomTypeLockState,
    CustomTypePercentage, CustomTypePosition, CustomTypeTirePressure, Diagnostics,
    DiagnosticsPropertyElectricPotentialDifference, DiagnosticsPropertyLength,
    DiagnosticsPropertyPercentage, DiagnosticsPropertySpeed, DiagnosticsPropertyTirePressure,
    Doors, DoorsPropertyDoorPosition, DoorsPropertyLock, DoorsPropertyLockState, Ignition,
    IgnitionPropertyIgnitionState, UnitAngle, UnitAngleUnit, UnitElectricPotentialDifference,
    UnitElectricPotentialDifferenceUnit, UnitLength, UnitLengthUnit, UnitPressure,
    UnitPressureUnit, UnitSpeed, UnitSpeedUnit, VehicleData, VehicleDataBrand, VehicleLocation,
    VehicleLocationPropertyAngle, VehicleLocationPropertyCoordinates,
    VehicleLocationPropertyLength,
};

use super::{pick, seed};
use crate::brands::vehicle_data_brand;

fn km(value: f64) -> UnitLength {
    UnitLength {
        unit: UnitLengthUnit::Kilometers,
        value,
    }
}

/// Builds the document for `vin` of `fleet_brand` as read at `now`.
///
/// Values depend only on the VIN; timestamps are a few seconds or minutes before `now`, as when a
/// vehicle last reported.
pub fn document(vin: &str, fleet_brand: &str, request_id: &str, now: DateTime<Utc>) -> VehicleData {
    let s = seed(vin);
    let now = now.trunc_subsecs(0);
    let recent = Some(now - chrono::Duration::seconds(5 + (s % 50) as i64));
    let older = Some(now - chrono::Duration::seconds(300 + (s % 600) as i64));
    let battery = pick(s, 1, 0.2, 0.95, 2);
    let lock_state = if s.is_multiple_of(3) {
        CustomTypeLockState::Unlocked
    } else {
        CustomTypeLockState::Locked
    };
    let wheels = [
        CustomTypeLocationWheel::FrontLeft,
        CustomTypeLocationWheel::FrontRight,
        CustomTypeLocationWheel::RearRight,
        CustomTypeLocationWheel::RearLeft,
    ];
    let doors = [
        (
            CustomTypeLocation::FrontLeft,
            CustomTypeDoorPositionLocation::FrontLeft,
        ),
        (
            CustomTypeLocation::FrontRight,
            CustomTypeDoorPositionLocation::FrontRight,
        ),
        (
            CustomTypeLocation::RearRight,
            CustomTypeDoorPositionLocation::RearRight,
        ),
        (
            CustomTypeLocation::RearLeft,
            CustomTypeDoorPositionLocation::RearLeft,
        ),
    ];
    let brand = vehicle_data_brand(fleet_brand)
        .parse::<VehicleDataBrand>()
        .unwrap_or(VehicleDataBrand::Unknown);

    VehicleData {
        request_id: Some(request_id.to_string()),
        vin: Some(vin.to_string()),
        brand: Some(brand),
        diagnostics: Some(Diagnostics {
            odometer: Some(DiagnosticsPropertyLength {
                data: Some(km(pick(s, 2, 5_000.0, 180_000.0, 1))),
                timestamp: older,
                ..Default::default()
            }),
            fuel_level: Some(DiagnosticsPropertyPercentage {
                data: Some(CustomTypePercentage(pick(s, 3, 0.05, 1.0, 2))),
                timestamp: older,
                ..Default::default()
            }),
            estimated_range: Some(DiagnosticsPropertyLength {
                data: Some(km(pick(s, 4, 60.0, 700.0, 0))),
                timestamp: older,
                ..Default::default()
            }),
            battery_voltage: Some(DiagnosticsPropertyElectricPotentialDifference {
                data: Some(UnitElectricPotentialDifference {
                    unit: UnitElectricPotentialDifferenceUnit::Volts,
                    value: pick(s, 5, 12.0, 14.4, 1),
                }),
                timestamp: recent,
                ..Default::default()
            }),
            speed: Some(DiagnosticsPropertySpeed {
                data: Some(UnitSpeed {
                    unit: UnitSpeedUnit::KilometersPerHour,
                    value: 0.0,
                }),
                timestamp: recent,
                ..Default::default()
            }),
            tire_pressures: wheels
                .into_iter()
                .enumerate()
                .map(|(i, location)| DiagnosticsPropertyTirePressure {
                    data: Some(CustomTypeTirePressure {
                        location,
                        pressure: UnitPressure {
                            unit: UnitPressureUnit::Kilopascals,
                            value: pick(s, 10 + i as u64, 220.0, 260.0, 0),
                        },
                    }),
                    timestamp: older,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        charging: Some(Charging {
            battery_level: Some(ChargingPropertyPercentage {
                data: Some(CustomTypePercentage(battery)),
                timestamp: recent,
                ..Default::default()
            }),
            estimated_range: Some(ChargingPropertyLength {
                data: Some(km((battery * 420.0).round())),
                timestamp: recent,
                ..Default::default()
            }),
            charge_limit: Some(ChargingPropertyPercentage {
                data: Some(CustomTypePercentage(0.8)),
                timestamp: older,
                ..Default::default()
            }),
            ..Default::default()
        }),
        vehicle_location: Some(VehicleLocation {
            coordinates: Some(VehicleLocationPropertyCoordinates {
                data: Some(CustomTypeCoordinates {
                    latitude: pick(s, 6, 52.40, 52.60, 6),
                    longitude: pick(s, 7, 13.25, 13.55, 6),
                }),
                timestamp: recent,
                ..Default::default()
            }),
            heading: Some(VehicleLocationPropertyAngle {
                data: Some(UnitAngle {
                    unit: UnitAngleUnit::Degrees,
                    value: pick(s, 8, 0.0, 360.0, 1),
                }),
                timestamp: recent,
                ..Default::default()
            }),
            altitude: Some(VehicleLocationPropertyLength {
                data: Some(UnitLength {
                    unit: UnitLengthUnit::Meters,
                    value: pick(s, 9, 30.0, 120.0, 1),
                }),
                timestamp: recent,
                ..Default::default()
            }),
            ..Default::default()
        }),
        doors: Some(Doors {
            locks_state: Some(DoorsPropertyLockState {
                data: Some(lock_state.clone()),
                timestamp: recent,
                ..Default::default()
            }),
            locks: doors
                .iter()
                .map(|(location, _)| DoorsPropertyLock {
                    data: Some(CustomTypeLock {
                        location: location.clone(),
                        lock_state: lock_state.clone(),
                    }),
                    timestamp: recent,
                    ..Default::default()
                })
                .collect(),
            positions: doors
                .iter()
                .map(|(_, location)| DoorsPropertyDoorPosition {
                    data: Some(CustomTypeDoorPosition {
                        location: location.clone(),
                        position: CustomTypePosition::Closed,
                    }),
                    timestamp: recent,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        ignition: Some(Ignition {
            state: Some(IgnitionPropertyIgnitionState {
                data: Some(CustomTypeIgnitionState::Off),
                timestamp: recent,
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}
