//! Mixed content: insecure references on an https page, classified by request destination
//! as the Mixed Content specification and Chrome do; and the page's meta refresh.
//!
//! One streaming pass of `lol_html` over the body ([`Reader`], fed by the fetcher as the body
//! arrives, so no page is held whole), with a handler per kind of element that loads
//! something. A page that cannot name `http:` at all (the `prefilter` module, on its bytes as they
//! arrive) has no mixed content, and is read only for its `<base>`, `<meta>`, `<link>` and
//! `<template>` elements: the parser skips every other tag unread, at a fraction of the cost
//! (the answer is the same: `analyze_fully` is the check, in the tests and the `page` fuzz
//! target). Every reference is resolved against the document base in effect where it
//! appears (the page URL until the first `<base href>`, then that base) — what browsers do, as
//! elements fetch when inserted and the first `<base href>` fixes the base for all that follows.
//! Classes, per `CHECKS.md`:
//! - upgradable ([`MixedContent::passive`]): `img src`, `input type=image src`, `video poster`,
//!   `audio`/`video src`, `source src` in `audio`/`video`, legacy `background` attributes,
//!   and CSS images (`url()` in `style` attributes and `<style>` blocks);
//! - blockable ([`MixedContent::active`]): `script src`, `link rel=stylesheet`, CSS
//!   `@import`, `@font-face`, `iframe`/`frame src`, `object data`, `embed src`, `track src`,
//!   `img srcset`, `picture > source srcset`, favicons (`link rel=icon`, `apple-touch-icon`,
//!   `mask-icon`), `link rel=manifest`/`modulepreload`/`preload` (a preload `as` image, audio
//!   or video is upgradable);
//! - insecure forms ([`MixedContent::forms`]): `form action`, `button`/`input formaction`.
//!
//! A page whose Content-Security-Policy says `upgrade-insecure-requests` (see [`csp`]) has
//! its insecure references counted all the same, and marked as upgraded
//! ([`MixedContent::upgrade_insecure_requests`]): Chrome fetches them over https.
//!
//! Not mixed content: links (`a href`, `link rel=canonical` and the like), references that
//! resolve to anything but `http:`, empty attributes (they load nothing). Like a browser with
//! scripting on, nothing inside `<noscript>` (raw text to the parser) or `<template>` (inert)
//! loads. Links added by scripts are not seen. An `http:` page reports no mixed content: only
//! its meta refresh is read.

pub mod csp;
pub(crate) mod css;
pub(crate) mod entities;
pub(crate) mod prefilter;
pub(crate) mod refresh;
pub(crate) mod srcset;

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use lol_html::send::{Element, ElementContentHandlers, HtmlRewriter, Settings};
use lol_html::{MemorySettings, Selector};
use model::{MixedContent, Reference, Samples};
use url::Url;

/// A sample URL longer than this is counted but not kept as a sample.
pub const MAX_SAMPLE_URL_LEN: usize = 4096;

/// The most memory the HTML parser may use for input it has to buffer (a tag cut across
/// chunks). Past it the pass stops and the result is marked truncated.
pub const MAX_PARSER_MEMORY: usize = 4 << 20;

/// How much input is handed to the parser at a time.
const CHUNK: usize = 64 << 10;

/// [`MixedContent::upgrade_insecure_requests`] for a policy in the page's HTML.
pub const UPGRADE_BY_META: &str = "<meta http-equiv=Content-Security-Policy>";

/// [`MixedContent::upgrade_insecure_requests`] for a policy in the response header.
pub const UPGRADE_BY_HEADER: &str = "Content-Security-Policy header";

/// A `<meta http-equiv=refresh>` found in a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaRefresh {
    /// Seconds before the refresh.
    pub delay: u32,
    /// Where it goes, resolved against the document base; `None` reloads the page itself.
    pub url: Option<Url>,
}

/// What one HTML page holds that the scan cares about.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Analysis {
    /// Counts and up to `max_samples` samples per class (`https_available` left `None`).
    pub mixed: MixedContent,
    /// The first meta refresh, if any.
    pub meta_refresh: Option<MetaRefresh>,
    /// The page names a favicon (`<link rel=icon href=...>`, `shortcut icon` included).
    /// Without one, Chrome requests the implicit `/favicon.ico` of the page's origin.
    pub icon_linked: bool,
}

/// Analyse `html` (already capped by the caller; `truncated` says whether it was cut), served
/// at `page_url`. Never fails: malformed HTML is read as a browser would, as far as it goes.
pub fn analyze(html: &[u8], page_url: &Url, truncated: bool, max_samples: usize) -> Analysis {
    let mut reader = Reader::new(page_url, max_samples);
    reader.write(html);
    reader.finish(truncated)
}

/// [`analyze`] with every element read, whatever the `prefilter` says: what the scan's
/// answer must equal (the `page` fuzz target and the tests compare the two).
pub fn analyze_fully(html: &[u8], page_url: &Url, truncated: bool, max_samples: usize) -> Analysis {
    let mut pass = Pass::new(page_url, max_samples, Depth::Full);
    pass.feed(html);
    pass.finish(page_url, truncated)
}

/// The HTML parser of a [`Reader`]: its output (the page unchanged) is discarded.
type Parser = HtmlRewriter<'static, fn(&[u8])>;

/// Bytes of an https page held while the `prefilter` has not yet seen anything that could
/// refer to `http:`. A page that ends within them is read only for what is not mixed content
/// (the cheap pass); past them, or at the first sign of `http:`, they are read by the full
/// pass and the rest streams through it.
pub const HELD_BYTES: usize = 64 << 10;

/// The streaming form of [`analyze`]: the page is fed as it arrives, chunk by chunk, and
/// never held whole — what is kept is at most [`HELD_BYTES`] of an https page not yet
/// known to name `http:`, a tag cut across chunks (at most [`MAX_PARSER_MEMORY`]) and the
/// `<style>` element being read. The fetcher reads every page through one, so a site in
/// flight costs its buffers, not its page.
pub struct Reader {
    state: State,
    page: Url,
    max_samples: usize,
    /// Bytes fed so far.
    read: usize,
}

enum State {
    /// An https page whose bytes so far cannot refer to `http:`.
    Held {
        bytes: Vec<u8>,
        prefilter: prefilter::Prefilter,
    },
    Parsing(Box<Pass>),
}

impl Reader {
    pub fn new(page_url: &Url, max_samples: usize) -> Reader {
        let state = if page_url.scheme() == "https" {
            State::Held {
                bytes: Vec::new(),
                prefilter: prefilter::Prefilter::default(),
            }
        } else {
            // An http page has no mixed content: only what the cheap pass reads matters.
            State::Parsing(Box::new(Pass::new(page_url, max_samples, Depth::Cheap)))
        };
        Reader {
            state,
            page: page_url.clone(),
            max_samples,
            read: 0,
        }
    }

    /// Feed the next part of the page. After the parser gives up (a tag past
    /// [`MAX_PARSER_MEMORY`]), the rest is ignored and the result says truncated.
    pub fn write(&mut self, data: &[u8]) {
        self.read += data.len();
        match &mut self.state {
            State::Parsing(pass) => pass.feed(data),
            State::Held { bytes, prefilter } => {
                if bytes.len() + data.len() <= HELD_BYTES && !prefilter.may_refer_to_http(data) {
                    // Grown by doubling, never past what it may hold.
                    let needed = bytes.len() + data.len();
                    if needed > bytes.capacity() {
                        let room = needed.max(2 * bytes.capacity()).min(HELD_BYTES);
                        bytes.reserve_exact(room - bytes.len());
                    }
                    bytes.extend_from_slice(data);
                    return;
                }
                let mut pass = Pass::new(&self.page, self.max_samples, Depth::Full);
                pass.feed(bytes);
                pass.feed(data);
                self.state = State::Parsing(Box::new(pass));
            }
        }
    }

    /// Bytes fed so far.
    pub fn bytes_read(&self) -> usize {
        self.read
    }

    /// What the page holds; `truncated` says whether the caller cut it.
    pub fn finish(self, truncated: bool) -> Analysis {
        let pass = match self.state {
            State::Parsing(pass) => *pass,
            State::Held { bytes, .. } => {
                let mut pass = Pass::new(&self.page, self.max_samples, Depth::Cheap);
                pass.feed(&bytes);
                pass
            }
        };
        pass.finish(&self.page, truncated)
    }
}

/// What a pass reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Depth {
    /// Everything: every reference, `<style>` and `style` attributes included.
    Full,
    /// `<base>`, `<meta>`, `<link>` and `<template>` only, for a page that cannot refer to
    /// `http:` (an http page, or an https page the [`prefilter`] cleared): the selectors
    /// name their elements, so the parser skips every other tag without reading its
    /// attributes.
    Cheap,
}

/// One parse of a page.
struct Pass {
    /// `None` once the parser gave up.
    rewriter: Option<Parser>,
    collector: Arc<Mutex<Collector>>,
}

impl Pass {
    fn new(page_url: &Url, max_samples: usize, depth: Depth) -> Pass {
        let collector = Arc::new(Mutex::new(Collector::new(page_url, max_samples)));
        // Depth of `<template>` elements around the current point; shared with end-tag
        // handlers, which must own what they hold.
        let inert = Arc::new(AtomicU32::new(0));
        let mut handlers = Vec::new();
        if depth == Depth::Full {
            // Sources count only as children of their media element: selectors of their
            // own, registered first so that an element's references are read in document
            // order (its own, then its `style`).
            for (selector, handle) in &SELECTORS.children {
                let handle = *handle;
                let (collector, inert) = (Arc::clone(&collector), Arc::clone(&inert));
                let handler =
                    ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                        if inert.load(Ordering::Relaxed) == 0 {
                            handle(&mut lock(&collector), el);
                        }
                        Ok(())
                    });
                handlers.push((Cow::Borrowed(selector), handler));
            }
        }
        // The other elements through one selector and a match on their name: one
        // instruction of the selector machine per tag instead of one per kind of element.
        let (element_collector, template_depth) = (Arc::clone(&collector), Arc::clone(&inert));
        let (selector, styles) = match depth {
            Depth::Full => (&SELECTORS.any, true),
            Depth::Cheap => (&SELECTORS.cheap, false),
        };
        handlers.push((
            Cow::Borrowed(selector),
            ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                let name = el.tag_name();
                if template_depth.load(Ordering::Relaxed) == 0 {
                    let mut collector = lock(&element_collector);
                    if let Some(handle) = handler_for(&name) {
                        handle(&mut collector, el);
                    }
                    if styles && !el.attributes().is_empty() {
                        collector.style_attribute(el);
                    }
                }
                if name == "template" {
                    template_depth.fetch_add(1, Ordering::Relaxed);
                    let depth = Arc::clone(&template_depth);
                    // A template that never closes keeps the rest of the document inert.
                    let _ = el.on_end_tag(Box::new(move |_| {
                        let _ = depth.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| {
                            Some(d.saturating_sub(1))
                        });
                        Ok(())
                    }));
                }
                Ok(())
            }),
        ));
        // `<style>` text is read only by the full pass, but both passes register the handler:
        // lol_html tokenizes an element it hands text to on another path than one it skips,
        // and the two paths disagree on rare malformed tags (`<style\n\0=>` starts raw text on
        // one, not the other: the `page` fuzz target's find). So the cheap pass sees the same
        // elements as the full pass.
        let (style_collector, style_inert) = (Arc::clone(&collector), Arc::clone(&inert));
        handlers.push((
            Cow::Borrowed(&SELECTORS.style),
            ElementContentHandlers::default().text(
                move |chunk: &mut lol_html::html_content::TextChunk<'_>| {
                    if styles && style_inert.load(Ordering::Relaxed) == 0 {
                        lock(&style_collector)
                            .style_text(chunk.as_str(), chunk.last_in_text_node());
                    }
                    Ok(())
                },
            ),
        ));
        let settings = Settings {
            element_content_handlers: handlers,
            memory_settings: MemorySettings {
                preallocated_parsing_buffer_size: 1024,
                max_allowed_memory_usage: MAX_PARSER_MEMORY,
            },
            strict: false,
            adjust_charset_on_meta_tag: true,
            ..Settings::new_send()
        };
        let discard: fn(&[u8]) = |_| {};
        Pass {
            rewriter: Some(HtmlRewriter::new(settings, discard)),
            collector,
        }
    }

    fn feed(&mut self, data: &[u8]) {
        for chunk in data.chunks(CHUNK) {
            let Some(rewriter) = self.rewriter.as_mut() else {
                return;
            };
            if rewriter.write(chunk).is_err() {
                self.rewriter = None;
            }
        }
    }

    fn finish(mut self, page: &Url, truncated: bool) -> Analysis {
        let parser_gave_up = match self.rewriter.take() {
            Some(rewriter) => rewriter.end().is_err(),
            None => true,
        };
        let mut collector = lock(&self.collector);
        // A `<style>` cut off by the end of input still holds rules a browser would apply.
        collector.style_text("", true);
        let collector = std::mem::replace(&mut *collector, Collector::new(page, 0));
        Analysis {
            mixed: MixedContent {
                page: page.to_string(),
                truncated: truncated || parser_gave_up,
                ..collector.mixed
            },
            meta_refresh: collector.meta_refresh,
            icon_linked: collector.icon_linked,
        }
    }
}

/// The collector, whatever a handler did before (a panic in one leaves nothing half-done
/// that matters: counts only grow).
fn lock(collector: &Mutex<Collector>) -> std::sync::MutexGuard<'_, Collector> {
    collector
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An attribute's value, its character references decoded.
fn attr(el: &Element<'_, '_>, name: &str) -> Option<String> {
    let value = el.get_attribute(name)?;
    Some(match entities::decode_attribute(&value) {
        Cow::Borrowed(_) => value,
        Cow::Owned(decoded) => decoded,
    })
}

/// The parsed selectors, once per process.
struct Selectors {
    any: Selector,
    cheap: Selector,
    style: Selector,
    /// `source` in `audio`/`video`, and in `picture`, with what to read of them.
    children: [(Selector, Handle); 2],
}

static SELECTORS: LazyLock<Selectors> = LazyLock::new(|| {
    // Constants of this module; every test of `analyze` parses them all.
    let parse = |s: &str| s.parse::<Selector>().expect("built-in selector");
    Selectors {
        any: parse("*"),
        // What the cheap pass reads, and every element after which the tokenizer reads
        // text another way (raw text, RCDATA, foreign content): lol_html tokenizes the tags it
        // hands to a handler on another path than the tags it skips, and the two paths
        // disagree on malformed ones (`<script r=></t>` ends the script on one path only: the
        // `page` fuzz target's find); the full pass hands every tag to a handler, so these
        // must take the same path here.
        cheap: parse(
            "base, meta, link, template, style, script, title, textarea, xmp, iframe, \
             noembed, noframes, noscript, plaintext, svg, math",
        ),
        style: parse("style"),
        children: [
            (
                parse("audio > source[src], video > source[src]"),
                |c, el| c.attribute(el, "src", Class::Passive, "source src"),
            ),
            (parse("picture > source[srcset]"), |c, el| {
                c.srcset(el, "picture source srcset")
            }),
        ],
    }
});

/// Which class an insecure reference falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Upgradable (`mixed_content_passive`).
    Passive,
    /// Blockable (`mixed_content_active`).
    Active,
    /// A form posting to http (`insecure_form`).
    Form,
}

type Handle = fn(&mut Collector, &Element<'_, '_>);

/// The elements that load something (or set the base, or refresh), by name, and what to read
/// of them (an attribute they lack reads as nothing); every element's `style` is read after.
const ELEMENTS: &[(&str, Handle)] = &[
    ("base", |c, el| c.base(el)),
    ("meta", |c, el| c.meta(el)),
    ("img", |c, el| {
        c.attribute(el, "src", Class::Passive, "img src");
        c.srcset(el, "img srcset");
    }),
    ("input", |c, el| {
        if attr(el, "type").is_some_and(|t| t.trim().eq_ignore_ascii_case("image")) {
            c.attribute(el, "src", Class::Passive, "input src");
        }
        c.attribute(el, "formaction", Class::Form, "input formaction");
    }),
    ("button", |c, el| {
        c.attribute(el, "formaction", Class::Form, "button formaction")
    }),
    ("form", |c, el| {
        c.attribute(el, "action", Class::Form, "form action")
    }),
    ("video", |c, el| {
        c.attribute(el, "src", Class::Passive, "video src");
        c.attribute(el, "poster", Class::Passive, "video poster");
    }),
    ("audio", |c, el| {
        c.attribute(el, "src", Class::Passive, "audio src")
    }),
    ("track", |c, el| {
        c.attribute(el, "src", Class::Active, "track src")
    }),
    ("script", |c, el| {
        c.attribute(el, "src", Class::Active, "script src")
    }),
    ("link", |c, el| c.link(el)),
    ("iframe", |c, el| {
        c.attribute(el, "src", Class::Active, "iframe src")
    }),
    ("frame", |c, el| {
        c.attribute(el, "src", Class::Active, "frame src")
    }),
    ("object", |c, el| {
        c.attribute(el, "data", Class::Active, "object data")
    }),
    ("embed", |c, el| {
        c.attribute(el, "src", Class::Active, "embed src")
    }),
    ("body", |c, el| {
        c.attribute(el, "background", Class::Passive, "body background")
    }),
    ("table", |c, el| {
        c.attribute(el, "background", Class::Passive, "table background")
    }),
    ("td", |c, el| {
        c.attribute(el, "background", Class::Passive, "td background");
    }),
    ("th", |c, el| {
        c.attribute(el, "background", Class::Passive, "td background");
    }),
];

fn handler_for(name: &str) -> Option<Handle> {
    ELEMENTS.iter().find(|(n, _)| *n == name).map(|(_, h)| *h)
}

/// What the pass has found so far.
struct Collector {
    /// Only an https page can have mixed content.
    report_mixed: bool,
    page: Url,
    base: Url,
    base_fixed: bool,
    max_samples: usize,
    mixed: MixedContent,
    /// Sample URLs already kept, per class (never more than `max_samples` each).
    seen: [HashSet<String>; 3],
    meta_refresh: Option<MetaRefresh>,
    /// A `<link rel=icon>` with an address was seen.
    icon_linked: bool,
    /// The text of the `<style>` element being read.
    style: String,
}

impl Collector {
    fn new(page: &Url, max_samples: usize) -> Self {
        Collector {
            report_mixed: page.scheme() == "https",
            page: page.clone(),
            base: page.clone(),
            base_fixed: false,
            max_samples,
            mixed: MixedContent::default(),
            seen: Default::default(),
            meta_refresh: None,
            icon_linked: false,
            style: String::new(),
        }
    }

    /// The first `<base href>` fixes the base (resolved against the page URL); a base that
    /// does not parse, or a `data:`/`javascript:` one, leaves the page URL in effect.
    fn base(&mut self, el: &Element<'_, '_>) {
        if self.base_fixed {
            return;
        }
        let Some(href) = attr(el, "href") else {
            return;
        };
        self.base_fixed = true;
        if let Ok(base) = self.page.join(&href)
            && base.scheme() != "data"
            && base.scheme() != "javascript"
        {
            self.base = base;
        }
    }

    fn meta(&mut self, el: &Element<'_, '_>) {
        let equiv = attr(el, "http-equiv").unwrap_or_default();
        let equiv = equiv.trim();
        if equiv.eq_ignore_ascii_case("content-security-policy") {
            if attr(el, "content").is_some_and(|c| csp::upgrades_insecure_requests(&c)) {
                self.mixed.upgrade_insecure_requests = Some(UPGRADE_BY_META.to_owned());
            }
            return;
        }
        if self.meta_refresh.is_some() || !equiv.eq_ignore_ascii_case("refresh") {
            return;
        }
        if let Some(content) = attr(el, "content") {
            self.meta_refresh = refresh::parse(&content, &self.base);
        }
    }

    fn link(&mut self, el: &Element<'_, '_>) {
        let rel = attr(el, "rel").unwrap_or_default().to_ascii_lowercase();
        let has = |name: &str| rel.split_ascii_whitespace().any(|token| token == name);
        let (class, element) = if has("stylesheet") {
            (Class::Active, "link rel=stylesheet")
        } else if has("icon") {
            self.icon_linked |= attr(el, "href").is_some_and(|h| !h.trim().is_empty());
            (Class::Active, "link rel=icon")
        } else if has("apple-touch-icon") || has("apple-touch-icon-precomposed") {
            (Class::Active, "link rel=apple-touch-icon")
        } else if has("mask-icon") {
            (Class::Active, "link rel=mask-icon")
        } else if has("manifest") {
            (Class::Active, "link rel=manifest")
        } else if has("modulepreload") {
            (Class::Active, "link rel=modulepreload")
        } else if has("preload") {
            // A preload without a destination (`as`) fetches nothing.
            let kind = attr(el, "as").unwrap_or_default();
            let kind = kind.trim();
            if kind.is_empty() {
                return;
            }
            let media = ["image", "audio", "video"]
                .iter()
                .any(|m| kind.eq_ignore_ascii_case(m));
            let class = if media { Class::Passive } else { Class::Active };
            (class, "link rel=preload")
        } else {
            return;
        };
        self.attribute(el, "href", class, element);
    }

    fn attribute(&mut self, el: &Element<'_, '_>, name: &str, class: Class, element: &'static str) {
        if !self.report_mixed {
            return;
        }
        if let Some(value) = attr(el, name) {
            self.reference(class, element, &value);
        }
    }

    /// A `srcset` counts once, by its first insecure candidate.
    fn srcset(&mut self, el: &Element<'_, '_>, element: &'static str) {
        if !self.report_mixed {
            return;
        }
        let Some(value) = attr(el, "srcset") else {
            return;
        };
        if let Some(url) = srcset::urls(&value)
            .into_iter()
            .find_map(|raw| self.insecure(raw))
        {
            self.record(Class::Active, element, url);
        }
    }

    fn style_attribute(&mut self, el: &Element<'_, '_>) {
        if !self.report_mixed {
            return;
        }
        if let Some(style) = attr(el, "style") {
            self.css(&style, css::Source::Attribute);
        }
    }

    /// A chunk of `<style>` text; the sheet is read once whole.
    fn style_text(&mut self, text: &str, last: bool) {
        if !self.report_mixed {
            return;
        }
        self.style.push_str(text);
        if last && !self.style.is_empty() {
            let sheet = std::mem::take(&mut self.style);
            self.css(&sheet, css::Source::Sheet);
        }
    }

    fn css(&mut self, text: &str, source: css::Source) {
        css::references(text, source, &mut |load, url| {
            let (class, element) = match load {
                css::Load::Image => (Class::Passive, "style url()"),
                css::Load::Import => (Class::Active, "@import"),
                css::Load::Font => (Class::Active, "@font-face"),
            };
            self.reference(class, element, url);
        });
    }

    fn reference(&mut self, class: Class, element: &'static str, raw: &str) {
        if let Some(url) = self.insecure(raw) {
            self.record(class, element, url);
        }
    }

    /// `raw` resolved against the base, if that makes an `http:` URL. An empty reference
    /// loads nothing.
    fn insecure(&self, raw: &str) -> Option<Url> {
        let raw = raw.trim_matches(|c: char| c.is_ascii_whitespace() || c.is_ascii_control());
        if raw.is_empty() {
            return None;
        }
        // Without a colon `raw` names no scheme (a scheme ends in one): it is relative and
        // takes the base's, so only an `http:` base can make it insecure. Most references
        // are relative; this spares them the URL parser.
        if self.base.scheme() != "http" && !raw.contains(':') {
            return None;
        }
        let url = self.base.join(raw).ok()?;
        (url.scheme() == "http").then_some(url)
    }

    fn record(&mut self, class: Class, element: &'static str, url: Url) {
        let (samples, seen): (&mut Samples, _) = match class {
            Class::Passive => (&mut self.mixed.passive, &mut self.seen[0]),
            Class::Active => (&mut self.mixed.active, &mut self.seen[1]),
            Class::Form => (&mut self.mixed.forms, &mut self.seen[2]),
        };
        samples.count += 1;
        let url = String::from(url);
        if samples.samples.len() < self.max_samples
            && url.len() <= MAX_SAMPLE_URL_LEN
            && !seen.contains(&url)
        {
            seen.insert(url.clone());
            samples.samples.push(Reference {
                url,
                element: element.to_owned(),
                https_available: None,
            });
        }
    }
}

/// A 2xx HTML page as the fetcher read it (meta refresh, mixed content), with the
/// Content-Security-Policy header's `upgrade-insecure-requests`; `None` for anything else.
pub(crate) fn analyze_page(response: &crate::fetch::Response) -> Option<Analysis> {
    let mut analysis = response.page.clone()?;
    let upgrade = response
        .headers
        .get_all("content-security-policy")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(csp::upgrades_insecure_requests);
    if upgrade {
        analysis.mixed.upgrade_insecure_requests = Some(UPGRADE_BY_HEADER.to_owned());
    }
    Some(analysis)
}

/// Whether Chrome asks for the page's implicit `/favicon.ico`: the page names no icon, and
/// no `upgrade-insecure-requests` would send it over https anyway.
pub(crate) fn asks_for_implicit_favicon(a: &Analysis) -> bool {
    !a.icon_linked && a.mixed.upgrade_insecure_requests.is_none()
}

/// Whether `other` is the site itself or its `www.`/apex sibling.
pub(crate) fn same_site(other: &str, host: &str) -> bool {
    other == host
        || other.strip_prefix("www.") == Some(host)
        || host.strip_prefix("www.") == Some(other)
}

/// Count the implicit `/favicon.ico` that steps down from `from` (https) to `to` (http) as
/// active mixed content: Chrome blocks it like an icon link to http.
pub(crate) fn add_implicit_favicon(
    mixed: &mut MixedContent,
    from: &Url,
    to: &Url,
    max_samples: usize,
) {
    mixed.active.count += 1;
    if mixed.active.samples.len() < max_samples {
        mixed.active.samples.push(model::Reference {
            url: to.to_string(),
            element: format!("implicit /favicon.ico, redirected from {from}"),
            https_available: None,
        });
    }
}

#[cfg(test)]
mod tests;

/// A fixed-seed xorshift generator for the tests' pseudo-random pages.
#[cfg(test)]
fn pseudo_random(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}
