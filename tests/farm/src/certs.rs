//! Certificates for tests that build their own chains (the engine's): a CA hierarchy made
//! with rcgen around a fixed "now" ([`NOW_SECS`]) — roots, intermediates with chosen dates
//! and AIA URLs, cross-signs, leaves with chosen names and dates — and the `openssl`
//! command-line tool for what rcgen cannot make (SHA-1 signatures, RSA-1024 keys).
//!
//! Fixtures: they panic when something fails, as a test would.

use crate::pki::{aia_extension, pem_encode};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, UnixTime};
use std::path::Path;
use std::time::Duration;
use time::OffsetDateTime;

/// The "now" the judge tests run at (2026-03-01T00:00:00Z), so dates are fixed.
pub const NOW_SECS: i64 = 1_772_323_200;
pub const DAY: i64 = 86_400;

pub fn now() -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(NOW_SECS as u64))
}

pub fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap()
}

/// A certificate authority: its certificate and what it needs to sign.
pub struct Ca {
    pub der: CertificateDer<'static>,
    pub key: KeyPair,
    params: CertificateParams,
}

impl Ca {
    /// A self-signed root valid for years around [`NOW_SECS`].
    pub fn root(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let params = ca_params(name, None);
        let der = params.self_signed(&key).unwrap().der().clone();
        Ca { der, key, params }
    }

    /// An intermediate signed by `self`, optionally naming an AIA caIssuers URL for `self`.
    pub fn intermediate(&self, name: &str, aia: Option<&str>) -> Ca {
        self.intermediate_valid(name, aia, NOW_SECS - 365 * DAY, NOW_SECS + 5 * 365 * DAY)
    }

    pub fn intermediate_valid(&self, name: &str, aia: Option<&str>, nb: i64, na: i64) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = ca_params(name, aia);
        params.not_before = at(nb);
        params.not_after = at(na);
        let der = params
            .signed_by(&key, &self.issuer())
            .unwrap()
            .der()
            .clone();
        Ca { der, key, params }
    }

    /// An intermediate with one name and key, signed by each of `issuers` (a cross-sign):
    /// the CA that signs leaves, and its certificate under each issuer.
    pub fn cross_signed(name: &str, issuers: &[&Ca]) -> (Ca, Vec<CertificateDer<'static>>) {
        let key = KeyPair::generate().unwrap();
        let params = ca_params(name, None);
        let ders: Vec<CertificateDer<'static>> = issuers
            .iter()
            .map(|i| params.signed_by(&key, &i.issuer()).unwrap().der().clone())
            .collect();
        let der = ders[0].clone();
        (Ca { der, key, params }, ders)
    }

    pub fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }

    /// A server certificate signed by `self`.
    pub fn leaf(&self, spec: Leaf) -> CertificateDer<'static> {
        let key = KeyPair::generate().unwrap();
        spec.params()
            .signed_by(&key, &self.issuer())
            .unwrap()
            .der()
            .clone()
    }

    /// A server certificate and its key (PEM), signed by `self`.
    pub fn leaf_with_key(&self, spec: Leaf) -> (CertificateDer<'static>, KeyPair) {
        let key = KeyPair::generate().unwrap();
        let der = spec
            .params()
            .signed_by(&key, &self.issuer())
            .unwrap()
            .der()
            .clone();
        (der, key)
    }

    pub fn pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.der)
    }
}

fn ca_params(name: &str, aia: Option<&str>) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Scan Test PKI");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = at(NOW_SECS - 3 * 365 * DAY);
    params.not_after = at(NOW_SECS + 10 * 365 * DAY);
    if let Some(url) = aia {
        params.custom_extensions.push(aia_extension(url));
    }
    params
}

/// What a server certificate says.
#[derive(Clone)]
pub struct Leaf {
    pub sans: Vec<String>,
    pub cn: Option<String>,
    pub not_before: i64,
    pub not_after: i64,
    pub aia: Option<String>,
}

impl Leaf {
    /// Valid for `host`, from a month before [`NOW_SECS`] to a year after.
    pub fn for_host(host: &str) -> Leaf {
        Leaf {
            sans: vec![host.to_owned()],
            cn: Some(host.to_owned()),
            not_before: NOW_SECS - 30 * DAY,
            not_after: NOW_SECS + 365 * DAY,
            aia: None,
        }
    }

    pub fn valid(mut self, not_before: i64, not_after: i64) -> Leaf {
        self.not_before = not_before;
        self.not_after = not_after;
        self
    }

    pub fn aia(mut self, url: &str) -> Leaf {
        self.aia = Some(url.to_owned());
        self
    }

    fn params(&self) -> CertificateParams {
        let mut params = CertificateParams::new(self.sans.clone()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        if let Some(cn) = &self.cn {
            params
                .distinguished_name
                .push(DnType::CommonName, cn.as_str());
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.not_before = at(self.not_before);
        params.not_after = at(self.not_after);
        if let Some(url) = &self.aia {
            params.custom_extensions.push(aia_extension(url));
        }
        params
    }

    /// A self-signed certificate with these names.
    pub fn self_signed(&self) -> CertificateDer<'static> {
        let key = KeyPair::generate().unwrap();
        self.params().self_signed(&key).unwrap().der().clone()
    }
}

/// Run `openssl` in `dir`, failing the test with its stderr if it fails.
pub fn openssl(dir: &Path, args: &[&str]) {
    crate::pki::openssl_in(Some(dir), args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
}

/// The first certificate of a PEM file.
pub fn read_pem_cert(path: &Path) -> CertificateDer<'static> {
    let data = std::fs::read(path).unwrap();
    CertificateDer::from_pem_slice(&data).unwrap()
}

/// Write `ext.cnf` for a server certificate for `host`, for `openssl x509 -req -extfile`.
pub fn server_ext(dir: &Path, host: &str) {
    std::fs::write(
        dir.join("server.cnf"),
        format!(
            "subjectAltName=DNS:{host}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("ca.cnf"),
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n",
    )
    .unwrap();
}
