//! The farm's certificates, made when it starts: a root CA (the one a scanner trusts with
//! `--ca-file`), an intermediate that issues the leafs, a second "rogue" root nobody
//! trusts, and every flawed leaf of [`Cert`].
//!
//! rcgen (ring) makes what it can. What ring cannot sign — SHA-1 signatures, RSA-1024
//! keys, RSA leafs — is made with the `openssl` command-line tool from PEM files written
//! to the farm's directory.

use crate::Error;
use crate::spec::Cert;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use time::{Duration, OffsetDateTime};

/// A certificate authority: its certificate and its signing key.
pub(crate) struct Ca {
    pub issuer: Issuer<'static, KeyPair>,
    pub der: CertificateDer<'static>,
    pub pem: String,
}

/// A certificate chain as served (leaf first) with the leaf's key.
pub(crate) struct Leaf {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    /// PEM files, for `openssl s_server`: the leaf, the rest of the chain, the key.
    pub files: Option<(PathBuf, PathBuf, PathBuf)>,
}

/// The farm's PKI.
pub(crate) struct Pki {
    pub root: Ca,
    pub intermediate: Ca,
    pub rogue_root: Ca,
    /// A second trusted root whose leaves carry embedded SCTs: scans put a Chrome-style
    /// SCT-date constraint on it (`--root-constraint`) to test `cert_distrusted`.
    pub ct_root: Ca,
    now: OffsetDateTime,
    dir: PathBuf,
    serial: AtomicU64,
    /// The RSA-1024 intermediate (PEM cert, PEM key path), made on first use.
    weak_intermediate: std::sync::OnceLock<(String, PathBuf, PathBuf)>,
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "TW");
    dn.push(DnType::OrganizationName, "Gov Test Farm");
    dn.push(DnType::CommonName, cn);
    dn
}

fn ca_params(cn: &str, now: OffsetDateTime, path_len: Option<u8>) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(cn);
    p.is_ca = IsCa::Ca(match path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    });
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = now - Duration::days(365);
    p.not_after = now + Duration::days(3650);
    p.use_authority_key_identifier_extension = true;
    p
}

/// DER tag-length-value.
fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = body.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(body);
    out
}

/// The Authority Information Access extension with one `caIssuers` URL (rcgen has no
/// direct support for it).
pub fn aia_extension(url: &str) -> CustomExtension {
    // id-ad-caIssuers 1.3.6.1.5.5.7.48.2
    let method = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02];
    let location = tlv(0x86, url.as_bytes()); // [6] uniformResourceIdentifier
    let description = tlv(0x30, &[&method[..], &location].concat());
    CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], tlv(0x30, &description))
}

/// An embedded SCT list (RFC 6962 §3.3, OID 1.3.6.1.4.1.11129.2.4.2) with one SCT dated
/// `at`. Its log id and signature are made up: only its date matters here (the scanner reads
/// SCT dates; a browser ignores SCTs of logs it does not know on a locally trusted root).
fn sct_extension(at: OffsetDateTime) -> CustomExtension {
    let millis = u64::try_from(at.unix_timestamp()).unwrap_or(0) * 1000;
    let mut sct = vec![0u8]; // v1
    sct.extend([0x5a; 32]); // log id
    sct.extend(millis.to_be_bytes());
    sct.extend([0, 0]); // no extensions
    sct.extend([4, 3]); // sha256, ecdsa
    let signature = [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01];
    sct.extend((signature.len() as u16).to_be_bytes());
    sct.extend(signature);
    let mut list = ((sct.len() + 2) as u16).to_be_bytes().to_vec();
    list.extend((sct.len() as u16).to_be_bytes());
    list.extend(sct);
    CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 11129, 2, 4, 2], tlv(0x04, &list))
}

fn key_der(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(key.serialize_der().into())
}

impl Pki {
    /// Make the authorities. `dir` receives the PEM files openssl needs.
    pub fn new(now: OffsetDateTime, dir: &Path) -> Result<Pki, Error> {
        let root = Self::self_signed_ca("Gov Test Farm Root CA", now)?;
        let rogue_root = Self::self_signed_ca("Rogue Root CA (not trusted)", now)?;
        let ct_root = Self::self_signed_ca("Gov Test Farm CT Root CA", now)?;
        let params = ca_params("Gov Test Farm Intermediate CA", now, Some(0));
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &root.issuer)?;
        let intermediate = Ca {
            der: cert.der().clone(),
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        };
        Ok(Pki {
            root,
            intermediate,
            rogue_root,
            ct_root,
            now,
            dir: dir.to_owned(),
            serial: AtomicU64::new(1000),
            weak_intermediate: std::sync::OnceLock::new(),
        })
    }

    fn self_signed_ca(cn: &str, now: OffsetDateTime) -> Result<Ca, Error> {
        let params = ca_params(cn, now, None);
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(Ca {
            der: cert.der().clone(),
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    fn leaf_params(&self, names: &[String]) -> Result<CertificateParams, Error> {
        let mut p = CertificateParams::default();
        p.distinguished_name = dn(names.first().map(String::as_str).unwrap_or("farm"));
        p.subject_alt_names = names
            .iter()
            .map(|n| Ok(SanType::DnsName(n.clone().try_into()?)))
            .collect::<Result<_, rcgen::Error>>()?;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.not_before = self.now - Duration::days(30);
        p.not_after = self.now + Duration::days(365);
        p.use_authority_key_identifier_extension = true;
        p.serial_number = Some(self.serial.fetch_add(1, Ordering::Relaxed).into());
        Ok(p)
    }

    /// Issue the leaf of `cert` for `names` (the site's host, or every name sharing a
    /// `Valid` certificate). `aia_url` is where the intermediate is served.
    pub fn issue(&self, cert: &Cert, names: &[String], aia_url: &str) -> Result<Leaf, Error> {
        let key = KeyPair::generate()?;
        let by_intermediate = |p: CertificateParams| -> Result<Leaf, Error> {
            let c = p.signed_by(&key, &self.intermediate.issuer)?;
            Ok(Leaf {
                chain: vec![c.der().clone(), self.intermediate.der.clone()],
                key: key_der(&key),
                files: None,
            })
        };
        match cert {
            Cert::Valid => by_intermediate(self.leaf_params(names)?),
            Cert::For(sans) => {
                let mut p = self.leaf_params(sans)?;
                p.distinguished_name = dn(&names[0]);
                by_intermediate(p)
            }
            Cert::CommonNameOnly => {
                let mut p = self.leaf_params(names)?;
                p.subject_alt_names.clear();
                by_intermediate(p)
            }
            Cert::Expired => {
                let mut p = self.leaf_params(names)?;
                p.not_before = self.now - Duration::days(400);
                p.not_after = self.now - Duration::days(10);
                by_intermediate(p)
            }
            Cert::NotYetValid => {
                let mut p = self.leaf_params(names)?;
                p.not_before = self.now + Duration::days(10);
                p.not_after = self.now + Duration::days(400);
                by_intermediate(p)
            }
            Cert::ExpiresInDays(days) => {
                let mut p = self.leaf_params(names)?;
                p.not_before = self.now - Duration::days(60);
                p.not_after = self.now + Duration::days(*days);
                by_intermediate(p)
            }
            Cert::SelfSigned => {
                let p = self.leaf_params(names)?;
                let c = p.self_signed(&key)?;
                Ok(Leaf {
                    chain: vec![c.der().clone()],
                    key: key_der(&key),
                    files: None,
                })
            }
            Cert::UntrustedRoot => {
                let p = self.leaf_params(names)?;
                let c = p.signed_by(&key, &self.rogue_root.issuer)?;
                Ok(Leaf {
                    chain: vec![c.der().clone(), self.rogue_root.der.clone()],
                    key: key_der(&key),
                    files: None,
                })
            }
            Cert::CtRoot { sct_age_days } => {
                let mut p = self.leaf_params(names)?;
                if let Some(days) = sct_age_days {
                    let at = self.now - Duration::days(*days);
                    p.custom_extensions.push(sct_extension(at));
                }
                let c = p.signed_by(&key, &self.ct_root.issuer)?;
                Ok(Leaf {
                    chain: vec![c.der().clone()],
                    key: key_der(&key),
                    files: None,
                })
            }
            Cert::NoIntermediate { .. } | Cert::UnfetchableIntermediate => {
                let mut p = self.leaf_params(names)?;
                match cert {
                    Cert::NoIntermediate { aia: true } => {
                        p.custom_extensions.push(aia_extension(aia_url));
                    }
                    // The AIA host answers, but 404 at this path.
                    Cert::UnfetchableIntermediate => p
                        .custom_extensions
                        .push(aia_extension(&format!("{aia_url}.gone"))),
                    _ => {}
                }
                let c = p.signed_by(&key, &self.intermediate.issuer)?;
                Ok(Leaf {
                    chain: vec![c.der().clone()],
                    key: key_der(&key),
                    files: None,
                })
            }
            Cert::WeakSignature => {
                let key_pem = key.serialize_pem();
                let ca = self.write("intermediate.pem", &self.intermediate.pem)?;
                let ca_key = self.write(
                    "intermediate.key",
                    &self.intermediate.issuer.key().serialize_pem(),
                )?;
                self.openssl_leaf(
                    names,
                    &key_pem,
                    &ca,
                    &ca_key,
                    "-sha1",
                    &self.intermediate.pem,
                )
            }
            Cert::WeakKey => {
                let (weak_pem, weak_cert, weak_key) = self.weak_intermediate()?;
                let key_pem = key.serialize_pem();
                self.openssl_leaf(names, &key_pem, &weak_cert, &weak_key, "-sha256", &weak_pem)
            }
            Cert::Rsa => {
                let stem = self.stem("rsa");
                let key_path = self.dir.join(format!("{stem}.key"));
                openssl(&["genrsa", "-out", path_str(&key_path)?, "2048"])?;
                let key_pem = read(&key_path)?;
                let ca = self.write("intermediate.pem", &self.intermediate.pem)?;
                let ca_key = self.write(
                    "intermediate.key",
                    &self.intermediate.issuer.key().serialize_pem(),
                )?;
                self.openssl_leaf(
                    names,
                    &key_pem,
                    &ca,
                    &ca_key,
                    "-sha256",
                    &self.intermediate.pem,
                )
            }
        }
    }

    fn stem(&self, what: &str) -> String {
        format!("{what}-{}", self.serial.fetch_add(1, Ordering::Relaxed))
    }

    fn write(&self, name: &str, contents: &str) -> Result<PathBuf, Error> {
        let path = self.dir.join(name);
        std::fs::write(&path, contents)
            .map_err(|e| Error::io(format!("write {}", path.display()), e))?;
        Ok(path)
    }

    /// The RSA-1024 intermediate under the root: (cert PEM, cert path, key path).
    fn weak_intermediate(&self) -> Result<(String, PathBuf, PathBuf), Error> {
        if let Some(w) = self.weak_intermediate.get() {
            return Ok(w.clone());
        }
        let key = self.dir.join("weak-intermediate.key");
        let csr = self.dir.join("weak-intermediate.csr");
        let cert = self.dir.join("weak-intermediate.pem");
        let ext = self.write(
            "weak-intermediate.ext",
            "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
        )?;
        let root = self.write("root.pem", &self.root.pem)?;
        let root_key = self.write("root.key", &self.root.issuer.key().serialize_pem())?;
        openssl(&["genrsa", "-out", path_str(&key)?, "1024"])?;
        openssl(&[
            "req",
            "-new",
            "-key",
            path_str(&key)?,
            "-subj",
            "/C=TW/O=Gov Test Farm/CN=Weak RSA-1024 Intermediate CA",
            "-out",
            path_str(&csr)?,
        ])?;
        openssl(&[
            "x509",
            "-req",
            "-in",
            path_str(&csr)?,
            "-CA",
            path_str(&root)?,
            "-CAkey",
            path_str(&root_key)?,
            "-sha256",
            "-days",
            "365",
            "-set_serial",
            "77",
            "-extfile",
            path_str(&ext)?,
            "-out",
            path_str(&cert)?,
        ])?;
        let pem = read(&cert)?;
        let w = (pem, cert, key);
        let _ = self.weak_intermediate.set(w.clone());
        Ok(w)
    }

    /// A leaf for `names` with key `key_pem`, signed by the CA at `ca`/`ca_key` with the
    /// digest flag `digest`; served with `ca_pem`.
    fn openssl_leaf(
        &self,
        names: &[String],
        key_pem: &str,
        ca: &Path,
        ca_key: &Path,
        digest: &str,
        ca_pem: &str,
    ) -> Result<Leaf, Error> {
        let stem = self.stem("leaf");
        let key = self.write(&format!("{stem}.key"), key_pem)?;
        let csr = self.dir.join(format!("{stem}.csr"));
        let cert = self.dir.join(format!("{stem}.pem"));
        let chain = self.write(&format!("{stem}.chain.pem"), ca_pem)?;
        let sans: Vec<String> = names.iter().map(|n| format!("DNS:{n}")).collect();
        let ext = self.write(
            &format!("{stem}.ext"),
            &format!(
                "subjectAltName={}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\n",
                sans.join(",")
            ),
        )?;
        let subject = format!("/C=TW/O=Gov Test Farm/CN={}", names[0]);
        openssl(&[
            "req",
            "-new",
            "-key",
            path_str(&key)?,
            "-subj",
            &subject,
            "-out",
            path_str(&csr)?,
        ])?;
        let serial = self.serial.fetch_add(1, Ordering::Relaxed).to_string();
        openssl(&[
            "x509",
            "-req",
            "-in",
            path_str(&csr)?,
            "-CA",
            path_str(ca)?,
            "-CAkey",
            path_str(ca_key)?,
            digest,
            "-days",
            "365",
            "-set_serial",
            &serial,
            "-extfile",
            path_str(&ext)?,
            "-out",
            path_str(&cert)?,
        ])?;
        let leaf_der = CertificateDer::from_pem_file(&cert)
            .map_err(|e| Error::OpenSsl(format!("read {}: {e}", cert.display())))?;
        let ca_der = CertificateDer::from_pem_slice(ca_pem.as_bytes())
            .map_err(|e| Error::OpenSsl(format!("parse CA PEM: {e}")))?;
        let key_der = PrivateKeyDer::from_pem_file(&key)
            .map_err(|e| Error::OpenSsl(format!("read {}: {e}", key.display())))?;
        Ok(Leaf {
            chain: vec![leaf_der, ca_der],
            key: key_der,
            files: Some((cert, chain, key)),
        })
    }

    /// PEM files for a leaf made by rcgen (for `openssl s_server`).
    pub fn files_for(&self, leaf: &Leaf, stem: &str) -> Result<(PathBuf, PathBuf, PathBuf), Error> {
        if let Some(f) = &leaf.files {
            return Ok(f.clone());
        }
        let pem = |der: &[u8]| pem_encode("CERTIFICATE", der);
        let cert = self.write(&format!("{stem}.pem"), &pem(&leaf.chain[0]))?;
        let rest: String = leaf.chain[1..].iter().map(|c| pem(c)).collect();
        let chain = self.write(&format!("{stem}.chain.pem"), &rest)?;
        let key = self.write(
            &format!("{stem}.key"),
            &pem_encode("PRIVATE KEY", leaf.key.secret_der()),
        )?;
        Ok((cert, chain, key))
    }
}

/// A certificate authority for the cluster's own TLS — the coordinator, Redis and their
/// clients — apart from the farm's sites: its CA file, server certificates for addresses,
/// and client certificates whose subject says who (`CN`) and, for the coordinator, what
/// role (`OU`). Files are written to a directory as PEM (`NAME.pem`, `NAME.key`).
pub struct ClusterCa {
    ca: Ca,
    now: OffsetDateTime,
    dir: PathBuf,
    serial: AtomicU64,
}

impl ClusterCa {
    /// Make the CA and write its certificate to `dir/ca.pem`.
    pub fn new(dir: &Path) -> Result<ClusterCa, Error> {
        let now = OffsetDateTime::now_utc();
        let ca = Pki::self_signed_ca("Govscan Cluster Test CA", now)?;
        let this = ClusterCa {
            ca,
            now,
            dir: dir.to_owned(),
            serial: AtomicU64::new(1),
        };
        this.write("ca.pem", &this.ca.pem)?;
        Ok(this)
    }

    /// The CA certificate's file.
    pub fn ca_path(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    fn write(&self, name: &str, text: &str) -> Result<PathBuf, Error> {
        let path = self.dir.join(name);
        std::fs::write(&path, text)
            .map_err(|e| Error::io(format!("write {}", path.display()), e))?;
        Ok(path)
    }

    fn issue(
        &self,
        stem: &str,
        subject: DistinguishedName,
        sans: Vec<SanType>,
        usage: ExtendedKeyUsagePurpose,
    ) -> Result<(PathBuf, PathBuf), Error> {
        let key = KeyPair::generate()?;
        let mut p = CertificateParams::default();
        p.distinguished_name = subject;
        p.subject_alt_names = sans;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![usage];
        p.not_before = self.now - Duration::days(1);
        p.not_after = self.now + Duration::days(30);
        p.use_authority_key_identifier_extension = true;
        p.serial_number = Some(self.serial.fetch_add(1, Ordering::Relaxed).into());
        let cert = p.signed_by(&key, &self.ca.issuer)?;
        let cert_path = self.write(&format!("{stem}.pem"), &cert.pem())?;
        let key_path = self.write(&format!("{stem}.key"), &key.serialize_pem())?;
        Ok((cert_path, key_path))
    }

    /// A server certificate for `ips` and `names`: (certificate file, key file).
    pub fn server(
        &self,
        stem: &str,
        ips: &[std::net::IpAddr],
        names: &[&str],
    ) -> Result<(PathBuf, PathBuf), Error> {
        let mut sans: Vec<SanType> = ips.iter().map(|ip| SanType::IpAddress(*ip)).collect();
        for n in names {
            sans.push(SanType::DnsName((*n).to_owned().try_into()?));
        }
        let mut subject = DistinguishedName::new();
        subject.push(DnType::CommonName, names.first().copied().unwrap_or(stem));
        self.issue(stem, subject, sans, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate for `common_name`, with `OU=unit` when given: (certificate
    /// file, key file).
    pub fn client(
        &self,
        stem: &str,
        common_name: &str,
        unit: Option<&str>,
    ) -> Result<(PathBuf, PathBuf), Error> {
        let mut subject = DistinguishedName::new();
        subject.push(DnType::CommonName, common_name);
        if let Some(unit) = unit {
            subject.push(DnType::OrganizationalUnitName, unit);
        }
        self.issue(
            stem,
            subject,
            Vec::new(),
            ExtendedKeyUsagePurpose::ClientAuth,
        )
    }
}

fn path_str(p: &Path) -> Result<&str, Error> {
    p.to_str()
        .ok_or_else(|| Error::OpenSsl(format!("path {} is not UTF-8", p.display())))
}

fn read(p: &Path) -> Result<String, Error> {
    std::fs::read_to_string(p).map_err(|e| Error::io(format!("read {}", p.display()), e))
}

/// Run `openssl ARGS`, failing with its stderr.
fn openssl(args: &[&str]) -> Result<(), Error> {
    openssl_in(None, args)
}

/// Run `openssl ARGS` in `dir` (relative file names are there), failing with its stderr.
pub(crate) fn openssl_in(dir: Option<&Path>, args: &[&str]) -> Result<(), Error> {
    let mut cmd = Command::new("openssl");
    cmd.args(args);
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    let out = cmd
        .output()
        .map_err(|e| Error::OpenSsl(format!("cannot run openssl (is it installed?): {e}")))?;
    if !out.status.success() {
        return Err(Error::OpenSsl(format!(
            "openssl {} failed: {}",
            args.first().copied().unwrap_or(""),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// PEM armour (base64, 64 columns, `\n` line ends, as `openssl` writes it) of `der`.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new(label, der), config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trips_through_the_pem_parser() {
        for len in [0usize, 1, 2, 3, 4, 5, 100, 1000] {
            let der: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let pem = pem_encode("CERTIFICATE", &der);
            let back = CertificateDer::from_pem_slice(pem.as_bytes());
            if len == 0 {
                continue;
            }
            assert_eq!(back.unwrap().as_ref(), &der[..], "len {len}");
        }
    }

    #[test]
    fn aia_extension_is_well_formed_der() {
        let ext = aia_extension("http://aia.gov.test/intermediate.der");
        let c = ext.content();
        assert_eq!(c[0], 0x30);
        assert_eq!(c[1] as usize, c.len() - 2);
        assert!(c.windows(4).any(|w| w == b"aia."));
    }
}
