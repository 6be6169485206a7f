//! Named profiles from the config file: environment, client id and where the credential is.
//!
//! The file never holds a secret in clear text: a profile names a file (`client_secret_file`,
//! `key_file`, `key_pem_file`) or an environment variable (`client_secret_env`). The OS keyring is
//! not supported: every Rust keyring crate needs D-Bus (Secret Service) or a desktop session on
//! Linux, which servers running `hm` rarely have.
//!
//! ```toml
//! default_profile = "emulator"
//!
//! [profiles.emulator]
//! environment = "http://127.0.0.1:4000"
//! client_id = "hm-emulator-demo-client"
//! client_secret_env = "HM_DEMO_SECRET"
//!
//! [profiles.production]
//! environment = "production"
//! client_id = "0c7e...-..."
//! key_file = "~/.config/hm/private-key.json"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::CliError;

/// The config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The profile used when neither `--profile` nor `HM_PROFILE` names one.
    pub default_profile: Option<String>,
    /// The profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// One profile. Paths may start with `~/`; relative paths are relative to the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// `sandbox`, `production` or a base URL.
    pub environment: Option<String>,
    /// The OAuth client id.
    pub client_id: Option<String>,
    /// A file holding the client secret.
    pub client_secret_file: Option<PathBuf>,
    /// The name of an environment variable holding the client secret.
    pub client_secret_env: Option<String>,
    /// The console's JSON key file.
    pub key_file: Option<PathBuf>,
    /// A PEM private key file (needs `key_id`).
    pub key_pem_file: Option<PathBuf>,
    /// The private key's id.
    pub key_id: Option<String>,
    /// Refused with a clear message: secrets are not stored in the config file.
    client_secret: Option<toml::Value>,
    /// Refused with a clear message: secrets are not stored in the config file.
    private_key: Option<toml::Value>,
}

/// Where the config file is: `HM_CONFIG`, else `$XDG_CONFIG_HOME/hm/config.toml`, else
/// `~/.config/hm/config.toml`.
pub fn config_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("HM_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".config")))?;
    Some(base.join("hm").join("config.toml"))
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// The selected profile: `explicit` (from `--profile`/`HM_PROFILE`) or the file's default one.
/// No file and no explicit profile is no profile; an explicit profile that does not exist is an error.
pub fn load(explicit: Option<&str>) -> Result<Option<(String, Profile)>, CliError> {
    let Some(path) = config_path() else {
        return match explicit {
            Some(name) => Err(CliError::Usage(format!(
                "profile `{name}`: no config file (set HM_CONFIG or HOME)"
            ))),
            None => Ok(None),
        };
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => {
            return Ok(None);
        }
        Err(e) => {
            return Err(CliError::Usage(format!(
                "cannot read the config file {}: {e}; create it with a [profiles.NAME] table \
                 (see `hm --help` and the README)",
                path.display()
            )));
        }
    };
    let file: ConfigFile = toml::from_str(&text).map_err(|e| {
        CliError::Usage(format!(
            "config file {} is not valid: {}",
            path.display(),
            e.to_string().trim_end()
        ))
    })?;
    // A secret in clear text is refused wherever it is, not only in the profile in use: the file
    // is read on every run, and a secret in it is one `cat` away from a log or a screen share.
    let leaky: Vec<&str> = file
        .profiles
        .iter()
        .filter(|(_, p)| p.client_secret.is_some() || p.private_key.is_some())
        .map(|(name, _)| name.as_str())
        .collect();
    if !leaky.is_empty() {
        return Err(CliError::Usage(format!(
            "profile(s) `{}` in {} hold a secret in clear text, which hm refuses to read: move it \
             to a file readable only by you and name it with `client_secret_file` (or `key_file`), \
             or name an environment variable with `client_secret_env`",
            leaky.join("`, `"),
            path.display()
        )));
    }
    let Some(name) = explicit.map(str::to_owned).or(file.default_profile.clone()) else {
        return Ok(None);
    };
    let Some(profile) = file.profiles.get(&name) else {
        let names: Vec<&str> = file.profiles.keys().map(String::as_str).collect();
        let suggestion = crate::vocab::did_you_mean(&name, names.iter().copied())
            .map(|n| format!("did you mean `{n}`? "))
            .unwrap_or_default();
        return Err(CliError::Usage(format!(
            "no profile `{name}` in {}; {suggestion}profiles there: {}",
            path.display(),
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        )));
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let resolve = |p: &Option<PathBuf>| p.as_ref().map(|p| resolve_path(p, dir));
    let mut resolved = profile.clone();
    resolved.client_secret_file = resolve(&profile.client_secret_file);
    resolved.key_file = resolve(&profile.key_file);
    resolved.key_pem_file = resolve(&profile.key_pem_file);
    Ok(Some((name, resolved)))
}

fn resolve_path(path: &Path, dir: &Path) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~")
        && let Some(home) = home()
    {
        return home.join(rest);
    }
    if path.is_relative() {
        dir.join(path)
    } else {
        path.to_owned()
    }
}
