//! Comparing two scans (管考): the change per group in adopted and forced, and the sites that
//! got fixed, broke, appeared or disappeared, with the finding codes each gained or lost.
//!
//! Sites are matched by their `url` (the entry of the site list); when a file lists a URL
//! twice, its first result counts.

use crate::build::{Row, codes_in_report_order, group_order};
use crate::ratio::Counts;
use model::{Code, SiteResult};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

/// What changed between two scans.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    /// Per `category`: the document's groups in its order, then the others as they appear
    /// in the old scan, then the new one.
    pub groups: Vec<GroupChange>,
    pub total: GroupChange,
    /// Sites in both scans that gained adopted or forced and lost neither.
    pub fixed: Vec<SiteChange>,
    /// Sites in both scans that lost adopted or forced.
    pub broke: Vec<SiteChange>,
    /// Sites only in the new scan.
    pub appeared: Vec<SiteChange>,
    /// Sites only in the old scan.
    pub disappeared: Vec<SiteChange>,
    /// Sites in both scans whose verdicts held but whose finding codes changed.
    pub changed_findings: Vec<SiteChange>,
}

/// One group's figures in both scans.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupChange {
    pub group: String,
    pub old: Row,
    pub new: Row,
    pub count_change: i64,
    pub adopted_change: i64,
    pub forced_change: i64,
}

impl GroupChange {
    fn new(group: String, old: Counts, new: Counts) -> Self {
        let d = |a: u64, b: u64| {
            i64::try_from(b).unwrap_or(i64::MAX) - i64::try_from(a).unwrap_or(i64::MAX)
        };
        GroupChange {
            group,
            count_change: d(old.count, new.count),
            adopted_change: d(old.adopted, new.adopted),
            forced_change: d(old.forced, new.forced),
            old: old.into(),
            new: new.into(),
        }
    }
}

/// The verdicts of one site in one scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SiteState {
    pub https_ok: bool,
    pub forced_https: bool,
}

/// One site that changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteChange {
    pub url: String,
    pub host: String,
    pub agency: String,
    pub category: String,
    /// Absent for a site that appeared.
    pub old: Option<SiteState>,
    /// Absent for a site that disappeared.
    pub new: Option<SiteState>,
    /// Finding codes in the new scan that the old one did not have.
    pub added: Vec<Code>,
    /// Finding codes of the old scan that are gone.
    pub removed: Vec<Code>,
}

fn state(r: &SiteResult) -> SiteState {
    SiteState {
        https_ok: r.https_ok,
        forced_https: r.forced_https,
    }
}

fn first_by_url(results: &[SiteResult]) -> (Vec<&SiteResult>, HashMap<&str, &SiteResult>) {
    let mut order = Vec::new();
    let mut map = HashMap::new();
    for r in results {
        if !map.contains_key(r.url.as_str()) {
            map.insert(r.url.as_str(), r);
            order.push(r);
        }
    }
    (order, map)
}

fn group_counts<'a>(
    results: &[&'a SiteResult],
    order: &mut Vec<&'a str>,
) -> HashMap<&'a str, Counts> {
    let mut counts: HashMap<&str, Counts> = HashMap::new();
    for r in results {
        let c = counts.entry(r.category.as_str()).or_insert_with(|| {
            order.push(r.category.as_str());
            Counts::default()
        });
        c.add_site(r.https_ok, r.forced_https);
    }
    counts
}

impl Diff {
    /// Compare the results of an `old` scan with a `new` one.
    pub fn between(old: &[SiteResult], new: &[SiteResult]) -> Diff {
        let (old_sites, old_map) = first_by_url(old);
        let (new_sites, new_map) = first_by_url(new);

        let mut order = Vec::new();
        let old_counts = group_counts(&old_sites, &mut order);
        let new_counts = group_counts(&new_sites, &mut order);
        let order = group_order(order);
        let (mut old_total, mut new_total) = (Counts::default(), Counts::default());
        let groups = order
            .iter()
            .map(|g| {
                let o = old_counts.get(g).copied().unwrap_or_default();
                let n = new_counts.get(g).copied().unwrap_or_default();
                old_total += o;
                new_total += n;
                GroupChange::new((*g).to_owned(), o, n)
            })
            .collect();

        let mut diff = Diff {
            groups,
            total: GroupChange::new(String::new(), old_total, new_total),
            fixed: Vec::new(),
            broke: Vec::new(),
            appeared: Vec::new(),
            disappeared: Vec::new(),
            changed_findings: Vec::new(),
        };

        for n in &new_sites {
            let Some(o) = old_map.get(n.url.as_str()) else {
                diff.appeared.push(change(None, Some(n)));
                continue;
            };
            let c = change(Some(o), Some(n));
            let broke = (o.https_ok && !n.https_ok) || (o.forced_https && !n.forced_https);
            let fixed = (!o.https_ok && n.https_ok) || (!o.forced_https && n.forced_https);
            if broke {
                diff.broke.push(c);
            } else if fixed {
                diff.fixed.push(c);
            } else if !c.added.is_empty() || !c.removed.is_empty() {
                diff.changed_findings.push(c);
            }
        }
        for o in &old_sites {
            if !new_map.contains_key(o.url.as_str()) {
                diff.disappeared.push(change(Some(o), None));
            }
        }
        diff
    }
}

fn change(old: Option<&SiteResult>, new: Option<&SiteResult>) -> SiteChange {
    let codes = |r: Option<&SiteResult>| -> BTreeSet<Code> {
        r.map(|r| r.findings.iter().map(|f| f.code).collect())
            .unwrap_or_default()
    };
    let (oc, nc) = (codes(old), codes(new));
    let in_order = |set: BTreeSet<Code>| -> Vec<Code> {
        codes_in_report_order()
            .into_iter()
            .filter(|c| set.contains(c))
            .collect()
    };
    let base = new.or(old).expect("a change has at least one side");
    SiteChange {
        url: base.url.clone(),
        host: base.host.clone(),
        agency: base.agency.clone(),
        category: base.category.clone(),
        old: old.map(state),
        new: new.map(state),
        added: in_order(nc.difference(&oc).copied().collect()),
        removed: in_order(oc.difference(&nc).copied().collect()),
    }
}
