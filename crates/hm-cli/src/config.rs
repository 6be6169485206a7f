//! Turns flags and environment variables into credentials, an environment and an API client.

use clap::ArgMatches;
use clap::parser::ValueSource;
use hm_auth::{Authenticator, Credentials, Environment};

use crate::cli::ConnectionArgs;
use crate::error::CliError;

/// Whether argument `id` was given on the command line (at any subcommand level), not by the environment.
pub fn from_command_line(matches: &ArgMatches, id: &str) -> bool {
    let here = matches.try_get_raw(id).ok().flatten().is_some()
        && matches.value_source(id) == Some(ValueSource::CommandLine);
    here || matches
        .subcommand()
        .is_some_and(|(_, sub)| from_command_line(sub, id))
}

/// The environment named by `--env` / `HM_ENVIRONMENT`; sandbox when neither is set.
pub fn environment(args: &ConnectionArgs) -> Result<Environment, CliError> {
    match args.environment.as_deref() {
        None => Ok(Environment::Sandbox),
        Some(text) => text.parse().map_err(|e: hm_auth::Error| {
            CliError::Usage(format!(
                "--env/HM_ENVIRONMENT: {e}; use sandbox, production or a base URL"
            ))
        }),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Secret,
    KeyFile,
    PemFile,
    PemText,
}

impl Kind {
    fn id(self) -> &'static str {
        match self {
            Kind::Secret => "client_secret",
            Kind::KeyFile => "key_file",
            Kind::PemFile => "key_pem",
            Kind::PemText => "key_pem_text",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Secret => "--client-secret/HM_CLIENT_SECRET",
            Kind::KeyFile => "--key-file/HM_PRIVATE_KEY_FILE",
            Kind::PemFile => "--key-pem/HM_PRIVATE_KEY_PEM_FILE",
            Kind::PemText => "HM_PRIVATE_KEY_PEM",
        }
    }
}

const HOW: &str = "give --client-id (HM_CLIENT_ID) and one of --client-secret (HM_CLIENT_SECRET), \
     --key-file (HM_PRIVATE_KEY_FILE, the console's JSON key file) or --key-pem with --key-id \
     (HM_PRIVATE_KEY_PEM_FILE, HM_KEY_ID); try `hm demo` to see the flow without an account";

/// Credentials from flags and environment variables; a credential given as a flag wins over one
/// from the environment, two of the same origin are a usage error.
pub fn credentials(args: &ConnectionArgs, matches: &ArgMatches) -> Result<Credentials, CliError> {
    let client_id = args
        .client_id
        .clone()
        .ok_or_else(|| CliError::Usage(format!("no client id: {HOW}")))?;
    let given = |kind: Kind| match kind {
        Kind::Secret => args.client_secret.is_some(),
        Kind::KeyFile => args.key_file.is_some(),
        Kind::PemFile => args.key_pem.is_some(),
        Kind::PemText => args.key_pem_text.is_some(),
    };
    let all = [Kind::Secret, Kind::KeyFile, Kind::PemFile, Kind::PemText];
    let present: Vec<Kind> = all.into_iter().filter(|k| given(*k)).collect();
    let flags: Vec<Kind> = present
        .iter()
        .copied()
        .filter(|k| from_command_line(matches, k.id()))
        .collect();
    let chosen = if flags.is_empty() { present } else { flags };
    let kind = match chosen.as_slice() {
        [] => {
            return Err(CliError::Usage(format!(
                "no client secret or private key: {HOW}"
            )));
        }
        [one] => *one,
        many => {
            let names: Vec<&str> = many.iter().map(|k| k.name()).collect();
            return Err(CliError::Usage(format!(
                "more than one credential given ({}): use exactly one",
                names.join(", ")
            )));
        }
    };
    let key_id = || {
        args.key_id.clone().ok_or_else(|| {
            CliError::Usage(
                "a PEM key needs its key id: give --key-id (HM_KEY_ID), the `id` shown in the console".into(),
            )
        })
    };
    let credentials = match kind {
        Kind::Secret => {
            Credentials::client_secret(client_id, args.client_secret.clone().unwrap_or_default())?
        }
        Kind::KeyFile => {
            Credentials::private_key_file(client_id, args.key_file.clone().unwrap_or_default())?
        }
        Kind::PemFile => Credentials::private_key_pem_file(
            client_id,
            key_id()?,
            args.key_pem.clone().unwrap_or_default(),
        )?,
        Kind::PemText => Credentials::private_key_pem(
            client_id,
            key_id()?,
            args.key_pem_text.as_deref().unwrap_or_default(),
        )?,
    };
    Ok(credentials)
}

/// An authenticator and the typed client, ready to call.
pub struct Session {
    /// The token source.
    pub auth: Authenticator,
    /// Every API.
    pub hm: hm_api::HighMobility,
}

impl Session {
    /// Builds a session from flags and environment variables.
    pub fn from_args(args: &ConnectionArgs, matches: &ArgMatches) -> Result<Self, CliError> {
        let environment = environment(args)?;
        let credentials = credentials(args, matches)?;
        Self::new(credentials, environment)
    }

    /// Builds a session from credentials and an environment.
    pub fn new(credentials: Credentials, environment: Environment) -> Result<Self, CliError> {
        let auth = Authenticator::builder(credentials, environment).build()?;
        let hm =
            hm_api::HighMobility::new(auth.clone()).map_err(|e| CliError::Other(e.to_string()))?;
        Ok(Session { auth, hm })
    }

    /// Obtains a token first, so that a credential problem is reported as one (exit code 3)
    /// rather than as the failure of the API call that needed it.
    pub async fn authenticate(&self) -> Result<hm_auth::AccessToken, CliError> {
        Ok(self.auth.access_token().await?)
    }
}
