//! A realistic MQTT V2 message: 5 capabilities, 16 properties, about 2 KB of JSON.

use std::fmt::Write;

/// The message with `message_id` for vehicle number `vehicle`.
pub fn message(application_id: &str, message_id: &str, vehicle: usize) -> String {
    let ts = "2025-08-12T16:07:48.000Z";
    let unit = |value: f64, unit: &str| {
        format!(r#"{{"data":{{"value":{value},"unit":"{unit}"}},"timestamp":"{ts}"}}"#)
    };
    let plain = |data: &str| format!(r#"{{"data":{data},"timestamp":"{ts}"}}"#);
    let mut doors = String::new();
    for (i, location) in ["front_left", "front_right", "rear_right", "rear_left"]
        .iter()
        .enumerate()
    {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(
            doors,
            r#"{sep}{{"data":{{"location":"{location}","lock_state":"locked"}},"timestamp":"{ts}"}}"#
        );
    }
    format!(
        r#"{{"version":2,"application_id":"{application_id}","message_id":"{message_id}","vin":"EXVETESTVIN{vehicle:06}","data":{{"diagnostics":{{"odometer":[{odometer}],"speed":[{speed}],"engine_rpm":[{rpm}],"fuel_level":[{fuel}],"battery_voltage":[{volts}]}},"vehicle_location":{{"coordinates":[{coordinates}],"altitude":[{altitude}],"heading":[{heading}]}},"charging":{{"battery_level":[{battery}],"status":[{status}],"estimated_range":[{range}]}},"doors":{{"locks":[{doors}],"locks_state":[{locks_state}]}},"race":{{"vehicle_moving":[{moving}],"gear_mode":[{gear}]}}}}}}"#,
        odometer = unit(19201.01 + vehicle as f64, "kilometers"),
        speed = unit(42.0, "kilometers_per_hour"),
        rpm = unit(1800.0, "revolutions_per_minute"),
        fuel = plain("0.42"),
        volts = unit(12.6, "volts"),
        coordinates = plain(r#"{"latitude":52.516,"longitude":13.377}"#),
        altitude = unit(63.0, "meters"),
        heading = unit(181.5, "degrees"),
        battery = plain("0.81"),
        status = plain(r#""charging""#),
        range = unit(312.0, "kilometers"),
        locks_state = plain(r#""locked""#),
        moving = plain(r#""moving""#),
        gear = plain(r#""drive""#),
    )
}
