//! Test hosts on one machine: network namespaces (`ip netns`) joined by veth pairs to a
//! bridge in a namespace of its own, so that what the tests run there talks over a real
//! network path between separate network stacks, not over a shared loopback.
//!
//! ```text
//!   [redis] [coordinator] [worker-1] … [admin] [web]     one namespace per host,
//!      \         |            |           |      /       198.18.0.N/24 on a veth each
//!       +------------ bridge (in its own namespace) -+
//! ```
//!
//! Addresses are from 198.18.0.0/15 (RFC 2544's benchmarking range: never a real site). A
//! host can serve a whole range as its own ([`Net::serve_range`]: the farm's sites), which
//! every other host routes to it. Processes run on a host with `ip netns exec`
//! ([`Net::command`]); in-process servers run on a Tokio runtime whose threads are in the
//! host's namespace ([`Net::runtime`]); a closure can run there too ([`Net::on`]).
//!
//! Everything is removed when the [`Net`] is dropped. Needs root and `ip` (iproute2).

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// One host: its namespace's name and its address.
#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    pub netns: String,
    pub addr: Ipv4Addr,
}

/// A set of hosts on one bridge. Removed (namespaces, links, processes' network) on drop.
#[derive(Debug)]
pub struct Net {
    hosts: Vec<Host>,
    bridge_ns: String,
}

static NETS: AtomicU32 = AtomicU32::new(0);

/// Run `ip ARGS…`, panicking with its stderr when it fails.
fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run ip (install iproute2): {e}"));
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Net {
    /// Make one namespace per name in `hosts`, each with the address 198.18.0.(i+1), on one
    /// bridge.
    pub fn new(hosts: &[&str]) -> Net {
        assert!(hosts.len() < 250, "one /24");
        let tag = format!(
            "{:x}{:x}",
            std::process::id() % 0x10000,
            NETS.fetch_add(1, Ordering::Relaxed)
        );
        let bridge_ns = format!("govscan-{tag}-lan");
        let mut net = Net {
            hosts: Vec::new(),
            bridge_ns,
        };
        ip(&["netns", "add", &net.bridge_ns]);
        let lan = net.bridge_ns.clone();
        ip(&["-n", &lan, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &lan, "link", "set", "br0", "up"]);
        for (i, name) in hosts.iter().enumerate() {
            let netns = format!("govscan-{tag}-{name}");
            let addr = Ipv4Addr::new(198, 18, 0, i as u8 + 1);
            ip(&["netns", "add", &netns]);
            // Pushed before the links exist: a failure below still removes the namespace.
            net.hosts.push(Host {
                name: (*name).to_owned(),
                netns: netns.clone(),
                addr,
            });
            // Link names are at most 15 bytes: made in the bridge's namespace with short
            // names, then one end moved into the host and renamed eth0.
            let (host_end, lan_end) = (format!("h{i}"), format!("p{i}"));
            ip(&[
                "-n", &lan, "link", "add", &host_end, "type", "veth", "peer", "name", &lan_end,
            ]);
            ip(&["-n", &lan, "link", "set", &lan_end, "master", "br0", "up"]);
            ip(&["-n", &lan, "link", "set", &host_end, "netns", &netns]);
            ip(&["-n", &netns, "link", "set", &host_end, "name", "eth0"]);
            ip(&[
                "-n",
                &netns,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                "eth0",
            ]);
            ip(&["-n", &netns, "link", "set", "eth0", "up"]);
            ip(&["-n", &netns, "link", "set", "lo", "up"]);
        }
        net
    }

    /// The host called `name`.
    pub fn host(&self, name: &str) -> &Host {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("no host {name} in this net"))
    }

    /// The address of the host called `name`.
    pub fn addr(&self, name: &str) -> Ipv4Addr {
        self.host(name).addr
    }

    /// Every host whose name starts with `prefix` (e.g. the workers).
    pub fn hosts_named(&self, prefix: &str) -> Vec<&Host> {
        self.hosts
            .iter()
            .filter(|h| h.name.starts_with(prefix))
            .collect()
    }

    /// `host` answers for every address of `cidr` (the kernel's "local" route: a server can
    /// bind any of them), and every other host routes `cidr` to it.
    pub fn serve_range(&self, host: &str, cidr: &str) {
        let server = self.host(host);
        ip(&[
            "-n",
            &server.netns,
            "route",
            "add",
            "local",
            cidr,
            "dev",
            "lo",
        ]);
        let via = server.addr.to_string();
        for other in self.hosts.iter().filter(|h| h.name != host) {
            ip(&["-n", &other.netns, "route", "add", cidr, "via", &via]);
        }
    }

    /// `program` run on `host` (`ip netns exec`, which execs: the child's pid is the
    /// program's own, so signals reach it).
    pub fn command(&self, host: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.host(host).netns])
            .arg(program);
        cmd
    }

    /// Run `f` on a thread in `host`'s namespace: the sockets it makes are that host's.
    pub fn on<T: Send + 'static>(&self, host: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/var/run/netns/{}", self.host(host).netns);
        std::thread::spawn(move || {
            enter(&path);
            f()
        })
        .join()
        .expect("the thread in the namespace")
    }

    /// A Tokio runtime whose threads are all in `host`'s namespace (threads inherit their
    /// creator's namespace): spawn servers on it with [`tokio::runtime::Runtime::spawn`]
    /// (never `block_on` from another thread: that runs the future outside). Shut it down
    /// with `shutdown_background` when done.
    pub fn runtime(&self, host: &str) -> tokio::runtime::Runtime {
        self.on(host, || {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime in the namespace")
        })
    }
}

/// Move this thread into the network namespace at `path`.
fn enter(path: &str) {
    let ns = std::fs::File::open(path).unwrap_or_else(|e| panic!("open {path}: {e}"));
    rustix::thread::move_into_link_name_space(
        std::os::fd::AsFd::as_fd(&ns),
        Some(rustix::thread::LinkNameSpaceType::Network),
    )
    .unwrap_or_else(|e| panic!("setns {path}: {e}"));
}

impl Drop for Net {
    fn drop(&mut self) {
        for host in &self.hosts {
            let _ = Command::new("ip")
                .args(["netns", "del", &host.netns])
                .status();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.bridge_ns])
            .status();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two hosts reach each other over the bridge, and neither reaches the other's loopback.
    #[test]
    fn hosts_talk_over_the_bridge_and_not_over_loopback() {
        let net = Net::new(&["a", "b"]);
        let b = net.addr("b");
        let listener = net.on("b", move || {
            std::net::TcpListener::bind((b, 0)).expect("bind on b")
        });
        let port = listener.local_addr().unwrap().port();
        let reached = net.on("a", move || std::net::TcpStream::connect((b, port)).is_ok());
        assert!(reached, "a reaches b's address");
        let local = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let local_port = local.local_addr().unwrap().port();
        let crossed = net.on("a", move || {
            std::net::TcpStream::connect(("127.0.0.1", local_port)).is_ok()
        });
        assert!(!crossed, "a's loopback is its own, not the machine's");
    }
}
