//! The TLS side of the engine against real certificates and real servers on loopback:
//! chain judging (`tls::judge`) and the raw ClientHello probe (`legacy::probe`).

mod certs;
mod judge;
mod probe;
