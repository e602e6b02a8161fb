//! References in CSS, found with the `cssparser` tokenizer (never a regex): `url()` and
//! `src()` anywhere (images, unless inside `@font-face`), quoted strings in `image-set()`,
//! the URL of an `@import`, and the `url()`s of an `@font-face` block.
//!
//! An `@import` after any other rule is ignored, as browsers do; nesting deeper than
//! [`MAX_DEPTH`] blocks is skipped (the tokenizer still steps over it without recursion).

use cssparser::{ParseError, Parser, ParserInput, Token};

/// How deep nested blocks (`{}`, `()`, `[]`, functions) are searched.
pub const MAX_DEPTH: usize = 32;

/// What a CSS reference loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    /// An image (`background: url()`, `list-style`, `cursor`, `image-set()`...): upgradable.
    Image,
    /// A stylesheet (`@import`): blockable.
    Import,
    /// A font (`src: url()` in `@font-face`): blockable.
    Font,
}

/// Where the CSS comes from: a `<style>` sheet may hold rules and `@import`; a `style`
/// attribute holds declarations only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Sheet,
    Attribute,
}

/// Call `found` for every reference in `css`, in order.
pub fn references(css: &str, source: Source, found: &mut dyn FnMut(Load, &str)) {
    let mut input = ParserInput::new(css);
    let mut parser = Parser::new(&mut input);
    let context = Context {
        in_font_face: false,
        in_image_set: false,
        top_level_sheet: source == Source::Sheet,
    };
    scan(&mut parser, context, 0, found);
}

#[derive(Debug, Clone, Copy)]
struct Context {
    in_font_face: bool,
    /// Directly inside `image-set()`, where a bare string is a URL.
    in_image_set: bool,
    /// At the top level of a style sheet, where `@import` may appear.
    top_level_sheet: bool,
}

impl Context {
    fn load(self) -> Load {
        if self.in_font_face {
            Load::Font
        } else {
            Load::Image
        }
    }

    fn nested(self) -> Self {
        Context {
            in_image_set: false,
            top_level_sheet: false,
            ..self
        }
    }
}

fn scan(
    parser: &mut Parser<'_, '_>,
    context: Context,
    depth: usize,
    found: &mut dyn FnMut(Load, &str),
) {
    let mut imports_allowed = context.top_level_sheet;
    // The at-rule whose prelude is being read is `@font-face`: its block holds fonts.
    let mut font_face_prelude = false;
    loop {
        // Cloning a token is cheap (reference-counted strings) and ends the borrow of the
        // parser, which nested blocks need.
        let token = match parser.next() {
            Ok(token) => token.clone(),
            Err(_) => return,
        };
        match token {
            Token::UnquotedUrl(url) => found(context.load(), &url),
            Token::QuotedString(url) if context.in_image_set => found(context.load(), &url),
            Token::Function(name)
                if name.eq_ignore_ascii_case("url") || name.eq_ignore_ascii_case("src") =>
            {
                let load = context.load();
                let _ = parser.parse_nested_block(|p| -> Result<(), ParseError<'_, ()>> {
                    if let Ok(url) = p.expect_string() {
                        found(load, url);
                    }
                    Ok(())
                });
            }
            Token::AtKeyword(name) if name.eq_ignore_ascii_case("import") => {
                // A misplaced `@import` is dropped whole: its URL loads nothing.
                let url = parser.expect_url_or_string();
                if let (true, Ok(url)) = (imports_allowed, url) {
                    found(Load::Import, &url);
                }
            }
            Token::AtKeyword(name) => {
                font_face_prelude = name.eq_ignore_ascii_case("font-face");
                if !name.eq_ignore_ascii_case("charset") && !name.eq_ignore_ascii_case("layer") {
                    imports_allowed = false;
                }
            }
            Token::Semicolon => font_face_prelude = false,
            Token::CurlyBracketBlock => {
                imports_allowed = false;
                let inner = Context {
                    in_font_face: context.in_font_face || font_face_prelude,
                    ..context.nested()
                };
                font_face_prelude = false;
                nested(parser, inner, depth, found);
            }
            Token::Function(name) => {
                let inner = Context {
                    in_image_set: name.eq_ignore_ascii_case("image-set")
                        || name.eq_ignore_ascii_case("-webkit-image-set"),
                    ..context.nested()
                };
                nested(parser, inner, depth, found);
            }
            Token::ParenthesisBlock | Token::SquareBracketBlock => {
                nested(parser, context.nested(), depth, found);
            }
            _ => {}
        }
    }
}

/// Search the block just opened, unless it is too deep (then the parser skips it).
fn nested(
    parser: &mut Parser<'_, '_>,
    context: Context,
    depth: usize,
    found: &mut dyn FnMut(Load, &str),
) {
    if depth + 1 >= MAX_DEPTH {
        return;
    }
    let _ = parser.parse_nested_block(|p| -> Result<(), ParseError<'_, ()>> {
        scan(p, context, depth + 1, found);
        Ok(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(css: &str, source: Source) -> Vec<(Load, String)> {
        let mut out = Vec::new();
        references(css, source, &mut |load, url| {
            out.push((load, url.to_owned()))
        });
        out
    }

    fn sheet(css: &str) -> Vec<(Load, String)> {
        refs(css, Source::Sheet)
    }

    fn r(load: Load, url: &str) -> (Load, String) {
        (load, url.to_owned())
    }

    #[test]
    fn finds_each_kind_of_reference() {
        use Load::*;
        let cases: &[(&str, &[(Load, &str)])] = &[
            (
                "body{background:url(http://a/x.png)}",
                &[(Image, "http://a/x.png")],
            ),
            (
                "body{background:url( 'http://a/q.png' )}",
                &[(Image, "http://a/q.png")],
            ),
            (
                "body{background:URL(\"http://a/d.png\")}",
                &[(Image, "http://a/d.png")],
            ),
            (
                "p{background:url(  http://a/s.png  )}",
                &[(Image, "http://a/s.png")],
            ),
            (
                "p{background:url(ht\\74p://a/e.png)}",
                &[(Image, "http://a/e.png")],
            ),
            (
                "p{background:src(\"http://a/f.png\")}",
                &[(Image, "http://a/f.png")],
            ),
            (
                "p{background:image-set(\"http://a/1.png\" 1x, url(http://a/2.png) 2x)}",
                &[(Image, "http://a/1.png"), (Image, "http://a/2.png")],
            ),
            (
                "@import url(http://a/i.css);",
                &[(Import, "http://a/i.css")],
            ),
            (
                "@import \"http://a/s.css\" screen;",
                &[(Import, "http://a/s.css")],
            ),
            (
                "@IMPORT url('http://a/q.css');",
                &[(Import, "http://a/q.css")],
            ),
            (
                "@charset \"utf-8\"; @layer base; @import 'a.css'; @import 'b.css';",
                &[(Import, "a.css"), (Import, "b.css")],
            ),
            ("p{color:red} @import 'late.css';", &[]),
            (
                "@font-face{font-family:x;src:url(http://a/f.woff2) format('woff2'),url('http://a/f.ttf')}",
                &[(Font, "http://a/f.woff2"), (Font, "http://a/f.ttf")],
            ),
            (
                "@media screen{@font-face{src:url(f.woff)} .a{background:url(b.png)}}",
                &[(Font, "f.woff"), (Image, "b.png")],
            ),
            (
                "@font-face{src:url(f.woff)} p{background:url(after.png)}",
                &[(Font, "f.woff"), (Image, "after.png")],
            ),
            ("/* url(http://a/comment.png) */ p{}", &[]),
            ("p{content:\"url(http://a/string.png)\"}", &[]),
            ("<!-- p{background:url(x.png)} -->", &[(Image, "x.png")]),
            ("p{background:url(http://a/bad url.png)}", &[]),
            (
                "p{background:url(http://a/unclosed.png",
                &[(Image, "http://a/unclosed.png")],
            ),
            (
                "p{background:url(\"http://a/unclosed-string",
                &[(Image, "http://a/unclosed-string")],
            ),
        ];
        for (css, want) in cases {
            let want: Vec<_> = want.iter().map(|(l, u)| r(*l, u)).collect();
            assert_eq!(sheet(css), want, "css {css:?}");
        }
    }

    #[test]
    fn a_style_attribute_holds_declarations_only() {
        assert_eq!(
            refs(
                "background-image: url(http://a/x.png); color: red",
                Source::Attribute
            ),
            vec![r(Load::Image, "http://a/x.png")]
        );
        assert_eq!(refs("@import 'x.css'", Source::Attribute), vec![]);
    }

    #[test]
    fn deep_nesting_is_bounded_and_garbage_does_not_panic() {
        let deep = format!("{}url(x.png){}", "(".repeat(100_000), ")".repeat(100_000));
        assert_eq!(sheet(&deep), vec![]);
        let shallow = format!("{}url(y.png)", "a{".repeat(MAX_DEPTH - 2));
        assert_eq!(sheet(&shallow), vec![r(Load::Image, "y.png")]);
        for garbage in [
            "{{{{",
            "}}}}",
            "@import",
            "@import;",
            "url(",
            "\"",
            "\\",
            "\u{0}\u{fffd}",
            "@font-face",
            "@font-face{",
        ] {
            let _ = sheet(garbage);
            let _ = refs(garbage, Source::Attribute);
        }
    }
}
