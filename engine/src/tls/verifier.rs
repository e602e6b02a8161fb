//! The rustls client configuration used to scan, and the signature algorithms the chain is
//! checked with.
//!
//! A scanner must complete the handshake whatever the chain looks like, so that it can
//! report what is wrong with it: the verifier accepts any chain (the chain is judged
//! afterwards by [`super::judge`]) but still checks the handshake signature against the
//! leaf's key, so the connection really is with the holder of that certificate's key.

use super::memo::Remembered;
use ring::signature::{
    RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY, RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
    RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY, RsaParameters, UnparsedPublicKey,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{
    AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm, alg_id,
};
use std::sync::{Arc, OnceLock};
use webpki::ring as algs;

/// RSA PKCS#1 verification that accepts keys from 1024 bits, so that a weak key or a SHA-1
/// signature is *classified* (`cert_weak_key`, `cert_weak_signature`) instead of hiding
/// whether the chain is otherwise trusted. The weakness itself is judged separately.
#[derive(Debug)]
struct LegacyRsa {
    signature_alg_id: AlgorithmIdentifier,
    params: &'static RsaParameters,
}

impl SignatureVerificationAlgorithm for LegacyRsa {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        UnparsedPublicKey::new(self.params, public_key)
            .verify(message, signature)
            .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::RSA_ENCRYPTION
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.signature_alg_id
    }
}

/// `sha1WithRSAEncryption` with NULL parameters (the AlgorithmIdentifier's content).
const RSA_PKCS1_SHA1: AlgorithmIdentifier = AlgorithmIdentifier::from_slice(&[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05, 0x05, 0x00,
]);

static RSA_SHA1_LEGACY: LegacyRsa = LegacyRsa {
    signature_alg_id: RSA_PKCS1_SHA1,
    params: &RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
};
static RSA_SHA256_LEGACY: LegacyRsa = LegacyRsa {
    signature_alg_id: alg_id::RSA_PKCS1_SHA256,
    params: &RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
};
static RSA_SHA512_LEGACY: LegacyRsa = LegacyRsa {
    signature_alg_id: alg_id::RSA_PKCS1_SHA512,
    params: &RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
};

/// The algorithms a chain is path-built with: rustls' usual set, with RSA PKCS#1 relaxed to
/// 1024-bit keys and SHA-1 added (see [`LegacyRsa`]).
pub(crate) static CHAIN_ALGS: &[&dyn SignatureVerificationAlgorithm] = &[
    algs::ECDSA_P256_SHA256,
    algs::ECDSA_P256_SHA384,
    algs::ECDSA_P384_SHA256,
    algs::ECDSA_P384_SHA384,
    algs::ED25519,
    algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
    &RSA_SHA256_LEGACY,
    algs::RSA_PKCS1_2048_8192_SHA384,
    &RSA_SHA512_LEGACY,
    &RSA_SHA1_LEGACY,
    algs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    algs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    algs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
];

/// [`CHAIN_ALGS`] for path building, each check remembered across sites
/// ([`super::memo`]): a chain shared by many sites is verified once.
pub(crate) static PATH_ALGS: &[&dyn SignatureVerificationAlgorithm] = &[
    &Remembered(algs::ECDSA_P256_SHA256),
    &Remembered(algs::ECDSA_P256_SHA384),
    &Remembered(algs::ECDSA_P384_SHA256),
    &Remembered(algs::ECDSA_P384_SHA384),
    &Remembered(algs::ED25519),
    &Remembered(algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY),
    &Remembered(algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY),
    &Remembered(algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY),
    &Remembered(&RSA_SHA256_LEGACY),
    &Remembered(algs::RSA_PKCS1_2048_8192_SHA384),
    &Remembered(&RSA_SHA512_LEGACY),
    &Remembered(&RSA_SHA1_LEGACY),
    &Remembered(algs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS),
    &Remembered(algs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS),
    &Remembered(algs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS),
];

/// Handshake signature algorithms: the ring provider's, with RSA PKCS#1 accepting 1024-bit
/// keys, so that a TLS 1.2 server with a weak RSA key that signs with PKCS#1 completes the
/// handshake and is reported as `cert_weak_key`. (RSA-PSS, which ring verifies only from
/// 2048 bits, and TLS 1.3 still fail on such a key; the engine's legacy probe then sees the
/// chain.)
static HANDSHAKE_ALGS: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: CHAIN_ALGS,
    mapping: &[
        (
            SignatureScheme::ECDSA_NISTP384_SHA384,
            &[algs::ECDSA_P384_SHA384, algs::ECDSA_P256_SHA384],
        ),
        (
            SignatureScheme::ECDSA_NISTP256_SHA256,
            &[algs::ECDSA_P256_SHA256, algs::ECDSA_P384_SHA256],
        ),
        (SignatureScheme::ED25519, &[algs::ED25519]),
        (
            SignatureScheme::RSA_PSS_SHA512,
            &[algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PSS_SHA384,
            &[algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PSS_SHA256,
            &[algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
        ),
        (SignatureScheme::RSA_PKCS1_SHA512, &[&RSA_SHA512_LEGACY]),
        (
            SignatureScheme::RSA_PKCS1_SHA384,
            &[algs::RSA_PKCS1_2048_8192_SHA384],
        ),
        (SignatureScheme::RSA_PKCS1_SHA256, &[&RSA_SHA256_LEGACY]),
    ],
};

/// Accepts any chain; checks handshake signatures. See the module docs.
#[derive(Debug)]
struct AcceptAnyChain;

impl ServerCertVerifier for AcceptAnyChain {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &HANDSHAKE_ALGS)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &HANDSHAKE_ALGS)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        HANDSHAKE_ALGS.supported_schemes()
    }
}

/// The suites rustls speaks, in the order Chrome offers them (AES-128-GCM first): a server
/// that follows the client's preference negotiates with the scanner what it negotiates with
/// Chrome (and the cheaper key schedule, SHA-256's).
const CHROME_ORDER: &[rustls::SupportedCipherSuite] = {
    use rustls::crypto::ring::cipher_suite::*;
    &[
        TLS13_AES_128_GCM_SHA256,
        TLS13_AES_256_GCM_SHA384,
        TLS13_CHACHA20_POLY1305_SHA256,
        TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]
};

/// See [`super::scanning_client_config`].
pub(crate) fn scanning_client_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::CryptoProvider {
                cipher_suites: CHROME_ORDER.to_vec(),
                ..rustls::crypto::ring::default_provider()
            });
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
                // The ring provider supports both versions: this cannot fail.
                .expect("ring supports TLS 1.2 and 1.3")
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyChain))
                .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            // Every scan must see the chain the server sends now, not a resumed session's.
            config.resumption = rustls::client::Resumption::disabled();
            Arc::new(config)
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::CHROME_ORDER;

    #[test]
    fn the_scanner_offers_every_suite_rustls_speaks_in_chromes_order() {
        let ours: Vec<_> = CHROME_ORDER.iter().map(|s| s.suite()).collect();
        let mut sorted = ours.clone();
        sorted.sort_by_key(|s| u16::from(*s));
        let mut all: Vec<_> = rustls::crypto::ring::default_provider()
            .cipher_suites
            .iter()
            .map(|s| s.suite())
            .collect();
        all.sort_by_key(|s| u16::from(*s));
        assert_eq!(sorted, all, "the same suites as rustls's ring provider");
        assert_eq!(
            ours[0],
            rustls::CipherSuite::TLS13_AES_128_GCM_SHA256,
            "Chrome's first"
        );
    }
}
