//! Pure functions of certificates remembered across sites: signature checks and the
//! certificates' descriptions.
//!
//! Sites on shared hosting serve the same chain, and a path build checks the same
//! signatures for each of them (ECDSA P-256 and RSA verification are most of the cost of
//! judging a chain). A signature check is a pure function of the algorithm, the key, the
//! signed message and the signature, so its outcome is remembered under a SHA-256 of all
//! four: the next site sending that chain pays a hash, not a verification. A certificate's
//! description for the result ([`super::cert::describe`]) is a pure function of its bytes,
//! remembered under its SHA-256 fingerprint (which the description holds anyway). Everything
//! that depends on the site or the time (name, validity, constraints) is still judged per
//! site.
//!
//! Bounded ([`Generations`]): two generations of at most a fixed number of entries each;
//! when the current one is full it becomes the previous one, and an entry found there is
//! carried forward, so the chains in use stay while old ones fall out.

use model::CertificateInfo;
use ring::digest::{Context, SHA256};
use rustls_pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

/// A SHA-256 of what a remembered value is a function of.
pub(crate) type Key = [u8; 32];

/// Values under their key, in two generations of at most `size` entries.
pub(crate) struct Generations<V> {
    size: usize,
    current: HashMap<Key, V>,
    previous: HashMap<Key, V>,
}

impl<V: Clone> Generations<V> {
    pub(crate) fn new(size: usize) -> Self {
        Generations {
            size,
            current: HashMap::new(),
            previous: HashMap::new(),
        }
    }

    pub(crate) fn get(&mut self, key: &Key) -> Option<V> {
        if let Some(v) = self.current.get(key) {
            return Some(v.clone());
        }
        let v = self.previous.remove(key)?;
        self.insert(*key, v.clone());
        Some(v)
    }

    /// Entries held, in both generations.
    pub(crate) fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    pub(crate) fn insert(&mut self, key: Key, value: V) {
        if self.current.len() >= self.size {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key, value);
    }
}

/// The SHA-256 of `bytes`, as a key (a certificate's fingerprint).
pub(crate) fn sha256(bytes: &[u8]) -> Key {
    key_of(&ring::digest::digest(&SHA256, bytes))
}

fn key_of(digest: &ring::digest::Digest) -> Key {
    let mut key = [0; 32];
    key.copy_from_slice(digest.as_ref());
    key
}

/// Signature outcomes (32 + 1 bytes each: about 2 MB in all).
static OUTCOMES: LazyLock<Mutex<Generations<bool>>> =
    LazyLock::new(|| Mutex::new(Generations::new(16_384)));

/// Descriptions (a few hundred bytes each: a few MB in all).
static DESCRIPTIONS: LazyLock<Mutex<Generations<CertificateInfo>>> =
    LazyLock::new(|| Mutex::new(Generations::new(4_096)));

/// The description of the certificate whose SHA-256 is `fingerprint`, made by `describe`
/// the first time.
pub(crate) fn description(
    fingerprint: &Key,
    describe: impl FnOnce() -> CertificateInfo,
) -> CertificateInfo {
    if let Some(known) = DESCRIPTIONS
        .lock()
        .ok()
        .and_then(|mut d| d.get(fingerprint))
    {
        return known;
    }
    let info = describe();
    if let Ok(mut d) = DESCRIPTIONS.lock() {
        d.insert(*fingerprint, info.clone());
    }
    info
}

/// A signature algorithm whose outcomes are remembered (see the module docs).
#[derive(Debug)]
pub(crate) struct Remembered(pub &'static dyn SignatureVerificationAlgorithm);

impl Remembered {
    fn key(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Key {
        let mut ctx = Context::new(&SHA256);
        let alg = self.0.signature_alg_id();
        let spki_alg = self.0.public_key_alg_id();
        // Each part length-prefixed, so no two inputs hash the same bytes.
        for part in [
            alg.as_ref(),
            spki_alg.as_ref(),
            public_key,
            signature,
            message,
        ] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        key_of(&ctx.finish())
    }
}

impl SignatureVerificationAlgorithm for Remembered {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let key = self.key(public_key, message, signature);
        let known = OUTCOMES.lock().map(|mut o| o.get(&key)).ok().flatten();
        let ok = match known {
            Some(ok) => ok,
            None => {
                let ok = self
                    .0
                    .verify_signature(public_key, message, signature)
                    .is_ok();
                if let Ok(mut o) = OUTCOMES.lock() {
                    o.insert(key, ok);
                }
                ok
            }
        };
        if ok { Ok(()) } else { Err(InvalidSignature) }
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.0.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.0.signature_alg_id()
    }

    fn fips(&self) -> bool {
        self.0.fips()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};

    #[test]
    fn a_remembered_check_answers_as_the_check_itself_for_good_and_bad_signatures() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let message = b"tbsCertificate of a shared-hosting leaf";
        let signature = key.sign(&rng, message).unwrap();
        let public = key.public_key().as_ref();
        let mut forged = signature.as_ref().to_vec();
        *forged.last_mut().unwrap() ^= 1;

        let alg = Remembered(webpki::ring::ECDSA_P256_SHA256);
        for round in 0..2 {
            assert!(
                alg.verify_signature(public, message, signature.as_ref())
                    .is_ok(),
                "round {round}"
            );
            assert!(
                alg.verify_signature(public, message, &forged).is_err(),
                "round {round}: a forged signature stays refused"
            );
            assert!(
                alg.verify_signature(public, b"another message", signature.as_ref())
                    .is_err(),
                "round {round}: the signature of one message does not vouch for another"
            );
        }
        // The same inputs under another algorithm are another question.
        let other = Remembered(webpki::ring::ECDSA_P256_SHA384);
        assert!(
            other
                .verify_signature(public, message, signature.as_ref())
                .is_err()
        );
    }

    #[test]
    fn the_memory_keeps_two_generations() {
        const GENERATION: usize = 64;
        let mut o = Generations::new(GENERATION);
        for i in 0..(GENERATION as u32 + 1) {
            let mut k = [0; 32];
            k[..4].copy_from_slice(&i.to_be_bytes());
            o.insert(k, i % 2 == 0);
        }
        assert_eq!(o.current.len(), 1);
        assert_eq!(o.previous.len(), GENERATION);
        let mut first = [0; 32];
        first[..4].copy_from_slice(&0u32.to_be_bytes());
        assert_eq!(
            o.get(&first),
            Some(true),
            "found in the previous generation"
        );
        assert!(o.current.contains_key(&first), "and carried forward");
        assert_eq!(o.get(&[0xff; 32]), None);
    }
}
