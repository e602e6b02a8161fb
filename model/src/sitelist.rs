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
//! The list is read as a stream, one line at a time: memory follows the sites kept, not the
//! size of the file. A line longer than [`MAX_LINE_BYTES`] is an error naming it (it is
//! skipped, never held whole), an error quotes at most a short prefix of a bad entry, and
//! only the first [`KEPT`] bad lines and duplicates are kept in detail; the rest are counted.
//! Every bad line is reported with its number and the problem; duplicates (same host and
//! path) are scanned once.

use crate::site::{Site, SiteError, excerpt};
use encoding_rs::{BIG5, Decoder, DecoderResult, Encoding, UTF_8};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};

/// The longest line a list may hold (a site with its agency columns takes far less).
pub const MAX_LINE_BYTES: usize = 8 * 1024;

/// Bad lines, and duplicates, kept in detail; past these they are only counted.
pub const KEPT: usize = 20;

/// The parsed list: the sites to scan and everything worth telling the user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SiteList {
    /// Valid, distinct sites in list order.
    pub sites: Vec<Site>,
    /// The first [`KEPT`] lines that could not be used, with why, in line order.
    pub errors: Vec<LineError>,
    /// How many lines could not be used (`errors` holds the first of them).
    pub error_count: usize,
    /// The first [`KEPT`] entries that repeat an earlier one (same host and path).
    pub duplicates: Vec<Duplicate>,
    /// How many entries repeat an earlier one; each is scanned once.
    pub duplicate_count: usize,
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
    /// The line (or a CSV record, quotes spanning lines) is over [`MAX_LINE_BYTES`].
    #[error(
        "{bytes} bytes long, over the {} KiB a line of a site list may take (it starts {start:?}); is this a site list?",
        MAX_LINE_BYTES / 1024
    )]
    TooLong { bytes: u64, start: String },
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
    #[error("reading the list failed: {0}")]
    Io(String),
}

/// Decode and parse a site list held in memory.
pub fn parse(bytes: &[u8]) -> Result<SiteList, ListError> {
    read(bytes)
}

/// Decode and parse a site list from a stream, one line at a time.
pub fn read(input: impl Read) -> Result<SiteList, ListError> {
    let mut lines = Lines::new(Input::open(input)?);
    let mut out = Builder::default();
    let mut shape = Shape::Unknown;
    while let Some((line, text)) = lines.next()? {
        let text = match text {
            Ok(text) => text,
            Err(problem) => {
                if let Shape::Csv(csv) = &mut shape {
                    csv.abandon(&mut out);
                }
                out.error(line, problem);
                continue;
            }
        };
        match &mut shape {
            Shape::Unknown => {
                let entry = text.trim();
                if entry.is_empty() || entry.starts_with('#') {
                    continue;
                }
                if looks_like_csv_header(entry) {
                    out.list.format = Format::Csv;
                    let mut csv = Box::new(Csv::new());
                    csv.line(line, &text, &mut out)?;
                    shape = Shape::Csv(csv);
                } else {
                    out.plain(line, entry);
                    shape = Shape::Plain;
                }
            }
            Shape::Plain => {
                let entry = text.trim();
                if !entry.is_empty() && !entry.starts_with('#') {
                    out.plain(line, entry);
                }
            }
            Shape::Csv(csv) => csv.line(line, &text, &mut out)?,
        }
    }
    if let Shape::Csv(csv) = &mut shape {
        csv.finish(&mut out)?;
    }
    let mut list = out.list;
    list.encoding = lines.encoding();
    if list.sites.is_empty() && list.error_count == 0 {
        return Err(ListError::Empty);
    }
    Ok(list)
}

/// Fuzzing (`fuzz/`, and the test replaying its corpus): read arbitrary bytes as a list; a
/// panic or a broken promise of [`SiteList`] is a bug.
#[doc(hidden)]
pub fn fuzz(bytes: &[u8]) {
    let Ok(list) = parse(bytes) else {
        return;
    };
    let mut keys = std::collections::HashSet::new();
    for site in &list.sites {
        let again = Site::parse(&site.url).expect("a listed site parses again");
        assert_eq!((&again.host, &again.path), (&site.host, &site.path));
        assert!(keys.insert(site.dedup_key()), "{} listed twice", site.url);
    }
    assert!(list.errors.windows(2).all(|w| w[0].line <= w[1].line));
    assert!(list.errors.iter().all(|e| e.line >= 1));
    assert!(list.errors.len() <= KEPT && list.errors.len() <= list.error_count);
    assert!(list.duplicates.len() <= KEPT && list.duplicates.len() <= list.duplicate_count);
    for e in &list.errors {
        // A bounded quote: the line cap, plus the words around it.
        assert!(e.to_string().len() < 1024, "{e}");
    }
}

enum Shape {
    /// Before the first line that is neither blank nor a comment.
    Unknown,
    Plain,
    Csv(Box<Csv>),
}

/// Collects sites, duplicates and errors into the list, keeping the first [`KEPT`] of each
/// kind of problem.
#[derive(Default)]
struct Builder {
    list: SiteList,
    /// Host and path of every site kept, with its line.
    seen: HashMap<(String, String), usize>,
}

impl Builder {
    fn plain(&mut self, line: usize, entry: &str) {
        self.entry(line, Site::parse(entry), [""; 3].map(String::from));
    }

    fn entry(&mut self, line: usize, parsed: Result<Site, SiteError>, tree: [String; 3]) {
        let mut site = match parsed {
            Ok(site) => site,
            Err(e) => return self.error(line, e.into()),
        };
        if let Some(&first_line) = self.seen.get(&site.dedup_key()) {
            self.list.duplicate_count += 1;
            if self.list.duplicates.len() < KEPT {
                self.list.duplicates.push(Duplicate {
                    line,
                    first_line,
                    url: site.url,
                });
            }
            return;
        }
        self.seen.insert(site.dedup_key(), line);
        [site.agency, site.category, site.parent] = tree;
        self.list.sites.push(site);
    }

    fn error(&mut self, line: usize, problem: LineProblem) {
        self.list.error_count += 1;
        if self.list.errors.len() < KEPT {
            self.list.errors.push(LineError { line, problem });
        }
    }
}

/// The CSV reader: records may span lines (a quoted field holding a line break), so lines
/// are fed to `csv_core` until it has a whole record, at most [`MAX_LINE_BYTES`] of it.
struct Csv {
    reader: csv_core::Reader,
    /// The line where the record being read starts, once it has started.
    start: Option<usize>,
    /// The line being fed.
    current: usize,
    /// Bytes of the record being read (input, not unescaped output).
    bytes: usize,
    fields: Vec<u8>,
    ends: Vec<usize>,
    len: usize,
    ends_len: usize,
    header: Option<Header>,
}

struct Header {
    count: usize,
    url: usize,
    /// Columns of agency, category and parent.
    tree: [Option<usize>; 3],
}

impl Csv {
    fn new() -> Self {
        Csv {
            // `new`, not `default`: only the builder makes the parser's tables.
            reader: csv_core::Reader::new(),
            start: None,
            current: 0,
            bytes: 0,
            fields: Vec::new(),
            ends: Vec::new(),
            len: 0,
            ends_len: 0,
            header: None,
        }
    }

    fn line(&mut self, line: usize, text: &str, out: &mut Builder) -> Result<(), ListError> {
        if self.start.is_none() && text.trim().is_empty() {
            return Ok(());
        }
        self.current = line;
        let start = *self.start.get_or_insert(line);
        self.bytes += text.len();
        if self.bytes > MAX_LINE_BYTES {
            let bytes = self.bytes as u64;
            self.start = None;
            self.abandon(out);
            out.error(
                start,
                LineProblem::TooLong {
                    bytes,
                    start: excerpt(text),
                },
            );
            return Ok(());
        }
        self.bytes += 1;
        self.feed(text.as_bytes(), out)?;
        self.feed(b"\n", out)
    }

    /// Feed `input`; an empty one ends the data.
    fn feed(&mut self, mut input: &[u8], out: &mut Builder) -> Result<(), ListError> {
        loop {
            if self.fields.len() == self.len {
                self.fields.resize((self.len * 2).max(256), 0);
            }
            if self.ends.len() == self.ends_len {
                self.ends.resize((self.ends_len * 2).max(8), 0);
            }
            let (result, read, written, ended) = self.reader.read_record(
                input,
                &mut self.fields[self.len..],
                &mut self.ends[self.ends_len..],
            );
            input = &input[read..];
            self.len += written;
            self.ends_len += ended;
            match result {
                csv_core::ReadRecordResult::InputEmpty => return Ok(()),
                csv_core::ReadRecordResult::OutputFull
                | csv_core::ReadRecordResult::OutputEndsFull => {}
                csv_core::ReadRecordResult::Record => {
                    self.record(out)?;
                    // A lone CR ends a record too: the next one starts on this line.
                    if !input.is_empty() {
                        self.start = Some(self.current);
                    }
                }
                csv_core::ReadRecordResult::End => return Ok(()),
            }
        }
    }

    /// A whole record was read.
    fn record(&mut self, out: &mut Builder) -> Result<(), ListError> {
        let line = self.start.take().unwrap_or(self.current);
        self.bytes = 0;
        let mut fields = Vec::with_capacity(self.ends_len);
        let mut from = 0;
        for &end in &self.ends[..self.ends_len] {
            fields.push(
                String::from_utf8_lossy(&self.fields[from..end])
                    .trim()
                    .to_owned(),
            );
            from = end;
        }
        (self.len, self.ends_len) = (0, 0);
        let Some(header) = &self.header else {
            let column = |name: &str| fields.iter().position(|h| h.eq_ignore_ascii_case(name));
            let url =
                column("url").ok_or_else(|| ListError::NoUrlColumn(excerpt(&fields.join(","))))?;
            self.header = Some(Header {
                count: fields.len(),
                url,
                tree: [column("agency"), column("category"), column("parent")],
            });
            return Ok(());
        };
        if fields.iter().all(String::is_empty) {
            return Ok(());
        }
        if fields.len() != header.count {
            out.error(
                line,
                LineProblem::FieldCount {
                    expected: header.count,
                    found: fields.len(),
                },
            );
            return Ok(());
        }
        let field = |c: Option<usize>| c.map(|c| fields[c].clone()).unwrap_or_default();
        out.entry(
            line,
            Site::parse(&fields[header.url]),
            header.tree.map(field),
        );
        Ok(())
    }

    /// Drop the record being read (a line of it was unusable), and say so if it had started.
    fn abandon(&mut self, out: &mut Builder) {
        if let Some(start) = self.start.take() {
            out.error(
                start,
                LineProblem::Csv(
                    "a record cut short by an unusable line (an unclosed quote?)".into(),
                ),
            );
        }
        self.reader.reset();
        (self.len, self.ends_len, self.bytes) = (0, 0, 0);
    }

    /// The end of the file: a record still open (an unclosed quote) ends here.
    fn finish(&mut self, out: &mut Builder) -> Result<(), ListError> {
        self.feed(b"", out)
    }
}

fn looks_like_csv_header(line: &str) -> bool {
    line.contains(',')
        && line
            .split(',')
            .any(|f| f.trim().trim_matches('"').eq_ignore_ascii_case("url"))
}

/// The bytes of the list, in UTF-8 when the BOM said UTF-16 (decoded on the way).
enum Input<R> {
    Bytes(BufReader<io::Chain<io::Cursor<Vec<u8>>, R>>),
    Utf16(BufReader<Utf16<io::Chain<io::Cursor<Vec<u8>>, R>>>),
}

impl<R: Read> Input<R> {
    /// Look for a BOM: UTF-8 and UTF-16 are then certain; otherwise UTF-8, or Big5 (decided
    /// at the first line that is not UTF-8).
    fn open(mut input: R) -> Result<Self, ListError> {
        let mut head = Vec::with_capacity(3);
        while head.len() < 3 {
            let mut byte = [0u8];
            match input.read(&mut byte) {
                Ok(0) => break,
                Ok(_) => head.push(byte[0]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ListError::Io(e.to_string())),
            }
        }
        let bom = Encoding::for_bom(&head);
        let mut head = io::Cursor::new(head);
        head.set_position(bom.map_or(0, |(_, len)| len as u64));
        let rest = head.chain(input);
        Ok(match bom {
            Some((encoding, _)) if encoding != UTF_8 => Input::Utf16(BufReader::new(Utf16 {
                inner: rest,
                decoder: encoding.new_decoder_without_bom_handling(),
                buffer: vec![0; 8192],
                start: 0,
                end: 0,
                eof: false,
                finished: false,
                malformed: false,
            })),
            _ => Input::Bytes(BufReader::new(rest)),
        })
    }

    fn reader(&mut self) -> &mut dyn BufRead {
        match self {
            Input::Bytes(r) => r,
            Input::Utf16(r) => r,
        }
    }
}

/// UTF-16 decoded to UTF-8 as it is read; undecodable input is an `InvalidData` error once
/// the text before it has been read.
struct Utf16<R> {
    inner: R,
    decoder: Decoder,
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// The decoder was told the input ended (it must not be called again).
    finished: bool,
    malformed: bool,
}

impl<R: Read> Read for Utf16<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        // The decoder writes whole characters: it needs room for one (4 bytes).
        if out.len() < 4 {
            return Err(io::Error::other("a read buffer under 4 bytes"));
        }
        loop {
            if self.finished {
                return Ok(0);
            }
            if self.malformed {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "malformed UTF-16",
                ));
            }
            if self.start == self.end && !self.eof {
                self.end = self.inner.read(&mut self.buffer)?;
                self.start = 0;
                self.eof = self.end == 0;
            }
            let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.buffer[self.start..self.end],
                out,
                self.eof,
            );
            self.start += read;
            match result {
                DecoderResult::Malformed(..) => self.malformed = true,
                DecoderResult::OutputFull => {}
                DecoderResult::InputEmpty if self.eof => self.finished = true,
                DecoderResult::InputEmpty if written > 0 => {}
                DecoderResult::InputEmpty => continue,
            }
            if written > 0 || !self.malformed {
                return Ok(written);
            }
        }
    }
}

/// The lines of the list, numbered, each decoded or the reason it cannot be used. A line
/// over [`MAX_LINE_BYTES`] is skipped through without being held.
struct Lines<R> {
    input: Input<R>,
    /// The line just read (1-based).
    number: usize,
    raw: Vec<u8>,
    decoding: Decoding,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Decoding {
    /// UTF-16, decoded to UTF-8 by [`Utf16`].
    Decoded(&'static Encoding),
    /// UTF-8 so far; whether a line had non-ASCII text (then the file cannot become Big5).
    Utf8 {
        non_ascii: bool,
    },
    Big5,
}

/// A numbered line: its text, or why it cannot be used.
type Line<'a> = (usize, Result<Cow<'a, str>, LineProblem>);

impl<R: Read> Lines<R> {
    fn new(input: Input<R>) -> Self {
        let decoding = match &input {
            Input::Utf16(r) => Decoding::Decoded(r.get_ref().decoder.encoding()),
            Input::Bytes(_) => Decoding::Utf8 { non_ascii: false },
        };
        Lines {
            input,
            number: 0,
            raw: Vec::new(),
            decoding,
        }
    }

    fn next(&mut self) -> Result<Option<Line<'_>>, ListError> {
        self.raw.clear();
        let number = self.number + 1;
        let io_error = |e: io::Error| match e.kind() {
            io::ErrorKind::InvalidData => ListError::Encoding { line: number },
            _ => ListError::Io(e.to_string()),
        };
        let reader = self.input.reader();
        // The cap, and room for a CRLF.
        let cap = MAX_LINE_BYTES as u64 + 2;
        let n = reader
            .take(cap)
            .read_until(b'\n', &mut self.raw)
            .map_err(io_error)?;
        if n == 0 {
            return Ok(None);
        }
        self.number = number;
        let too_long = |raw: &[u8], bytes| {
            let start = excerpt(&String::from_utf8_lossy(&raw[..256]));
            Ok(Some((number, Err(LineProblem::TooLong { bytes, start }))))
        };
        if self.raw.last() != Some(&b'\n') && n as u64 == cap {
            let bytes = n as u64 + skip_line(reader).map_err(io_error)?;
            return too_long(&self.raw, bytes);
        }
        if self.raw.last() == Some(&b'\n') {
            self.raw.pop();
        }
        if self.raw.last() == Some(&b'\r') {
            self.raw.pop();
        }
        if self.raw.len() > MAX_LINE_BYTES {
            return too_long(&self.raw, self.raw.len() as u64);
        }
        let text = match self.decoding {
            Decoding::Decoded(_) => String::from_utf8_lossy(&self.raw),
            Decoding::Utf8 { non_ascii } => match std::str::from_utf8(&self.raw) {
                Ok(text) => {
                    if !text.is_ascii() {
                        self.decoding = Decoding::Utf8 { non_ascii: true };
                    }
                    Cow::Borrowed(text)
                }
                // The lines before were ASCII, the same in Big5: the file is Big5 if this is.
                Err(_) if !non_ascii => {
                    self.decoding = Decoding::Big5;
                    big5(&self.raw).ok_or(ListError::Encoding { line: number })?
                }
                Err(_) => return Err(ListError::Encoding { line: number }),
            },
            Decoding::Big5 => big5(&self.raw).ok_or(ListError::Encoding { line: number })?,
        };
        Ok(Some((number, Ok(text))))
    }

    /// The encoding the lines were read in.
    fn encoding(&self) -> &'static str {
        match self.decoding {
            Decoding::Decoded(encoding) => encoding.name(),
            Decoding::Utf8 { .. } => UTF_8.name(),
            Decoding::Big5 => BIG5.name(),
        }
    }
}

/// Read past the end of the current line; the bytes it still had (the line break not
/// counted).
fn skip_line(reader: &mut dyn BufRead) -> io::Result<u64> {
    let mut skipped = 0u64;
    loop {
        let buffer = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buffer.is_empty() {
            return Ok(skipped);
        }
        match memchr::memchr(b'\n', buffer) {
            Some(end) => {
                reader.consume(end + 1);
                return Ok(skipped + end as u64);
            }
            None => {
                let len = buffer.len();
                reader.consume(len);
                skipped += len as u64;
            }
        }
    }
}

fn big5(bytes: &[u8]) -> Option<Cow<'_, str>> {
    BIG5.decode_without_bom_handling_and_without_replacement(bytes)
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

    #[test]
    fn a_line_over_the_cap_is_named_quoted_briefly_and_the_rest_still_read() {
        let mut bytes = b"a.gov.tw\n".to_vec();
        bytes.extend(std::iter::repeat_n(b'x', 3 * 1024 * 1024));
        bytes.extend_from_slice(b"\nb.gov.tw\n");
        let list = parse(&bytes).unwrap();
        let hosts: Vec<&str> = list.sites.iter().map(|s| s.host.as_str()).collect();
        assert_eq!(hosts, ["a.gov.tw", "b.gov.tw"]);
        assert_eq!(list.error_count, 1);
        let LineProblem::TooLong { bytes, start } = &list.errors[0].problem else {
            panic!("{:?}", list.errors[0]);
        };
        assert_eq!(list.errors[0].line, 2);
        assert_eq!(*bytes, 3 * 1024 * 1024);
        assert_eq!(start.chars().count(), crate::site::QUOTED_CHARS + 1);
        let shown = list.errors[0].to_string();
        assert!(
            shown.starts_with("line 2: 3145728 bytes long, over the 8 KiB"),
            "{shown}"
        );
        assert!(shown.len() < 300, "{shown}");
    }

    #[test]
    fn a_line_at_the_cap_is_read_and_one_past_it_is_not() {
        let entry = |len: usize| format!("a.gov.tw/{}", "p".repeat(len - "a.gov.tw/".len()));
        let text = format!("{}\r\n{}", entry(MAX_LINE_BYTES), entry(MAX_LINE_BYTES + 1));
        let list = parse(text.as_bytes()).unwrap();
        assert_eq!(list.errors.len(), 1);
        assert_eq!(list.errors[0].line, 2);
        assert!(matches!(
            list.errors[0].problem,
            LineProblem::TooLong { bytes, .. } if bytes == MAX_LINE_BYTES as u64 + 1
        ));
    }

    #[test]
    fn junk_lines_keep_a_few_errors_and_count_the_rest() {
        let mut text = String::new();
        for i in 0..10_000 {
            text.push_str(&format!("ftp://junk{i}.gov.tw/{}\n", "y".repeat(500)));
            text.push_str("a.gov.tw\n");
        }
        let list = parse(text.as_bytes()).unwrap();
        assert_eq!(list.sites.len(), 1);
        assert_eq!(list.error_count, 10_000);
        assert_eq!(list.errors.len(), KEPT);
        assert_eq!(list.errors[KEPT - 1].line, 2 * KEPT - 1);
        assert_eq!(list.duplicate_count, 9_999);
        assert_eq!(list.duplicates.len(), KEPT);
    }

    #[test]
    fn a_bad_entry_is_quoted_by_a_bounded_prefix() {
        let junk = format!("http://{}", "\u{7db2}".repeat(2000));
        let list = parse(format!("a.gov.tw\n{junk}:x\n").as_bytes()).unwrap();
        let shown = list.errors[0].to_string();
        assert!(shown.starts_with("line 2: "), "{shown}");
        assert!(shown.chars().count() < 200, "{shown}");
        assert!(shown.contains('…'), "{shown}");
    }

    #[test]
    fn a_quoted_field_may_span_lines_but_an_unclosed_quote_stops_at_the_cap() {
        let text = "agency,url\n\"行政院\n秘書處\",https://a.gov.tw/\nB,b.gov.tw\n";
        let list = parse(text.as_bytes()).unwrap();
        assert_eq!(list.sites.len(), 2);
        assert_eq!(list.sites[0].agency, "行政院\n秘書處");
        assert!(list.errors.is_empty(), "{:?}", list.errors);

        let mut text = String::from("agency,url\n\"unclosed,https://a.gov.tw/\n");
        for i in 0..1000 {
            text.push_str(&format!("A,https://s{i}.gov.tw/\n"));
        }
        let list = parse(text.as_bytes()).unwrap();
        assert_eq!(list.errors[0].line, 2);
        assert!(
            matches!(list.errors[0].problem, LineProblem::TooLong { .. }),
            "{:?}",
            list.errors
        );
        assert_eq!(list.error_count, 1);
        // Reading starts again after the cap: the later lines are sites.
        assert!(list.sites.len() > 500, "{}", list.sites.len());
        assert!(list.sites.iter().any(|s| s.host == "s999.gov.tw"));
    }

    #[test]
    fn utf16_that_breaks_off_is_refused_at_its_line() {
        let mut bytes = vec![0xff, 0xfe];
        for unit in "a.gov.tw\nb.gov.tw\n".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        bytes.extend_from_slice(&[0x00, 0xdc, b'c', 0]); // a lone low surrogate
        assert_eq!(parse(&bytes), Err(ListError::Encoding { line: 3 }));
    }

    #[test]
    fn utf8_then_other_bytes_is_refused_not_guessed() {
        let mut bytes = "甲.gov.tw\n".as_bytes().to_vec();
        let (big5, _, _) = BIG5.encode("乙.gov.tw\n");
        bytes.extend_from_slice(&big5);
        assert_eq!(parse(&bytes), Err(ListError::Encoding { line: 2 }));
    }

    #[test]
    fn a_stream_is_read_as_it_comes() {
        // A reader handing out a few bytes at a time, as a pipe does.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let n = out.len().min(3).min(self.0.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let text = "\u{feff}agency,category,parent,url\n行政院,二級機關,,https://www.ey.gov.tw/\n";
        let list = read(Trickle(text.as_bytes())).unwrap();
        assert_eq!(list.sites[0].agency, "行政院");
        let mut utf16 = vec![0xfe, 0xff];
        for unit in "行政院.gov.tw\n".encode_utf16() {
            utf16.extend_from_slice(&unit.to_be_bytes());
        }
        let list = read(Trickle(&utf16)).unwrap();
        assert_eq!(list.encoding, "UTF-16BE");
        assert!(list.sites[0].host.starts_with("xn--"));
    }

    #[test]
    fn a_record_after_a_lone_cr_is_named_by_its_own_line() {
        // Found by fuzzing: the second record of a line split by a CR was put on line 1.
        let list =
            parse(b"agency,url\nA,a.gov.tw\nB,ftp://b.gov.tw/\rC,ftp://c.gov.tw/\n").unwrap();
        let lines: Vec<usize> = list.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 3]);
        fuzz(include_bytes!("../../fuzz/regressions/sitelist/lone-cr"));
    }
}
