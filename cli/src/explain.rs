//! The explanation of one site's result for a webmaster at a terminal.

use model::{Severity, SiteResult};
use std::fmt::Write;

/// A readable account of `r`: verdicts, findings with what to do, and the details seen;
/// control and invisible formatting characters from the site are neutralised.
pub fn explain(r: &SiteResult) -> String {
    let mut s = String::new();
    let yes_no = |b: bool| if b { "yes" } else { "NO" };
    let _ = writeln!(s, "{}  ({})", r.url, r.host);
    let _ = writeln!(
        s,
        "  HTTPS adopted (browser shows the padlock): {}",
        yes_no(r.https_ok)
    );
    let _ = writeln!(
        s,
        "  HTTPS forced (http:// redirects to https://): {}",
        yes_no(r.forced_https)
    );
    if let Some(b) = &r.browsers {
        for (name, v) in [("Chrome", &b.chrome), ("Firefox", &b.mozilla)] {
            let why = match (&v.code, &v.reason) {
                (Some(code), Some(reason)) => format!(" — {code}: {reason}"),
                _ => String::new(),
            };
            let _ = writeln!(
                s,
                "  {name:<7} padlock: {}{why}  [{}]",
                yes_no(v.ok),
                v.store
            );
        }
    }
    if !r.addresses.is_empty() {
        let _ = writeln!(s, "  addresses: {}", r.addresses.join(", "));
    }
    if let Some(h) = &r.https {
        let _ = writeln!(
            s,
            "  TLS: {} {}",
            h.protocol.as_deref().unwrap_or("-"),
            h.cipher.as_deref().unwrap_or("")
        );
        if !h.legacy_protocols.is_empty() {
            let _ = writeln!(
                s,
                "  legacy protocols still accepted: {}",
                h.legacy_protocols.join(", ")
            );
        }
        for (i, c) in h.chain.iter().enumerate() {
            let _ = writeln!(
                s,
                "  certificate #{i}: {} (issuer {}), valid {} to {}, {} {}",
                c.subject, c.issuer, c.not_before, c.not_after, c.key, c.signature_algorithm
            );
            if !c.dns_names.is_empty() {
                let _ = writeln!(s, "      names: {}", c.dns_names.join(", "));
            }
        }
        if let Some(root) = &h.trusted_root {
            let _ = writeln!(s, "  trusted root ({}): {root}", r.trust_store);
        }
        if let Some(hsts) = &h.hsts {
            let _ = writeln!(s, "  Strict-Transport-Security: {hsts}");
        }
    }
    if !r.redirects.is_empty() {
        let _ = writeln!(s, "  from http://:");
        for hop in &r.redirects {
            let status = hop.status.map_or("-".to_owned(), |c| c.to_string());
            let _ = write!(s, "    {status} {}", hop.url);
            if let Some(to) = &hop.location {
                let _ = write!(s, " -> {to}");
            }
            if let Some(e) = &hop.error {
                let _ = write!(s, " ({e})");
            }
            let _ = writeln!(s);
        }
    }
    if r.findings.is_empty() {
        let _ = writeln!(s, "  no findings: nothing to fix.");
    } else {
        let _ = writeln!(s, "  findings:");
        for f in &r.findings {
            let tag = match f.severity {
                Severity::Error => "ERROR",
                Severity::Warning => "warn ",
                Severity::Info => "info ",
            };
            let _ = writeln!(s, "    [{tag}] {}: {}", f.code, f.detail);
        }
    }
    // Names, headers and details come from the site: no escape sequence or bidi override
    // of theirs reaches the terminal.
    model::text::visible(&s)
        .chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect()
}
