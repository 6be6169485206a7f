//! Static data documents (`GET /v1/vehicle-static-data/{vin}` and `.../data`), built from hm-api's
//! generated types.

use hm_api::vehicle_static_data::types::{
    VehicleStaticDataDataResponse as Details, VehicleStaticDataDataResponseVehicle as Vehicle,
    VehicleStaticDataDataResponseVehicleManufacturer as Manufacturer,
    VehicleStaticDataDataResponseVehicleManufacturerBrand as Brand,
    VehicleStaticDataDataResponseVehicleManufacturerModel as Model,
    VehicleStaticDataDataResponseVehicleSpecs as Specs,
    VehicleStaticDataDataResponseVehicleSpecsBody as Body,
    VehicleStaticDataDataResponseVehicleSpecsEngine as Engine,
    VehicleStaticDataDataResponseVehicleSpecsEngineOutput as Output,
    VehicleStaticDataDataResponseVehicleSpecsEngineOutputPower as Power,
    VehicleStaticDataDataResponseVehicleSpecsFuel as Fuel, VehicleStaticDataEquipment,
    VehicleStaticDataEquipmentList, VehicleStaticDataManufacturer, VehicleStaticDataResponse,
};

use super::{pick, seed};
use crate::brands::display_name;

fn equipment(id: &str, description: &str) -> VehicleStaticDataEquipmentList {
    VehicleStaticDataEquipmentList {
        manufacturer_id: Some(id.to_owned()),
        description: Some(description.to_owned()),
        positions: Vec::new(),
    }
}

/// Manufacturer and equipment (`VehicleStaticDataResponse`).
pub fn summary(vin: &str, fleet_brand: &str) -> VehicleStaticDataResponse {
    let s = seed(vin);
    let brand = display_name(fleet_brand);
    let model = 1 + s % 5;
    VehicleStaticDataResponse {
        manufacturer: Some(VehicleStaticDataManufacturer {
            model: Some(format!("{brand} Model {model}")),
            type_group_name: Some(format!("Model {model}")),
            sub_model: Some("Emulated".into()),
            sales_description: Some(format!("{brand} Model {model} Emulated Edition")),
            vehicle_main_type_key: Some(format!("{}", 100 + s % 50)),
            vehicle_sub_type_key: Some(format!("{}", s % 40)),
            vehicle_type_key: Some("1".into()),
            brand: Some(brand),
        }),
        equipment: Some(VehicleStaticDataEquipment {
            series_equipment: vec![
                equipment("E01", "airbag driver side/passenger side"),
                equipment("E02", "anti-lock braking system (ABS)"),
            ],
            special_equipment: vec![equipment("S01", "navigation system")],
        }),
    }
}

/// Detailed vehicle data (a subset of `VehicleStaticDataDataResponse`).
pub fn details(vin: &str, fleet_brand: &str) -> Details {
    let s = seed(vin);
    let brand = display_name(fleet_brand);
    let model = 1 + s % 5;
    let power_kw = pick(s, 20, 70.0, 220.0, 0);
    Details {
        vehicle: Some(Vehicle {
            manufacturer: Some(Manufacturer {
                model: Some(Model {
                    id: Some(format!("{}", s % 300)),
                    name: Some(format!("{brand} Model {model}")),
                }),
                sales_description: Some(format!("{brand} Model {model} Emulated Edition")),
                brand: Some(Brand {
                    id: Some(format!("{}", 100 + s % 200)),
                    name: Some(brand),
                }),
                ..Default::default()
            }),
            specs: Some(Specs {
                body: Some(Body {
                    doors: Some("5".into()),
                    seats: Some("5".into()),
                    ..Default::default()
                }),
                engine: Some(Engine {
                    output: Some(Output {
                        power: Some(Power {
                            kw: Some(format!("{power_kw}")),
                            hp: Some(format!("{}", (power_kw * 1.36).round())),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                fuel: Some(Fuel {
                    capacity: Some(format!("{}", pick(s, 21, 40.0, 70.0, 0))),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}
