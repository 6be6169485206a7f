//! Publishes vehicle data of approved vehicles on each application's topic, on the virtual clock.
//!
//! The data is the REST vehicle-data document (`documents::vehicle_data`) in the streaming shape:
//! capability -> property -> **array** of `{data, timestamp}`, as High Mobility's MQTT V2 sends it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hm_stream::auto_api::Capabilities;
use hm_stream::generated::janus::Envelope;
use serde_json::{Map, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::{Control, MqttConfig, MqttEnvironment, application_id, topic};
use crate::state::AppState;
use crate::state::clearance::Status;

/// Rounds published at once when the clock jumped far ahead; older rounds are skipped, so a jump of
/// a year does not flood the broker.
const MAX_CATCH_UP_ROUNDS: u32 = 100;

/// The running publisher.
pub struct Publisher {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Publisher {
    /// Starts publishing every `config.publish_interval()` of virtual time through `control`.
    pub(super) fn spawn(state: Arc<AppState>, control: Arc<Control>, config: &MqttConfig) -> Self {
        let (stop, stopped) = oneshot::channel();
        let interval = config.publish_interval();
        let task = tokio::spawn(run(state, control, interval, config.environment, stopped));
        Self {
            stop: Some(stop),
            task,
        }
    }

    /// Stops publishing and waits until the current round is done.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn run(
    state: Arc<AppState>,
    control: Arc<Control>,
    interval: Duration,
    environment: MqttEnvironment,
    mut stopped: oneshot::Receiver<()>,
) {
    let step = chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::MAX);
    let mut advances = state.clock.advances();
    let mut next_due = state.clock.now() + step;
    loop {
        let now = state.clock.now();
        let mut rounds = 0;
        while next_due <= now {
            if rounds == MAX_CATCH_UP_ROUNDS {
                tracing::debug!("virtual clock jumped ahead; skipping older publish rounds");
                next_due = now + step;
                break;
            }
            publish_round(&state, &control, environment, next_due).await;
            next_due += step;
            rounds += 1;
        }
        control.caught_up.send_replace(now);
        // With a frozen clock only `advance` moves time; otherwise sleep until the next round.
        let until_due = (next_due - now).to_std().unwrap_or(Duration::ZERO);
        let sleep = async {
            if state.clock.follows_real_time() {
                tokio::time::sleep(until_due).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            _ = &mut stopped => return,
            _ = advances.changed() => {}
            _ = sleep => {}
        }
    }
}

/// One message per approved vehicle of every application, as read at `at`; first the connections
/// are cut if the fault says so.
async fn publish_round(
    state: &AppState,
    control: &Control,
    environment: MqttEnvironment,
    at: DateTime<Utc>,
) {
    control.cut_if_due(at);
    for app in &state.config.applications {
        let approved: Vec<(String, String)> = {
            let mut clearances = state.clearances.of_app(&app.client_id, at);
            clearances
                .map()
                .values()
                .filter(|c| c.status() == Status::Approved)
                .map(|c| (c.vin.clone(), c.brand.clone()))
                .collect()
        };
        if approved.is_empty() {
            continue;
        }
        let application_id = application_id(&app.client_id);
        let topic = topic(environment, &app.client_id);
        for (vin, brand) in approved {
            match message(state, application_id, vin, brand, at).await {
                Ok(payload) => control.publish(&topic, payload).await,
                Err(e) => {
                    tracing::error!("cannot build an MQTT message (a bug of hm-emulator): {e}")
                }
            }
        }
    }
}

/// The JSON payload of one message for `vin`, its data read at `at`: hm-stream's types generated
/// from the published schemas (the Streaming Schema V2 capabilities in the janus envelope), so that
/// what the emulator publishes has exactly the shape a consumer decodes.
pub async fn message(
    state: &AppState,
    application_id: Uuid,
    vin: String,
    brand: String,
    at: DateTime<Utc>,
) -> Result<Vec<u8>, String> {
    let message_id = Uuid::new_v4().to_string();
    let document = state
        .vehicle_data
        .document(vin.clone(), brand, message_id.clone(), at)
        .await?;
    let document = serde_json::to_value(document).map_err(|e| e.to_string())?;
    let data: Capabilities = serde_json::from_value(Value::Object(streaming_data(document)))
        .map_err(|e| format!("the streaming data does not fit the Streaming Schema V2: {e}"))?;
    let envelope = Envelope {
        application_id,
        data,
        message_id,
        version: 2.0,
        vin,
        extra: Map::new(),
    };
    let mut envelope = serde_json::to_value(envelope).map_err(|e| e.to_string())?;
    // The schema types `version` as a number, so the generated field is an f64 (`2.0`); High
    // Mobility's broker writes the integer `2`, and so does the emulator.
    envelope["version"] = Value::from(2);
    serde_json::to_vec(&envelope).map_err(|e| e.to_string())
}

/// The REST document's capabilities in the streaming shape: every property an array of values.
/// The document's top-level facts (`request_id`, `vin`, `brand`) are not capabilities and belong to
/// the envelope.
fn streaming_data(document: Value) -> Map<String, Value> {
    let Value::Object(fields) = document else {
        return Map::new();
    };
    fields
        .into_iter()
        .filter_map(|(capability, properties)| match properties {
            Value::Object(properties) => Some((
                capability,
                Value::Object(
                    properties
                        .into_iter()
                        .filter_map(|(property, value)| match value {
                            Value::Null => None,
                            Value::Array(_) => Some((property, value)),
                            single => Some((property, Value::Array(vec![single]))),
                        })
                        .collect(),
                ),
            )),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_values_become_arrays_and_envelope_facts_leave_the_data() {
        let document = serde_json::json!({
            "request_id": "r", "vin": "V", "brand": "sandbox",
            "diagnostics": {
                "odometer": {"data": {"unit": "kilometers", "value": 1.0}, "timestamp": "t"},
                "tire_pressures": [{"data": 1}, {"data": 2}],
                "speed": null
            }
        });
        let data = streaming_data(document);
        assert_eq!(
            Value::Object(data),
            serde_json::json!({"diagnostics": {
                "odometer": [{"data": {"unit": "kilometers", "value": 1.0}, "timestamp": "t"}],
                "tire_pressures": [{"data": 1}, {"data": 2}]
            }})
        );
    }
}
