//! Headless Chromium for the tests that read HTML pages as a browser shows them
//! (Debian's `chromium`, `apt-get install -y chromium`; without it those tests fail and say so).

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::browser::CHROMIUM;

/// Run Chromium with a bound on how long it may take; its output on success.
pub fn chromium(args: &[String]) -> Output {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: this test opens the HTML report in headless Chromium. \
         Install it with `apt-get update && apt-get install -y chromium` (and fonts-noto-cjk \
         for a readable screenshot)"
    );
    let mut child = Command::new(CHROMIUM)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    // Read stdout on a thread so a large DOM cannot fill the pipe while we wait.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).map(|_| buf)
    });
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut buf).map(|_| buf)
    });
    let mut waited = Duration::ZERO;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if waited > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within two minutes: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
        waited += Duration::from_millis(100);
    };
    Output {
        status,
        stdout: reader.join().unwrap().unwrap_or_default(),
        stderr: err_reader.join().unwrap().unwrap_or_default(),
    }
}

pub fn chromium_args(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

/// The text a reader sees in a DOM dump: tags dropped, `<style>` and `<title>` skipped.
pub fn visible_text(dom: &str) -> String {
    let mut out = String::new();
    let mut rest = dom;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        out.push(' ');
        let tag = &rest[lt..];
        let skip_to = if tag.starts_with("<style") {
            tag.find("</style>").map(|e| e + "</style>".len())
        } else if tag.starts_with("<title") {
            tag.find("</title>").map(|e| e + "</title>".len())
        } else {
            tag.find('>').map(|e| e + 1)
        };
        rest = &tag[skip_to.unwrap_or(tag.len())..];
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
