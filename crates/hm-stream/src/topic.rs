//! Topic names: one topic per application and data environment, optionally shared by a group.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::Error;

/// Which vehicle data an application streams: from real vehicles or from the sandbox simulator.
///
/// Both come from the same broker; they differ in the topic (`live/...` or `sandbox/...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataEnvironment {
    /// Data of real vehicles: topic `live/level13/{application_id}`.
    Live,
    /// Data of sandbox (simulated) vehicles: topic `sandbox/level13/{application_id}`.
    Sandbox,
}

impl DataEnvironment {
    /// The topic's first level: `live` or `sandbox`.
    pub fn as_str(self) -> &'static str {
        match self {
            DataEnvironment::Live => "live",
            DataEnvironment::Sandbox => "sandbox",
        }
    }
}

impl fmt::Display for DataEnvironment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DataEnvironment {
    type Err = Error;

    /// `live` (or `production`, hm-auth's name for it) and `sandbox`, in any case.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "live" | "production" => Ok(DataEnvironment::Live),
            "sandbox" => Ok(DataEnvironment::Sandbox),
            _ => Err(Error::InvalidConfig {
                what: "data environment",
                value: s.to_owned(),
                reason: "expected `live` (or `production`) or `sandbox`".to_owned(),
            }),
        }
    }
}

/// The application's topic, e.g. `live/level13/48aa1779-91c2-468e-97e9-ab112efd53b9`.
///
/// Brokers that publish (the emulator) and consumers use this same function.
///
/// ```
/// use hm_stream::{DataEnvironment, topic};
/// let app = uuid::Uuid::nil();
/// assert_eq!(topic(DataEnvironment::Sandbox, app), "sandbox/level13/00000000-0000-0000-0000-000000000000");
/// ```
pub fn topic(environment: DataEnvironment, application_id: Uuid) -> String {
    format!(
        "{}/level13/{}",
        environment.as_str(),
        application_id.hyphenated()
    )
}

/// The shared-subscription filter that lets every consumer of `group` receive a share of `topic`:
/// `$share/{group}/{topic}`.
///
/// ```
/// assert_eq!(hm_stream::shared_subscription("ingest", "live/level13/x"), "$share/ingest/live/level13/x");
/// ```
pub fn shared_subscription(group: &str, topic: &str) -> String {
    format!("$share/{group}/{topic}")
}

/// Checks a shared-subscription group name: not empty, none of `/ + #`.
pub(crate) fn check_share_group(group: &str) -> Result<(), Error> {
    if group.is_empty() || group.contains(['/', '+', '#']) {
        return Err(Error::InvalidConfig {
            what: "shared subscription group",
            value: group.to_owned(),
            reason: "a group name must be non-empty and must not contain `/`, `+` or `#`"
                .to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_follow_the_documented_pattern() {
        let app: Uuid = "48AA1779-91C2-468E-97E9-AB112EFD53B9"
            .parse()
            .expect("uuid");
        assert_eq!(
            topic(DataEnvironment::Live, app),
            "live/level13/48aa1779-91c2-468e-97e9-ab112efd53b9"
        );
        assert_eq!(
            shared_subscription("g1", &topic(DataEnvironment::Sandbox, app)),
            "$share/g1/sandbox/level13/48aa1779-91c2-468e-97e9-ab112efd53b9"
        );
    }

    #[test]
    fn environments_parse_and_bad_groups_are_refused() {
        assert_eq!(
            "Production".parse::<DataEnvironment>().ok(),
            Some(DataEnvironment::Live)
        );
        assert_eq!(
            " sandbox ".parse::<DataEnvironment>().ok(),
            Some(DataEnvironment::Sandbox)
        );
        assert!("staging".parse::<DataEnvironment>().is_err());
        assert!(check_share_group("workers").is_ok());
        for bad in ["", "a/b", "a+", "#"] {
            assert!(check_share_group(bad).is_err(), "{bad}");
        }
    }
}
