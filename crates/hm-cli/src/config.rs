//! Turns flags, environment variables and the profile into credentials, an environment and a
//! session. Precedence: command-line flag, then environment variable, then profile.

use std::path::Path;
use std::time::Duration;

use clap::ArgMatches;
use clap::parser::ValueSource;
use hm_auth::{Credentials, Environment};
use secrecy::{ExposeSecret, SecretString};

use crate::cli::ConnectionArgs;
use crate::error::CliError;
use crate::profile::{self, Profile};
use crate::vocab::{ENVIRONMENTS, did_you_mean};

/// `--timeout` when not given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// `--timeout` when not given, for commands that wait for clearances.
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(3600);

/// Where a setting came from.
#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
enum Origin {
    Flag,
    Env,
    Profile,
}

/// Whether argument `id` was given on the command line (at any subcommand level), not by the environment.
fn from_command_line(matches: &ArgMatches, id: &str) -> bool {
    let here = matches.try_get_raw(id).ok().flatten().is_some()
        && matches.value_source(id) == Some(ValueSource::CommandLine);
    here || matches
        .subcommand()
        .is_some_and(|(_, sub)| from_command_line(sub, id))
}

/// Parses `--env`: `sandbox`, `production` or a base URL; typos and addresses without a scheme
/// get a suggestion.
pub fn parse_environment(text: &str) -> Result<Environment, CliError> {
    let trimmed = text.trim();
    let lower = trimmed.to_ascii_lowercase();
    match lower.as_str() {
        "sandbox" => return Ok(Environment::Sandbox),
        "production" => return Ok(Environment::Production),
        _ => {}
    }
    if trimmed.contains("://") {
        return Environment::custom(trimmed)
            .map_err(|e| CliError::Usage(format!("--env/HM_ENVIRONMENT: {e}")));
    }
    let looks_like_address = trimmed.contains('.')
        || trimmed.contains(':')
        || lower.starts_with("localhost")
        || lower.starts_with("[::1]");
    let suggestion = if looks_like_address {
        let host = lower.split([':', '/']).next().unwrap_or("");
        let loopback =
            host == "localhost" || host.starts_with("127.") || lower.starts_with("[::1]");
        let scheme = if loopback { "http" } else { "https" };
        format!("did you mean {scheme}://{trimmed}? ")
    } else {
        did_you_mean(&lower, ENVIRONMENTS.iter().copied())
            .map(|e| format!("did you mean `{e}`? "))
            .unwrap_or_default()
    };
    Err(CliError::Usage(format!(
        "--env/HM_ENVIRONMENT: `{text}` is not an environment; {suggestion}use sandbox, production \
         or a base URL with its scheme, e.g. http://127.0.0.1:4000"
    )))
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Secret,
    SecretFile,
    SecretEnv,
    KeyFile,
    PemFile,
    PemText,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Secret => "--client-secret/HM_CLIENT_SECRET",
            Kind::SecretFile => "--client-secret-file/HM_CLIENT_SECRET_FILE",
            Kind::SecretEnv => "client_secret_env",
            Kind::KeyFile => "--key-file/HM_PRIVATE_KEY_FILE",
            Kind::PemFile => "--key-pem/HM_PRIVATE_KEY_PEM_FILE",
            Kind::PemText => "HM_PRIVATE_KEY_PEM",
        }
    }
}

const HOW: &str = "give --client-id (HM_CLIENT_ID) and one of --client-secret-file, --client-secret \
     (HM_CLIENT_SECRET), --key-file (HM_PRIVATE_KEY_FILE, the console's JSON key file) or --key-pem \
     with --key-id, or choose a profile with --profile; try `hm demo` to see the flow without an account";

/// The settings of one command after flags, environment and profile are merged.
pub struct Resolved {
    /// The API environment.
    pub environment: Environment,
    /// The credentials.
    pub credentials: Credentials,
    /// Things the user should fix (e.g. a secret file readable by others).
    pub warnings: Vec<String>,
    /// The client secret, if that is the credential (to redact it should a server reflect it).
    pub secret: Option<SecretString>,
}

/// The connection settings that apply: with a profile named explicitly (`--profile` or
/// `HM_PROFILE`), environment variables do not reach into it, so that a stale `HM_ENVIRONMENT`
/// or `HM_CLIENT_SECRET` in the shell cannot send the profile's credential elsewhere or replace
/// it; only flags typed on this command line still do.
fn effective(args: &ConnectionArgs, matches: &ArgMatches) -> ConnectionArgs {
    fn flag_only<T>(value: &mut Option<T>, matches: &ArgMatches, id: &str) {
        if !from_command_line(matches, id) {
            *value = None;
        }
    }
    let mut args = args.clone();
    if args.profile.is_some() {
        flag_only(&mut args.environment, matches, "environment");
        flag_only(&mut args.client_id, matches, "client_id");
        flag_only(&mut args.client_secret, matches, "client_secret");
        flag_only(&mut args.client_secret_file, matches, "client_secret_file");
        flag_only(&mut args.key_file, matches, "key_file");
        flag_only(&mut args.key_pem, matches, "key_pem");
        flag_only(&mut args.key_id, matches, "key_id");
    }
    args
}

/// `HM_PRIVATE_KEY_PEM`: read from the environment only (a flag would show the key in `ps`), and
/// not with an explicitly named profile.
fn pem_from_environment(args: &ConnectionArgs) -> Option<SecretString> {
    if args.profile.is_some() {
        return None;
    }
    std::env::var("HM_PRIVATE_KEY_PEM")
        .ok()
        .filter(|pem| !pem.is_empty())
        .map(SecretString::from)
}

fn environment_of(args: &ConnectionArgs, profile: &Profile) -> Result<Environment, CliError> {
    match args
        .environment
        .as_deref()
        .or(profile.environment.as_deref())
    {
        None => Ok(Environment::Sandbox),
        Some(text) => parse_environment(text),
    }
}

/// The environment a command will talk to (flag, environment variable, profile, else sandbox).
pub fn environment(args: &ConnectionArgs, matches: &ArgMatches) -> Result<Environment, CliError> {
    let args = effective(args, matches);
    let profile = profile::load(args.profile.as_deref())?;
    environment_of(
        &args,
        profile.as_ref().map_or(&Profile::default(), |(_, p)| p),
    )
}

/// A warning when a secret or key file can be read by other local users (as ssh warns).
fn loose_mode_warning(path: &Path, what: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    if path == Path::new("-") {
        return None;
    }
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        format!(
            "the {what} {} is readable by other users (mode {:03o}): restrict it with `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        )
    })
}

/// Merges flags, environment variables and the profile into credentials and an environment.
pub fn resolve(args: &ConnectionArgs, matches: &ArgMatches) -> Result<Resolved, CliError> {
    let args = &effective(args, matches);
    let profile = profile::load(args.profile.as_deref())?;
    let empty = Profile::default();
    let (profile_name, p) = match &profile {
        Some((name, p)) => (name.as_str(), p),
        None => ("", &empty),
    };
    let environment = environment_of(args, p)?;
    let client_id = args
        .client_id
        .clone()
        .or_else(|| p.client_id.clone())
        .ok_or_else(|| CliError::Usage(format!("no client id: {HOW}")))?;
    let pem_text = pem_from_environment(args);

    let origin_of = |id: &str| {
        if from_command_line(matches, id) {
            Origin::Flag
        } else {
            Origin::Env
        }
    };
    let mut found: Vec<(Kind, Origin)> = Vec::new();
    let mut from_args = |present: bool, kind: Kind, id: &str| {
        if present {
            found.push((kind, origin_of(id)));
        }
    };
    from_args(args.client_secret.is_some(), Kind::Secret, "client_secret");
    from_args(
        args.client_secret_file.is_some(),
        Kind::SecretFile,
        "client_secret_file",
    );
    from_args(args.key_file.is_some(), Kind::KeyFile, "key_file");
    from_args(args.key_pem.is_some(), Kind::PemFile, "key_pem");
    if pem_text.is_some() {
        found.push((Kind::PemText, Origin::Env));
    }
    for (present, kind) in [
        (p.client_secret_file.is_some(), Kind::SecretFile),
        (p.client_secret_env.is_some(), Kind::SecretEnv),
        (p.key_file.is_some(), Kind::KeyFile),
        (p.key_pem_file.is_some(), Kind::PemFile),
    ] {
        if present {
            found.push((kind, Origin::Profile));
        }
    }
    let Some(first) = found.iter().map(|(_, o)| *o).min() else {
        return Err(CliError::Usage(format!(
            "no client secret or private key: {HOW}"
        )));
    };
    let chosen: Vec<(Kind, Origin)> = found.into_iter().filter(|(_, o)| *o == first).collect();
    let (kind, origin) = match chosen.as_slice() {
        [one] => *one,
        many => {
            let names: Vec<&str> = many.iter().map(|(k, _)| k.name()).collect();
            let place = match first {
                Origin::Profile => format!(" in profile `{profile_name}`"),
                _ => String::new(),
            };
            return Err(CliError::Usage(format!(
                "more than one credential given{place} ({}): use exactly one",
                names.join(", ")
            )));
        }
    };
    let from_profile = origin == Origin::Profile;
    if from_profile && args.environment.is_some() {
        // A profile's credential goes only where the profile says it belongs.
        let own = environment_of(&ConnectionArgs::default(), p)?;
        if own != environment {
            return Err(CliError::Usage(format!(
                "profile `{profile_name}` holds the credential for {}, but --env/HM_ENVIRONMENT \
                 names {}: hm does not send a profile's credential elsewhere; unset \
                 HM_ENVIRONMENT (or drop --env), or give a credential for that environment",
                own.base_url(),
                environment.base_url()
            )));
        }
    }
    let key_id = || {
        args.key_id.clone().or_else(|| p.key_id.clone()).ok_or_else(|| {
            CliError::Usage(
                "a PEM key needs its key id: give --key-id (HM_KEY_ID), the `id` shown in the console"
                    .into(),
            )
        })
    };
    let mut warnings = Vec::new();
    let mut client_secret = None;
    let credentials = match kind {
        Kind::Secret => {
            let secret = args.client_secret.clone().unwrap_or_default();
            client_secret = Some(SecretString::from(secret.clone()));
            Credentials::client_secret(client_id, secret)?
        }
        Kind::SecretFile => {
            let path = if from_profile {
                p.client_secret_file.clone()
            } else {
                args.client_secret_file.clone()
            }
            .unwrap_or_default();
            warnings.extend(loose_mode_warning(&path, "client secret file"));
            let secret = read_secret_file(&path)?;
            let credentials = Credentials::client_secret(client_id, secret.expose_secret())?;
            client_secret = Some(secret);
            credentials
        }
        Kind::SecretEnv => {
            let name = p.client_secret_env.clone().unwrap_or_default();
            let secret = std::env::var(&name).map_err(|_| {
                CliError::Usage(format!(
                    "profile `{profile_name}`: the environment variable `{name}` (client_secret_env) \
                     is not set; export it, or name another one"
                ))
            })?;
            client_secret = Some(SecretString::from(secret.clone()));
            Credentials::client_secret(client_id, secret)?
        }
        Kind::KeyFile => {
            let path = if from_profile {
                p.key_file.clone()
            } else {
                args.key_file.clone()
            }
            .unwrap_or_default();
            warnings.extend(loose_mode_warning(&path, "key file"));
            Credentials::private_key_file(client_id, path)?
        }
        Kind::PemFile => {
            let path = if from_profile {
                p.key_pem_file.clone()
            } else {
                args.key_pem.clone()
            }
            .unwrap_or_default();
            warnings.extend(loose_mode_warning(&path, "PEM key file"));
            Credentials::private_key_pem_file(client_id, key_id()?, path)?
        }
        Kind::PemText => Credentials::private_key_pem(
            client_id,
            key_id()?,
            pem_text
                .as_ref()
                .map(ExposeSecret::expose_secret)
                .unwrap_or_default(),
        )?,
    };
    Ok(Resolved {
        environment,
        credentials,
        warnings,
        secret: client_secret,
    })
}

/// Reads a client secret from a file, or from stdin for `-`; the trailing line break is dropped.
fn read_secret_file(path: &Path) -> Result<SecretString, CliError> {
    let text = if path == Path::new("-") {
        crate::input::claim_stdin("the client secret")?;
        std::io::read_to_string(std::io::stdin()).map_err(|e| {
            CliError::Usage(format!("cannot read the client secret from stdin: {e}"))
        })?
    } else {
        std::fs::read_to_string(path).map_err(|e| {
            CliError::Usage(format!(
                "cannot read the client secret file {}: {e}; check the path and its permissions",
                path.display()
            ))
        })?
    };
    let secret = SecretString::from(text.trim_end_matches(['\r', '\n']).to_owned());
    if secret.expose_secret().trim().is_empty() {
        return Err(CliError::Usage(format!(
            "the client secret file {} is empty",
            path.display()
        )));
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environments_get_suggestions() {
        let typo = parse_environment("sandbx")
            .expect_err("refused")
            .to_string();
        assert!(typo.contains("did you mean `sandbox`?"), "{typo}");
        let bare = parse_environment("127.0.0.1:4000")
            .expect_err("refused")
            .to_string();
        assert!(
            bare.contains("did you mean http://127.0.0.1:4000?"),
            "{bare}"
        );
        let remote = parse_environment("api.example.com")
            .expect_err("refused")
            .to_string();
        assert!(remote.contains("https://api.example.com"), "{remote}");
        assert!(parse_environment("Production").is_ok());
        assert!(parse_environment("http://127.0.0.1:4000").is_ok());
    }
}
