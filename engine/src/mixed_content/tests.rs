use super::*;

const PAGE: &str = "https://www.gov.test/dir/index.html";

fn page() -> Url {
    Url::parse(PAGE).unwrap()
}

/// The scan's analysis, checked against the full pass's (the prefilter may spare the page
/// the full pass only when that changes nothing).
fn run(html: &str) -> Analysis {
    let analysis = analyze(html.as_bytes(), &page(), false, 10);
    assert_eq!(
        analysis,
        analyze_fully(html.as_bytes(), &page(), false, 10),
        "the prefilter changed the analysis of {html:?}"
    );
    analysis
}

/// Class, element and URL of every sample, in order.
fn found(analysis: &Analysis) -> Vec<(Class, String, String)> {
    let mut out = Vec::new();
    for (class, samples) in [
        (Class::Passive, &analysis.mixed.passive),
        (Class::Active, &analysis.mixed.active),
        (Class::Form, &analysis.mixed.forms),
    ] {
        assert!(samples.samples.len() <= samples.count);
        for r in &samples.samples {
            assert_eq!(r.https_available, None);
            out.push((class, r.element.clone(), r.url.clone()));
        }
    }
    out
}

fn one(class: Class, element: &str, url: &str) -> Vec<(Class, String, String)> {
    vec![(class, element.to_owned(), url.to_owned())]
}

#[test]
fn classifies_each_kind_of_reference() {
    use Class::*;
    let cases: &[(&str, Class, &str, &str)] = &[
        // Upgradable: images, audio, video.
        (
            "<img src=http://a.test/i.png>",
            Passive,
            "img src",
            "http://a.test/i.png",
        ),
        (
            "<img src='HTTP://A.test/up.png'>",
            Passive,
            "img src",
            "http://a.test/up.png",
        ),
        (
            "<img src=\"  http://a.test/sp.png \n\">",
            Passive,
            "img src",
            "http://a.test/sp.png",
        ),
        (
            "<IMG SRC=http://a.test/caps.png>",
            Passive,
            "img src",
            "http://a.test/caps.png",
        ),
        (
            "<img src=\"http&#58;//a.test/ent.png\">",
            Passive,
            "img src",
            "http://a.test/ent.png",
        ),
        (
            "<img src='http://a.test/q?a=1&amp;b=2&#38;c'>",
            Passive,
            "img src",
            "http://a.test/q?a=1&b=2&c",
        ),
        (
            "<input type=IMAGE src=http://a.test/b.png>",
            Passive,
            "input src",
            "http://a.test/b.png",
        ),
        (
            "<audio src=http://a.test/a.mp3></audio>",
            Passive,
            "audio src",
            "http://a.test/a.mp3",
        ),
        (
            "<video src=http://a.test/v.mp4></video>",
            Passive,
            "video src",
            "http://a.test/v.mp4",
        ),
        (
            "<video poster=http://a.test/p.jpg></video>",
            Passive,
            "video poster",
            "http://a.test/p.jpg",
        ),
        (
            "<video><source src=http://a.test/s.webm type=video/webm></video>",
            Passive,
            "source src",
            "http://a.test/s.webm",
        ),
        (
            "<audio><source src=http://a.test/s.ogg></audio>",
            Passive,
            "source src",
            "http://a.test/s.ogg",
        ),
        (
            "<div style='background:url(http://a.test/bg.png)'></div>",
            Passive,
            "style url()",
            "http://a.test/bg.png",
        ),
        (
            "<style>.x{background-image:url(\"http://a.test/css.png\")}</style>",
            Passive,
            "style url()",
            "http://a.test/css.png",
        ),
        (
            "<body background=http://a.test/old.gif>",
            Passive,
            "body background",
            "http://a.test/old.gif",
        ),
        (
            "<table background=http://a.test/t.gif></table>",
            Passive,
            "table background",
            "http://a.test/t.gif",
        ),
        (
            "<link rel=preload as=image href=http://a.test/hero.jpg>",
            Passive,
            "link rel=preload",
            "http://a.test/hero.jpg",
        ),
        // Blockable.
        (
            "<script src=http://a.test/s.js></script>",
            Active,
            "script src",
            "http://a.test/s.js",
        ),
        (
            "<link rel=stylesheet href=http://a.test/s.css>",
            Active,
            "link rel=stylesheet",
            "http://a.test/s.css",
        ),
        (
            "<link rel='alternate StyleSheet' href=http://a.test/alt.css>",
            Active,
            "link rel=stylesheet",
            "http://a.test/alt.css",
        ),
        (
            "<link rel=icon href=http://a.test/f.ico>",
            Active,
            "link rel=icon",
            "http://a.test/f.ico",
        ),
        (
            "<link rel='shortcut icon' href=http://a.test/f.ico>",
            Active,
            "link rel=icon",
            "http://a.test/f.ico",
        ),
        (
            "<link rel=apple-touch-icon href=http://a.test/t.png>",
            Active,
            "link rel=apple-touch-icon",
            "http://a.test/t.png",
        ),
        (
            "<link rel=manifest href=http://a.test/m.json>",
            Active,
            "link rel=manifest",
            "http://a.test/m.json",
        ),
        (
            "<link rel=preload as=script href=http://a.test/p.js>",
            Active,
            "link rel=preload",
            "http://a.test/p.js",
        ),
        (
            "<style>@import url(http://a.test/i.css);</style>",
            Active,
            "@import",
            "http://a.test/i.css",
        ),
        (
            "<style>@import 'http://a.test/q.css';</style>",
            Active,
            "@import",
            "http://a.test/q.css",
        ),
        (
            "<style>@font-face{font-family:f;src:url(http://a.test/f.woff2)}</style>",
            Active,
            "@font-face",
            "http://a.test/f.woff2",
        ),
        (
            "<iframe src=http://a.test/frame></iframe>",
            Active,
            "iframe src",
            "http://a.test/frame",
        ),
        (
            "<frameset><frame src=http://a.test/fr></frameset>",
            Active,
            "frame src",
            "http://a.test/fr",
        ),
        (
            "<object data=http://a.test/o.swf></object>",
            Active,
            "object data",
            "http://a.test/o.swf",
        ),
        (
            "<embed src=http://a.test/e.swf>",
            Active,
            "embed src",
            "http://a.test/e.swf",
        ),
        (
            "<video><track src=http://a.test/sub.vtt></video>",
            Active,
            "track src",
            "http://a.test/sub.vtt",
        ),
        (
            "<img srcset='http://a.test/2x.png 2x'>",
            Active,
            "img srcset",
            "http://a.test/2x.png",
        ),
        (
            "<img srcset='/ok.png 1x, http://a.test/w.png 800w'>",
            Active,
            "img srcset",
            "http://a.test/w.png",
        ),
        (
            "<picture><source srcset=http://a.test/p.webp type=image/webp><img src=/ok.png></picture>",
            Active,
            "picture source srcset",
            "http://a.test/p.webp",
        ),
        // Forms.
        (
            "<form action=http://a.test/post></form>",
            Form,
            "form action",
            "http://a.test/post",
        ),
        (
            "<form action=' HTTP://a.test/up '></form>",
            Form,
            "form action",
            "http://a.test/up",
        ),
        (
            "<form action=/ok><button formaction=http://a.test/b>go</button></form>",
            Form,
            "button formaction",
            "http://a.test/b",
        ),
        (
            "<form><input type=submit formaction=http://a.test/i></form>",
            Form,
            "input formaction",
            "http://a.test/i",
        ),
    ];
    for (html, class, element, url) in cases {
        let analysis = run(html);
        assert_eq!(found(&analysis), one(*class, element, url), "html {html:?}");
        let counts = [
            analysis.mixed.passive.count,
            analysis.mixed.active.count,
            analysis.mixed.forms.count,
        ];
        assert_eq!(counts.iter().sum::<usize>(), 1, "html {html:?}");
        assert_eq!(analysis.mixed.page, PAGE);
        assert!(!analysis.mixed.truncated);
    }
}

#[test]
fn secure_links_and_non_loads_are_not_mixed() {
    let cases = [
        "<a href=http://a.test/link>x</a>",
        "<area href=http://a.test/area>",
        "<link rel=canonical href=http://a.test/c>",
        "<link rel=alternate hreflang=en href=http://a.test/en>",
        "<link rel=preconnect href=http://a.test>",
        "<link rel=dns-prefetch href=http://a.test>",
        "<link rel=preload href=http://a.test/no-as.js>",
        "<link href=http://a.test/no-rel.css>",
        "<img src=//cdn.test/protocol-relative.png>",
        "<img src=/root.png><img src=relative.png><img src=../up.png>",
        "<script src=https://a.test/s.js></script>",
        "<img src='data:image/png;base64,AAAA'>",
        "<iframe src='about:blank'></iframe><iframe src='javascript:void(0)'></iframe>",
        "<img src=''><script src='   '></script><form action=''></form>",
        "<img data-src=http://a.test/lazy.png>",
        "<source src=http://a.test/orphan.mp4>",
        "<picture><source src=http://a.test/wrong-attr.png></picture>",
        "<video><source srcset=http://a.test/ignored.png></video>",
        "<!-- <img src=http://a.test/comment.png> -->",
        "<noscript><img src=http://a.test/noscript.png></noscript>",
        "<template><img src=http://a.test/t.png><style>p{background:url(http://a.test/t2.png)}</style></template>",
        "<script>document.write('<img src=http://a.test/js.png>')</script>",
        "<textarea><img src=http://a.test/text.png></textarea>",
        "<p>http://a.test/plain-text.png url(http://a.test/x.png)</p>",
        "<img src=ftp://a.test/f.png><img src=ws://a.test/w>",
        "<img src=http://[::1>",
        "<style>p{color:red} @import url(http://a.test/too-late.css);</style>",
    ];
    for html in cases {
        let analysis = run(html);
        assert_eq!(found(&analysis), vec![], "html {html:?}");
        assert_eq!(
            analysis.mixed.passive.count + analysis.mixed.active.count,
            0,
            "html {html:?}"
        );
        assert_eq!(analysis.mixed.forms.count, 0, "html {html:?}");
    }
}

#[test]
fn after_a_template_closes_references_count_again() {
    let analysis =
        run("<template><img src=http://a.test/in.png></template><img src=http://a.test/out.png>");
    assert_eq!(
        found(&analysis),
        one(Class::Passive, "img src", "http://a.test/out.png")
    );
}

#[test]
fn an_img_with_src_and_srcset_counts_both() {
    let analysis = run(
        "<img src=http://a.test/1.png srcset='http://a.test/1.png 1x, http://a.test/2.png 2x'>",
    );
    assert_eq!(
        found(&analysis),
        vec![
            (
                Class::Passive,
                "img src".to_owned(),
                "http://a.test/1.png".to_owned()
            ),
            (
                Class::Active,
                "img srcset".to_owned(),
                "http://a.test/1.png".to_owned()
            ),
        ]
    );
    assert_eq!(analysis.mixed.active.count, 1, "a srcset counts once");
}

#[test]
fn base_href_changes_resolution() {
    // An http base turns relative and protocol-relative references insecure.
    let analysis = run("<head><base href='http://old.test/site/'></head>\
         <img src=a.png><script src=//cdn.test/s.js></script><img src=https://ok.test/x.png>");
    assert_eq!(
        found(&analysis),
        vec![
            (
                Class::Passive,
                "img src".to_owned(),
                "http://old.test/site/a.png".to_owned()
            ),
            (
                Class::Active,
                "script src".to_owned(),
                "http://cdn.test/s.js".to_owned()
            ),
        ]
    );
    // Only the first base counts; a relative base resolves against the page.
    let analysis = run("<base href='/sub/'><base href='http://second.test/'><img src=a.png>");
    assert_eq!(found(&analysis), vec![]);
    // An https base keeps relative references secure, even on an http-looking path.
    let analysis = run("<base href='https://cdn.test/'><img src=x.png>");
    assert_eq!(found(&analysis), vec![]);
    // A reference before the base resolves against the page URL, as the browser fetches it.
    let analysis = run("<img src=before.png><base href='http://old.test/'><img src=after.png>");
    assert_eq!(
        found(&analysis),
        one(Class::Passive, "img src", "http://old.test/after.png")
    );
    // A javascript: or unparsable base is ignored.
    let analysis = run("<base href='javascript:alert(1)'><img src=a.png>");
    assert_eq!(found(&analysis), vec![]);
}

#[test]
fn counts_every_reference_and_keeps_deduplicated_samples() {
    let mut html = String::new();
    for i in 0..50 {
        html.push_str(&format!("<img src=http://a.test/{}.png>", i % 3));
        html.push_str(&format!("<script src=http://a.test/{i}.js></script>"));
    }
    let analysis = analyze(html.as_bytes(), &page(), false, 5);
    assert_eq!(analysis.mixed.passive.count, 50);
    let passive: Vec<_> = analysis
        .mixed
        .passive
        .samples
        .iter()
        .map(|r| r.url.as_str())
        .collect();
    assert_eq!(
        passive,
        [
            "http://a.test/0.png",
            "http://a.test/1.png",
            "http://a.test/2.png"
        ]
    );
    assert_eq!(analysis.mixed.active.count, 50);
    assert_eq!(analysis.mixed.active.samples.len(), 5);
    assert_eq!(analysis.mixed.active.samples[4].url, "http://a.test/4.js");

    let none = analyze(html.as_bytes(), &page(), false, 0);
    assert_eq!(none.mixed.active.count, 50);
    assert!(none.mixed.active.samples.is_empty());
}

#[test]
fn an_overlong_url_is_counted_but_not_sampled() {
    let long = format!("http://a.test/{}", "x".repeat(MAX_SAMPLE_URL_LEN));
    let analysis = run(&format!(
        "<img src={long}><img src=http://a.test/short.png>"
    ));
    assert_eq!(analysis.mixed.passive.count, 2);
    assert_eq!(
        found(&analysis),
        one(Class::Passive, "img src", "http://a.test/short.png")
    );
}

#[test]
fn an_http_page_reports_no_mixed_content_but_its_refresh() {
    let html = "<meta http-equiv=refresh content='0;url=https://www.gov.test/'>\
                <img src=http://a.test/i.png><script src=http://a.test/s.js></script>\
                <form action=http://a.test/f></form>";
    let url = Url::parse("http://www.gov.test/").unwrap();
    let analysis = analyze(html.as_bytes(), &url, true, 10);
    assert_eq!(
        analysis.mixed,
        MixedContent {
            page: "http://www.gov.test/".into(),
            truncated: true,
            ..Default::default()
        }
    );
    assert_eq!(
        analysis.meta_refresh,
        Some(MetaRefresh {
            delay: 0,
            url: Some(Url::parse("https://www.gov.test/").unwrap()),
        })
    );
}

#[test]
fn meta_refresh_variants() {
    let to = |delay: u32, url: &str| {
        Some(MetaRefresh {
            delay,
            url: Some(Url::parse(url).unwrap()),
        })
    };
    let cases: &[(&str, Option<MetaRefresh>)] = &[
        (
            "<meta http-equiv=refresh content='0; url=https://b.test/'>",
            to(0, "https://b.test/"),
        ),
        (
            "<META HTTP-EQUIV=\"Refresh\" CONTENT=\"0;URL=/new/\">",
            to(0, "https://www.gov.test/new/"),
        ),
        (
            "<meta http-equiv=' refresh ' content=\"5; URL='next.html'\">",
            to(5, "https://www.gov.test/dir/next.html"),
        ),
        (
            "<meta content='3' http-equiv=refresh>",
            Some(MetaRefresh {
                delay: 3,
                url: None,
            }),
        ),
        (
            "<meta http-equiv=refresh content='0;url=a'><meta http-equiv=refresh content='0;url=b'>",
            to(0, "https://www.gov.test/dir/a"),
        ),
        (
            "<base href='https://base.test/x/'><meta http-equiv=refresh content='0;url=y'>",
            to(0, "https://base.test/x/y"),
        ),
        (
            "<body><meta http-equiv=refresh content='0;url=in-body'></body>",
            to(0, "https://www.gov.test/dir/in-body"),
        ),
        (
            "<meta http-equiv=refresh content='x'><meta http-equiv=refresh content='1'>",
            Some(MetaRefresh {
                delay: 1,
                url: None,
            }),
        ),
        ("<meta http-equiv=content-type content='text/html'>", None),
        ("<meta name=refresh content='0;url=x'>", None),
        (
            "<noscript><meta http-equiv=refresh content='0;url=x'></noscript>",
            None,
        ),
        ("<!-- <meta http-equiv=refresh content='0;url=x'> -->", None),
    ];
    for (html, want) in cases {
        assert_eq!(&run(html).meta_refresh, want, "html {html:?}");
    }
}

#[test]
fn style_blocks_and_attributes() {
    let html = "<style>\n\
        @import url(http://a.test/1.css) screen;\n\
        @import \"http://a.test/2.css\";\n\
        @font-face { font-family: X; src: url('http://a.test/f.woff') format('woff'); }\n\
        .a { background: url(http://a.test/bg.png) no-repeat; }\n\
        .b { background: url(/secure.png), url( '//cdn.test/pr.png' ); }\n\
        </style>\
        <p style=\"background-image: URL('http://a.test/inline.png')\">x</p>";
    let analysis = run(html);
    assert_eq!(
        found(&analysis),
        vec![
            (
                Class::Passive,
                "style url()".to_owned(),
                "http://a.test/bg.png".to_owned()
            ),
            (
                Class::Passive,
                "style url()".to_owned(),
                "http://a.test/inline.png".to_owned()
            ),
            (
                Class::Active,
                "@import".to_owned(),
                "http://a.test/1.css".to_owned()
            ),
            (
                Class::Active,
                "@import".to_owned(),
                "http://a.test/2.css".to_owned()
            ),
            (
                Class::Active,
                "@font-face".to_owned(),
                "http://a.test/f.woff".to_owned()
            ),
        ]
    );
}

#[test]
fn a_style_split_across_parser_chunks_is_read_whole() {
    // Past the parser's chunk size, so the text handler sees the sheet in pieces.
    let filler = ".x{color:red}".repeat(CHUNK / 13 + 100);
    let html = format!("<style>{filler}.y{{background:url(http://a.test/late.png)}}</style>");
    assert_eq!(
        found(&run(&html)),
        one(Class::Passive, "style url()", "http://a.test/late.png")
    );
    // And a style the document never closes.
    let html = format!("<style>{filler}.y{{background:url(http://a.test/open.png)}}");
    assert_eq!(
        found(&run(&html)),
        one(Class::Passive, "style url()", "http://a.test/open.png")
    );
}

#[test]
fn big5_page_with_meta_charset() {
    // 「政府」 in Big5, in a query, on a page that declares its charset.
    let mut html = b"<meta charset=big5><img src=\"http://a.test/q?x=".to_vec();
    html.extend_from_slice(&[0xac, 0x46, 0xa9, 0xb2]);
    html.extend_from_slice(b"\">");
    let analysis = analyze(&html, &page(), false, 10);
    assert_eq!(analysis.mixed.passive.count, 1);
    assert_eq!(
        analysis.mixed.passive.samples[0].url,
        "http://a.test/q?x=%E6%94%BF%E5%BA%9C"
    );
}

#[test]
fn garbage_does_not_panic() {
    let mut inputs: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"<".to_vec(),
        b"<img src=".to_vec(),
        b"<img src=\"http://a.test/unterminated".to_vec(),
        b"<<<>>><img <img src=http://a.test/x.png".to_vec(),
        b"<style>".to_vec(),
        b"<style>@import".to_vec(),
        b"<script><img src=http://a.test/in-script.png></script>".to_vec(),
        b"<svg><style>p{background:url(http://a.test/svg.png)}</style></svg>".to_vec(),
        b"<base href><base href=http://[::><meta http-equiv=refresh>".to_vec(),
        b"\xff\xfe\x00<\x00i\x00m\x00g".to_vec(),
        b"<template><template></template>".to_vec(),
        b"<div style='url(' style=\"\\\">".to_vec(),
        b"</template></template><img src=http://a.test/after.png>".to_vec(),
    ];
    // Pseudo-random bytes from a fixed-seed generator, and tag soup built from them.
    let mut next = super::pseudo_random(0x2545_f491_4f6c_dd1d);
    for _ in 0..20 {
        let bytes: Vec<u8> = (0..4096).map(|_| next() as u8).collect();
        inputs.push(bytes);
        let soup = [
            "<img src=http://a/",
            "<style>",
            "url(",
            "\"",
            "'",
            ">",
            "<",
            "</",
            "{",
            "@import ",
            "srcset=",
            ",",
        ];
        let text: String = (0..2000)
            .map(|_| soup[(next() % soup.len() as u64) as usize])
            .collect();
        inputs.push(text.into_bytes());
    }
    for input in &inputs {
        let analysis = analyze(input, &page(), false, 3);
        for samples in [
            &analysis.mixed.active,
            &analysis.mixed.passive,
            &analysis.mixed.forms,
        ] {
            assert!(samples.samples.len() <= 3);
            assert!(samples.samples.len() <= samples.count);
        }
    }
    // One of the fixed inputs above is checked for what a browser would read.
    let analysis = analyze(
        b"</template></template><img src=http://a.test/after.png>",
        &page(),
        false,
        3,
    );
    assert_eq!(analysis.mixed.passive.count, 1);
}

#[test]
fn a_two_mebibyte_page_is_counted_fully() {
    let unit = "<div class=item><img src=\"http://img.test/p.png\" alt=\"photo\">\
                <a href=\"http://a.test/link\">link</a>\
                <script src=\"/local.js\"></script>\
                <p style=\"background:url(http://img.test/bg.png)\">text</p></div>\n";
    let repeats = (2 << 20) / unit.len();
    let html = unit.repeat(repeats);
    assert!(html.len() > (2 << 20) - unit.len());
    let analysis = analyze(html.as_bytes(), &page(), true, 10);
    assert_eq!(analysis.mixed.passive.count, 2 * repeats);
    assert_eq!(analysis.mixed.passive.samples.len(), 2, "deduplicated");
    assert_eq!(analysis.mixed.active.count, 0);
    assert_eq!(analysis.mixed.forms.count, 0);
    assert!(analysis.mixed.truncated, "the caller's flag is kept");
}

#[test]
fn a_huge_tag_stops_the_parser_and_marks_the_result_truncated() {
    let html = format!(
        "<img src=http://a.test/first.png><img alt=\"{}\"><img src=http://a.test/never.png>",
        "x".repeat(MAX_PARSER_MEMORY + CHUNK)
    );
    let analysis = run(&html);
    assert!(analysis.mixed.truncated);
    assert_eq!(
        found(&analysis),
        one(Class::Passive, "img src", "http://a.test/first.png")
    );
}

#[test]
fn a_csp_meta_with_upgrade_insecure_requests_marks_the_references_as_upgraded() {
    let url = Url::parse("https://www.gov.test/").unwrap();
    let body = "<script src=http://a.test/s.js></script><img src=http://a.test/i.png>\
                <form action=http://a.test/f></form>";
    let html = format!(
        "<head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src https: 'self'; upgrade-insecure-requests\"></head>{body}"
    );
    let a = analyze(html.as_bytes(), &url, false, 10);
    assert_eq!(
        a.mixed.upgrade_insecure_requests.as_deref(),
        Some(super::UPGRADE_BY_META)
    );
    // What was upgraded is still counted.
    assert_eq!(
        (
            a.mixed.active.count,
            a.mixed.passive.count,
            a.mixed.forms.count
        ),
        (1, 1, 1)
    );
    // Report-Only enforces nothing; another directive upgrades nothing.
    for meta in [
        "<meta http-equiv=Content-Security-Policy-Report-Only content=upgrade-insecure-requests>",
        "<meta http-equiv=Content-Security-Policy content=block-all-mixed-content>",
        "<meta name=Content-Security-Policy content=upgrade-insecure-requests>",
    ] {
        let a = analyze(format!("{meta}{body}").as_bytes(), &url, false, 10);
        assert_eq!(a.mixed.upgrade_insecure_requests, None, "{meta}");
        assert_eq!(a.mixed.active.count, 1, "{meta}");
    }
    // A CSP meta is not a refresh.
    assert_eq!(a.meta_refresh, None);
}

#[test]
fn a_page_fed_in_pieces_as_it_arrives_reads_as_the_whole_page() {
    // The fetcher feeds the reader what the network gives: tags, attributes, character
    // references and `<style>` text cut anywhere must read as in one piece.
    let html = "<html><head><base href=\"https://cdn.gov.test/x/\">\
                <meta http-equiv=refresh content=\"5; url=/next\">\
                <style>body { background: url(http://a.test/bg.png) }\
                @import 'http://a.test/s.css';</style></head><body>\
                <img src=\"http&#58;//a.test/i.png\"><script src=http://a.test/s.js></script>\
                <template><img src=http://a.test/inert.png></template>\
                <form action=http://a.test/f></form><link rel=icon href=/i.ico></body></html>";
    let whole = run(html);
    assert_eq!(whole.mixed.passive.count, 2, "{whole:?}");
    for size in [1, 2, 3, 7, 64] {
        let mut reader = Reader::new(&page(), 10);
        for piece in html.as_bytes().chunks(size) {
            reader.write(piece);
        }
        assert_eq!(reader.bytes_read(), html.len());
        assert_eq!(reader.finish(false), whole, "pieces of {size} bytes");
    }
}

#[test]
fn the_www_sibling_is_the_same_site_and_other_hosts_are_not() {
    assert!(same_site("a.gov.tw", "a.gov.tw"));
    assert!(same_site("www.a.gov.tw", "a.gov.tw"));
    assert!(same_site("a.gov.tw", "www.a.gov.tw"));
    assert!(!same_site("b.gov.tw", "a.gov.tw"));
    assert!(!same_site("www.b.a.gov.tw", "a.gov.tw"));
    assert!(!same_site("wwwa.gov.tw", "a.gov.tw"));
}

#[test]
fn a_page_that_cannot_name_http_is_still_read_for_its_refresh_icon_base_and_policy() {
    // No `http:` anywhere: the cheap pass reads it, and finds what the full pass finds.
    let html = "<html><head><meta http-equiv=X-UA-Compatible content=IE=edge>\
                <base href=\"https://cdn.gov.test/x/\">\
                <meta http-equiv=Content-Security-Policy content=upgrade-insecure-requests>\
                <meta http-equiv=refresh content=\"5; url=next.html\"></head><body>\
                <template><link rel=icon href=/inert.ico></template>\
                <p style=\"background:url(/bg.png)\">&amp; https://a.test/</p>\
                <img src=/logo.png srcset=\"/a.png 1x, //cdn.gov.test/b.png 2x\"></body></html>";
    let a = run(html);
    assert_eq!(
        a.meta_refresh,
        Some(MetaRefresh {
            delay: 5,
            url: Some(Url::parse("https://cdn.gov.test/x/next.html").unwrap()),
        })
    );
    assert_eq!(
        a.mixed.upgrade_insecure_requests.as_deref(),
        Some(UPGRADE_BY_META)
    );
    assert!(!a.icon_linked, "the icon link is inert inside its template");
    assert_eq!(found(&a), vec![]);
    let linked = run("<link rel=\"shortcut icon\" href=/favicon.png><p>HTTPS only</p>");
    assert!(linked.icon_linked);
}

#[test]
fn http_named_past_the_held_bytes_or_cut_across_pieces_is_found() {
    let clean = "<p>本網站提供機關最新消息。<a href=\"/news\">最新消息</a></p>\n";
    for (at, tail) in [
        (HELD_BYTES + 10_000, "<img src=http://a.test/late.png>"),
        (HELD_BYTES - 40, "<img src=http://a.test/edge.png>"),
        (1_000, "<img src=\"h\tt&#116;p://a.test/ref.png\">"),
        (
            5_000,
            "<base href=\"HTTP&colon;//a.test/\"><img src=rel.png>",
        ),
    ] {
        let mut html = clean.repeat(at / clean.len() + 1);
        html.push_str(tail);
        html.push_str(&clean.repeat(3));
        let whole = run(&html);
        assert_eq!(whole.mixed.passive.count, 1, "{tail} after {at} bytes");
        for size in [1, 5, 4096, 70_000] {
            let mut reader = Reader::new(&page(), 10);
            for piece in html.as_bytes().chunks(size) {
                reader.write(piece);
            }
            assert_eq!(
                reader.finish(false),
                whole,
                "{tail}, pieces of {size} bytes"
            );
        }
    }
}

#[test]
fn foreign_content_and_raw_text_read_the_same_in_both_passes() {
    // `run` compares the cheap pass (none of these pages can name http:) with the full pass.
    for html in [
        "<svg><link rel=icon href=/a.ico></svg>",
        "<math><base href=/x/><meta http-equiv=refresh content=\"0; url=n\"></math>",
        "<svg><template><link rel=icon href=/b.ico></template></svg><link rel=icon href=/c.ico>",
        "<noscript><link rel=icon href=/d.ico></noscript>",
        "<script><link rel=icon href=/e.ico></script><textarea><link rel=icon href=/f.ico></textarea>",
        "<!-- <link rel=icon href=/g.ico> --><xmp><base href=/h/></xmp>",
        "<template><template></template><link rel=icon href=/i.ico></template>",
    ] {
        run(html);
    }
}

#[test]
fn malformed_raw_text_tags_read_the_same_in_both_passes() {
    // Found by the `page` fuzz target: lol_html's two tokenizer paths disagree on whether
    // `<style\n\0=>` starts raw text and whether `</t>` ends `<script r=>`; both passes must
    // take the same one.
    for html in [
        "<style\n\0=><meta http-equiv=refresh content=\"5;url=/n\"><link rel=icon href=/f.ico>",
        "<style\n\u{1}=><meta http-equiv=refresh content=\"5;url=/n\"><link rel=icon href=/f.ico>",
        // The same kind of disagreement: `</t>` ends the script on one path only.
        "<script r=></t><link rel=icon href=/>",
        "<title r=></t><link rel=icon href=/>",
        "<textarea r=></t><link rel=icon href=/>",
        "<xmp r=></t><link rel=icon href=/>",
        "<iframe r=></t><link rel=icon href=/>",
        "<noscript r=></t><link rel=icon href=/>",
        "<svg r=></t><link rel=icon href=/>",
    ] {
        run(html);
    }
    let found = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/regressions/page/style-tokenized-two-ways"
    ))
    .unwrap();
    assert_eq!(
        analyze(&found, &page(), false, 10),
        analyze_fully(&found, &page(), false, 10)
    );
}
