//! A raw ClientHello probe: which protocol versions and cipher suites a server really
//! accepts, where rustls (TLS 1.2/1.3 with modern suites only) cannot tell.
//!
//! [`probe`] connects, sends one hand-built ClientHello offering one version (TLS 1.0, 1.1
//! or 1.2; [`probe_up_to`] offers every version from TLS 1.0 up to one, as version
//! negotiation allows, and learns the server's choice) with the broad cipher list an older browser or SSLyze offers
//! (ECDHE/DHE/RSA key exchange; AES-GCM, AES-CBC with SHA-1/SHA-256/SHA-384, ChaCha20,
//! 3DES), SNI, supported_groups, ec_point_formats, signature_algorithms (whatever the
//! version: old servers ignore it, strict modern ones require it), renegotiation_info and extended_master_secret, then reads the server's first flight with
//! [`tls_parser`]: the ServerHello tells the version and suite chosen, the Certificate
//! message (sent in the clear up to TLS 1.2, possibly over several records) the chain.
//!
//! The engine uses it (a) after a successful rustls handshake, to tell whether TLS 1.0/1.1
//! are still accepted (`tls_legacy_supported`), and (b) after a failed one, to speak to the
//! server as Chrome does ([`Offer::CHROME`]: Chrome's TLS 1.2 suites in Chrome's order): a
//! server that accepts it shows Chrome the padlock even where rustls lacks the suite (RSA
//! key exchange, AES-CBC); one that refuses it is asked with the broad offer
//! ([`Offer::BROAD`]) what it speaks instead, or whether only TLS 1.0/1.1
//! (`tls_legacy_only`).
//!
//! # Limits
//! - The handshake is not completed: the probe learns the server's *choice* and the chain
//!   it sends, but no key exchange or signature is verified, so the chain is what the server
//!   claims, not proof that it holds the key.
//! - One answer per probe: the version the server picks from those offered (a server that
//!   accepts TLS 1.1 hides whether it also takes 1.0 until asked again); no TLS 1.3 (rustls
//!   covers it) and no SSL 2/3.
//! - A fixed cipher list: a server that accepts only suites outside it (RC4, export, DES,
//!   Camellia, SEED, GOST, PSK/SRP/anonymous) answers as if it refused the version.
//! - A server that closes or resets the connection instead of sending an alert (some do for
//!   a version they disabled) is reported as [`ProbeOutcome::NoAnswer`], not `Rejected`.
//! - Servers that are intolerant of some extension in the hello may answer differently from
//!   a real browser; the extension set is kept to what old browsers sent.
//! - Everything is bounded: one `timeout` for connect, write and read together, records of
//!   at most 18 KiB (2^14 + 2048, the TLS limit) and 128 KiB read in all; no length the
//!   server sends is trusted beyond the bytes actually received.

use rustls_pki_types::CertificateDer;
use std::net::SocketAddr;
use std::time::Duration;
use tls_parser::{TlsMessage, TlsMessageHandshake};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A protocol version the probe can offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    Tls10,
    Tls11,
    Tls12,
}

impl Version {
    /// `TLSv1.0`, `TLSv1.1`, `TLSv1.2`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Tls10 => "TLSv1.0",
            Version::Tls11 => "TLSv1.1",
            Version::Tls12 => "TLSv1.2",
        }
    }

    /// The version's number on the wire (`0x0301`...).
    pub fn wire(self) -> u16 {
        match self {
            Version::Tls10 => 0x0301,
            Version::Tls11 => 0x0302,
            Version::Tls12 => 0x0303,
        }
    }
}

/// What the server answered to a ClientHello offering one version (or a range up to one)
/// and an [`Offer`] of cipher suites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The server chose this version and suite; `certificates` is the chain it sent (in the
    /// clear up to TLS 1.2), leaf first.
    Accepted {
        version: Version,
        cipher: u16,
        cipher_name: Option<String>,
        certificates: Vec<CertificateDer<'static>>,
    },
    /// The server refused (an alert, or a ServerHello for another version); the reason.
    Rejected(String),
    /// No usable answer: connect failed, timed out or the connection closed.
    NoAnswer(String),
}

/// The most the probe reads from one server.
pub const MAX_ANSWER_BYTES: usize = 128 * 1024;

/// The largest TLS record allowed (RFC 5246 §6.2.3: 2^14 + 2048).
const MAX_RECORD: usize = (1 << 14) + 2048;

const RECORD_ALERT: u8 = 21;
const RECORD_HANDSHAKE: u8 = 22;
const HANDSHAKE_SERVER_HELLO: u8 = 2;
const HANDSHAKE_CERTIFICATE: u8 = 11;
const HANDSHAKE_SERVER_HELLO_DONE: u8 = 14;

/// The suites offered, most preferred first, as an old browser or SSLyze would.
pub const OFFERED_SUITES: &[u16] = &[
    0xc02b, // ECDHE-ECDSA-AES128-GCM-SHA256
    0xc02f, // ECDHE-RSA-AES128-GCM-SHA256
    0xc02c, // ECDHE-ECDSA-AES256-GCM-SHA384
    0xc030, // ECDHE-RSA-AES256-GCM-SHA384
    0xcca9, // ECDHE-ECDSA-CHACHA20-POLY1305
    0xcca8, // ECDHE-RSA-CHACHA20-POLY1305
    0xc023, // ECDHE-ECDSA-AES128-SHA256
    0xc027, // ECDHE-RSA-AES128-SHA256
    0xc024, // ECDHE-ECDSA-AES256-SHA384
    0xc028, // ECDHE-RSA-AES256-SHA384
    0xc009, // ECDHE-ECDSA-AES128-SHA
    0xc013, // ECDHE-RSA-AES128-SHA
    0xc00a, // ECDHE-ECDSA-AES256-SHA
    0xc014, // ECDHE-RSA-AES256-SHA
    0x009e, // DHE-RSA-AES128-GCM-SHA256
    0x009f, // DHE-RSA-AES256-GCM-SHA384
    0xccaa, // DHE-RSA-CHACHA20-POLY1305
    0x0067, // DHE-RSA-AES128-SHA256
    0x006b, // DHE-RSA-AES256-SHA256
    0x0033, // DHE-RSA-AES128-SHA
    0x0039, // DHE-RSA-AES256-SHA
    0x009c, // AES128-GCM-SHA256
    0x009d, // AES256-GCM-SHA384
    0x003c, // AES128-SHA256
    0x003d, // AES256-SHA256
    0x002f, // AES128-SHA
    0x0035, // AES256-SHA
    0xc008, // ECDHE-ECDSA-DES-CBC3-SHA
    0xc012, // ECDHE-RSA-DES-CBC3-SHA
    0x0016, // DHE-RSA-DES-CBC3-SHA
    0x000a, // DES-CBC3-SHA
];

/// x25519, secp256r1, secp384r1, secp521r1.
const GROUPS: &[u16] = &[0x001d, 0x0017, 0x0018, 0x0019];

/// ECDSA and RSA-PSS/PKCS#1 with SHA-256/384/512, then the SHA-1 ones old servers need.
const SIGNATURE_ALGORITHMS: &[u16] = &[
    0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0203, 0x0201,
];

/// Chrome's TLS 1.2 cipher suites, in the order of its ClientHello (Chrome 156; the TLS 1.3
/// suites and GREASE that precede them do not apply to a TLS 1.2-only hello).
///
/// Chromium configures BoringSSL with the cipher rule `ALL:!aPSK:!ECDSA+SHA1:!3DES`
/// (`net/socket/ssl_client_socket_impl.cc`): BoringSSL implements no CBC suite with
/// HMAC-SHA256/SHA384 (no `ECDHE-RSA-AES256-SHA384` and the like) and no DHE, `!ECDSA+SHA1`
/// drops the ECDHE-ECDSA CBC suites and `!3DES` the last 3DES one. What remains, in
/// BoringSSL's order, is the list Chrome sends (its well-known JA3 cipher list after the
/// TLS 1.3 suites: 49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53). So a
/// server that speaks only `ECDHE-RSA-AES256-SHA384` fails in Chrome too, and one that also
/// speaks `ECDHE-RSA-AES256-SHA` gets that one from Chrome, whatever it prefers.
pub const CHROME_TLS12_SUITES: &[u16] = &[
    0xc02b, // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    0xc02f, // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    0xc02c, // TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
    0xc030, // TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
    0xcca9, // TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
    0xcca8, // TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
    0xc013, // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
    0xc014, // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
    0x009c, // TLS_RSA_WITH_AES_128_GCM_SHA256
    0x009d, // TLS_RSA_WITH_AES_256_GCM_SHA384
    0x002f, // TLS_RSA_WITH_AES_128_CBC_SHA
    0x0035, // TLS_RSA_WITH_AES_256_CBC_SHA
];

/// Chrome's signature algorithms (`kVerifyPrefs` in the same file; no SHA-1).
const CHROME_SIGNATURE_ALGORITHMS: &[u16] = &[
    0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
];

/// Chrome's key-exchange groups usable in TLS 1.2: x25519, secp256r1, secp384r1 (its
/// post-quantum hybrid is TLS 1.3 only).
const CHROME_GROUPS: &[u16] = &[0x001d, 0x0017, 0x0018];

/// What a ClientHello offers besides the version: suites in order of preference, key
/// exchange groups and signature algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    pub suites: &'static [u16],
    groups: &'static [u16],
    signature_algorithms: &'static [u16],
}

impl Offer {
    /// What Chrome offers over TLS 1.2, in its order: a server that accepts it shows Chrome
    /// the padlock (certificate permitting), whatever rustls thinks of it.
    pub const CHROME: Offer = Offer {
        suites: CHROME_TLS12_SUITES,
        groups: CHROME_GROUPS,
        signature_algorithms: CHROME_SIGNATURE_ALGORITHMS,
    };

    /// The broad offer of an older browser or SSLyze ([`OFFERED_SUITES`]): to learn what a
    /// server speaks at all.
    pub const BROAD: Offer = Offer {
        suites: OFFERED_SUITES,
        groups: GROUPS,
        signature_algorithms: SIGNATURE_ALGORITHMS,
    };
}

/// Offer `version` to `addr` with SNI `sni` and the broad offer; everything bounded by
/// `timeout`.
pub async fn probe(
    addr: SocketAddr,
    sni: &str,
    version: Version,
    timeout: Duration,
) -> ProbeOutcome {
    probe_offer(addr, sni, version, Offer::BROAD, timeout).await
}

/// Offer `version` with `offer` (e.g. [`Offer::CHROME`]).
pub async fn probe_offer(
    addr: SocketAddr,
    sni: &str,
    version: Version,
    offer: Offer,
    timeout: Duration,
) -> ProbeOutcome {
    probe_range(addr, sni, version, version, offer, timeout).await
}

/// Offer every version from TLS 1.0 up to `max` in one ClientHello, as TLS negotiation
/// allows (the hello names the highest; the server picks any it speaks up to it): one
/// connection tells whether a server still accepts any legacy version, and which is its
/// highest. `Accepted::version` is the one the server chose.
pub async fn probe_up_to(
    addr: SocketAddr,
    sni: &str,
    max: Version,
    timeout: Duration,
) -> ProbeOutcome {
    probe_range(addr, sni, Version::Tls10, max, Offer::BROAD, timeout).await
}

async fn probe_range(
    addr: SocketAddr,
    sni: &str,
    lowest: Version,
    version: Version,
    offer: Offer,
    timeout: Duration,
) -> ProbeOutcome {
    let mut random = [0u8; 32];
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random).is_err() {
        return ProbeOutcome::NoAnswer("no randomness for the ClientHello".into());
    }
    let hello = client_hello(sni, version, offer, &random);
    let reader = Reader::new(lowest, offer.suites);
    match tokio::time::timeout(timeout, exchange(addr, &hello, reader, version)).await {
        Ok(outcome) => outcome,
        Err(_) => {
            ProbeOutcome::NoAnswer(format!("no answer within {:.1} s", timeout.as_secs_f64()))
        }
    }
}

async fn exchange(
    addr: SocketAddr,
    hello: &[u8],
    reader: Reader,
    version: Version,
) -> ProbeOutcome {
    let mut stream = match TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => return ProbeOutcome::NoAnswer(format!("connect to {addr} failed: {e}")),
    };
    if let Err(e) = stream.write_all(hello).await {
        return ProbeOutcome::NoAnswer(format!("sending the ClientHello failed: {e}"));
    }
    read_answer(&mut stream, reader, version).await
}

/// Read the server's first flight from `stream` until the outcome is known.
async fn read_answer(
    stream: &mut (impl AsyncRead + Unpin),
    mut reader: Reader,
    version: Version,
) -> ProbeOutcome {
    let mut read_total = 0usize;
    loop {
        let mut header = [0u8; 5];
        if let Err(e) = stream.read_exact(&mut header).await {
            return reader.closed(version, &e);
        }
        let kind = header[0];
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if !matches!(kind, 20..=24) || header[1] != 3 {
            return ProbeOutcome::NoAnswer("the server did not answer with TLS".into());
        }
        if len > MAX_RECORD {
            return ProbeOutcome::NoAnswer(format!(
                "the server sent an oversized record ({len} bytes)"
            ));
        }
        read_total += 5 + len;
        if read_total > MAX_ANSWER_BYTES {
            return ProbeOutcome::NoAnswer(format!(
                "the server's first flight exceeds {} KiB",
                MAX_ANSWER_BYTES / 1024
            ));
        }
        let mut body = vec![0u8; len];
        if let Err(e) = stream.read_exact(&mut body).await {
            return reader.closed(version, &e);
        }
        if let Some(outcome) = reader.record(kind, &body, version) {
            return outcome;
        }
    }
}

/// Fuzzing: read `answer` as the server's first flight to a hello offering `lowest..=version`
/// with `offer`, and build the hello for `sni` (it must stay well formed).
pub(crate) fn fuzz_answer(
    answer: &[u8],
    sni: &str,
    lowest: Version,
    version: Version,
    offer: Offer,
) -> ProbeOutcome {
    let hello = client_hello(sni, version, offer, &[7; 32]);
    assert!(
        tls_parser::parse_tls_plaintext(&hello).is_ok(),
        "the ClientHello for {sni:?} does not parse"
    );
    let mut answer = answer;
    futures::executor::block_on(read_answer(
        &mut answer,
        Reader::new(lowest, offer.suites),
        version,
    ))
}

/// What has been read so far from the server's first flight.
struct Reader {
    /// Handshake bytes not yet consumed as whole messages.
    handshake: Vec<u8>,
    /// The suite chosen, once the ServerHello was read.
    cipher: Option<u16>,
    /// The lowest version the hello accepts (the offered one, or TLS 1.0 for a range).
    lowest: Version,
    /// The version the server chose, once the ServerHello was read.
    chosen: Option<Version>,
    /// The suites the hello offered.
    offered: &'static [u16],
}

impl Reader {
    fn new(lowest: Version, offered: &'static [u16]) -> Self {
        Reader {
            handshake: Vec::new(),
            cipher: None,
            lowest,
            chosen: None,
            offered,
        }
    }

    /// Take one record; `Some` once the outcome is known.
    fn record(&mut self, kind: u8, body: &[u8], version: Version) -> Option<ProbeOutcome> {
        match kind {
            RECORD_ALERT => Some(match tls_parser::parse_tls_message_alert(body) {
                Ok((_, TlsMessage::Alert(alert))) => {
                    ProbeOutcome::Rejected(format!("alert: {}", alert_name(alert.code.0)))
                }
                _ => ProbeOutcome::NoAnswer("the server sent a malformed alert".into()),
            }),
            RECORD_HANDSHAKE => {
                self.handshake.extend_from_slice(body);
                self.messages(version)
            }
            _ => Some(ProbeOutcome::NoAnswer(format!(
                "the server sent record type {kind} before its hello"
            ))),
        }
    }

    /// Consume the whole handshake messages buffered so far.
    fn messages(&mut self, version: Version) -> Option<ProbeOutcome> {
        while self.handshake.len() >= 4 {
            let kind = self.handshake[0];
            let len = usize::from(self.handshake[1]) << 16
                | usize::from(self.handshake[2]) << 8
                | usize::from(self.handshake[3]);
            if len > MAX_ANSWER_BYTES {
                return Some(ProbeOutcome::NoAnswer(format!(
                    "the server announced a {len}-byte handshake message"
                )));
            }
            if self.handshake.len() < 4 + len {
                return None;
            }
            let message: Vec<u8> = self.handshake.drain(..4 + len).collect();
            if let Some(outcome) = self.message(kind, &message, version) {
                return Some(outcome);
            }
        }
        None
    }

    fn message(&mut self, kind: u8, message: &[u8], version: Version) -> Option<ProbeOutcome> {
        let malformed = |what: &str| Some(ProbeOutcome::NoAnswer(format!("malformed {what}")));
        match (kind, self.cipher) {
            (HANDSHAKE_SERVER_HELLO, None) => {
                let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHello(hello)))) =
                    tls_parser::parse_tls_message_handshake(message)
                else {
                    return malformed("ServerHello");
                };
                let chosen = [Version::Tls10, Version::Tls11, Version::Tls12]
                    .into_iter()
                    .find(|v| v.wire() == hello.version.0)
                    .filter(|v| (self.lowest..=version).contains(v));
                let Some(chosen) = chosen else {
                    return Some(ProbeOutcome::Rejected(format!(
                        "the server answered {} with {}",
                        version.as_str(),
                        version_name(hello.version.0)
                    )));
                };
                self.chosen = Some(chosen);
                if !self.offered.contains(&hello.cipher.0) {
                    return Some(ProbeOutcome::Rejected(format!(
                        "the server chose suite {:#06x}, which was not offered",
                        hello.cipher.0
                    )));
                }
                self.cipher = Some(hello.cipher.0);
                None
            }
            (_, None) => Some(ProbeOutcome::NoAnswer(format!(
                "the server sent handshake message {kind} before its hello"
            ))),
            (HANDSHAKE_CERTIFICATE, Some(cipher)) => {
                let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::Certificate(certs)))) =
                    tls_parser::parse_tls_message_handshake(message)
                else {
                    return malformed("Certificate message");
                };
                let certificates = certs
                    .cert_chain
                    .iter()
                    .map(|c| CertificateDer::from(c.data.to_vec()))
                    .collect();
                Some(accepted(
                    self.chosen.unwrap_or(version),
                    cipher,
                    certificates,
                ))
            }
            // Anonymous or PSK suites send no certificate; the choice is still known.
            (HANDSHAKE_SERVER_HELLO_DONE, Some(cipher)) => {
                Some(accepted(self.chosen.unwrap_or(version), cipher, Vec::new()))
            }
            _ => None,
        }
    }

    /// The connection ended before the outcome was known.
    fn closed(&self, version: Version, e: &std::io::Error) -> ProbeOutcome {
        match self.cipher {
            // The version was accepted; the chain never came.
            Some(cipher) => accepted(self.chosen.unwrap_or(version), cipher, Vec::new()),
            None if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                ProbeOutcome::NoAnswer("the server closed the connection without answering".into())
            }
            None => ProbeOutcome::NoAnswer(format!("reading the answer failed: {e}")),
        }
    }
}

fn accepted(
    version: Version,
    cipher: u16,
    certificates: Vec<CertificateDer<'static>>,
) -> ProbeOutcome {
    ProbeOutcome::Accepted {
        version,
        cipher,
        cipher_name: tls_parser::TlsCipherSuite::from_id(cipher).map(|s| s.name.to_owned()),
        certificates,
    }
}

/// The ClientHello record offering exactly `version` with `offer`.
fn client_hello(sni: &str, version: Version, offer: Offer, random: &[u8; 32]) -> Vec<u8> {
    let mut extensions = Vec::new();
    let host = sni.trim_end_matches('.');
    if !host.is_empty() && host.parse::<std::net::IpAddr>().is_err() && host.len() < 256 {
        let name = host.as_bytes();
        let mut list = vec![0u8]; // host_name
        push_u16_prefixed(&mut list, name);
        let mut body = Vec::new();
        push_u16_prefixed(&mut body, &list);
        push_extension(&mut extensions, 0x0000, &body);
    }
    let mut groups = Vec::new();
    push_u16_prefixed(&mut groups, &u16s(offer.groups));
    push_extension(&mut extensions, 0x000a, &groups);
    push_extension(&mut extensions, 0x000b, &[1, 0]); // ec_point_formats: uncompressed
    // Defined for TLS 1.2 but sent whatever the version: older servers ignore it, and
    // modern ones (rustls) refuse a hello without it before looking at the version, which
    // would hide their clearer protocol_version alert.
    let mut algorithms = Vec::new();
    push_u16_prefixed(&mut algorithms, &u16s(offer.signature_algorithms));
    push_extension(&mut extensions, 0x000d, &algorithms);
    push_extension(&mut extensions, 0x0017, &[]); // extended_master_secret
    push_extension(&mut extensions, 0xff01, &[0]); // renegotiation_info, initial

    let mut hello = Vec::new();
    hello.extend_from_slice(&version.wire().to_be_bytes());
    hello.extend_from_slice(random);
    hello.push(0); // no session id
    push_u16_prefixed(&mut hello, &u16s(offer.suites));
    hello.extend_from_slice(&[1, 0]); // compression: null only
    push_u16_prefixed(&mut hello, &extensions);

    let mut handshake = vec![1u8]; // client_hello
    handshake.extend_from_slice(&(hello.len() as u32).to_be_bytes()[1..]);
    handshake.extend_from_slice(&hello);

    // The record layer says TLS 1.0, as browsers did, for servers intolerant of more.
    let mut record = vec![RECORD_HANDSHAKE, 3, 1];
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

fn u16s(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

fn push_u16_prefixed(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

fn push_extension(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    push_u16_prefixed(out, data);
}

fn version_name(wire: u16) -> String {
    match wire {
        0x0300 => "SSLv3".into(),
        0x0301 => "TLSv1.0".into(),
        0x0302 => "TLSv1.1".into(),
        0x0303 => "TLSv1.2".into(),
        0x0304 => "TLSv1.3".into(),
        other => format!("version {other:#06x}"),
    }
}

/// The RFC name of an alert description.
fn alert_name(code: u8) -> String {
    let name = match code {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        22 => "record_overflow",
        40 => "handshake_failure",
        42 => "bad_certificate",
        47 => "illegal_parameter",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        120 => "no_application_protocol",
        other => return format!("alert {other}"),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tls_parser::TlsMessageHandshake as H;

    fn parse_hello(record: &[u8]) -> (u16, Vec<u16>, Vec<u16>) {
        let (rest, plain) = tls_parser::parse_tls_plaintext(record).unwrap();
        assert!(rest.is_empty());
        let TlsMessage::Handshake(H::ClientHello(hello)) = &plain.msg[0] else {
            panic!("not a ClientHello: {plain:?}");
        };
        let ciphers = hello.ciphers.iter().map(|c| c.0).collect();
        let (_, exts) = tls_parser::parse_tls_client_hello_extensions(hello.ext.unwrap()).unwrap();
        let ext_ids = exts
            .iter()
            .map(|e| u16::from(tls_parser::TlsExtensionType::from(e)))
            .collect();
        (hello.version.0, ciphers, ext_ids)
    }

    #[test]
    fn the_client_hello_offers_one_version_and_parses_back() {
        let record = client_hello("www.example.gov.tw", Version::Tls11, Offer::BROAD, &[7; 32]);
        let (version, ciphers, exts) = parse_hello(&record);
        assert_eq!(version, 0x0302);
        assert_eq!(ciphers, OFFERED_SUITES);
        assert!(exts.contains(&0x0000), "SNI missing: {exts:x?}");
        assert!(
            exts.contains(&0x000d),
            "signature_algorithms, for strict servers"
        );
        assert!(exts.contains(&0xff01));
        let sni = b"www.example.gov.tw";
        assert!(record.windows(sni.len()).any(|w| w == sni));
    }

    #[test]
    fn chromes_hello_offers_chromes_suites_in_chromes_order_and_no_cbc_sha384() {
        let record = client_hello("cbc.gov.tw", Version::Tls12, Offer::CHROME, &[1; 32]);
        let (version, ciphers, _) = parse_hello(&record);
        assert_eq!(version, 0x0303);
        assert_eq!(
            ciphers,
            [
                0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d,
                0x002f, 0x0035
            ]
        );
        for cbc_sha2 in [0xc023, 0xc024, 0xc027, 0xc028, 0x003c, 0x003d] {
            assert!(!ciphers.contains(&cbc_sha2), "{cbc_sha2:#06x}");
        }
        // The broad offer has them, so it can tell what such a server speaks.
        assert!(OFFERED_SUITES.contains(&0xc028));
    }

    #[test]
    fn a_suite_outside_the_offer_is_a_rejection() {
        // ServerHello for TLS 1.2 choosing ECDHE-RSA-AES256-SHA384, which Chrome does not offer.
        let mut body = vec![3, 3];
        body.extend_from_slice(&[0; 32]);
        body.extend_from_slice(&[0, 0xc0, 0x28, 0]);
        let mut msg = vec![HANDSHAKE_SERVER_HELLO, 0, 0, body.len() as u8];
        msg.extend_from_slice(&body);
        let mut chrome = Reader::new(Version::Tls12, CHROME_TLS12_SUITES);
        assert!(matches!(
            chrome.record(RECORD_HANDSHAKE, &msg, Version::Tls12),
            Some(ProbeOutcome::Rejected(_))
        ));
        let mut broad = Reader::new(Version::Tls12, OFFERED_SUITES);
        assert_eq!(broad.record(RECORD_HANDSHAKE, &msg, Version::Tls12), None);
    }

    #[test]
    fn ip_hosts_get_no_sni() {
        let (version, _, exts) = parse_hello(&client_hello(
            "127.0.0.1",
            Version::Tls12,
            Offer::BROAD,
            &[0; 32],
        ));
        assert_eq!(version, 0x0303);
        assert!(exts.contains(&0x000d));
        assert!(!exts.contains(&0x0000));
    }

    #[test]
    fn a_server_hello_for_another_version_is_a_rejection() {
        // ServerHello: version 3.3, random, empty session id, suite 0x002f, null compression.
        let mut body = vec![3, 3];
        body.extend_from_slice(&[0; 32]);
        body.extend_from_slice(&[0, 0x00, 0x2f, 0]);
        let mut msg = vec![HANDSHAKE_SERVER_HELLO, 0, 0, body.len() as u8];
        msg.extend_from_slice(&body);
        let mut reader = Reader::new(Version::Tls10, OFFERED_SUITES);
        let outcome = reader.record(RECORD_HANDSHAKE, &msg, Version::Tls11);
        assert_eq!(
            outcome,
            Some(ProbeOutcome::Rejected(
                "the server answered TLSv1.1 with TLSv1.2".into()
            ))
        );
        // The same hello split over two records, for TLS 1.2, is accepted once done.
        let mut reader = Reader::new(Version::Tls10, OFFERED_SUITES);
        assert_eq!(
            reader.record(RECORD_HANDSHAKE, &msg[..10], Version::Tls12),
            None
        );
        assert_eq!(
            reader.record(RECORD_HANDSHAKE, &msg[10..], Version::Tls12),
            None
        );
        let done = [HANDSHAKE_SERVER_HELLO_DONE, 0, 0, 0];
        let Some(ProbeOutcome::Accepted {
            cipher,
            cipher_name,
            ..
        }) = reader.record(RECORD_HANDSHAKE, &done, Version::Tls12)
        else {
            panic!("not accepted");
        };
        assert_eq!(cipher, 0x002f);
        assert_eq!(cipher_name.as_deref(), Some("TLS_RSA_WITH_AES_128_CBC_SHA"));
    }

    #[test]
    fn alerts_are_named_and_huge_lengths_are_not_trusted() {
        let mut reader = Reader::new(Version::Tls10, OFFERED_SUITES);
        assert_eq!(
            reader.record(RECORD_ALERT, &[2, 70], Version::Tls10),
            Some(ProbeOutcome::Rejected("alert: protocol_version".into()))
        );
        let mut reader = Reader::new(Version::Tls10, OFFERED_SUITES);
        let outcome = reader.record(RECORD_HANDSHAKE, &[2, 0xff, 0xff, 0xff], Version::Tls12);
        assert!(
            matches!(outcome, Some(ProbeOutcome::NoAnswer(_))),
            "{outcome:?}"
        );
    }
}
