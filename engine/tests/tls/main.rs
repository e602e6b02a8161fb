//! The TLS side of the engine against real certificates and real servers on loopback:
//! chain judging (`tls::judge`) and the raw ClientHello probe (`legacy::probe`). The
//! certificates come from `farm::certs`, the servers from the farm.

mod judge;
mod probe;
