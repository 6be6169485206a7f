//! Loading keys: the accepted forms, and a clear error for each wrong one.

use std::io::Write;

use hm_auth::{Credentials, Error, ErrorKind, Flow};
use serde_json::json;

use crate::fixtures::{ENCRYPTED_SEC1, P384_PKCS8, P384_SEC1, RSA_PKCS1, RSA_PKCS8};
use crate::support::{CLIENT_ID, KEY_ID, capture_tracing, test_key, windows};

fn write_temp(contents: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(contents.as_bytes()).unwrap();
    file
}

#[test]
fn pkcs8_pem_is_accepted() {
    let key = test_key();
    let credentials = Credentials::private_key_pem(CLIENT_ID, KEY_ID, &key.pkcs8_pem).unwrap();
    assert_eq!(credentials.flow(), Flow::JwtAssertion);
    assert_eq!(credentials.key_id(), Some(KEY_ID));
    assert_eq!(credentials.client_id(), CLIENT_ID);
}

#[test]
fn sec1_pem_is_accepted_with_or_without_ec_parameters_block() {
    let key = test_key();
    Credentials::private_key_pem(CLIENT_ID, KEY_ID, &key.sec1_pem).unwrap();
    // What `openssl ecparam -genkey -name prime256v1` writes.
    let with_params = format!(
        "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{}",
        key.sec1_pem
    );
    Credentials::private_key_pem(CLIENT_ID, KEY_ID, &with_params).unwrap();
}

#[test]
fn pem_file_is_accepted() {
    let key = test_key();
    let file = write_temp(&key.pkcs8_pem);
    let credentials = Credentials::private_key_pem_file(CLIENT_ID, KEY_ID, file.path()).unwrap();
    assert_eq!(credentials.key_id(), Some(KEY_ID));
}

#[test]
fn console_json_key_file_is_accepted() {
    let key = test_key();
    let file = write_temp(
        &json!({"id": KEY_ID, "private_key": key.pkcs8_pem, "name": "my key", "valid_until": "2030-01-01"})
            .to_string(),
    );
    let credentials = Credentials::private_key_file(CLIENT_ID, file.path()).unwrap();
    assert_eq!(
        credentials.key_id(),
        Some(KEY_ID),
        "iss must be the key id, not the client id"
    );
}

#[test]
fn unreadable_file_names_the_path() {
    let err = Credentials::private_key_file(CLIENT_ID, "/nonexistent/hm/key.json").unwrap_err();
    assert!(matches!(err, Error::ReadFile { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("/nonexistent/hm/key.json") && msg.contains("check the path"),
        "{msg}"
    );
    let err =
        Credentials::private_key_pem_file(CLIENT_ID, KEY_ID, "/nonexistent/key.pem").unwrap_err();
    assert!(err.to_string().contains("/nonexistent/key.pem"), "{err}");
}

#[test]
fn malformed_pem_says_what_was_expected() {
    for text in [
        "not a key at all",
        "-----BEGIN PRIVATE KEY-----\nAAAA!!!!\n-----END PRIVATE KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n",
    ] {
        let err = Credentials::private_key_pem(CLIENT_ID, KEY_ID, text).unwrap_err();
        assert!(
            matches!(err, Error::MalformedKey { .. }),
            "{text:?}: {err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("BEGIN PRIVATE KEY") && msg.contains("BEGIN EC PRIVATE KEY"),
            "{msg}"
        );
    }
    let public = test_key().public_pem;
    let err = Credentials::private_key_pem(CLIENT_ID, KEY_ID, &public).unwrap_err();
    assert!(err.to_string().contains("public key"), "{err}");
}

#[test]
fn rsa_keys_are_refused_as_rsa() {
    for pem in [RSA_PKCS1, RSA_PKCS8] {
        let err = Credentials::private_key_pem(CLIENT_ID, KEY_ID, pem).unwrap_err();
        assert!(matches!(err, Error::UnsupportedKey { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("RSA") && msg.contains("P-256") && msg.contains("ES256"),
            "{msg}"
        );
    }
}

#[test]
fn p384_keys_are_refused_as_p384() {
    for pem in [P384_PKCS8, P384_SEC1] {
        let err = Credentials::private_key_pem(CLIENT_ID, KEY_ID, pem).unwrap_err();
        assert!(matches!(err, Error::UnsupportedKey { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("P-384") && msg.contains("P-256"), "{msg}");
    }
}

#[test]
fn key_file_without_id_says_so() {
    let key = test_key();
    let file = write_temp(&json!({"private_key": key.pkcs8_pem}).to_string());
    let err = Credentials::private_key_file(CLIENT_ID, file.path()).unwrap_err();
    assert!(
        matches!(err, Error::KeyFileMissingField { field: "id", .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("no `id` field") && msg.contains("download the key again"),
        "{msg}"
    );
    assert!(msg.contains(&file.path().display().to_string()), "{msg}");
    assert!(
        !msg.contains("PRIVATE KEY-----"),
        "the key must not be echoed: {msg}"
    );
}

#[test]
fn key_file_that_is_not_json_says_what_was_expected() {
    let key = test_key();
    let file = write_temp(&key.pkcs8_pem);
    let err = Credentials::private_key_file(CLIENT_ID, file.path()).unwrap_err();
    assert!(matches!(err, Error::KeyFileNotJson { .. }), "{err:?}");
    assert!(err.to_string().contains("`id` and `private_key`"), "{err}");
}

#[test]
fn key_file_with_rsa_key_names_the_file() {
    let file = write_temp(&json!({"id": KEY_ID, "private_key": RSA_PKCS8}).to_string());
    let err = Credentials::private_key_file(CLIENT_ID, file.path()).unwrap_err();
    assert!(matches!(err, Error::UnsupportedKey { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&file.path().display().to_string()),
        "{err}"
    );
}

#[test]
fn empty_ids_and_secrets_are_refused() {
    let key = test_key();
    assert!(matches!(
        Credentials::private_key_pem(CLIENT_ID, " ", &key.pkcs8_pem),
        Err(Error::EmptyField {
            what: "the key id",
            ..
        })
    ));
    assert!(matches!(
        Credentials::client_secret("", "s"),
        Err(Error::EmptyField {
            what: "the client id",
            ..
        })
    ));
    assert!(matches!(
        Credentials::client_secret(CLIENT_ID, ""),
        Err(Error::EmptyField {
            what: "the client secret",
            ..
        })
    ));
}

#[test]
fn environment_variables_select_the_flow() {
    let key = test_key();
    let key_file = write_temp(&json!({"id": KEY_ID, "private_key": key.pkcs8_pem}).to_string());
    let pem_file = write_temp(&key.sec1_pem);
    let env = |pairs: Vec<(&'static str, String)>| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        }
    };

    let c = Credentials::from_lookup(env(vec![
        ("HM_CLIENT_ID", CLIENT_ID.into()),
        ("HM_CLIENT_SECRET", "s3cret".into()),
    ]))
    .unwrap();
    assert_eq!(c.flow(), Flow::ClientSecret);

    let c = Credentials::from_lookup(env(vec![
        ("HM_CLIENT_ID", CLIENT_ID.into()),
        ("HM_PRIVATE_KEY_FILE", key_file.path().display().to_string()),
    ]))
    .unwrap();
    assert_eq!(c.key_id(), Some(KEY_ID));

    let c = Credentials::from_lookup(env(vec![
        ("HM_CLIENT_ID", CLIENT_ID.into()),
        (
            "HM_PRIVATE_KEY_PEM_FILE",
            pem_file.path().display().to_string(),
        ),
        ("HM_KEY_ID", KEY_ID.into()),
    ]))
    .unwrap();
    assert_eq!(c.key_id(), Some(KEY_ID));

    let c = Credentials::from_lookup(env(vec![
        ("HM_CLIENT_ID", CLIENT_ID.into()),
        ("HM_PRIVATE_KEY_PEM", key.pkcs8_pem.clone()),
        ("HM_KEY_ID", KEY_ID.into()),
    ]))
    .unwrap();
    assert_eq!(c.flow(), Flow::JwtAssertion);

    let err = Credentials::from_lookup(env(vec![
        ("HM_CLIENT_ID", CLIENT_ID.into()),
        ("HM_PRIVATE_KEY_PEM", key.pkcs8_pem.clone()),
    ]))
    .unwrap_err();
    assert!(err.to_string().contains("HM_KEY_ID is needed"), "{err}");

    let err = Credentials::from_lookup(env(vec![
        ("HM_CLIENT_ID", CLIENT_ID.into()),
        ("HM_CLIENT_SECRET", "s3cret".into()),
        ("HM_PRIVATE_KEY_FILE", "/x.json".into()),
    ]))
    .unwrap_err();
    assert!(err.to_string().contains("ambiguous"), "{err}");
    assert!(!err.to_string().contains("s3cret"), "{err}");

    let err = Credentials::from_lookup(env(vec![])).unwrap_err();
    assert!(err.to_string().contains("HM_CLIENT_ID is not set"), "{err}");
}

#[test]
fn console_json_contents_are_accepted_and_checked() {
    let key = test_key();
    let json = json!({"id": KEY_ID, "private_key": key.pkcs8_pem}).to_string();
    let credentials = Credentials::private_key_json(CLIENT_ID, &json).unwrap();
    assert_eq!(credentials.key_id(), Some(KEY_ID));
    let err =
        Credentials::private_key_json(CLIENT_ID, &json!({"id": KEY_ID}).to_string()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::KeyFileMissingField {
                field: "private_key",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_pem_with_literal_backslash_n_is_accepted() {
    // As environment variables and JSON-in-YAML configuration often carry keys.
    let key = test_key();
    for pem in [&key.pkcs8_pem, &key.sec1_pem] {
        let escaped = pem.replace('\n', "\\n");
        assert!(!escaped.contains('\n'));
        Credentials::private_key_pem(CLIENT_ID, KEY_ID, &escaped).unwrap();
        let crlf = pem.replace('\n', "\\r\\n");
        Credentials::private_key_pem(CLIENT_ID, KEY_ID, &crlf).unwrap();
    }
    let c = Credentials::from_lookup(|name| match name {
        "HM_CLIENT_ID" => Some(CLIENT_ID.to_owned()),
        "HM_KEY_ID" => Some(KEY_ID.to_owned()),
        "HM_PRIVATE_KEY_PEM" => Some(key.pkcs8_pem.replace('\n', "\\n")),
        _ => None,
    })
    .unwrap();
    assert_eq!(c.flow(), Flow::JwtAssertion);
}

#[test]
fn a_utf8_byte_order_mark_is_accepted() {
    let key = test_key();
    let pem_file = write_temp(&format!("\u{feff}{}", key.pkcs8_pem));
    Credentials::private_key_pem_file(CLIENT_ID, KEY_ID, pem_file.path()).unwrap();
    let json_file = write_temp(&format!(
        "\u{feff}{}",
        json!({"id": KEY_ID, "private_key": key.pkcs8_pem})
    ));
    Credentials::private_key_file(CLIENT_ID, json_file.path()).unwrap();
    Credentials::private_key_pem(CLIENT_ID, KEY_ID, &format!("\u{feff}{}", key.sec1_pem)).unwrap();
}

#[test]
fn a_numeric_id_says_it_must_be_a_string() {
    let key = test_key();
    let file = write_temp(&json!({"id": 12345, "private_key": key.pkcs8_pem}).to_string());
    let err = Credentials::private_key_file(CLIENT_ID, file.path()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::KeyFileFieldNotString {
                field: "id",
                found: "a number",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("`id` must be a string"), "{err}");
    let err = Credentials::private_key_json(
        CLIENT_ID,
        &json!({"id": KEY_ID, "private_key": ["x"]}).to_string(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("`private_key` must be a string, but it is an array"),
        "{err}"
    );
}

#[test]
fn a_mismatched_end_label_says_so() {
    let key = test_key();
    let mismatched = key
        .pkcs8_pem
        .replace("-----END PRIVATE KEY-----", "-----END EC PRIVATE KEY-----");
    let err = Credentials::private_key_pem(CLIENT_ID, KEY_ID, &mismatched).unwrap_err();
    assert!(matches!(err, Error::MalformedKey { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(
            "begins with `-----BEGIN PRIVATE KEY-----` but ends with `-----END EC PRIVATE KEY-----`"
        ),
        "{text}"
    );
    let truncated = key.pkcs8_pem.replace("-----END PRIVATE KEY-----", "");
    let err = Credentials::private_key_pem(CLIENT_ID, KEY_ID, &truncated).unwrap_err();
    assert!(err.to_string().contains("has no `-----END` line"), "{err}");
}

#[test]
fn key_errors_never_quote_key_material() {
    let key = test_key();
    let body: String = key
        .pkcs8_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    // Dashes lost from the BEGIN line: a naive label would run into the base64.
    let broken = [
        key.pkcs8_pem.replace("PRIVATE KEY-----\n", "PRIVATE KEY\n"),
        key.pkcs8_pem
            .replace("-----END PRIVATE KEY-----", "-----END"),
        key.pkcs8_pem.replacen('M', "!", 1),
    ];
    for pem in broken {
        let err = Credentials::private_key_pem(CLIENT_ID, KEY_ID, &pem).unwrap_err();
        let text = format!("{err} {err:?}");
        for window in windows(&body, 12) {
            assert!(!text.contains(window), "key material `{window}` in {text}");
        }
    }
}

#[cfg(unix)]
#[test]
fn a_key_file_readable_by_others_is_accepted_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let captured = capture_tracing();
    let key = test_key();
    let shared = write_temp(&key.pkcs8_pem);
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    Credentials::private_key_pem_file(CLIENT_ID, KEY_ID, shared.path()).unwrap();
    let private = write_temp(&json!({"id": KEY_ID, "private_key": key.pkcs8_pem}).to_string());
    std::fs::set_permissions(private.path(), std::fs::Permissions::from_mode(0o600)).unwrap();
    Credentials::private_key_file(CLIENT_ID, private.path()).unwrap();

    let log = captured.text();
    let warning = format!("chmod 600 {}", shared.path().display());
    assert!(
        log.lines()
            .any(|l| l.contains("WARN") && l.contains(&warning) && l.contains("644")),
        "{log}"
    );
    assert!(
        !log.contains(&private.path().display().to_string()),
        "no warning for a 600 file: {log}"
    );
}

#[test]
fn dev_zero_and_other_huge_inputs_are_refused_promptly() {
    for path in ["/dev/zero"] {
        if !std::path::Path::new(path).exists() {
            continue;
        }
        let err = Credentials::private_key_file(CLIENT_ID, path).unwrap_err();
        assert!(matches!(err, Error::FileTooLarge { .. }), "{err:?}");
        assert!(err.to_string().contains("larger than 64 KiB"), "{err}");
        let err = Credentials::private_key_pem_file(CLIENT_ID, KEY_ID, path).unwrap_err();
        assert!(matches!(err, Error::FileTooLarge { .. }), "{err:?}");
    }
    let big = write_temp(&"x".repeat(100 * 1024));
    let err = Credentials::private_key_pem_file(CLIENT_ID, KEY_ID, big.path()).unwrap_err();
    assert!(matches!(err, Error::FileTooLarge { .. }), "{err:?}");
    let padded = format!("{}{}", " ".repeat(70 * 1024), test_key().pkcs8_pem);
    let err = Credentials::private_key_pem(CLIENT_ID, KEY_ID, &padded).unwrap_err();
    assert!(
        err.to_string().contains("far more than a private key"),
        "{err}"
    );
    let err = Credentials::private_key_json(CLIENT_ID, &padded).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

#[test]
fn a_secret_or_id_with_surrounding_whitespace_is_a_clear_error() {
    const SECRET: &str = "rzeVs5nnx5OCMQejjfQTjLE8Jb2ReFSU";
    for padded in [
        format!("{SECRET}\n"),
        format!(" {SECRET}"),
        format!("{SECRET}\t"),
    ] {
        let err = Credentials::client_secret(CLIENT_ID, padded).unwrap_err();
        assert!(
            matches!(
                err,
                Error::SurroundingWhitespace {
                    what: "the client secret"
                }
            ),
            "{err:?}"
        );
        let text = format!("{err} {err:?}");
        assert!(text.contains("leading or trailing whitespace"), "{text}");
        assert!(!text.contains(SECRET), "{text}");
    }
    let err = Credentials::client_secret(format!("{CLIENT_ID} "), SECRET).unwrap_err();
    assert!(
        matches!(
            err,
            Error::SurroundingWhitespace {
                what: "the client id"
            }
        ),
        "{err:?}"
    );
    let err = Credentials::private_key_pem(CLIENT_ID, format!("{KEY_ID}\n"), &test_key().pkcs8_pem)
        .unwrap_err();
    assert!(
        matches!(err, Error::SurroundingWhitespace { what: "the key id" }),
        "{err:?}"
    );
}

/// Runs `load` on a thread and returns its result, failing the test (instead of hanging the
/// run) if it has not returned within `limit`; `release` is then called to unblock it.
#[cfg(unix)]
fn within<T: Send + 'static>(
    limit: std::time::Duration,
    load: impl FnOnce() -> T + Send + 'static,
    release: impl FnOnce(),
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let loader = std::thread::spawn(move || {
        let _ = tx.send(load());
    });
    match rx.recv_timeout(limit) {
        Ok(result) => {
            loader.join().unwrap();
            result
        }
        Err(_) => {
            release();
            loader.join().unwrap();
            panic!("no answer within {limit:?}: the key file read blocks");
        }
    }
}

/// A named pipe that nothing writes to (a secret a sidecar has not provided yet) would block
/// `open` forever; it fails at once, saying what it is. A watchdog fails the test, rather than
/// hang the run, should that regress.
#[cfg(unix)]
#[test]
fn a_named_pipe_without_a_writer_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("key.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo failed");
    // Opening the write end and closing it gives a blocked reader its end of file.
    let release = || drop(std::fs::OpenOptions::new().write(true).open(&fifo).unwrap());

    let path = fifo.clone();
    let err = within(
        std::time::Duration::from_secs(60),
        move || Credentials::private_key_file(CLIENT_ID, &path).map(|_| ()),
        release,
    )
    .unwrap_err();
    assert!(matches!(err, Error::ReadFile { .. }), "{err:?}");
    assert!(err.to_string().contains("named pipe"), "{err}");
    let path = fifo.clone();
    let err = within(
        std::time::Duration::from_secs(60),
        move || Credentials::private_key_pem_file(CLIENT_ID, KEY_ID, &path).map(|_| ()),
        release,
    )
    .unwrap_err();
    assert!(err.to_string().contains("nothing wrote to it"), "{err}");
}

/// A pipe with a writer (`HM_PRIVATE_KEY_PEM_FILE=<(vault read ...)`) is read whole, however
/// late the key arrives; an empty regular file says it is empty.
#[cfg(target_os = "linux")]
#[test]
fn a_pipe_with_a_writer_is_read_whole_and_an_empty_file_says_so() {
    use std::os::fd::AsRawFd;
    let key = test_key();
    let (reader, mut writer) = std::io::pipe().unwrap();
    let path = format!("/proc/self/fd/{}", reader.as_raw_fd());
    let loaded = std::thread::spawn(move || {
        Credentials::private_key_pem_file(CLIENT_ID, KEY_ID, path).map(|c| c.flow())
    });
    writer.write_all(key.pkcs8_pem.as_bytes()).unwrap();
    drop(writer);
    assert_eq!(loaded.join().unwrap().unwrap(), Flow::JwtAssertion);
    drop(reader);

    let empty = write_temp("");
    let err = Credentials::private_key_file(CLIENT_ID, empty.path()).unwrap_err();
    assert!(err.to_string().contains("the file is empty"), "{err}");
}

/// The damage keys suffer in YAML files, `.env` files and CI secret fields: indentation, trailing
/// blanks, line breaks turned into spaces, the body on one line, a blank line inside. The key is
/// all there, so it is accepted.
#[test]
fn a_pem_with_whitespace_damage_is_accepted() {
    let key = test_key();
    for pem in [&key.pkcs8_pem, &key.sec1_pem] {
        let begin = pem.lines().next().unwrap();
        let end = pem.lines().last().unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let second_line = pem.lines().nth(2).unwrap();
        let variants = [
            (
                "indented",
                pem.lines().map(|l| format!("    {l}\n")).collect(),
            ),
            (
                "trailing blanks",
                pem.lines().map(|l| format!("{l} \t\r\n")).collect(),
            ),
            ("line breaks as spaces", pem.trim().replace('\n', " ")),
            ("body on one line", format!("{begin}\n{body}\n{end}\n")),
            (
                "blank line inside",
                pem.replacen(second_line, &format!("\n  \n{second_line}"), 1),
            ),
            ("all at once", format!("  {begin}   {body}\t{end}  ")),
        ];
        for (damage, damaged) in variants {
            assert_ne!(&damaged, pem);
            let result = Credentials::private_key_pem(CLIENT_ID, KEY_ID, &damaged);
            assert!(result.is_ok(), "{damage}: {}", result.unwrap_err());
        }
    }
}

/// Some tools write the public key before the private key; the curve parameters may come first
/// too. The private key is found; a file with only a public key says so.
#[test]
fn a_pem_with_the_public_key_first_is_accepted() {
    let key = test_key();
    let params = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n";
    for pem in [
        format!("{}{}", key.public_pem, key.pkcs8_pem),
        format!("{}{params}{}", key.public_pem, key.sec1_pem),
        format!("{params}{}{}", key.public_pem, key.sec1_pem),
    ] {
        let result = Credentials::private_key_pem(CLIENT_ID, KEY_ID, &pem);
        assert!(result.is_ok(), "{}", result.unwrap_err());
    }
    for pem in [
        key.public_pem.clone(),
        format!("{params}{}", key.public_pem),
    ] {
        let err = Credentials::private_key_pem(CLIENT_ID, KEY_ID, &pem).unwrap_err();
        assert!(
            err.to_string()
                .contains("this is a public key (`PUBLIC KEY`); the private key is needed"),
            "{err}"
        );
    }
}

/// A passphrase-protected key in OpenSSL's legacy form says it is encrypted and how to decrypt
/// it, in whatever whitespace it arrives, without quoting it.
#[test]
fn an_encrypted_legacy_pem_says_it_is_encrypted() {
    for pem in [
        ENCRYPTED_SEC1.to_owned(),
        ENCRYPTED_SEC1.trim().replace('\n', " "),
    ] {
        let err = Credentials::private_key_pem(CLIENT_ID, KEY_ID, &pem).unwrap_err();
        assert!(matches!(err, Error::MalformedKey { .. }), "{err:?}");
        let text = format!("{err} {err:?}");
        assert!(
            text.contains("encrypted with a passphrase") && text.contains("openssl ec"),
            "{text}"
        );
        assert!(
            !text.contains("AB4BB5F8") && !text.contains("Ox0ukidH"),
            "{text}"
        );
    }
}
