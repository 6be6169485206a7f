//! The application's credentials: a client secret or a private key, checked when they are created.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};

use crate::assertion::AssertionSigner;
use crate::environment::ApiBase;
use crate::key::{MAX_KEY_TEXT, p256_pkcs8_der};
use crate::{Environment, Error};

/// Environment variable with the OAuth client id (all flows).
pub const ENV_CLIENT_ID: &str = "HM_CLIENT_ID";
/// Environment variable with the client secret (client-secret flow).
pub const ENV_CLIENT_SECRET: &str = "HM_CLIENT_SECRET";
/// Environment variable with the path of the JSON key file from the console (JWT flow).
pub const ENV_PRIVATE_KEY_FILE: &str = "HM_PRIVATE_KEY_FILE";
/// Environment variable with the path of a PEM private key (JWT flow, with [`ENV_KEY_ID`]).
pub const ENV_PRIVATE_KEY_PEM_FILE: &str = "HM_PRIVATE_KEY_PEM_FILE";
/// Environment variable with a PEM private key itself (JWT flow, with [`ENV_KEY_ID`]).
pub const ENV_PRIVATE_KEY_PEM: &str = "HM_PRIVATE_KEY_PEM";
/// Environment variable with the private key's id, needed with a PEM key.
pub const ENV_KEY_ID: &str = "HM_KEY_ID";

/// The credentials of one High Mobility application.
///
/// Either a client secret, or a private key with its key id (JWT client assertion, ES256).
/// Every constructor validates its input, so a wrong path or a wrong key is reported here,
/// not when the first request fails. `Debug` never shows the secret or the key.
#[derive(Clone)]
pub struct Credentials {
    client_id: String,
    kind: Kind,
}

#[derive(Clone)]
pub(crate) enum Kind {
    Secret(Arc<SecretString>),
    Key(AssertionSigner),
}

/// Which token flow a set of credentials uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// `client_id` + `client_secret`.
    ClientSecret,
    /// `client_id` + a JWT assertion signed with the private key (ES256).
    JwtAssertion,
}

impl Flow {
    /// A short name for logs: `client_secret` or `jwt_assertion`.
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::ClientSecret => "client_secret",
            Flow::JwtAssertion => "jwt_assertion",
        }
    }
}

impl Credentials {
    /// Client id and client secret, as shown in the High Mobility console.
    pub fn client_secret(
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
    ) -> Result<Self, Error> {
        let client_id = checked_client_id(client_id.into())?;
        let secret = checked_client_secret(client_secret.into())?;
        Ok(Credentials {
            client_id,
            kind: Kind::Secret(Arc::new(secret)),
        })
    }

    /// Client id and the JSON key file downloaded from the console (fields `id` and `private_key`).
    pub fn private_key_file(
        client_id: impl Into<String>,
        path: impl AsRef<Path>,
    ) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = Zeroizing::new(read_key_file("key file", path)?);
        Self::from_console_json(client_id.into(), &text, path)
    }

    /// Client id and the contents of the console's JSON key file.
    pub fn private_key_json(client_id: impl Into<String>, json: &str) -> Result<Self, Error> {
        Self::from_console_json(client_id.into(), json, Path::new("<key JSON>"))
    }

    /// Client id, key id and a PEM private key (PKCS#8 `BEGIN PRIVATE KEY` or SEC1 `BEGIN EC PRIVATE KEY`).
    pub fn private_key_pem(
        client_id: impl Into<String>,
        key_id: impl Into<String>,
        pem: &str,
    ) -> Result<Self, Error> {
        Self::from_pem(client_id.into(), key_id.into(), pem, "the PEM private key")
    }

    /// Client id, key id and the path of a PEM private key file.
    pub fn private_key_pem_file(
        client_id: impl Into<String>,
        key_id: impl Into<String>,
        path: impl AsRef<Path>,
    ) -> Result<Self, Error> {
        let path = path.as_ref();
        let pem = Zeroizing::new(read_key_file("PEM key file", path)?);
        let origin = format!("PEM key file {}", path.display());
        Self::from_pem(client_id.into(), key_id.into(), &pem, &origin)
    }

    /// Reads credentials from the process environment.
    ///
    /// `HM_CLIENT_ID` and exactly one of: `HM_CLIENT_SECRET`; `HM_PRIVATE_KEY_FILE` (console JSON
    /// key file); `HM_PRIVATE_KEY_PEM_FILE` or `HM_PRIVATE_KEY_PEM` together with `HM_KEY_ID`.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`Credentials::from_env`], but reads variables through `lookup` (useful in tests and for
    /// configuration systems that are not the process environment).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let problem = |problem: String| Error::Environment { problem };

        let client_id =
            get(ENV_CLIENT_ID).ok_or_else(|| problem(format!("{ENV_CLIENT_ID} is not set")))?;
        let secret = get(ENV_CLIENT_SECRET);
        let key_file = get(ENV_PRIVATE_KEY_FILE);
        let pem_file = get(ENV_PRIVATE_KEY_PEM_FILE);
        let pem = get(ENV_PRIVATE_KEY_PEM);

        let set: Vec<&str> = [
            (ENV_CLIENT_SECRET, secret.is_some()),
            (ENV_PRIVATE_KEY_FILE, key_file.is_some()),
            (ENV_PRIVATE_KEY_PEM_FILE, pem_file.is_some()),
            (ENV_PRIVATE_KEY_PEM, pem.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, present)| present.then_some(name))
        .collect();
        if set.len() > 1 {
            return Err(problem(format!(
                "{} are all set, which is ambiguous",
                set.join(" and ")
            )));
        }

        let key_id = || {
            get(ENV_KEY_ID).ok_or_else(|| {
                problem(format!(
                    "{ENV_KEY_ID} is needed with a PEM key but is not set"
                ))
            })
        };
        if let Some(secret) = secret {
            Self::client_secret(client_id, secret)
        } else if let Some(path) = key_file {
            Self::private_key_file(client_id, path)
        } else if let Some(path) = pem_file {
            Self::private_key_pem_file(client_id, key_id()?, path)
        } else if let Some(pem) = pem {
            Self::from_pem(client_id, key_id()?, &pem, ENV_PRIVATE_KEY_PEM)
        } else {
            Err(problem("no client secret or private key is set".to_owned()))
        }
    }

    /// The OAuth client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The token flow these credentials use.
    pub fn flow(&self) -> Flow {
        match self.kind {
            Kind::Secret(_) => Flow::ClientSecret,
            Kind::Key(_) => Flow::JwtAssertion,
        }
    }

    /// The private key's id (the assertion's `iss`), for key credentials.
    pub fn key_id(&self) -> Option<&str> {
        match &self.kind {
            Kind::Secret(_) => None,
            Kind::Key(signer) => Some(signer.key_id()),
        }
    }

    /// A fresh JWT client assertion for `environment`, as the next token request would send it
    /// (`None` for client-secret credentials). Useful to debug a key with the API by hand.
    pub fn client_assertion(
        &self,
        environment: &Environment,
    ) -> Result<Option<SecretString>, Error> {
        match &self.kind {
            Kind::Secret(_) => Ok(None),
            Kind::Key(signer) => {
                let base = ApiBase::new(&environment.base_url())?;
                signer.sign(base.audience()).map(Some)
            }
        }
    }

    pub(crate) fn kind(&self) -> &Kind {
        &self.kind
    }

    fn from_console_json(client_id: String, json: &str, path: &Path) -> Result<Self, Error> {
        if json.len() > MAX_KEY_TEXT {
            return Err(Error::FileTooLarge {
                what: "key JSON",
                path: path.to_owned(),
                limit: MAX_KEY_TEXT,
            });
        }
        // Parse to a `Value` first: serde's typed errors can quote field values, and one of them is the key.
        let json = json.trim_start_matches('\u{feff}');
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| Error::KeyFileNotJson {
                path: path.to_owned(),
                detail: format!(
                    "{:?} error at line {} column {}",
                    e.classify(),
                    e.line(),
                    e.column()
                ),
            })?;
        let field = |name: &'static str| match value.get(name) {
            Some(serde_json::Value::String(text)) if !text.trim().is_empty() => Ok(text.as_str()),
            None | Some(serde_json::Value::Null) | Some(serde_json::Value::String(_)) => {
                Err(Error::KeyFileMissingField {
                    path: path.to_owned(),
                    field: name,
                })
            }
            Some(other) => Err(Error::KeyFileFieldNotString {
                path: path.to_owned(),
                field: name,
                found: json_type(other),
            }),
        };
        let key_id = field("id")?.to_owned();
        let pem = field("private_key")?;
        let origin = format!("the `private_key` of key file {}", path.display());
        Self::from_pem(client_id, key_id, pem, &origin)
    }

    fn from_pem(client_id: String, key_id: String, pem: &str, origin: &str) -> Result<Self, Error> {
        let client_id = checked_client_id(client_id)?;
        checked_text(
            &key_id,
            "the key id",
            "use the `id` of the key from the High Mobility console (not the client id)",
        )?;
        let der = p256_pkcs8_der(pem, origin)?;
        let signer = AssertionSigner::new(key_id, der)?;
        Ok(Credentials {
            client_id,
            kind: Kind::Key(signer),
        })
    }
}

const FROM_CONSOLE: &str =
    "copy it from the application's OAuth settings in the High Mobility console";

fn checked_client_id(client_id: String) -> Result<String, Error> {
    checked_text(&client_id, "the client id", FROM_CONSOLE)?;
    Ok(client_id)
}

fn checked_client_secret(secret: SecretString) -> Result<SecretString, Error> {
    checked_text(secret.expose_secret(), "the client secret", FROM_CONSOLE)?;
    Ok(secret)
}

/// Refuses an empty value, and one with surrounding whitespace: the server compares ids and
/// secrets byte for byte, so a copied line break would fail later with a confusing rejection.
fn checked_text(text: &str, what: &'static str, remedy: &'static str) -> Result<(), Error> {
    if text.trim().is_empty() {
        return Err(Error::EmptyField { what, remedy });
    }
    if text.trim() != text {
        return Err(Error::SurroundingWhitespace { what });
    }
    Ok(())
}

fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Reads a key file as text: at most [`MAX_KEY_TEXT`] bytes (so `/dev/zero` or a log file given
/// by mistake fails at once), without a leading byte order mark. Like ssh, warns when the file is
/// readable by other users.
fn read_key_file(what: &'static str, path: &Path) -> Result<String, Error> {
    let read_error = |source: std::io::Error| Error::ReadFile {
        what,
        path: PathBuf::from(path),
        source: Arc::new(source),
    };
    let file = open_without_waiting(path).map_err(read_error)?;
    warn_if_shared(&file, path);
    let is_pipe = is_pipe(&file);
    let mut bytes = Vec::new();
    file.take(MAX_KEY_TEXT as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    let bytes = Zeroizing::new(bytes);
    if bytes.is_empty() {
        let reason = if is_pipe {
            "it is a named pipe and nothing wrote to it (was the process that provides the key started?)"
        } else {
            "the file is empty"
        };
        return Err(read_error(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            reason,
        )));
    }
    if bytes.len() > MAX_KEY_TEXT {
        return Err(Error::FileTooLarge {
            what,
            path: PathBuf::from(path),
            limit: MAX_KEY_TEXT,
        });
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is not UTF-8 text",
        ))
    })?;
    Ok(text.trim_start_matches('\u{feff}').to_owned())
}

/// Opens `path` for reading without waiting for a writer: `open` on a named pipe that nothing
/// has opened for writing (e.g. a secret a sidecar has not provided yet) would block forever.
/// Reads block as usual afterwards, so a pipe with a writer (`<(vault read ...)`) is read whole,
/// and one without reads as empty.
#[cfg(unix)]
fn open_without_waiting(path: &Path) -> std::io::Result<std::fs::File> {
    use rustix::fs::OFlags;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(OFlags::NONBLOCK.bits() as i32)
        .open(path)?;
    let flags = rustix::fs::fcntl_getfl(&file)?;
    rustix::fs::fcntl_setfl(&file, flags - OFlags::NONBLOCK)?;
    Ok(file)
}

#[cfg(not(unix))]
fn open_without_waiting(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

#[cfg(unix)]
fn is_pipe(file: &std::fs::File) -> bool {
    use std::os::unix::fs::FileTypeExt;
    file.metadata().is_ok_and(|m| m.file_type().is_fifo())
}

#[cfg(not(unix))]
fn is_pipe(_file: &std::fs::File) -> bool {
    false
}

#[cfg(unix)]
fn warn_if_shared(file: &std::fs::File, path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(metadata) = file.metadata() else {
        return;
    };
    let mode = metadata.permissions().mode();
    if metadata.is_file() && mode & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{:o}", mode & 0o777),
            "the private key file is accessible by other users; restrict it with `chmod 600 {}`",
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_file: &std::fs::File, _path: &Path) {}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Credentials");
        s.field("client_id", &self.client_id);
        match &self.kind {
            Kind::Secret(_) => s.field("client_secret", &"[REDACTED]"),
            Kind::Key(signer) => s
                .field("key_id", &signer.key_id())
                .field("private_key", &"[REDACTED]"),
        };
        s.finish()
    }
}
