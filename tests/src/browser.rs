//! Headless Chromium as the oracle of the test suite: it visits a farm site the way a
//! visitor does, and says what the browser showed — a secure page or not, where
//! `http://` ended, which subresources it blocked or upgraded as mixed content, and
//! whether a form posts to `http:`. The browser test compares that with the scanner.
//!
//! Set-up ([`Chromium::launch`]): Debian's `chromium` (`/usr/bin/chromium`), headless, a
//! fresh profile, and `HOME` in a temporary directory whose NSS database
//! (`$HOME/.pki/nssdb`, made with `certutil`) trusts the farm's root CA as a CA (`C,,`).
//! Host names resolve through `--host-resolver-rules` to the farm's loopback addresses,
//! every other name to nothing, so the browser contacts no other address. Each visit runs
//! in a browser context of its own, so no visit sees another's HSTS or cache.
//! Chrome's automatic HTTPS upgrades (HTTPS-Upgrades, HTTPS-First in incognito contexts)
//! are switched off: `forced_https` is about what the site does with `http://`, not what
//! the browser would try on its own.

use crate::cdp::{CdpError, Connection, Event, Tab};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Where Debian's package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The longest one visit may take (navigation, redirects, subresources); a site that has
/// shown nothing by then showed no page (e.g. a TLS port that never answers).
pub const VISIT_BOUND: Duration = Duration::from_secs(15);

/// A visit has settled when the main frame stopped loading and nothing happened for this
/// long (a `<meta http-equiv=refresh content=0>` navigates well within it).
pub const QUIET: Duration = Duration::from_millis(800);

/// How long Chromium may take to print its DevTools endpoint.
pub const LAUNCH_BOUND: Duration = Duration::from_secs(30);

/// Why the browser could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(
        "{CHROMIUM} not found: install Debian's `chromium` package (./test.sh does: \
         apt-get install chromium libnss3-tools)"
    )]
    NoChromium,
    #[error("certutil not found: install Debian's `libnss3-tools` package (./test.sh does)")]
    NoCertutil,
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("certutil {args}: {stderr}")]
    Certutil { args: String, stderr: String },
    #[error("chromium printed no DevTools endpoint within {LAUNCH_BOUND:?}; its stderr:\n{0}")]
    NoEndpoint(String),
    #[error(transparent)]
    Cdp(#[from] CdpError),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> LaunchError {
    let what = what.into();
    move |source| LaunchError::Io { what, source }
}

/// A running headless Chromium. Killed when dropped.
pub struct Chromium {
    conn: Connection,
    child: tokio::process::Child,
    version: String,
    _home: tempfile::TempDir,
}

impl Chromium {
    /// Start Chromium trusting `ca_pem` (the farm's root) and resolving each of `hosts`
    /// to its address; tries twice, since a first start on a cold machine can be slow.
    pub async fn launch(
        ca_pem: &Path,
        hosts: &[(String, Ipv4Addr)],
    ) -> Result<Chromium, LaunchError> {
        match Chromium::launch_once(ca_pem, hosts).await {
            Ok(c) => Ok(c),
            Err(e @ (LaunchError::NoChromium | LaunchError::NoCertutil)) => Err(e),
            Err(first) => {
                eprintln!("chromium did not start ({first}); trying once more");
                Chromium::launch_once(ca_pem, hosts).await
            }
        }
    }

    async fn launch_once(
        ca_pem: &Path,
        hosts: &[(String, Ipv4Addr)],
    ) -> Result<Chromium, LaunchError> {
        if !Path::new(CHROMIUM).is_file() {
            return Err(LaunchError::NoChromium);
        }
        let home = tempfile::Builder::new()
            .prefix("scan-chromium-")
            .tempdir()
            .map_err(io("create a temporary HOME"))?;
        trust_in_nss(home.path(), ca_pem).await?;
        let profile = home.path().join("profile");
        let mut cmd = tokio::process::Command::new(CHROMIUM);
        cmd.args(args(&profile, hosts))
            .env("HOME", home.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(io(format!("start {CHROMIUM}")))?;
        let stderr = child.stderr.take().expect("piped stderr");
        let (ws_url, _drain) = endpoint(stderr).await?;
        let conn = Connection::connect(&ws_url).await?;
        let version = conn
            .call(None, "Browser.getVersion", json!({}))
            .await?
            .get("product")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        Ok(Chromium {
            conn,
            child,
            version,
            _home: home,
        })
    }

    /// The browser's product and version (`Chrome/156.0…`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Visit `url` in a fresh context and report what the browser showed.
    pub async fn visit(&self, url: &str) -> Visit {
        let mut visit = Visit {
            url: url.to_owned(),
            ..Visit::default()
        };
        let mut tab = match Tab::open(
            &self.conn,
            &["Page", "Network", "Security", "Audits", "Log"],
        )
        .await
        {
            Ok(t) => t,
            Err(e) => {
                visit.error = Some(format!("could not open a tab: {e}"));
                return visit;
            }
        };
        let deadline = Instant::now() + VISIT_BOUND;
        drive(&mut tab, &mut visit, deadline).await;
        tab.close().await;
        visit
    }

    /// Close the browser and wait for it to exit.
    pub async fn close(mut self) {
        let _ = self.conn.call(None, "Browser.close", json!({})).await;
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// The command line: the set-up of the module docs. No proxy, no background traffic, no
/// QUIC (the farm speaks TCP only), no sandbox (the tests run as root).
fn args(profile: &Path, hosts: &[(String, Ipv4Addr)]) -> Vec<String> {
    let mut rules: Vec<String> = hosts.iter().map(|(h, a)| format!("MAP {h} {a}")).collect();
    rules.push("MAP * ~NOTFOUND".to_owned());
    vec![
        "--headless".into(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--no-default-browser-check".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-extensions".into(),
        "--disable-dev-shm-usage".into(),
        "--no-proxy-server".into(),
        "--disable-features=HttpsUpgrades,HttpsFirstModeIncognito,\
         HttpsFirstBalancedModeAutoEnable,HttpsFirstModeV2ForTypicallySecureUsers"
            .into(),
        format!("--host-resolver-rules={}", rules.join(", ")),
        format!("--user-data-dir={}", profile.display()),
        "--remote-debugging-port=0".into(),
        "about:blank".into(),
    ]
}

/// `$HOME/.pki/nssdb`, trusting every root of `ca_pem` as a CA for TLS servers.
async fn trust_in_nss(home: &Path, ca_pem: &Path) -> Result<(), LaunchError> {
    let db = home.join(".pki").join("nssdb");
    std::fs::create_dir_all(&db).map_err(io(format!("create {}", db.display())))?;
    let db = format!("sql:{}", db.display());
    certutil(&["-N", "-d", &db, "--empty-password"]).await?;
    // `certutil -A` takes the first certificate of a file: one file per root.
    let pem = std::fs::read_to_string(ca_pem).map_err(io(format!("read {}", ca_pem.display())))?;
    const END: &str = "-----END CERTIFICATE-----";
    let roots = pem.split_inclusive(END).filter(|b| b.contains(END));
    for (i, block) in roots.enumerate() {
        let file = home.join(format!("root-{i}.pem"));
        std::fs::write(&file, block.trim_start())
            .map_err(io(format!("write {}", file.display())))?;
        let name = format!("scan-farm-root-{i}");
        let file = file.display().to_string();
        certutil(&["-A", "-d", &db, "-n", &name, "-t", "C,,", "-i", &file]).await?;
    }
    Ok(())
}

async fn certutil(args: &[&str]) -> Result<(), LaunchError> {
    let out = tokio::process::Command::new("certutil")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => LaunchError::NoCertutil,
            _ => LaunchError::Io {
                what: "run certutil".into(),
                source: e,
            },
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(LaunchError::Certutil {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

/// Read Chromium's stderr until it names its DevTools endpoint; then keep draining it
/// (a full pipe would stall the browser) in a task that ends with the browser.
async fn endpoint(
    stderr: tokio::process::ChildStderr,
) -> Result<(String, tokio::task::JoinHandle<()>), LaunchError> {
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = Vec::new();
    let found = tokio::time::timeout(LAUNCH_BOUND, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(at) = line.find("ws://") {
                return Some(line[at..].trim().to_owned());
            }
            seen.push(line);
        }
        None
    })
    .await;
    match found {
        Ok(Some(url)) => {
            let drain =
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            Ok((url, drain))
        }
        _ => {
            let tail = seen.len().saturating_sub(20);
            Err(LaunchError::NoEndpoint(seen[tail..].join("\n")))
        }
    }
}

/// What one visit showed.
#[derive(Debug, Clone, Default)]
pub struct Visit {
    /// The URL typed.
    pub url: String,
    /// The URL of the main frame's last committed document.
    pub final_url: Option<String>,
    /// Every main-frame document request, redirects included, in order.
    pub hops: Vec<String>,
    /// The net error of the main document (`net::ERR_…`), or why the visit gave up.
    pub error: Option<String>,
    /// The page's last Security state (`secure`, `neutral`, `insecure`,
    /// `insecure-broken`, …) and its issue ids.
    pub security_state: Option<String>,
    pub security_issues: Vec<String>,
    /// Every other request the page made (subresources, the favicon), in order.
    pub requested: Vec<String>,
    /// Subresources blocked as mixed content.
    pub blocked: Vec<String>,
    /// `http:` subresources the browser fetched over https instead.
    pub upgraded: Vec<String>,
    /// `http:` subresources loaded as they were (displayed mixed content).
    pub displayed: Vec<String>,
    /// Forms that post to `http:` (console warnings or the Security state's
    /// `contained-mixed-form`).
    pub insecure_forms: Vec<String>,
}

impl Visit {
    /// The browser showed a secure page: no net error or interstitial, the final URL is
    /// https, and the Security state is not broken.
    pub fn secure_page(&self) -> bool {
        self.error.is_none()
            && self
                .final_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
            && self.security_state.as_deref() != Some("insecure-broken")
            && !self.security_issues.iter().any(|i| i == "is-error-page")
    }

    /// One line for a failure message.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} -> {} [{}]",
            self.url,
            self.final_url.as_deref().unwrap_or("(nothing)"),
            self.security_state
                .as_deref()
                .unwrap_or("no security state"),
        );
        if let Some(e) = &self.error {
            s.push_str(&format!(" error {e}"));
        }
        if self.hops.len() > 1 {
            s.push_str(&format!(" hops {:?}", self.hops));
        }
        if !self.security_issues.is_empty() {
            s.push_str(&format!(" issues {:?}", self.security_issues));
        }
        for (what, list) in [
            ("requested", &self.requested),
            ("blocked", &self.blocked),
            ("upgraded", &self.upgraded),
            ("displayed", &self.displayed),
            ("forms", &self.insecure_forms),
        ] {
            if !list.is_empty() {
                s.push_str(&format!(" {what} {list:?}"));
            }
        }
        s
    }
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_owned());
    }
}

/// Navigate and read events until the page settles or `deadline` passes.
async fn drive(tab: &mut Tab, visit: &mut Visit, deadline: Instant) {
    let main = match tab.call("Page.getFrameTree", json!({})).await {
        Ok(tree) => text(&tree, &["frameTree", "frame", "id"])
            .unwrap_or_default()
            .to_owned(),
        Err(e) => {
            visit.error = Some(format!("Page.getFrameTree: {e}"));
            return;
        }
    };
    let mut state = State {
        main,
        ..State::default()
    };
    let navigate = tab.call("Page.navigate", json!({"url": visit.url}));
    match tokio::time::timeout_at(deadline.into(), navigate).await {
        Ok(Ok(r)) => {
            if let Some(e) = text(&r, &["errorText"]).filter(|e| !e.is_empty()) {
                visit.error = Some(e.to_owned());
            }
        }
        Ok(Err(e)) => visit.error = Some(format!("Page.navigate: {e}")),
        Err(_) => {
            visit.error = Some(format!("no page within {VISIT_BOUND:?}"));
        }
    }
    let mut last = Instant::now();
    loop {
        let now = Instant::now();
        if now >= deadline {
            if state.loading && visit.error.is_none() {
                visit.error = Some(format!("still loading after {VISIT_BOUND:?}"));
            }
            break;
        }
        if !state.loading && now.duration_since(last) >= QUIET {
            break;
        }
        let wait = (deadline - now).min(QUIET);
        match tokio::time::timeout(wait, tab.events.recv()).await {
            Ok(Some(ev)) => {
                last = Instant::now();
                state.on(&ev, visit);
            }
            Ok(None) => break,
            Err(_) => {}
        }
    }
}

#[derive(Default)]
struct State {
    main: String,
    loading: bool,
    /// requestId → URL, for the requests seen.
    urls: HashMap<String, String>,
    /// The request id of the main frame's current document.
    document: Option<String>,
}

impl State {
    fn on(&mut self, ev: &Event, visit: &mut Visit) {
        let p = &ev.params;
        match ev.method.as_str() {
            "Page.frameStartedLoading" if text(p, &["frameId"]) == Some(&self.main) => {
                self.loading = true;
            }
            "Page.frameStoppedLoading" if text(p, &["frameId"]) == Some(&self.main) => {
                self.loading = false;
            }
            "Page.frameNavigated" if p["frame"].get("parentId").is_none() => {
                if let Some(u) = text(p, &["frame", "url"]) {
                    visit.final_url = Some(u.to_owned());
                }
            }
            "Network.requestWillBeSent" => {
                let (Some(id), Some(url)) = (text(p, &["requestId"]), text(p, &["request", "url"]))
                else {
                    return;
                };
                self.urls.insert(id.to_owned(), url.to_owned());
                if text(p, &["type"]) == Some("Document")
                    && text(p, &["frameId"]) == Some(&self.main)
                {
                    self.document = Some(id.to_owned());
                    visit.hops.push(url.to_owned());
                    // A new document: the last one's error no longer stands.
                    if visit
                        .error
                        .as_deref()
                        .is_some_and(|e| e.starts_with("net::"))
                    {
                        visit.error = None;
                    }
                } else if !url.starts_with("data:") {
                    push_unique(&mut visit.requested, url);
                }
            }
            "Network.loadingFailed" => {
                let id = text(p, &["requestId"]).unwrap_or_default();
                let url = self.urls.get(id).cloned().unwrap_or_default();
                if text(p, &["blockedReason"]) == Some("mixed-content") {
                    push_unique(&mut visit.blocked, &url);
                }
                if self.document.as_deref() == Some(id)
                    && let Some(e) = text(p, &["errorText"])
                    && e != "net::ERR_ABORTED"
                {
                    visit.error = Some(e.to_owned());
                }
            }
            "Audits.issueAdded" => {
                let issue = &p["issue"];
                if text(issue, &["code"]) != Some("MixedContentIssue") {
                    return;
                }
                let d = &issue["details"]["mixedContentIssueDetails"];
                let url = text(d, &["insecureURL"]).unwrap_or_default();
                let form = text(d, &["resourceType"]) == Some("Form");
                match text(d, &["resolutionStatus"]) {
                    _ if form => push_unique(&mut visit.insecure_forms, url),
                    Some("MixedContentBlocked") => push_unique(&mut visit.blocked, url),
                    Some("MixedContentAutomaticallyUpgraded") => {
                        push_unique(&mut visit.upgraded, url)
                    }
                    Some(_) => push_unique(&mut visit.displayed, url),
                    None => {}
                }
            }
            "Log.entryAdded" => {
                let t = text(p, &["entry", "text"]).unwrap_or_default();
                if t.contains("form that targets an insecure endpoint") {
                    let url = t.split('\'').nth(3).unwrap_or(t).to_owned();
                    push_unique(&mut visit.insecure_forms, &url);
                }
            }
            "Security.visibleSecurityStateChanged" => {
                let s = &p["visibleSecurityState"];
                visit.security_state = text(s, &["securityState"]).map(str::to_owned);
                visit.security_issues = s["securityStateIssueIds"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                if visit
                    .security_issues
                    .iter()
                    .any(|i| i == "contained-mixed-form")
                {
                    push_unique(&mut visit.insecure_forms, "(security state)");
                }
            }
            _ => {}
        }
    }
}

/// The fields the scanner and the browser are compared on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub https_ok: bool,
    pub forced_https: bool,
    pub mixed_content_active: bool,
    pub mixed_content_passive: bool,
    pub insecure_form: bool,
}

impl Verdict {
    /// The names of the fields, in the order of [`Verdict::fields`].
    pub const NAMES: [&'static str; 5] = [
        "https_ok",
        "forced_https",
        "mixed_content_active",
        "mixed_content_passive",
        "insecure_form",
    ];

    pub fn fields(&self) -> [bool; 5] {
        [
            self.https_ok,
            self.forced_https,
            self.mixed_content_active,
            self.mixed_content_passive,
            self.insecure_form,
        ]
    }

    /// What the browser showed: `https` is the visit of `https://HOST/PATH`, `http` the
    /// visit of `http://HOST/PATH`. Mixed content counts on the https page only: blocked
    /// requests are blockable mixed content, upgraded (or displayed) ones upgradable.
    pub fn of_browser(https: &Visit, http: &Visit) -> Verdict {
        Verdict {
            https_ok: https.secure_page(),
            forced_https: http.secure_page(),
            mixed_content_active: !https.blocked.is_empty(),
            mixed_content_passive: !https.upgraded.is_empty() || !https.displayed.is_empty(),
            insecure_form: !https.insecure_forms.is_empty(),
        }
    }

    /// What the scanner said.
    pub fn of_scanner(r: &crate::scan::Observed) -> Verdict {
        let has = |code: &str| r.findings.iter().any(|(c, _)| c == code);
        Verdict {
            https_ok: r.https_ok,
            forced_https: r.forced_https,
            mixed_content_active: has("mixed_content_active"),
            mixed_content_passive: has("mixed_content_passive"),
            insecure_form: has("insecure_form"),
        }
    }

    /// `(field, scanner, browser)` for each field where `scanner` and `browser` differ.
    pub fn differences(scanner: &Verdict, browser: &Verdict) -> Vec<(&'static str, bool, bool)> {
        Verdict::NAMES
            .iter()
            .zip(scanner.fields().into_iter().zip(browser.fields()))
            .filter(|(_, (s, b))| s != b)
            .map(|(n, (s, b))| (*n, s, b))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(url: &str, state: &str) -> Visit {
        Visit {
            url: url.into(),
            final_url: Some(url.into()),
            hops: vec![url.into()],
            security_state: Some(state.into()),
            ..Visit::default()
        }
    }

    #[test]
    fn a_secure_page_needs_https_no_error_and_an_unbroken_state() {
        assert!(page("https://a.gov.test/", "secure").secure_page());
        assert!(page("https://a.gov.test/", "neutral").secure_page());
        assert!(!page("http://a.gov.test/", "insecure").secure_page());
        assert!(!page("https://a.gov.test/", "insecure-broken").secure_page());
        let mut interstitial = page("https://a.gov.test/", "secure");
        interstitial.error = Some("net::ERR_CERT_DATE_INVALID".into());
        assert!(!interstitial.secure_page());
        let mut error_page = page("https://a.gov.test/", "neutral");
        error_page.security_issues = vec!["is-error-page".into()];
        assert!(!error_page.secure_page());
        assert!(!Visit::default().secure_page());
    }

    #[test]
    fn mixed_content_classes_come_from_the_https_visit_only() {
        let mut https = page("https://a.gov.test/", "secure");
        https.blocked = vec!["http://a.gov.test/app.js".into()];
        let mut http = page("https://a.gov.test/", "secure");
        http.upgraded = vec!["http://a.gov.test/x.png".into()];
        let v = Verdict::of_browser(&https, &http);
        assert!(v.https_ok && v.forced_https && v.mixed_content_active);
        assert!(!v.mixed_content_passive && !v.insecure_form);
    }

    #[test]
    fn differences_name_each_field_with_both_values() {
        let a = Verdict {
            https_ok: true,
            forced_https: true,
            mixed_content_active: false,
            mixed_content_passive: true,
            insecure_form: false,
        };
        let b = Verdict {
            forced_https: false,
            insecure_form: true,
            ..a
        };
        assert_eq!(
            Verdict::differences(&a, &b),
            vec![
                ("forced_https", true, false),
                ("insecure_form", false, true)
            ]
        );
        assert!(Verdict::differences(&a, &a).is_empty());
    }
}
