//! Attack (issue 9): for every open enum of every API, `KNOWN`, `is_known`, `as_str`, `FromStr`,
//! `Display` and serde agree, and an unknown value round-trips unchanged. (Held; kept as a guard.)

// Test helpers: a failing unwrap is a broken test setup, not a finding.
#![allow(clippy::unwrap_used)]

use std::fmt::Display;
use std::str::FromStr;

trait Open:
    Sized
    + PartialEq
    + std::fmt::Debug
    + Display
    + FromStr
    + serde::Serialize
    + serde::de::DeserializeOwned
    + 'static
{
    fn known() -> &'static [Self];
    fn known_(&self) -> bool;
    fn text(&self) -> &str;
}

macro_rules! open {
    ($($t:ty),*) => { $(impl Open for $t {
        fn known() -> &'static [Self] { Self::KNOWN }
        fn known_(&self) -> bool { self.is_known() }
        fn text(&self) -> &str { self.as_str() }
    })* };
}

fn check<T: Open>(bad: &mut Vec<String>) {
    let name = std::any::type_name::<T>();
    let mut seen = std::collections::BTreeSet::new();
    if T::known().is_empty() {
        bad.push(format!("{name}: KNOWN is empty"));
    }
    for v in T::known() {
        let s = v.text().to_owned();
        if !seen.insert(s.clone()) {
            bad.push(format!("{name}: `{s}` twice in KNOWN"));
        }
        if !v.known_() {
            bad.push(format!("{name}: {v:?} in KNOWN but not is_known"));
        }
        if v.to_string() != s {
            bad.push(format!("{name}: Display {} != as_str {s}", v));
        }
        match s.parse::<T>() {
            Ok(p) if &p == v => {}
            _ => bad.push(format!("{name}: FromStr({s}) is not {v:?}")),
        }
        let json = serde_json::to_value(v).unwrap();
        if json != serde_json::Value::String(s.clone()) {
            bad.push(format!("{name}: serde {json} != {s}"));
        }
        match serde_json::from_value::<T>(json) {
            Ok(p) if &p == v => {}
            other => bad.push(format!("{name}: decode({s}) = {other:?}")),
        }
    }
    let unknown: T = serde_json::from_value(serde_json::json!("zz-new value")).unwrap();
    if unknown.known_()
        || unknown.text() != "zz-new value"
        || serde_json::to_value(&unknown).unwrap() != "zz-new value"
        || unknown.to_string() != "zz-new value"
        || "zz-new value".parse::<T>().ok().as_ref() != Some(&unknown)
    {
        bad.push(format!("{name}: an unknown value does not round-trip"));
    }
}

open!(
    hm_api::oauth::types::AccessTokenStatus,
    hm_api::oauth::types::AccessTokensRequestClientAssertionType,
    hm_api::oauth::types::AccessTokensRequestGrantType,
    hm_api::oauth::types::AccessTokensRevokeTokenTypeHint,
    hm_api::eligibility::types::Brand,
    hm_api::eligibility::types::ConnectivityStatus,
    hm_api::eligibility::types::DataDelivery,
    hm_api::fleet_clearance::types::Brand,
    hm_api::fleet_clearance::types::ClearanceStatus,
    hm_api::fleet_clearance::types::FleetVehicleControlMeasuresOdometerUnit,
    hm_api::vehicle_data::types::AdasPropertyBlindSpotWarningSystemCoverageData,
    hm_api::vehicle_data::types::ChargingPropertyAcousticLimitData,
    hm_api::vehicle_data::types::ChargingPropertyBatteryChargeTransferEventData,
    hm_api::vehicle_data::types::ChargingPropertyBatteryChargeTypeData,
    hm_api::vehicle_data::types::ChargingPropertyBatteryLedData,
    hm_api::vehicle_data::types::ChargingPropertyBatteryPerformanceStatusData,
    hm_api::vehicle_data::types::ChargingPropertyBatteryStatusData,
    hm_api::vehicle_data::types::ChargingPropertyBatteryTemperatureControlDemandData,
    hm_api::vehicle_data::types::ChargingPropertyChargeModeData,
    hm_api::vehicle_data::types::ChargingPropertyChargingEndReasonData,
    hm_api::vehicle_data::types::ChargingPropertyChargingPhasesData,
    hm_api::vehicle_data::types::ChargingPropertyChargingScenarioData,
    hm_api::vehicle_data::types::ChargingPropertyChargingTimeDisplayData,
    hm_api::vehicle_data::types::ChargingPropertyChargingWindowChosenData,
    hm_api::vehicle_data::types::ChargingPropertyCurrentTypeData,
    hm_api::vehicle_data::types::ChargingPropertyDepartureTimeDisplayData,
    hm_api::vehicle_data::types::ChargingPropertyHybridOperatingModeData,
    hm_api::vehicle_data::types::ChargingPropertyPlugTypeData,
    hm_api::vehicle_data::types::ChargingPropertyPluggedInData,
    hm_api::vehicle_data::types::ChargingPropertyPreconditioningErrorData,
    hm_api::vehicle_data::types::ChargingPropertySmartChargingOptionData,
    hm_api::vehicle_data::types::ChargingPropertySmartChargingStatusData,
    hm_api::vehicle_data::types::ChargingPropertyStarterBatteryStateData,
    hm_api::vehicle_data::types::ChargingPropertyStationDisplayedStatusData,
    hm_api::vehicle_data::types::ChargingPropertyStationPowerTypeData,
    hm_api::vehicle_data::types::ChargingPropertyStationStatusData,
    hm_api::vehicle_data::types::ChargingPropertyStatusData,
    hm_api::vehicle_data::types::ChassisSettingsPropertySportChronoData,
    hm_api::vehicle_data::types::CrashPropertyImpactZoneData,
    hm_api::vehicle_data::types::CrashPropertyStatusData,
    hm_api::vehicle_data::types::CrashPropertyTippedStateData,
    hm_api::vehicle_data::types::CrashPropertyTypeData,
    hm_api::vehicle_data::types::CruiseControlPropertyLimiterData,
    hm_api::vehicle_data::types::CustomTypeAccelerationDirection,
    hm_api::vehicle_data::types::CustomTypeAccelerationDurationDirection,
    hm_api::vehicle_data::types::CustomTypeAccelerationDurationType,
    hm_api::vehicle_data::types::CustomTypeActiveSelectedState,
    hm_api::vehicle_data::types::CustomTypeActiveState,
    hm_api::vehicle_data::types::CustomTypeAddressComponentType,
    hm_api::vehicle_data::types::CustomTypeAvailabilityAppliesPer,
    hm_api::vehicle_data::types::CustomTypeAvailabilityUpdateRate,
    hm_api::vehicle_data::types::CustomTypeAxle,
    hm_api::vehicle_data::types::CustomTypeChargingRestrictionLimit,
    hm_api::vehicle_data::types::CustomTypeConditionBasedServiceDueStatus,
    hm_api::vehicle_data::types::CustomTypeConnectionState,
    hm_api::vehicle_data::types::CustomTypeCrashIncidentLocation,
    hm_api::vehicle_data::types::CustomTypeCrashIncidentRepairs,
    hm_api::vehicle_data::types::CustomTypeCrashIncidentSeverity,
    hm_api::vehicle_data::types::CustomTypeDashboardLightName,
    hm_api::vehicle_data::types::CustomTypeDetected,
    hm_api::vehicle_data::types::CustomTypeDieselExhaustFilterStatusCleaning,
    hm_api::vehicle_data::types::CustomTypeDieselExhaustFilterStatusComponent,
    hm_api::vehicle_data::types::CustomTypeDieselExhaustFilterStatusStatus,
    hm_api::vehicle_data::types::CustomTypeDoorPositionLocation,
    hm_api::vehicle_data::types::CustomTypeDriverCardPresentCardPresent,
    hm_api::vehicle_data::types::CustomTypeDriverTimeStateTimeState,
    hm_api::vehicle_data::types::CustomTypeDriverWorkingStateWorkingState,
    hm_api::vehicle_data::types::CustomTypeDrivingMode,
    hm_api::vehicle_data::types::CustomTypeDrivingModePhev,
    hm_api::vehicle_data::types::CustomTypeEcoDrivingThresholdType,
    hm_api::vehicle_data::types::CustomTypeEnabledState,
    hm_api::vehicle_data::types::CustomTypeEngineType,
    hm_api::vehicle_data::types::CustomTypeEvent,
    hm_api::vehicle_data::types::CustomTypeFailureReason,
    hm_api::vehicle_data::types::CustomTypeFluidLevel,
    hm_api::vehicle_data::types::CustomTypeGrade,
    hm_api::vehicle_data::types::CustomTypeIgnitionState,
    hm_api::vehicle_data::types::CustomTypeLaneKeepAssistStateLocation,
    hm_api::vehicle_data::types::CustomTypeLocation,
    hm_api::vehicle_data::types::CustomTypeLocationLongitudinal,
    hm_api::vehicle_data::types::CustomTypeLocationWheel,
    hm_api::vehicle_data::types::CustomTypeLockSafety,
    hm_api::vehicle_data::types::CustomTypeLockState,
    hm_api::vehicle_data::types::CustomTypeMuted,
    hm_api::vehicle_data::types::CustomTypeNetworkSecurity,
    hm_api::vehicle_data::types::CustomTypeOnOffState,
    hm_api::vehicle_data::types::CustomTypePosition,
    hm_api::vehicle_data::types::CustomTypePriceTariffPricingType,
    hm_api::vehicle_data::types::CustomTypeSeatLocation,
    hm_api::vehicle_data::types::CustomTypeSeatbeltStateFastenedState,
    hm_api::vehicle_data::types::CustomTypeServiceStatus,
    hm_api::vehicle_data::types::CustomTypeStartStop,
    hm_api::vehicle_data::types::CustomTypeTemperatureExtremeExtreme,
    hm_api::vehicle_data::types::CustomTypeTimerTimerType,
    hm_api::vehicle_data::types::CustomTypeTirePressureStatusStatus,
    hm_api::vehicle_data::types::CustomTypeTriggered,
    hm_api::vehicle_data::types::CustomTypeTroubleCodeSystem,
    hm_api::vehicle_data::types::CustomTypeWebhookAvailable,
    hm_api::vehicle_data::types::CustomTypeWeekday,
    hm_api::vehicle_data::types::CustomTypeWindowLocation,
    hm_api::vehicle_data::types::CustomTypeWindowPositionPosition,
    hm_api::vehicle_data::types::DashboardLightsPropertyBulbFailuresData,
    hm_api::vehicle_data::types::DiagnosticsPropertyEngineOilPressureLevelData,
    hm_api::vehicle_data::types::DiagnosticsPropertyFuelLevelAccuracyData,
    hm_api::vehicle_data::types::DiagnosticsPropertyLowVoltageBatteryChargeLevelData,
    hm_api::vehicle_data::types::EnginePropertyPreconditioningErrorData,
    hm_api::vehicle_data::types::EnginePropertyPreconditioningStatusData,
    hm_api::vehicle_data::types::HonkHornFlashLightsPropertyFlashersData,
    hm_api::vehicle_data::types::HoodPropertyPositionData,
    hm_api::vehicle_data::types::LightsPropertyFrontExteriorLightData,
    hm_api::vehicle_data::types::LightsPropertyParkingLightStatusData,
    hm_api::vehicle_data::types::LightsPropertySwitchPositionData,
    hm_api::vehicle_data::types::MaintenancePropertyTeleserviceAvailabilityData,
    hm_api::vehicle_data::types::NotificationsPropertyClearData,
    hm_api::vehicle_data::types::PowerTakeoffPropertyEngagedData,
    hm_api::vehicle_data::types::RacePropertyDrivetrainStateData,
    hm_api::vehicle_data::types::RacePropertyGearModeData,
    hm_api::vehicle_data::types::RacePropertyVehicleMovingData,
    hm_api::vehicle_data::types::RemoteControlPropertyControlModeData,
    hm_api::vehicle_data::types::RooftopControlPropertyConvertibleRoofStateData,
    hm_api::vehicle_data::types::RooftopControlPropertySunroofRainEventData,
    hm_api::vehicle_data::types::RooftopControlPropertySunroofStateData,
    hm_api::vehicle_data::types::RooftopControlPropertySunroofTiltStateData,
    hm_api::vehicle_data::types::TheftAlarmPropertyEventTypeData,
    hm_api::vehicle_data::types::TheftAlarmPropertyLastEventLevelData,
    hm_api::vehicle_data::types::TheftAlarmPropertyLastWarningReasonData,
    hm_api::vehicle_data::types::TheftAlarmPropertyStatusData,
    hm_api::vehicle_data::types::UnitAccelerationUnit,
    hm_api::vehicle_data::types::UnitAngleUnit,
    hm_api::vehicle_data::types::UnitAngularVelocityUnit,
    hm_api::vehicle_data::types::UnitDurationUnit,
    hm_api::vehicle_data::types::UnitElectricCurrentUnit,
    hm_api::vehicle_data::types::UnitElectricPotentialDifferenceUnit,
    hm_api::vehicle_data::types::UnitEnergyEfficiencyUnit,
    hm_api::vehicle_data::types::UnitEnergyUnit,
    hm_api::vehicle_data::types::UnitFrequencyUnit,
    hm_api::vehicle_data::types::UnitFuelEfficiencyUnit,
    hm_api::vehicle_data::types::UnitIlluminanceUnit,
    hm_api::vehicle_data::types::UnitLengthUnit,
    hm_api::vehicle_data::types::UnitMassUnit,
    hm_api::vehicle_data::types::UnitPowerUnit,
    hm_api::vehicle_data::types::UnitPressureUnit,
    hm_api::vehicle_data::types::UnitSpeedUnit,
    hm_api::vehicle_data::types::UnitTemperatureUnit,
    hm_api::vehicle_data::types::UnitTorqueUnit,
    hm_api::vehicle_data::types::UnitVolumeUnit,
    hm_api::vehicle_data::types::VehicleDataBrand,
    hm_api::vehicle_data::types::VehicleLocationPropertyGpsSourceData,
    hm_api::vehicle_data::types::WindscreenPropertyWindscreenDamageData,
    hm_api::vehicle_data::types::WindscreenPropertyWindscreenNeedsReplacementData,
    hm_api::vehicle_data::types::WindscreenPropertyWipersIntensityData,
    hm_api::vehicle_data::types::WindscreenPropertyWipersStatusData
);

#[test]
fn attack_held_every_open_enum_round_trips() {
    let mut bad = Vec::new();
    check::<hm_api::oauth::types::AccessTokenStatus>(&mut bad);
    check::<hm_api::oauth::types::AccessTokensRequestClientAssertionType>(&mut bad);
    check::<hm_api::oauth::types::AccessTokensRequestGrantType>(&mut bad);
    check::<hm_api::oauth::types::AccessTokensRevokeTokenTypeHint>(&mut bad);
    check::<hm_api::eligibility::types::Brand>(&mut bad);
    check::<hm_api::eligibility::types::ConnectivityStatus>(&mut bad);
    check::<hm_api::eligibility::types::DataDelivery>(&mut bad);
    check::<hm_api::fleet_clearance::types::Brand>(&mut bad);
    check::<hm_api::fleet_clearance::types::ClearanceStatus>(&mut bad);
    check::<hm_api::fleet_clearance::types::FleetVehicleControlMeasuresOdometerUnit>(&mut bad);
    check::<hm_api::vehicle_data::types::AdasPropertyBlindSpotWarningSystemCoverageData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyAcousticLimitData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyBatteryChargeTransferEventData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyBatteryChargeTypeData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyBatteryLedData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyBatteryPerformanceStatusData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyBatteryStatusData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyBatteryTemperatureControlDemandData>(
        &mut bad,
    );
    check::<hm_api::vehicle_data::types::ChargingPropertyChargeModeData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyChargingEndReasonData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyChargingPhasesData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyChargingScenarioData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyChargingTimeDisplayData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyChargingWindowChosenData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyCurrentTypeData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyDepartureTimeDisplayData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyHybridOperatingModeData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyPlugTypeData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyPluggedInData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyPreconditioningErrorData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertySmartChargingOptionData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertySmartChargingStatusData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyStarterBatteryStateData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyStationDisplayedStatusData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyStationPowerTypeData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyStationStatusData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChargingPropertyStatusData>(&mut bad);
    check::<hm_api::vehicle_data::types::ChassisSettingsPropertySportChronoData>(&mut bad);
    check::<hm_api::vehicle_data::types::CrashPropertyImpactZoneData>(&mut bad);
    check::<hm_api::vehicle_data::types::CrashPropertyStatusData>(&mut bad);
    check::<hm_api::vehicle_data::types::CrashPropertyTippedStateData>(&mut bad);
    check::<hm_api::vehicle_data::types::CrashPropertyTypeData>(&mut bad);
    check::<hm_api::vehicle_data::types::CruiseControlPropertyLimiterData>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeAccelerationDirection>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeAccelerationDurationDirection>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeAccelerationDurationType>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeActiveSelectedState>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeActiveState>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeAddressComponentType>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeAvailabilityAppliesPer>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeAvailabilityUpdateRate>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeAxle>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeChargingRestrictionLimit>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeConditionBasedServiceDueStatus>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeConnectionState>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeCrashIncidentLocation>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeCrashIncidentRepairs>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeCrashIncidentSeverity>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeDashboardLightName>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeDetected>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeDieselExhaustFilterStatusCleaning>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeDieselExhaustFilterStatusComponent>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeDieselExhaustFilterStatusStatus>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeDoorPositionLocation>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeDriverCardPresentCardPresent>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeDriverTimeStateTimeState>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeDriverWorkingStateWorkingState>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeDrivingMode>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeDrivingModePhev>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeEcoDrivingThresholdType>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeEnabledState>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeEngineType>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeEvent>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeFailureReason>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeFluidLevel>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeGrade>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeIgnitionState>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeLaneKeepAssistStateLocation>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeLocation>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeLocationLongitudinal>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeLocationWheel>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeLockSafety>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeLockState>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeMuted>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeNetworkSecurity>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeOnOffState>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypePosition>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypePriceTariffPricingType>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeSeatLocation>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeSeatbeltStateFastenedState>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeServiceStatus>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeStartStop>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeTemperatureExtremeExtreme>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeTimerTimerType>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeTirePressureStatusStatus>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeTriggered>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeTroubleCodeSystem>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeWebhookAvailable>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeWeekday>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeWindowLocation>(&mut bad);
    check::<hm_api::vehicle_data::types::CustomTypeWindowPositionPosition>(&mut bad);
    check::<hm_api::vehicle_data::types::DashboardLightsPropertyBulbFailuresData>(&mut bad);
    check::<hm_api::vehicle_data::types::DiagnosticsPropertyEngineOilPressureLevelData>(&mut bad);
    check::<hm_api::vehicle_data::types::DiagnosticsPropertyFuelLevelAccuracyData>(&mut bad);
    check::<hm_api::vehicle_data::types::DiagnosticsPropertyLowVoltageBatteryChargeLevelData>(
        &mut bad,
    );
    check::<hm_api::vehicle_data::types::EnginePropertyPreconditioningErrorData>(&mut bad);
    check::<hm_api::vehicle_data::types::EnginePropertyPreconditioningStatusData>(&mut bad);
    check::<hm_api::vehicle_data::types::HonkHornFlashLightsPropertyFlashersData>(&mut bad);
    check::<hm_api::vehicle_data::types::HoodPropertyPositionData>(&mut bad);
    check::<hm_api::vehicle_data::types::LightsPropertyFrontExteriorLightData>(&mut bad);
    check::<hm_api::vehicle_data::types::LightsPropertyParkingLightStatusData>(&mut bad);
    check::<hm_api::vehicle_data::types::LightsPropertySwitchPositionData>(&mut bad);
    check::<hm_api::vehicle_data::types::MaintenancePropertyTeleserviceAvailabilityData>(&mut bad);
    check::<hm_api::vehicle_data::types::NotificationsPropertyClearData>(&mut bad);
    check::<hm_api::vehicle_data::types::PowerTakeoffPropertyEngagedData>(&mut bad);
    check::<hm_api::vehicle_data::types::RacePropertyDrivetrainStateData>(&mut bad);
    check::<hm_api::vehicle_data::types::RacePropertyGearModeData>(&mut bad);
    check::<hm_api::vehicle_data::types::RacePropertyVehicleMovingData>(&mut bad);
    check::<hm_api::vehicle_data::types::RemoteControlPropertyControlModeData>(&mut bad);
    check::<hm_api::vehicle_data::types::RooftopControlPropertyConvertibleRoofStateData>(&mut bad);
    check::<hm_api::vehicle_data::types::RooftopControlPropertySunroofRainEventData>(&mut bad);
    check::<hm_api::vehicle_data::types::RooftopControlPropertySunroofStateData>(&mut bad);
    check::<hm_api::vehicle_data::types::RooftopControlPropertySunroofTiltStateData>(&mut bad);
    check::<hm_api::vehicle_data::types::TheftAlarmPropertyEventTypeData>(&mut bad);
    check::<hm_api::vehicle_data::types::TheftAlarmPropertyLastEventLevelData>(&mut bad);
    check::<hm_api::vehicle_data::types::TheftAlarmPropertyLastWarningReasonData>(&mut bad);
    check::<hm_api::vehicle_data::types::TheftAlarmPropertyStatusData>(&mut bad);
    check::<hm_api::vehicle_data::types::UnitAccelerationUnit>(&mut bad);
    check::<hm_api::vehicle_data::types::UnitAngleUnit>(&mut bad);
    check::<hm_api::vehicle_data::types::UnitAngularVelocityUnit>(&mut bad);
    check::<hm_api::vehicle_data::types::UnitDurationUnit>(&mut bad);
    check::<hm_api::vehicle_data::types::UnitElectricCurrentUnit>(&mut bad);
    check::<hm_api::vehicle_data::types::UnitElectricPotentialDifferenceUnit>(&mut bad);
    check::<hm_api::vehicle_data::types::UnitEnergyEfficiencyUnit>(&mut bad);
    check::<hm_api::vehicle_data::types::UnitEnergyUnit>(&mut bad);
    check::<hm_api::vehicle_data::types::UnitFrequencyUnit>(&mut bad);
    check::<hm_api::vehicle_data::types::UnitFuelEfficiencyUnit>(&mut bad);
    check::<hm_api::vehicle_data::types::UnitIlluminanceUnit>(&mut bad);
    check::<hm_api::vehicle_data::types::UnitLengthUnit>(&mut bad);
    check::<hm_api::vehicle_data::types::UnitMassUnit>(&mut bad);
    check::<hm_api::vehicle_data::types::UnitPowerUnit>(&mut bad);
    check::<hm_api::vehicle_data::types::UnitPressureUnit>(&mut bad);
    check::<hm_api::vehicle_data::types::UnitSpeedUnit>(&mut bad);
    check::<hm_api::vehicle_data::types::UnitTemperatureUnit>(&mut bad);
    check::<hm_api::vehicle_data::types::UnitTorqueUnit>(&mut bad);
    check::<hm_api::vehicle_data::types::UnitVolumeUnit>(&mut bad);
    check::<hm_api::vehicle_data::types::VehicleDataBrand>(&mut bad);
    check::<hm_api::vehicle_data::types::VehicleLocationPropertyGpsSourceData>(&mut bad);
    check::<hm_api::vehicle_data::types::WindscreenPropertyWindscreenDamageData>(&mut bad);
    check::<hm_api::vehicle_data::types::WindscreenPropertyWindscreenNeedsReplacementData>(
        &mut bad,
    );
    check::<hm_api::vehicle_data::types::WindscreenPropertyWipersIntensityData>(&mut bad);
    check::<hm_api::vehicle_data::types::WindscreenPropertyWipersStatusData>(&mut bad);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// `UnknownValue` used to hold a plain `String`, so `Brand::UnknownValue("bmw".into())` could be built:
/// it serialised like `Brand::Bmw`, yet was not `is_known()` nor equal to `Bmw`. Its payload now has a
/// private field (`Brand::UnknownValue(String)` no longer compiles), so the only way to spell a value
/// is parsing or decoding, which gives the listed variant.
#[test]
fn attack_unknown_value_holding_a_listed_value_agrees_with_the_listed_variant() {
    use hm_api::fleet_clearance::types::Brand;
    let spelled: Brand = "bmw".parse().unwrap();
    assert_eq!(
        serde_json::to_value(&spelled).unwrap(),
        serde_json::to_value(Brand::Bmw).unwrap()
    );
    assert!(
        spelled.is_known(),
        "a listed brand reports is_known() == false"
    );
    assert_eq!(spelled, Brand::Bmw);
}
