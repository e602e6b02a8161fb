//! The fetcher's memory with many big pages in flight: each page is streamed through the HTML
//! parser as it arrives, so what a request holds does not grow with its page (issue 10: 256
//! sites serving 100 MB pages once cost 743 MB, 2.9 MB each). Its own test binary, so no
//! other test shares the process whose peak resident memory is read.

use engine::Limits;
use engine::fetch::Fetcher;
use std::net::{IpAddr, Ipv4Addr};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

/// Requests in flight at once.
const IN_FLIGHT: usize = 32;
/// Each page: far past the 2 MiB cap.
const PAGE: usize = 32 << 20;
/// Where a meta refresh sits in each page: past the first MiB, inside the cap.
const LATE: usize = 3 << 19;

/// The peak resident memory of this process so far, bytes (`VmHWM`).
fn peak_rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// Serves every connection a [`PAGE`]-byte HTML page with a meta refresh at [`LATE`],
/// written from one small buffer (the server adds no memory per page), until the client
/// hangs up. Each connection waits for all to have been accepted, so they are in flight
/// together.
async fn serve(listener: TcpListener) {
    let filler = "<p>本網站提供機關最新消息。</p>\n".repeat(2048);
    let refresh = "<meta http-equiv=refresh content=\"0; url=https://late.test/\">";
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(IN_FLIGHT));
    loop {
        let Ok((mut s, _)) = listener.accept().await else {
            return;
        };
        let (filler, barrier) = (filler.clone(), barrier.clone());
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            barrier.wait().await;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {PAGE}\r\n\r\n"
            );
            if s.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let mut written = 0;
            let mut refreshed = false;
            while written < PAGE {
                let piece = if !refreshed && written >= LATE {
                    refreshed = true;
                    refresh
                } else {
                    &filler[..filler.len().min(PAGE - written)]
                };
                if s.write_all(piece.as_bytes()).await.is_err() {
                    return;
                }
                written += piece.len();
            }
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_pages_in_flight_are_streamed_through_the_parser_not_held_whole() {
    let ip = Ipv4Addr::new(127, 115, 0, 1);
    let listener = TcpListener::bind((ip, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(serve(listener));
    // Every page is read to the cap, however long a loaded machine takes to parse them.
    let limits = Limits {
        response_timeout: std::time::Duration::from_secs(600),
        ..Limits::default()
    };
    let cap = limits.max_body_bytes;
    let fetcher =
        Fetcher::new(engine::tls::scanning_client_config(), "memory-test", limits).unwrap();
    let url = Url::parse(&format!("http://page.test:{port}/")).unwrap();

    let before = peak_rss();
    let addrs = [IpAddr::V4(ip)];
    let gets = (0..IN_FLIGHT).map(|_| fetcher.get(&url, &addrs, port));
    let fetched = futures::future::join_all(gets).await;
    let grown = peak_rss().saturating_sub(before);

    for f in &fetched {
        let response = f.result.as_ref().expect("a response");
        let page = response.page.as_ref().expect("the page was read");
        // Read up to the cap: the refresh 1.5 MiB in is seen, and the page says it was cut.
        let refresh = page.meta_refresh.as_ref().expect("the late meta refresh");
        assert_eq!(refresh.url.as_ref().unwrap().as_str(), "https://late.test/");
        assert!(page.mixed.truncated);
    }
    // Holding each body up to the cap would take IN_FLIGHT × 2 MiB (64 MiB) at once.
    assert!(
        grown < IN_FLIGHT * cap / 4,
        "peak RSS grew by {} MiB for {IN_FLIGHT} pages in flight",
        grown >> 20
    );
}
