//! Building the report from per-site results: the NDC table per group, the agency tree, the
//! finding counts and the failing sites. Pure data; the renderers turn it into words.

use crate::ratio::{Counts, Ratio};
use crate::tally::Tally;
use model::{Code, Finding, Severity, SiteResult};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Keep only the subtree of this agency (itself and every agency below it), as a
    /// second-level agency does for its own report.
    pub agency: Option<String>,
}

/// Why a report could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The agency filter names no agency of the results.
    #[error("no agency named {name:?} in the results{}", suggest(.similar))]
    UnknownAgency { name: String, similar: Vec<String> },
}

fn suggest(similar: &[String]) -> String {
    if similar.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", similar.join(", "))
    }
}

/// The aggregate report of one scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The agency the report was limited to, if any.
    pub agency_filter: Option<String>,
    /// The earliest and latest `scanned_at` of the results (RFC 3339), when present.
    pub scanned_from: Option<String>,
    pub scanned_to: Option<String>,
    /// The NDC table: one row per `category`; the document's groups (二級機關, 三級機關,
    /// 縣市政府) first in its order, then the others in the order they first appear.
    pub groups: Vec<GroupRow>,
    /// The total row (合計).
    pub total: Row,
    /// The agency tree, rolled up along `parent`; the roots in order of first appearance.
    pub tree: Vec<AgencyNode>,
    /// Sites per finding code: the document's error types first, then the rest.
    pub findings: Vec<FindingCount>,
    /// Sites not adopted or not forced, by group (in the table's order), agency and URL.
    pub failing: Vec<FailingSite>,
    /// Sites Chrome refuses although Firefox shows the padlock (Chrome's root store and its
    /// distrust rules), per group and per agency; `None` when no result carries both
    /// browsers' verdicts (results of an older scanner).
    pub chrome_only: Option<ChromeOnly>,
    /// What the builder had to decide about the input (parent cycles, conflicting parents).
    pub notes: Vec<Note>,
    /// The scan's name, when the caller knows it (a job's or an archived scan's name).
    pub name: Option<String>,
    /// What the archive knows beyond this scan's results, when the caller asked it.
    pub history: Option<History>,
}

/// A scan's past, from the archive: the trend of the report's scope, since when each failing
/// site has been failing, and what changed since the previous scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct History {
    /// The NDC figures of the report's scope, scan after scan, this one last.
    pub trend: crate::trend::Trend,
    /// Per failing site (by URL): the start of its failing streak.
    pub failing_since: std::collections::BTreeMap<String, Since>,
    /// The previous scan's name, and what changed since it.
    pub previous: Option<String>,
    pub changes: Option<crate::Diff>,
}

/// The first scan of a site's failing streak.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Since {
    pub scan: String,
    /// When that scan started (RFC 3339).
    pub started: Option<String>,
    /// Scans in the streak, the current one included.
    pub scans: u32,
}

/// The sites that fail only in Chrome: adopted in Mozilla's eyes, not in Chrome's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChromeOnly {
    /// All of them.
    pub sites: u64,
    /// Of those, the ones Chrome refuses for its distrust of the root (`cert_distrusted`).
    pub distrusted: u64,
    /// Per group, in the order of [`Report::groups`] (zeros included).
    pub per_group: Vec<GroupSites>,
    /// Per agency (its own sites), the most affected first; agencies with none left out.
    pub per_agency: Vec<AgencySites>,
}

/// Sites of one agency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgencySites {
    pub agency: String,
    pub sites: u64,
}

/// Figures and their ratio.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Row {
    #[serde(flatten)]
    pub counts: Counts,
    /// adopted ÷ count, as a percentage with two decimals; `null` for an empty group.
    pub ratio: Ratio,
    /// forced ÷ count, likewise.
    pub forced_ratio: Ratio,
}

impl From<Counts> for Row {
    fn from(counts: Counts) -> Self {
        Row {
            counts,
            ratio: counts.ratio(),
            forced_ratio: counts.forced_ratio(),
        }
    }
}

/// One row of the NDC table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRow {
    /// The `category` of the results (empty when the sites had none).
    pub group: String,
    #[serde(flatten)]
    pub row: Row,
}

/// One agency of the tree: its own sites, and everything below it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgencyNode {
    pub agency: String,
    /// Figures of the agency's own sites only.
    pub own: Counts,
    /// Figures of its own sites and every agency below it.
    #[serde(flatten)]
    pub row: Row,
    pub children: Vec<AgencyNode>,
}

impl AgencyNode {
    /// The nodes in display order with their depth (0 for a root).
    pub fn walk(nodes: &[AgencyNode]) -> Vec<(usize, &AgencyNode)> {
        let mut out = Vec::new();
        let mut stack: Vec<(usize, &AgencyNode)> = nodes.iter().rev().map(|n| (0, n)).collect();
        while let Some((depth, node)) = stack.pop() {
            out.push((depth, node));
            stack.extend(node.children.iter().rev().map(|c| (depth + 1, c)));
        }
        out
    }
}

/// Sites with one finding code, overall and per group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingCount {
    pub code: Code,
    pub severity: Severity,
    /// Sites with at least one finding of this code.
    pub sites: u64,
    /// The same per group, in the order of [`Report::groups`] (zeros included).
    pub per_group: Vec<GroupSites>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupSites {
    pub group: String,
    pub sites: u64,
}

/// A site that is not adopted or not forced, with what was found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailingSite {
    pub url: String,
    pub host: String,
    pub agency: String,
    pub category: String,
    pub https_ok: bool,
    pub forced_https: bool,
    /// Its findings, errors first.
    pub findings: Vec<Finding>,
}

/// Something the builder decided about the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Note {
    /// The `parent` links went round in a circle; the tree was cut above `broken_at`, which
    /// became a root.
    ParentCycle {
        cycle: Vec<String>,
        broken_at: String,
    },
    /// Sites of one agency named different parents; the first was kept.
    ConflictingParent {
        agency: String,
        kept: String,
        ignored: String,
    },
}

/// The document's error types first (1: certificate subject, 2: mixed content), then the
/// certificate problems that are the usual third, then every other code in contract order.
pub const FINDING_ORDER: &[Code] = &[
    Code::CertHostnameMismatch,
    Code::MixedContentActive,
    Code::MixedContentPassive,
    Code::CertExpired,
    Code::CertDistrusted,
    Code::CertUntrusted,
    Code::CertChainIncomplete,
    Code::CertSelfSigned,
    Code::CertNotYetValid,
    Code::CertWeakSignature,
    Code::CertWeakKey,
    Code::CertExpiringSoon,
];

/// The groups of the document, in its order; other groups follow in order of appearance.
pub const DOCUMENT_GROUPS: &[&str] = &["二級機關", "三級機關", "縣市政府"];

/// The distinct groups of `categories`: the document's first, in its order, then the others
/// in order of first appearance.
pub fn group_order<'a>(categories: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    let mut out: Vec<&str> = categories.into_iter().filter(|c| seen.insert(*c)).collect();
    out.sort_by_key(|g| {
        DOCUMENT_GROUPS
            .iter()
            .position(|d| d == g)
            .unwrap_or(DOCUMENT_GROUPS.len())
    });
    out
}

/// Every code in report order.
pub fn codes_in_report_order() -> Vec<Code> {
    let mut out = FINDING_ORDER.to_vec();
    out.extend(
        Code::ALL
            .iter()
            .copied()
            .filter(|c| !FINDING_ORDER.contains(c)),
    );
    out
}

impl Report {
    /// Build the report of `results`. The report depends on the set of results, not on
    /// their order (a local scan writes them as they complete, a cluster job by index): they
    /// are taken in URL order.
    pub fn build(results: &[SiteResult], options: &Options) -> Result<Report, Error> {
        let mut results: Vec<&SiteResult> = results.iter().collect();
        results.sort_by(|a, b| a.url.cmp(&b.url));
        let mut tree = Tree::new(&results);
        let mut notes = std::mem::take(&mut tree.notes);

        let (sites, roots): (Vec<&SiteResult>, Vec<usize>) = match &options.agency {
            None => (results.clone(), tree.roots()),
            Some(name) => {
                let Some(&root) = tree.index.get(name.trim()) else {
                    return Err(Error::UnknownAgency {
                        name: name.clone(),
                        similar: tree.similar_to(name.trim()),
                    });
                };
                let keep = tree.subtree(root);
                let sites = results
                    .iter()
                    .copied()
                    .filter(|r| keep.contains(&tree.index[r.agency.as_str()]))
                    .collect();
                // Only the notes about agencies of the subtree concern its report.
                notes.retain(|n| match n {
                    Note::ParentCycle { cycle, .. } => {
                        cycle.iter().any(|a| keep.contains(&tree.index[a.as_str()]))
                    }
                    Note::ConflictingParent { agency, .. } => {
                        keep.contains(&tree.index[agency.as_str()])
                    }
                });
                (sites, vec![root])
            }
        };

        // The NDC table, counted as every other tally of the project counts it.
        let mut tally = Tally::default();
        for r in &sites {
            tally.add(r);
        }
        let groups = tally.groups();
        let group_index: HashMap<&str, usize> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.group.as_str(), i))
            .collect();

        // Finding counts: a site counts once per code.
        let mut per_code: HashMap<Code, Vec<u64>> = HashMap::new();
        for r in &sites {
            let g = group_index[r.category.as_str()];
            let codes: BTreeSet<Code> = r.findings.iter().map(|f| f.code).collect();
            for code in codes {
                per_code
                    .entry(code)
                    .or_insert_with(|| vec![0; groups.len()])[g] += 1;
            }
        }
        let findings = codes_in_report_order()
            .into_iter()
            .filter_map(|code| {
                let counts = per_code.get(&code)?;
                Some(FindingCount {
                    code,
                    severity: code.severity(),
                    sites: counts.iter().sum(),
                    per_group: groups
                        .iter()
                        .zip(counts)
                        .map(|(g, &sites)| GroupSites {
                            group: g.group.clone(),
                            sites,
                        })
                        .collect(),
                })
            })
            .collect();

        // Failing sites by group (in the table's order), then agency, then URL: an agency
        // finds its own sites together.
        let mut failing_sites: Vec<&SiteResult> = sites
            .iter()
            .copied()
            .filter(|r| !r.https_ok || !r.forced_https)
            .collect();
        failing_sites.sort_by(|a, b| {
            (group_index[a.category.as_str()], &a.agency, &a.url).cmp(&(
                group_index[b.category.as_str()],
                &b.agency,
                &b.url,
            ))
        });
        let failing = failing_sites
            .iter()
            .map(|r| {
                let mut findings = r.findings.clone();
                findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
                FailingSite {
                    url: r.url.clone(),
                    host: r.host.clone(),
                    agency: r.agency.clone(),
                    category: r.category.clone(),
                    https_ok: r.https_ok,
                    forced_https: r.forced_https,
                    findings,
                }
            })
            .collect();

        let chrome_only = chrome_only(&sites, &groups, &group_index);

        let scanned: Vec<&str> = sites
            .iter()
            .map(|r| r.scanned_at.as_str())
            .filter(|s| !s.is_empty())
            .collect();

        Ok(Report {
            agency_filter: options.agency.clone(),
            scanned_from: scanned.iter().min().map(|s| s.to_string()),
            scanned_to: scanned.iter().max().map(|s| s.to_string()),
            total: tally.total(),
            groups,
            tree: roots.into_iter().map(|r| tree.node(r)).collect(),
            findings,
            failing,
            chrome_only,
            notes,
            name: None,
            history: None,
        })
    }
}

/// The sites whose browsers disagree the way Taiwan's sites do: Firefox shows the padlock,
/// Chrome does not.
fn chrome_only(
    sites: &[&SiteResult],
    groups: &[GroupRow],
    group_index: &HashMap<&str, usize>,
) -> Option<ChromeOnly> {
    if !sites.iter().any(|r| r.browsers.is_some()) {
        return None;
    }
    let mut per_group = vec![0u64; groups.len()];
    let mut per_agency: HashMap<&str, u64> = HashMap::new();
    let mut total = 0;
    let mut distrusted = 0;
    for r in sites {
        let Some(b) = &r.browsers else { continue };
        if !b.fails_only_in_chrome() {
            continue;
        }
        total += 1;
        if b.chrome.code == Some(Code::CertDistrusted) {
            distrusted += 1;
        }
        per_group[group_index[r.category.as_str()]] += 1;
        *per_agency.entry(r.agency.as_str()).or_default() += 1;
    }
    let mut per_agency: Vec<AgencySites> = per_agency
        .into_iter()
        .map(|(agency, sites)| AgencySites {
            agency: agency.to_owned(),
            sites,
        })
        .collect();
    per_agency.sort_by(|a, b| b.sites.cmp(&a.sites).then_with(|| a.agency.cmp(&b.agency)));
    Some(ChromeOnly {
        sites: total,
        distrusted,
        per_group: groups
            .iter()
            .zip(per_group)
            .map(|(g, sites)| GroupSites {
                group: g.group.clone(),
                sites,
            })
            .collect(),
        per_agency,
    })
}

/// The agencies and their `parent` links, made into a forest.
struct Tree {
    names: Vec<String>,
    index: HashMap<String, usize>,
    parent: Vec<Option<usize>>,
    own: Vec<Counts>,
    children: Vec<Vec<usize>>,
    total: Vec<Counts>,
    notes: Vec<Note>,
}

impl Tree {
    fn new(results: &[&SiteResult]) -> Tree {
        let mut t = Tree {
            names: Vec::new(),
            index: HashMap::new(),
            parent: Vec::new(),
            own: Vec::new(),
            children: Vec::new(),
            total: Vec::new(),
            notes: Vec::new(),
        };
        let mut conflicts_seen: HashSet<(usize, usize)> = HashSet::new();
        for r in results {
            // Parents first, so that roots come out before the agencies below them.
            let parent = (!r.parent.is_empty()).then(|| t.intern(&r.parent));
            let id = t.intern(&r.agency);
            t.own[id].add_site(r.https_ok, r.forced_https);
            let Some(p) = parent else { continue };
            match t.parent[id] {
                None => t.parent[id] = Some(p),
                Some(kept) if kept != p && conflicts_seen.insert((id, p)) => {
                    t.notes.push(Note::ConflictingParent {
                        agency: t.names[id].clone(),
                        kept: t.names[kept].clone(),
                        ignored: t.names[p].clone(),
                    });
                }
                Some(_) => {}
            }
        }
        t.break_cycles();
        for i in 0..t.names.len() {
            if let Some(p) = t.parent[i] {
                t.children[p].push(i);
            }
        }
        t.roll_up();
        // Larger agencies first, then by name: an order that reads well in a report and
        // does not depend on the order of the results.
        let mut children = std::mem::take(&mut t.children);
        for c in &mut children {
            c.sort_by(|&a, &b| t.display_order(a, b));
        }
        t.children = children;
        t
    }

    fn display_order(&self, a: usize, b: usize) -> std::cmp::Ordering {
        (std::cmp::Reverse(self.total[a].count), &self.names[a])
            .cmp(&(std::cmp::Reverse(self.total[b].count), &self.names[b]))
    }

    fn intern(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len();
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), i);
        self.parent.push(None);
        self.own.push(Counts::default());
        self.children.push(Vec::new());
        self.total.push(Counts::default());
        i
    }

    /// Cut every cycle of `parent` links at its earliest-seen agency, which becomes a root.
    fn break_cycles(&mut self) {
        const NEW: u8 = 0;
        const ON_PATH: u8 = 1;
        const DONE: u8 = 2;
        let mut state = vec![NEW; self.names.len()];
        for start in 0..self.names.len() {
            let mut path = Vec::new();
            let mut cur = Some(start);
            while let Some(c) = cur {
                if state[c] == DONE {
                    break;
                }
                if state[c] == ON_PATH {
                    let from = path.iter().position(|&x| x == c).unwrap_or(0);
                    let brk = path[from..].iter().copied().min().unwrap_or(c);
                    // The cycle as read from the cut agency upwards, back to itself.
                    let mut cycle = vec![self.names[brk].clone()];
                    let mut k = self.parent[brk];
                    while let Some(x) = k {
                        cycle.push(self.names[x].clone());
                        if x == brk {
                            break;
                        }
                        k = self.parent[x];
                    }
                    self.parent[brk] = None;
                    self.notes.push(Note::ParentCycle {
                        cycle,
                        broken_at: self.names[brk].clone(),
                    });
                    break;
                }
                state[c] = ON_PATH;
                path.push(c);
                cur = self.parent[c];
            }
            for p in path {
                state[p] = DONE;
            }
        }
    }

    /// Totals: own sites plus everything below, children before parents (no recursion).
    fn roll_up(&mut self) {
        let mut order = Vec::with_capacity(self.names.len());
        let mut stack = self.roots();
        while let Some(n) = stack.pop() {
            order.push(n);
            stack.extend(self.children[n].iter().copied());
        }
        for &n in order.iter().rev() {
            let mut t = self.own[n];
            for &c in &self.children[n] {
                t += self.total[c];
            }
            self.total[n] = t;
        }
    }

    fn roots(&self) -> Vec<usize> {
        let mut roots: Vec<usize> = (0..self.names.len())
            .filter(|&i| self.parent[i].is_none())
            .collect();
        roots.sort_by(|&a, &b| self.display_order(a, b));
        roots
    }

    fn subtree(&self, root: usize) -> HashSet<usize> {
        let mut keep = HashSet::new();
        let mut stack = vec![root];
        while let Some(n) = stack.pop() {
            if keep.insert(n) {
                stack.extend(self.children[n].iter().copied());
            }
        }
        keep
    }

    fn node(&self, n: usize) -> AgencyNode {
        AgencyNode {
            agency: self.names[n].clone(),
            own: self.own[n],
            row: self.total[n].into(),
            children: self.children[n].iter().map(|&c| self.node(c)).collect(),
        }
    }

    /// Agency names that contain the asked one or are contained in it, for the error.
    fn similar_to(&self, name: &str) -> Vec<String> {
        if name.is_empty() {
            return Vec::new();
        }
        self.names
            .iter()
            .filter(|n| !n.is_empty() && (n.contains(name) || name.contains(n.as_str())))
            .take(5)
            .cloned()
            .collect()
    }
}
