//! The farm's DNS responder: a real hickory-server, authoritative for the farm's zones
//! (`gov.test` and any other the sites use), on UDP and TCP of one loopback port.
//!
//! Every resolvable site has an A record; names inside a zone without records get
//! NXDOMAIN with the zone's SOA, as a real authoritative server answers.

use crate::Error;
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{LowerName, Name, RData, Record};
use hickory_server::ServerFuture;
use hickory_server::authority::{Catalog, ZoneType};
use hickory_server::store::in_memory::InMemoryAuthority;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UdpSocket};

const TTL: u32 = 300;
/// Records a zone may hold before its hosts get zones of their own.
const MAX_ZONE_RECORDS: usize = 1000;
/// UDP sockets sharing the DNS port.
const UDP_SOCKETS: usize = 4;
/// Receive buffer asked for each (the kernel caps it at twice `net.core.rmem_max`).
const UDP_RECV_BUFFER: usize = 4 << 20;

/// A non-blocking UDP socket on `addr` that other sockets may share (SO_REUSEPORT), with a
/// large receive buffer.
fn udp_socket(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_port(true)?;
    // Best effort: a smaller buffer still works.
    let _ = socket.set_recv_buffer_size(UDP_RECV_BUFFER);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// The zone a host belongs to: its last two labels (`a.b.gov.test` → `gov.test`).
pub(crate) fn zone_of(host: &str) -> String {
    let labels: Vec<&str> = host.trim_end_matches('.').split('.').collect();
    let n = labels.len();
    labels[n.saturating_sub(2)..].join(".")
}

/// The authority of each zone served, by zone name.
type Zones = BTreeMap<String, Arc<InMemoryAuthority>>;

/// Start the responder on `bind` (port 0 for a free port) with `records` (host → address).
pub(crate) async fn serve(
    bind: SocketAddr,
    records: &[(String, Ipv4Addr)],
) -> Result<(ServerFuture<Catalog>, SocketAddr), Error> {
    let (server, addr, _) = start(bind, &[], records).await?;
    Ok((server, addr))
}

/// The farm's DNS responder on its own, for tests that place their sites themselves (the
/// engine's): authoritative for the zones it was started with, and records can be added
/// while it runs. Stops when dropped.
pub struct Dns {
    server: ServerFuture<Catalog>,
    addr: SocketAddr,
    zones: Zones,
}

impl Dns {
    /// Start on `bind` (port 0: a free port), authoritative for `zones` (served even while
    /// empty: their other names get NXDOMAIN) and for the zones of `records`.
    pub async fn start(
        bind: SocketAddr,
        zones: &[&str],
        records: &[(String, Ipv4Addr)],
    ) -> Result<Dns, Error> {
        let (server, addr, zones) = start(bind, zones, records).await?;
        Ok(Dns {
            server,
            addr,
            zones,
        })
    }

    /// Where it answers (UDP and TCP), for the scanner's `--dns-server`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answer `host` with `ip` from now on; `host` must be in a zone it serves.
    pub async fn add(&self, host: &str, ip: Ipv4Addr) -> Result<(), Error> {
        let host = host.trim_end_matches('.');
        let authority = self
            .zones
            .iter()
            .filter(|(zone, _)| host == zone.as_str() || host.ends_with(&format!(".{zone}")))
            .max_by_key(|(zone, _)| zone.len())
            .map(|(_, authority)| authority)
            .ok_or_else(|| Error::Dns(format!("{host} is in no zone served")))?;
        authority
            .upsert(Record::from_rdata(fqdn(host)?, TTL, RData::A(A(ip))), 1)
            .await;
        Ok(())
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        self.server.shutdown_token().cancel();
    }
}

/// The responder: the zones of `records` and the `extra` ones, on `bind`.
async fn start(
    bind: SocketAddr,
    extra: &[&str],
    records: &[(String, Ipv4Addr)],
) -> Result<(ServerFuture<Catalog>, SocketAddr, Zones), Error> {
    let mut by_zone: BTreeMap<String, Vec<(&str, Ipv4Addr)>> = BTreeMap::new();
    for zone in extra {
        by_zone.entry(zone_of(zone)).or_default();
    }
    for (host, addr) in records {
        by_zone
            .entry(zone_of(host))
            .or_default()
            .push((host, *addr));
    }
    // hickory's in-memory authority answers in time linear in its records (a profile of a
    // 100,000-site fleet: 76% of the farm's CPU in name comparisons). A big zone is split:
    // each host becomes the apex of its own zone, and the parent zone stays, empty, so that
    // names outside the farm still get NXDOMAIN.
    let mut zones: BTreeMap<String, InMemoryAuthority> = BTreeMap::new();
    for (zone, hosts) in by_zone {
        let split = hosts.len() > MAX_ZONE_RECORDS;
        zones.insert(zone.clone(), new_zone(&zone)?);
        for (host, addr) in hosts {
            let apex = if split && host != zone {
                host.to_owned()
            } else {
                zone.clone()
            };
            if !zones.contains_key(&apex) {
                zones.insert(apex.clone(), new_zone(&apex)?);
            }
            let authority = zones
                .get_mut(&apex)
                .ok_or_else(|| Error::Dns(apex.clone()))?;
            authority.upsert_mut(Record::from_rdata(fqdn(host)?, TTL, RData::A(A(addr))), 1);
        }
    }
    let zones: Zones = zones
        .into_iter()
        .map(|(zone, authority)| (zone, Arc::new(authority)))
        .collect();
    let mut catalog = Catalog::new();
    for (zone, authority) in &zones {
        catalog.upsert(LowerName::new(&fqdn(zone)?), vec![authority.clone()]);
    }

    let (udp, tcp, addr) = bind_pair(bind).await?;
    let mut server = ServerFuture::new(catalog);
    server.register_socket(udp);
    // More sockets on the same port (SO_REUSEPORT): the kernel spreads queries over them,
    // each with its own receive buffer, so a scanner's burst of queries is not dropped by a
    // full buffer while the farm is busy serving TLS.
    for _ in 1..UDP_SOCKETS {
        let udp = udp_socket(addr).map_err(|e| Error::io(format!("bind DNS UDP {addr}"), e))?;
        server.register_socket(udp);
    }
    server.register_listener(tcp, Duration::from_secs(5));
    Ok((server, addr, zones))
}

/// A UDP socket and a TCP listener on the same port, as a resolver expects (truncated
/// answers are retried over TCP). With port 0, ports are drawn below the kernel's ephemeral
/// range (32768 and up by default): a port the kernel hands out for UDP may be held on TCP by
/// client connections in TIME_WAIT, which block a listener, and a busy test machine has
/// thousands of those. Bounded attempts.
async fn bind_pair(bind: SocketAddr) -> Result<(UdpSocket, TcpListener, SocketAddr), Error> {
    use std::hash::BuildHasher;
    let random = std::collections::hash_map::RandomState::new();
    let attempts = if bind.port() == 0 { 200 } else { 1 };
    let mut last = None;
    for attempt in 0..attempts {
        let mut addr = bind;
        if bind.port() == 0 {
            addr.set_port(10_000 + (random.hash_one(attempt) % 22_000) as u16);
        }
        // The TCP listener first: it is exclusive, so it claims the port for this farm
        // before any UDP socket (which may share it, SO_REUSEPORT) is bound.
        let tcp = match TcpListener::bind(addr).await {
            Ok(tcp) => tcp,
            Err(e) => {
                last = Some((addr, e));
                continue;
            }
        };
        match udp_socket(addr) {
            Ok(udp) => return Ok((udp, tcp, addr)),
            Err(e) => last = Some((addr, e)),
        }
    }
    let (addr, e) = last.expect("at least one attempt");
    Err(Error::io(format!("bind DNS UDP+TCP {addr}"), e))
}

fn fqdn(name: &str) -> Result<Name, Error> {
    Name::from_str(&format!("{}.", name.trim_end_matches('.')))
        .map_err(|e| Error::Dns(format!("bad name {name}: {e}")))
}

fn new_zone(zone: &str) -> Result<InMemoryAuthority, Error> {
    let origin = fqdn(zone)?;
    let mut authority = InMemoryAuthority::empty(origin.clone(), ZoneType::Primary, false);
    let soa = SOA::new(
        fqdn(&format!("ns.{zone}"))?,
        fqdn(&format!("hostmaster.{zone}"))?,
        1,
        3600,
        600,
        86400,
        60,
    );
    authority.upsert_mut(Record::from_rdata(origin, TTL, RData::SOA(soa)), 1);
    Ok(authority)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_are_the_last_two_labels() {
        assert_eq!(zone_of("a.b.wild.gov.test"), "gov.test");
        assert_eq!(zone_of("gov.test"), "gov.test");
        assert_eq!(zone_of("x.example.test."), "example.test");
    }
}
