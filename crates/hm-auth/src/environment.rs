//! Which High Mobility API the authenticator talks to, and the checks that keep tokens on that origin.

use std::fmt;
use std::str::FromStr;

use url::{Host, Url};

use crate::Error;

const SANDBOX: &str = "https://sandbox.api.high-mobility.com";
const PRODUCTION: &str = "https://api.high-mobility.com";

/// The API a token is for: High Mobility's sandbox, production, or any other base URL
/// (the local emulator, a mock server).
///
/// ```
/// use hm_auth::Environment;
/// assert_eq!(Environment::Sandbox.base_url().as_str(), "https://sandbox.api.high-mobility.com/");
/// let local: Environment = "http://127.0.0.1:4000".parse().unwrap();
/// assert_eq!(local.base_url().port(), Some(4000));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum Environment {
    /// `https://sandbox.api.high-mobility.com`
    Sandbox,
    /// `https://api.high-mobility.com`
    Production,
    /// Any base URL; `/v1/...` is appended to it. Plain `http` is accepted only for loopback hosts.
    Custom(Url),
}

impl Environment {
    /// Parses `sandbox`, `production` or a base URL, and checks the URL as [`Authenticator::builder`](crate::Authenticator::builder) would.
    pub fn custom(url: &str) -> Result<Self, Error> {
        let parsed = Url::parse(url).map_err(|e| Error::InvalidBaseUrl {
            url: without_user_info(url),
            reason: format!(
                "{e}; expected an absolute URL such as https://sandbox.api.high-mobility.com"
            ),
        })?;
        ApiBase::new(&parsed)?;
        Ok(Environment::Custom(parsed))
    }

    /// Reads `HM_ENVIRONMENT` (`sandbox`, `production` or a base URL); `sandbox` when unset.
    pub fn from_env() -> Result<Self, Error> {
        match std::env::var("HM_ENVIRONMENT") {
            Ok(value) => value.parse(),
            Err(_) => Ok(Environment::Sandbox),
        }
    }

    /// The base URL, e.g. `https://sandbox.api.high-mobility.com/`.
    pub fn base_url(&self) -> Url {
        match self {
            Environment::Sandbox => Url::parse(SANDBOX).expect("the sandbox URL constant is valid"),
            Environment::Production => {
                Url::parse(PRODUCTION).expect("the production URL constant is valid")
            }
            Environment::Custom(url) => url.clone(),
        }
    }
}

impl FromStr for Environment {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim() {
            "sandbox" => Ok(Environment::Sandbox),
            "production" => Ok(Environment::Production),
            other => Environment::custom(other),
        }
    }
}

impl From<Url> for Environment {
    fn from(url: Url) -> Self {
        Environment::Custom(url)
    }
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Environment::Sandbox => f.write_str("Sandbox"),
            Environment::Production => f.write_str("Production"),
            // Only the origin and path: a URL could carry user info, which has no business in logs.
            Environment::Custom(url) => write!(
                f,
                "Custom({}{})",
                url.origin().ascii_serialization(),
                url.path()
            ),
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.base_url();
        write!(
            f,
            "{}{}",
            url.origin().ascii_serialization(),
            url.path().trim_end_matches('/')
        )
    }
}

/// A checked base URL: where tokens come from and the only origin they are sent to.
#[derive(Debug, Clone)]
pub(crate) struct ApiBase {
    /// The origin's parts, compared without allocating (this runs for every request).
    scheme: String,
    host: String,
    port: Option<u16>,
    /// `{base}/v1`, which is also the assertion's `aud`.
    v1: String,
    token_endpoint: Url,
}

impl ApiBase {
    pub(crate) fn new(url: &Url) -> Result<Self, Error> {
        let refuse = |reason: String| Error::InvalidBaseUrl {
            url: without_user_info(url.as_str()),
            reason,
        };
        let host = url
            .host()
            .ok_or_else(|| refuse("it has no host".to_owned()))?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            "http" => {
                return Err(refuse(
                    "plain http would send credentials and tokens unencrypted; use https (http is \
                     accepted only for loopback hosts such as 127.0.0.1, localhost or [::1])"
                        .to_owned(),
                ));
            }
            other => {
                return Err(refuse(format!(
                    "scheme `{other}` is not supported; use https"
                )));
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse(
                "it must not contain user info; credentials are passed separately".to_owned(),
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(refuse("it must not have a query or fragment".to_owned()));
        }
        // `https://user:12/pw@host` parses as host `user`, port 12 and a path with the rest of
        // the password in it.
        if url.path().contains('@') {
            return Err(refuse(
                "its path contains `@`; if that is user info (`user:password@host`), remove it: \
                 credentials are passed separately"
                    .to_owned(),
            ));
        }
        let origin = url.origin().ascii_serialization();
        let v1 = format!("{origin}{}/v1", url.path().trim_end_matches('/'));
        let token_endpoint = Url::parse(&format!("{v1}/access_tokens"))
            .map_err(|e| refuse(format!("no token endpoint can be derived from it ({e})")))?;
        Ok(ApiBase {
            scheme: url.scheme().to_owned(),
            host: url.host_str().unwrap_or_default().to_owned(),
            port: url.port_or_known_default(),
            v1,
            token_endpoint,
        })
    }

    /// `{base}/v1/access_tokens`.
    pub(crate) fn token_endpoint(&self) -> Url {
        self.token_endpoint.clone()
    }

    /// `{base}/v1`, the audience of the JWT assertion.
    pub(crate) fn audience(&self) -> &str {
        &self.v1
    }

    /// Whether a request URL is on the API's origin (scheme, host and port all equal).
    pub(crate) fn is_same_origin(&self, url: &Url) -> bool {
        // Host serialisations are canonical (lower case, punycode, compressed IPv6), so equal
        // strings mean equal hosts.
        url.scheme() == self.scheme
            && url.port_or_known_default() == self.port
            && url.host_str() == Some(self.host.as_str())
    }
}

/// `url` with anything that may be user info (`user:password@`) replaced by `***@`, so that an
/// error or log line quoting a base URL cannot disclose a password. Works on text that does not
/// parse as a URL too. Everything up to the *last* `@` is hidden: a password typed without
/// percent-encoding may hold `@`, `/`, `?` or `#`, so where the authority ends cannot be told.
fn without_user_info(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(at) => url.split_at(at + 3),
        None => ("", url),
    };
    match rest.rfind('@') {
        Some(at) => format!("{scheme}***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_and_endpoint_follow_the_base_url() {
        let base = ApiBase::new(&Environment::Sandbox.base_url()).expect("sandbox");
        assert_eq!(base.audience(), "https://sandbox.api.high-mobility.com/v1");
        assert_eq!(
            base.token_endpoint().as_str(),
            "https://sandbox.api.high-mobility.com/v1/access_tokens"
        );
        let local = Environment::custom("http://127.0.0.1:4000/").expect("loopback");
        assert_eq!(
            ApiBase::new(&local.base_url()).expect("ok").audience(),
            "http://127.0.0.1:4000/v1"
        );
        let prefixed = Environment::custom("https://example.com/hm/").expect("https");
        assert_eq!(
            ApiBase::new(&prefixed.base_url()).expect("ok").audience(),
            "https://example.com/hm/v1"
        );
    }

    #[test]
    fn same_origin_means_scheme_host_and_port() {
        let base = ApiBase::new(&Environment::Production.base_url()).expect("production");
        let url = |s: &str| Url::parse(s).expect("url");
        assert!(base.is_same_origin(&url("https://api.high-mobility.com/v1/fleets/vehicles")));
        assert!(base.is_same_origin(&url("https://api.high-mobility.com:443/v1")));
        assert!(!base.is_same_origin(&url("http://api.high-mobility.com/v1")));
        assert!(!base.is_same_origin(&url("https://api.high-mobility.com:8443/v1")));
        assert!(!base.is_same_origin(&url("https://api.high-mobility.com.evil.example/v1")));
        assert!(!base.is_same_origin(&url("https://sandbox.api.high-mobility.com/v1")));
        assert!(base.is_same_origin(&url("HTTPS://API.High-Mobility.COM/v1")));
        let loopback = ApiBase::new(&url("http://[::1]:4000/")).expect("loopback");
        assert!(loopback.is_same_origin(&url("http://[0:0:0:0:0:0:0:1]:4000/v1")));
        assert!(!loopback.is_same_origin(&url("http://127.0.0.1:4000/v1")));
        assert!(!loopback.is_same_origin(&url("http://[::1]:4001/v1")));
    }

    #[test]
    fn names_parse_and_user_info_is_refused() {
        assert_eq!(
            "sandbox".parse::<Environment>().ok(),
            Some(Environment::Sandbox)
        );
        assert_eq!(
            "production".parse::<Environment>().ok(),
            Some(Environment::Production)
        );
        assert!(Environment::custom("https://user:pw@api.high-mobility.com").is_err());
        assert_eq!(
            without_user_info("https://user:pw@host:8/p"),
            "https://***@host:8/p"
        );
        assert_eq!(without_user_info("user:pw@host"), "***@host");
        assert_eq!(
            without_user_info("https://user:p/w@host"),
            "https://***@host"
        );
        assert_eq!(without_user_info("https://host/p"), "https://host/p");
        assert!(Environment::custom("not a url").is_err());
        assert_eq!(
            format!("{}", Environment::Production),
            "https://api.high-mobility.com"
        );
    }
}
