//! The versioned gRPC API (`govscan.v1`) between `scanctl` and the coordinator.
//!
//! The generated code lives in [`v1`]; the rest of the system speaks `model` types and
//! converts at the boundary with the conversions here, so bad wire data becomes a typed
//! [`Error`] instead of a panic or a silently wrong value:
//! - [`model::Site`] ⇄ [`v1::Site`]: `From<&Site>`, and `TryFrom<v1::Site>` which parses the
//!   entry again (the coordinator never trusts that the client parsed it right);
//! - [`IndexedResult`] ⇄ [`v1::SiteResult`]: a result travels as the JSON object `scanctl
//!   scan` writes, with its position in the list;
//! - [`model::JobSettings`] ⇄ [`v1::ScanSettings`]: `TryFrom` checks the browser, the ports
//!   and the timeouts (the engine checks the rest when it builds from them).
//!
//! The `.proto` file is `proto/scan/v1/scan.proto`; it is compiled at build time with
//! `protox`, so no `protoc` is needed.

/// The generated messages, client (`scan_service_client`) and server (`scan_service_server`).
#[allow(clippy::all, missing_docs)]
pub mod v1 {
    tonic::include_proto!("govscan.v1");
}

use model::SiteResult;

/// Why a message from the wire is not a valid domain value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The entry does not parse as a site.
    #[error("site {url:?}: {source}")]
    InvalidSite {
        url: String,
        #[source]
        source: model::SiteError,
    },
    /// The entry parses, but not to the host and path the message claims.
    #[error(
        "site {url:?}: parses as host {parsed_host:?} path {parsed_path:?}, not {host:?} {path:?}"
    )]
    SiteMismatch {
        url: String,
        host: String,
        path: String,
        parsed_host: String,
        parsed_path: String,
    },
    /// Job settings that cannot be right.
    #[error("job settings: {0}")]
    InvalidSettings(String),
    /// A result's JSON is not a site result.
    #[error("result #{index}: not a site result: {source}")]
    InvalidResult {
        index: u64,
        #[source]
        source: serde_json::Error,
    },
}

impl From<&model::Site> for v1::Site {
    fn from(site: &model::Site) -> Self {
        v1::Site {
            url: site.url.clone(),
            host: site.host.clone(),
            path: site.path.clone(),
            agency: site.agency.clone(),
            category: site.category.clone(),
            parent: site.parent.clone(),
        }
    }
}

impl TryFrom<v1::Site> for model::Site {
    type Error = Error;

    /// Parse the entry again; host and path must agree with what the message says (an
    /// empty host or path in the message means "take the parsed one").
    fn try_from(wire: v1::Site) -> Result<Self, Error> {
        let mut site = model::Site::parse(&wire.url).map_err(|source| Error::InvalidSite {
            url: wire.url.clone(),
            source,
        })?;
        let host_ok = wire.host.is_empty() || wire.host == site.host;
        let path_ok = wire.path.is_empty() || wire.path == site.path;
        if !host_ok || !path_ok {
            return Err(Error::SiteMismatch {
                url: wire.url,
                host: wire.host,
                path: wire.path,
                parsed_host: site.host,
                parsed_path: site.path,
            });
        }
        site.agency = wire.agency;
        site.category = wire.category;
        site.parent = wire.parent;
        Ok(site)
    }
}

impl From<&model::JobSettings> for v1::ScanSettings {
    fn from(s: &model::JobSettings) -> Self {
        v1::ScanSettings {
            trust: s.trust.as_str().to_owned(),
            chrome_version: s.chrome_version.clone().unwrap_or_default(),
            ca_pem: s.ca_pem.clone(),
            root_constraints: s.root_constraints.clone(),
            allow_private_targets: s.allow_private_targets,
            site_timeout_secs: s.site_timeout_secs,
            step_timeout_secs: s.step_timeout_secs,
            legacy_probe: s.legacy_probe,
            favicon_check: s.favicon_check,
            user_agent: s.user_agent.clone(),
            per_ip_concurrency: s.per_ip_concurrency,
            exclude: s.exclude.clone(),
            http_port: u32::from(s.http_port),
            https_port: u32::from(s.https_port),
        }
    }
}

impl TryFrom<v1::ScanSettings> for model::JobSettings {
    type Error = Error;

    fn try_from(w: v1::ScanSettings) -> Result<Self, Error> {
        let bad = |why: String| Error::InvalidSettings(why);
        let trust = match w.trust.as_str() {
            "chrome" => model::Browser::Chrome,
            "mozilla" => model::Browser::Mozilla,
            other => return Err(bad(format!("trust {other:?} is not chrome or mozilla"))),
        };
        let port = |p: u32, what: &str| {
            u16::try_from(p)
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| bad(format!("{what} {p} is not a port")))
        };
        if w.site_timeout_secs == 0 || w.step_timeout_secs == 0 {
            return Err(bad("a timeout of 0 seconds".into()));
        }
        if w.user_agent.is_empty() {
            return Err(bad("an empty User-Agent".into()));
        }
        Ok(model::JobSettings {
            trust,
            chrome_version: Some(w.chrome_version).filter(|v| !v.is_empty()),
            ca_pem: w.ca_pem,
            root_constraints: w.root_constraints,
            allow_private_targets: w.allow_private_targets,
            site_timeout_secs: w.site_timeout_secs,
            step_timeout_secs: w.step_timeout_secs,
            legacy_probe: w.legacy_probe,
            favicon_check: w.favicon_check,
            user_agent: w.user_agent,
            per_ip_concurrency: w.per_ip_concurrency,
            exclude: w.exclude,
            http_port: port(w.http_port, "http_port")?,
            https_port: port(w.https_port, "https_port")?,
        })
    }
}

/// A site's result with its position in the submitted list.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedResult {
    pub index: u64,
    pub result: SiteResult,
}

impl TryFrom<v1::SiteResult> for IndexedResult {
    type Error = Error;

    fn try_from(wire: v1::SiteResult) -> Result<Self, Error> {
        let result = serde_json::from_str(&wire.json).map_err(|source| Error::InvalidResult {
            index: wire.index,
            source,
        })?;
        Ok(IndexedResult {
            index: wire.index,
            result,
        })
    }
}

impl From<&IndexedResult> for v1::SiteResult {
    fn from(r: &IndexedResult) -> Self {
        v1::SiteResult {
            index: r.index,
            json: serde_json::to_string(&r.result).expect("a site result always serialises"),
        }
    }
}

impl v1::JobState {
    /// The short lowercase name people read: `submitting`, `running`, `done`, `cancelled`.
    pub fn label(self) -> &'static str {
        match self {
            v1::JobState::Unspecified => "unknown",
            v1::JobState::Submitting => "submitting",
            v1::JobState::Running => "running",
            v1::JobState::Done => "done",
            v1::JobState::Cancelled => "cancelled",
        }
    }

    /// Whether the job will not change any more.
    pub fn is_final(self) -> bool {
        matches!(self, v1::JobState::Done | v1::JobState::Cancelled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(url: &str, host: &str, path: &str) -> v1::Site {
        v1::Site {
            url: url.into(),
            host: host.into(),
            path: path.into(),
            agency: "行政院".into(),
            category: "一級機關".into(),
            parent: String::new(),
        }
    }

    #[test]
    fn sites_round_trip_through_the_wire() {
        let mut site = model::Site::parse("https://www.ey.gov.tw/").unwrap();
        site.agency = "行政院".into();
        site.category = "一級機關".into();
        let back = model::Site::try_from(v1::Site::from(&site)).unwrap();
        assert_eq!(back, site);
    }

    #[test]
    fn a_site_that_does_not_parse_is_a_typed_error() {
        let err = model::Site::try_from(wire("ftp://a.gov.tw/", "a.gov.tw", "/")).unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidSite {
                source: model::SiteError::Scheme(_),
                ..
            }
        ));
    }

    #[test]
    fn a_site_whose_host_disagrees_with_its_url_is_rejected() {
        let err = model::Site::try_from(wire("a.gov.tw", "b.gov.tw", "/")).unwrap_err();
        assert!(matches!(err, Error::SiteMismatch { .. }), "{err}");
        // Empty host/path: taken from the parse.
        let site = model::Site::try_from(wire("a.gov.tw/x", "", "")).unwrap();
        assert_eq!((site.host.as_str(), site.path.as_str()), ("a.gov.tw", "/x"));
    }

    #[test]
    fn job_settings_round_trip_and_bad_ones_are_typed_errors() {
        let settings = model::JobSettings {
            trust: model::Browser::Mozilla,
            chrome_version: Some("139".into()),
            ca_pem: vec!["-----BEGIN CERTIFICATE-----".into()],
            root_constraints: vec!["ab:sctnotafter=1".into()],
            allow_private_targets: true,
            site_timeout_secs: 20,
            step_timeout_secs: 4,
            legacy_probe: false,
            favicon_check: true,
            user_agent: "govscan/1 (+https://x.gov.tw/)".into(),
            per_ip_concurrency: 2,
            exclude: vec!["10.0.0.0/8".into()],
            http_port: 8080,
            https_port: 8443,
        };
        let wire = v1::ScanSettings::from(&settings);
        assert_eq!(
            model::JobSettings::try_from(wire.clone()).unwrap(),
            settings
        );
        let mut bad = wire.clone();
        bad.trust = "opera".into();
        assert!(matches!(
            model::JobSettings::try_from(bad),
            Err(Error::InvalidSettings(_))
        ));
        let mut bad = wire;
        bad.https_port = 70_000;
        assert!(model::JobSettings::try_from(bad).is_err());
    }

    #[test]
    fn results_round_trip_and_bad_json_is_a_typed_error() {
        let site = model::Site::parse("moe.gov.tw").unwrap();
        let r = IndexedResult {
            index: 7,
            result: SiteResult::failed(&site, "job cancelled"),
        };
        let back = IndexedResult::try_from(v1::SiteResult::from(&r)).unwrap();
        assert_eq!(back, r);
        let err = IndexedResult::try_from(v1::SiteResult {
            index: 3,
            json: "{\"url\": 1}".into(),
        })
        .unwrap_err();
        assert!(matches!(err, Error::InvalidResult { index: 3, .. }));
    }
}
