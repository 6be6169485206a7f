//! Configuration: the example file, the demo config, and errors that point at the problem.
#![allow(clippy::unwrap_used)]

use hm_emulator::{DEMO_CLIENT_ID, Emulator, EmulatorConfig, Error};

const OTHER_PUBLIC_KEY: &str = include_str!("../testdata/other-public.pem");

#[test]
fn example_file_parses() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/emulator.example.toml");
    let config = EmulatorConfig::from_toml_file(path).unwrap();
    assert_eq!(config.applications[0].client_id, "my-service");
    assert_eq!(config.applications[0].public_keys.len(), 1);
    assert_eq!(config.vehicles.len(), 2);
    assert_eq!(config.token_lifetime_secs, 300);
}

#[test]
fn demo_config_is_valid_and_round_trips_through_toml() {
    let demo = EmulatorConfig::demo();
    demo.validate().unwrap();
    let text = toml::to_string(&demo).unwrap();
    assert_eq!(EmulatorConfig::from_toml_str(&text).unwrap(), demo);
}

#[test]
fn minimal_file_gets_defaults() {
    let config = EmulatorConfig::from_toml_str(
        "[[applications]]\nclient_id = \"a\"\nclient_secret = \"s\"\n",
    )
    .unwrap();
    assert_eq!(config.token_lifetime_secs, 300);
    assert!(config.follow_real_time);
    assert_eq!(config.applications[0].scopes.len(), 4);
}

#[test]
fn parse_errors_name_the_line() {
    let err =
        EmulatorConfig::from_toml_str("token_lifetime_secs = 300\n\n[[vehicles]]\nvin = 12\n")
            .unwrap_err();
    match &err {
        Error::ConfigParse { line, .. } => assert_eq!(*line, 4, "{err}"),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("line 4"), "{err}");
    let unknown = EmulatorConfig::from_toml_str("token_lifetime = 3\n").unwrap_err();
    assert!(unknown.to_string().contains("token_lifetime"), "{unknown}");
}

#[test]
fn inconsistent_configs_are_refused_with_a_reason() {
    let cases = [
        (
            "[[vehicles]]\nvin = \"SHORT\"\nbrand = \"bmw\"\n",
            "vehicles[0].vin \"SHORT\" is not 17 characters of A-Z and 0-9",
        ),
        (
            "[[applications]]\nclient_id = \"a\"\n",
            "neither client_secret nor public_keys",
        ),
        (
            "[[applications]]\nclient_id = \"a\"\nclient_secret = \" \"\n",
            "blank client_secret",
        ),
        (
            "[[applications]]\nclient_id = \"a\"\nclient_secret = \"s\"\nscopes = [\"everything\"]\n",
            "unknown scope",
        ),
        (
            "[[applications]]\nclient_id = \"a\"\nclient_secret = \"s\"\n[[applications]]\nclient_id = \"a\"\nclient_secret = \"t\"\n",
            "twice",
        ),
        (
            "[[applications]]\nclient_id = \"a\"\n[applications.public_keys]\nk = \"-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----\\n\"\n",
            "P-256",
        ),
    ];
    for (text, part) in cases {
        let err = EmulatorConfig::from_toml_str(text).unwrap_err();
        assert!(err.to_string().contains(part), "{err} lacks {part:?}");
    }
}

#[test]
fn missing_file_says_which() {
    let err = EmulatorConfig::from_toml_file("/no/such/emulator.toml").unwrap_err();
    assert!(err.to_string().contains("/no/such/emulator.toml"), "{err}");
}

#[test]
fn add_public_key_checks_the_application_and_the_key() {
    let mut config = EmulatorConfig::demo();
    config
        .add_public_key(DEMO_CLIENT_ID, "cli-key", OTHER_PUBLIC_KEY)
        .unwrap();
    assert!(config.applications[0].public_keys.contains_key("cli-key"));
    assert!(matches!(
        config.add_public_key("nobody", "k", OTHER_PUBLIC_KEY),
        Err(Error::UnknownApplication(_))
    ));
    let private = include_str!("../testdata/other-private.pem");
    assert!(matches!(
        config.add_public_key(DEMO_CLIENT_ID, "k", private),
        Err(Error::InvalidPublicKey { .. })
    ));
}

#[tokio::test]
async fn start_refuses_an_invalid_config_and_a_busy_port() {
    let mut config = EmulatorConfig::demo();
    config.vehicles[0].vin = "bad".into();
    assert!(matches!(
        Emulator::start(config).await,
        Err(Error::InvalidConfig(_))
    ));

    let first = Emulator::start(EmulatorConfig::demo()).await.unwrap();
    let addr: std::net::SocketAddr = first
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let err = Emulator::start_on(EmulatorConfig::demo(), addr)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Bind { .. }), "{err}");
    assert!(first.base_url().starts_with("http://127.0.0.1:"));
    assert!(!first.base_url().ends_with('/'));
    first.shutdown().await.unwrap();
}

// Paused time: the sleep only lets the server task run until the runtime is idle.
#[tokio::test(start_paused = true)]
async fn dropping_the_handle_stops_the_server() {
    let handle = Emulator::start(EmulatorConfig::demo()).await.unwrap();
    let url = format!("{}/v1/fleets/vehicles", handle.base_url());
    let client = reqwest::Client::new();
    assert_eq!(client.get(&url).send().await.unwrap().status(), 401);
    drop(handle);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(client.get(&url).send().await.is_err());
}

#[test]
fn out_of_range_numbers_are_refused_at_load_naming_the_key() {
    let cases = [
        (
            "token_lifetime_secs = 100000000000000000\n",
            "token_lifetime_secs = 100000000000000000",
        ),
        ("token_lifetime_secs = 0\n", "token_lifetime_secs = 0"),
        ("iat_skew_secs = 9223372036854775807\n", "iat_skew_secs"),
        (
            "removal_delay_secs = 18446744073709551615\n",
            "removal_delay_secs",
        ),
        (
            "clearance_get_limit_per_minute = 0\n",
            "clearance_get_limit_per_minute",
        ),
        (
            "[[vehicles]]\nvin = \"1HMDEM0CAR0000001\"\nbrand = \"bmw\"\nclearance_delay_secs = 100000000000000000\n",
            "vehicles[0].clearance_delay_secs",
        ),
        ("[limits]\nmax_body_bytes = 10\n", "limits.max_body_bytes"),
        (
            "[limits]\nmax_vehicles_per_request = 0\n",
            "limits.max_vehicles_per_request",
        ),
        (
            "[limits]\nmax_clearances_per_application = 1000000000\n",
            "limits.max_clearances_per_application",
        ),
        ("[limits]\nmax_tag_length = 0\n", "limits.max_tag_length"),
        (
            "[limits]\nmax_tokens_per_application = 0\n",
            "limits.max_tokens_per_application",
        ),
        // Not an integer at all: the parser's error quotes the line, so the key is named too.
        ("token_lifetime_secs = 1e17\n", "token_lifetime_secs = 1e17"),
        ("removal_delay_secs = -1\n", "removal_delay_secs = -1"),
        ("[limits]\nmax_tag_chars = 3\n", "max_tag_chars"),
    ];
    for (text, part) in cases {
        let err = EmulatorConfig::from_toml_str(text).unwrap_err();
        assert!(err.to_string().contains(part), "{err} lacks {part:?}");
    }
    let err =
        EmulatorConfig::from_toml_str("token_lifetime_secs = 100000000000000000\n").unwrap_err();
    assert!(
        matches!(&err, Error::ConfigOutOfRange { key, max, .. } if key == "token_lifetime_secs" && *max == 31_536_000),
        "{err:?}"
    );
}

#[tokio::test]
async fn start_refuses_out_of_range_values_set_in_code() {
    let mut config = EmulatorConfig::demo();
    config.token_lifetime_secs = 100_000_000_000_000_000;
    let err = Emulator::start(config).await.unwrap_err();
    assert!(err.to_string().contains("token_lifetime_secs"), "{err}");
    let mut config = EmulatorConfig::demo();
    config.vehicles[1].clearance_delay_secs = u64::MAX;
    let err = Emulator::start(config).await.unwrap_err();
    assert!(
        err.to_string().contains("vehicles[1].clearance_delay_secs"),
        "{err}"
    );
}
