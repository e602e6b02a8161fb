//! Name resolution through hickory: the configured nameserver (`--dns-server`, UDP with TCP
//! fallback) or the system's, A and AAAA in parallel, answers cached across sites so a fleet
//! on shared hosting is not looked up again and again.
//!
//! The answer says apart what a webmaster fixes differently: the name does not exist
//! (`dns_nxdomain`), it exists without addresses, the resolver failed, or it timed out.

use hickory_resolver::config::{
    LookupIpStrategy, NameServerConfigGroup, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::{ResolveError, TokioResolver};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Records kept in the cache (hickory counts records, not names).
const CACHE_RECORDS: usize = 32 * 1024;

/// Why a name gave no address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// NXDOMAIN: the name does not exist.
    #[error("the name does not exist (NXDOMAIN)")]
    NxDomain,
    /// The name exists but has no A or AAAA record.
    #[error("the name has no A or AAAA record")]
    NoAddresses,
    /// No answer in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The resolver failed (SERVFAIL, REFUSED, no nameserver reachable...).
    #[error("resolution failed: {0}")]
    Failed(String),
}

/// A caching resolver. Build once, share by reference.
pub struct Resolver {
    inner: TokioResolver,
    timeout: Duration,
    /// Lookups in flight at once. Thousands of sites start together; a burst of tens of
    /// thousands of UDP queries overflows socket buffers on both ends and turns into
    /// `dns_failed` for names that exist. Waiting for a permit counts against the site's
    /// time, not the lookup's.
    in_flight: tokio::sync::Semaphore,
}

impl Resolver {
    /// Ask `server` (UDP, TCP on truncation or error), or the system's nameservers when
    /// `None`. Every lookup is bounded by `timeout`; at most `in_flight` run at once.
    pub fn new(
        server: Option<SocketAddr>,
        timeout: Duration,
        in_flight: usize,
    ) -> Result<Resolver, crate::Error> {
        let mut builder = match server {
            Some(addr) => {
                let group = NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true);
                let config = ResolverConfig::from_parts(None, Vec::new(), group);
                let mut b =
                    TokioResolver::builder_with_config(config, TokioConnectionProvider::default());
                // A lab nameserver is the whole truth: no hosts file.
                b.options_mut().use_hosts_file = ResolveHosts::Never;
                b
            }
            None => TokioResolver::builder_tokio()
                .map_err(|e| crate::Error::Resolver(format!("system configuration: {e}")))?,
        };
        let opts: &mut ResolverOpts = builder.options_mut();
        opts.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        opts.cache_size = CACHE_RECORDS;
        // Three tries within the whole budget: a lost UDP packet (bursts overflow a busy
        // nameserver's socket buffer) is asked again soon, not after half the budget.
        opts.timeout = (timeout / 3).max(Duration::from_millis(200));
        opts.attempts = 3;
        opts.try_tcp_on_error = true;
        opts.ndots = 0;
        // Negative answers are cached a little too, so that a list full of dead names does
        // not ask twice for each of them.
        opts.negative_min_ttl = Some(Duration::from_secs(30));
        Ok(Resolver {
            inner: builder.build(),
            timeout,
            in_flight: tokio::sync::Semaphore::new(in_flight.max(1)),
        })
    }

    /// The addresses of `host` (A then AAAA order as answered), never empty on `Ok`.
    pub async fn lookup(&self, host: &str) -> Result<Vec<IpAddr>, Error> {
        // A literal address needs no lookup.
        if let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            return Ok(vec![ip]);
        }
        // Fully qualified: no search domains, one query per record type.
        let fqdn = if host.ends_with('.') {
            host.to_owned()
        } else {
            format!("{host}.")
        };
        let _permit = self
            .in_flight
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let answer = tokio::time::timeout(self.timeout, self.inner.lookup_ip(fqdn.as_str())).await;
        match answer {
            Err(_) => Err(Error::Timeout(self.timeout)),
            Ok(Err(e)) => Err(classify(&e, self.timeout)),
            Ok(Ok(found)) => {
                let mut addrs: Vec<IpAddr> = Vec::new();
                for ip in found.iter() {
                    if !addrs.contains(&ip) {
                        addrs.push(ip);
                    }
                }
                // IPv4 first, in the order answered: a host without IPv6 routes then does
                // not wait on addresses it cannot reach before the ones it can.
                addrs.sort_by_key(IpAddr::is_ipv6);
                if addrs.is_empty() {
                    Err(Error::NoAddresses)
                } else {
                    Ok(addrs)
                }
            }
        }
    }
}

fn classify(e: &ResolveError, timeout: Duration) -> Error {
    match e.proto().map(|p| p.kind()) {
        Some(ProtoErrorKind::NoRecordsFound { response_code, .. }) => match *response_code {
            ResponseCode::NXDomain => Error::NxDomain,
            ResponseCode::NoError => Error::NoAddresses,
            code => Error::Failed(format!("the nameserver answered {code}")),
        },
        Some(ProtoErrorKind::Timeout) => Error::Timeout(timeout),
        _ => Error::Failed(e.to_string()),
    }
}
