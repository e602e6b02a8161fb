//! Reading the user's site list.
//!
//! Two shapes are accepted (`CHECKS.md`, "Input"):
//! - CSV with a header naming at least `url` (normally `agency,category,parent,url`, in any
//!   order; extra columns are ignored);
//! - a plain list, one URL or host per line (`#` starts a comment line).
//!
//! Encodings: UTF-8 (a BOM is fine), UTF-16 with a BOM, and Big5 — common in Taiwan's
//! government — detected when the bytes are not UTF-8 and decode cleanly as Big5. Anything
//! else is refused with the line where decoding failed, never garbled.
//!
//! Every bad line is reported with its number and the problem; duplicates (same host and
//! path) are scanned once and listed.

use crate::site::{Site, SiteError};
use encoding_rs::{BIG5, Encoding, UTF_8};
use std::collections::HashMap;
use std::fmt;

/// The parsed list: the sites to scan and everything worth telling the user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SiteList {
    /// Valid, distinct sites in list order.
    pub sites: Vec<Site>,
    /// Lines that could not be used, with why.
    pub errors: Vec<LineError>,
    /// Entries that repeat an earlier one (same host and path); scanned once.
    pub duplicates: Vec<Duplicate>,
    /// The encoding the file was read in (`UTF-8`, `Big5`, `UTF-16LE`...).
    pub encoding: &'static str,
    /// Whether the file was CSV or a plain list.
    pub format: Format,
}

/// The shape of the list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Plain,
    Csv,
}

/// One unusable line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number in the file.
    pub line: usize,
    pub problem: LineProblem,
}

/// What is wrong with a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineProblem {
    #[error("{0}")]
    Site(#[from] SiteError),
    #[error("expected {expected} fields as in the header, found {found}")]
    FieldCount { expected: usize, found: usize },
    #[error("malformed CSV: {0}")]
    Csv(String),
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

/// An entry seen before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    pub line: usize,
    /// The line of the entry that is scanned.
    pub first_line: usize,
    pub url: String,
}

impl fmt::Display for Duplicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {} repeats line {}; scanned once",
            self.line, self.url, self.first_line
        )
    }
}

/// Why the file as a whole cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    #[error("the list is empty: no site to scan")]
    Empty,
    #[error(
        "the file is neither UTF-8 nor Big5 (first undecodable byte on line {line}); save it as UTF-8 CSV and try again"
    )]
    Encoding { line: usize },
    #[error(
        "the CSV header has no `url` column (found: {0}); expected `agency,category,parent,url`"
    )]
    NoUrlColumn(String),
}

/// Decode and parse a site list.
pub fn parse(bytes: &[u8]) -> Result<SiteList, ListError> {
    let (text, encoding) = decode(bytes)?;
    let mut list = SiteList {
        encoding,
        ..SiteList::default()
    };
    let Some((header_line, header)) = first_content_line(&text) else {
        return Err(ListError::Empty);
    };
    let mut entries = Vec::new();
    if looks_like_csv_header(header) {
        list.format = Format::Csv;
        parse_csv(&text, header_line, &mut entries, &mut list.errors)?;
    } else {
        for (i, line) in text.lines().enumerate() {
            let entry = line.trim();
            if entry.is_empty() || entry.starts_with('#') {
                continue;
            }
            entries.push((i + 1, Site::parse(entry), [""; 3].map(String::from)));
        }
    }
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for (line, parsed, [agency, category, parent]) in entries {
        match parsed {
            Err(e) => list.errors.push(LineError {
                line,
                problem: e.into(),
            }),
            Ok(mut site) => {
                if let Some(&first_line) = seen.get(&site.dedup_key()) {
                    list.duplicates.push(Duplicate {
                        line,
                        first_line,
                        url: site.url,
                    });
                    continue;
                }
                seen.insert(site.dedup_key(), line);
                site.agency = agency;
                site.category = category;
                site.parent = parent;
                list.sites.push(site);
            }
        }
    }
    list.errors.sort_by_key(|e| e.line);
    if list.sites.is_empty() && list.errors.is_empty() {
        return Err(ListError::Empty);
    }
    Ok(list)
}

type Entry = (usize, Result<Site, SiteError>, [String; 3]);

fn parse_csv(
    text: &str,
    header_line: usize,
    entries: &mut Vec<Entry>,
    errors: &mut Vec<LineError>,
) -> Result<(), ListError> {
    // Skip blank lines before the header, keeping line numbers true.
    let body_start: usize = text
        .split_inclusive('\n')
        .take(header_line - 1)
        .map(str::len)
        .sum();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(&text.as_bytes()[body_start..]);
    let headers = reader
        .headers()
        .map_err(|e| ListError::NoUrlColumn(e.to_string()))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let url_col = column("url")
        .ok_or_else(|| ListError::NoUrlColumn(headers.iter().collect::<Vec<_>>().join(",")))?;
    let cols = [column("agency"), column("category"), column("parent")];
    let lines = Lines::new(text);
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e
                    .position()
                    .map_or(0, |p| lines.of(body_start + p.byte() as usize));
                errors.push(LineError {
                    line,
                    problem: LineProblem::Csv(e.to_string()),
                });
                continue;
            }
        };
        let line = record
            .position()
            .map_or(0, |p| lines.of(body_start + p.byte() as usize));
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() != headers.len() {
            errors.push(LineError {
                line,
                problem: LineProblem::FieldCount {
                    expected: headers.len(),
                    found: record.len(),
                },
            });
            continue;
        }
        let field = |c: Option<usize>| c.and_then(|c| record.get(c)).unwrap_or("").to_owned();
        entries.push((
            line,
            Site::parse(record.get(url_col).unwrap_or("")),
            cols.map(field),
        ));
    }
    Ok(())
}

/// Line numbers of byte offsets in a text: the csv crate counts neither the blank lines it
/// skips nor its positions past them, so count here. Built once, each lookup a binary search
/// (a million-line list must not cost a scan of the text per line).
struct Lines<'a> {
    bytes: &'a [u8],
    /// Offsets of every `\n`.
    newlines: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let newlines = bytes
            .iter()
            .enumerate()
            .filter_map(|(i, &b)| (b == b'\n').then_some(i))
            .collect();
        Lines { bytes, newlines }
    }

    /// The 1-based line of the record starting at `offset` (line breaks before it skipped).
    fn of(&self, offset: usize) -> usize {
        let mut start = offset.min(self.bytes.len());
        while start < self.bytes.len() && matches!(self.bytes[start], b'\n' | b'\r') {
            start += 1;
        }
        self.newlines.partition_point(|&nl| nl < start) + 1
    }
}

fn first_content_line(text: &str) -> Option<(usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .find(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

fn looks_like_csv_header(line: &str) -> bool {
    line.contains(',')
        && line
            .split(',')
            .any(|f| f.trim().trim_matches('"').eq_ignore_ascii_case("url"))
}

/// Decode the file: a BOM decides; otherwise UTF-8, then Big5; otherwise refuse.
fn decode(bytes: &[u8]) -> Result<(String, &'static str), ListError> {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom_len..]);
        if had_errors {
            return Err(ListError::Encoding {
                line: first_bad_line(&bytes[bom_len..], encoding),
            });
        }
        return Ok((text.into_owned(), encoding.name()));
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok((text.to_owned(), UTF_8.name()));
    }
    let (text, had_errors) = BIG5.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(ListError::Encoding {
            line: first_bad_line(bytes, UTF_8),
        });
    }
    Ok((text.into_owned(), BIG5.name()))
}

/// The 1-based line of the first byte sequence `encoding` cannot decode.
fn first_bad_line(bytes: &[u8], encoding: &'static Encoding) -> usize {
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if encoding.decode_without_bom_handling(line).1 {
            return i + 1;
        }
    }
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_bom_keeps_agency_tree_fields() {
        let text = "\u{feff}agency,category,parent,url\n行政院,二級機關,,https://www.ey.gov.tw/\n教育部,三級機關,行政院,moe.gov.tw\n";
        let list = parse(text.as_bytes()).unwrap();
        assert_eq!(list.format, Format::Csv);
        assert_eq!(list.encoding, "UTF-8");
        assert_eq!(list.sites.len(), 2);
        assert_eq!(list.sites[1].agency, "教育部");
        assert_eq!(list.sites[1].category, "三級機關");
        assert_eq!(list.sites[1].parent, "行政院");
        assert_eq!(list.sites[1].host, "moe.gov.tw");
        assert!(list.errors.is_empty());
    }

    #[test]
    fn csv_columns_may_come_in_any_order() {
        let text = "url,agency\nhttps://a.gov.tw/,A\n";
        let list = parse(text.as_bytes()).unwrap();
        assert_eq!(list.sites[0].agency, "A");
        assert_eq!(list.sites[0].category, "");
    }

    #[test]
    fn big5_is_decoded_not_garbled() {
        let text = "agency,category,parent,url\n臺北市政府,縣市政府,,https://www.gov.taipei/\n";
        let (bytes, _, unmappable) = BIG5.encode(text);
        assert!(!unmappable);
        let list = parse(&bytes).unwrap();
        assert_eq!(list.encoding, "Big5");
        assert_eq!(list.sites[0].agency, "臺北市政府");
        assert_eq!(list.sites[0].category, "縣市政府");
    }

    #[test]
    fn undecodable_bytes_are_refused_with_their_line() {
        let mut bytes = b"a.gov.tw\nb.gov.tw\n".to_vec();
        bytes.extend_from_slice(&[0xff, 0xff, 0xff, b'\n']);
        assert_eq!(parse(&bytes), Err(ListError::Encoding { line: 3 }));
    }

    #[test]
    fn bad_lines_are_reported_by_number_and_good_ones_kept() {
        let text = "agency,category,parent,url\nA,二級機關,,https://a.gov.tw/\nB,二級機關,,ftp://b.gov.tw/\nC,二級機關\n\nD,三級機關,A,https://d.gov.tw:8443/\n";
        let list = parse(text.as_bytes()).unwrap();
        assert_eq!(list.sites.len(), 1);
        let lines: Vec<usize> = list.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 6]);
        assert!(list.errors[0].to_string().contains("line 3"));
        assert!(matches!(
            list.errors[1].problem,
            LineProblem::FieldCount {
                expected: 4,
                found: 2
            }
        ));
        assert!(matches!(
            list.errors[2].problem,
            LineProblem::Site(SiteError::Port(8443))
        ));
    }

    #[test]
    fn duplicates_are_scanned_once_and_said() {
        let text = "# our sites\na.gov.tw\nhttps://A.gov.tw/\nb.gov.tw\nhttp://a.gov.tw/x\n";
        let list = parse(text.as_bytes()).unwrap();
        assert_eq!(list.format, Format::Plain);
        assert_eq!(list.sites.len(), 3);
        assert_eq!(
            list.duplicates,
            vec![Duplicate {
                line: 3,
                first_line: 2,
                url: "https://A.gov.tw/".into()
            }]
        );
    }

    #[test]
    fn idn_hosts_in_a_list_become_punycode() {
        let list = parse("https://總統府.tw/\n".as_bytes()).unwrap();
        assert!(list.sites[0].host.starts_with("xn--"));
    }

    #[test]
    fn empty_and_headerless_files() {
        assert_eq!(parse(b""), Err(ListError::Empty));
        assert_eq!(parse(b"\n# nothing\n"), Err(ListError::Empty));
        assert!(matches!(
            parse(b"agency,category,parent,link\nA,B,,a.gov.tw\n"),
            Ok(SiteList {
                format: Format::Plain,
                ..
            })
        ));
        assert!(matches!(
            parse(b"agency,url2\n"),
            Ok(SiteList {
                format: Format::Plain,
                ..
            })
        ));
    }

    #[test]
    fn line_numbers_stay_true_in_a_long_list() {
        let mut text = String::from("agency,category,parent,url\n");
        for i in 0..20_000 {
            text.push_str(&format!("A,B,,https://s{i}.gov.tw/\n"));
            if i % 1000 == 0 {
                text.push('\n');
            }
        }
        text.push_str("A,B,,ftp://bad.gov.tw/\n");
        let list = parse(text.as_bytes()).unwrap();
        assert_eq!(list.sites.len(), 20_000);
        // 1 header + 20,000 sites + 20 blank lines, then the bad one.
        assert_eq!(list.errors[0].line, 20_022);
    }

    #[test]
    fn utf16_with_bom_is_read() {
        let mut bytes = vec![0xff, 0xfe];
        for unit in "a.gov.tw\n".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let list = parse(&bytes).unwrap();
        assert_eq!(list.encoding, "UTF-16LE");
        assert_eq!(list.sites[0].host, "a.gov.tw");
    }
}
