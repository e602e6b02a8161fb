//! The NDC figures of results taken one at a time: per group, the total, and sites per
//! finding code. [`Report::build`](crate::Report::build) counts with it, and so does the
//! coordinator's job report, which streams a job's results from Redis without holding them:
//! one count and one ratio everywhere.
//!
//! Groups come out in the report's order: the document's groups (二級機關, 三級機關, 縣市政府)
//! first, then the others by their first site in URL order — the same order whatever the
//! order the results arrive in.

use crate::build::{DOCUMENT_GROUPS, GroupRow, Row};
use crate::ratio::Counts;
use model::{Code, SiteResult};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Figures accumulated site by site.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    groups: Vec<Group>,
    index: HashMap<String, usize>,
    total: Counts,
    codes: BTreeMap<Code, u64>,
}

#[derive(Debug, Clone)]
struct Group {
    name: String,
    counts: Counts,
    /// The smallest URL of the group, for the order of the groups.
    first_url: String,
}

impl Tally {
    /// Count one site.
    pub fn add(&mut self, r: &SiteResult) {
        let i = match self.index.get(r.category.as_str()) {
            Some(&i) => i,
            None => {
                self.groups.push(Group {
                    name: r.category.clone(),
                    counts: Counts::default(),
                    first_url: r.url.clone(),
                });
                self.index.insert(r.category.clone(), self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        let g = &mut self.groups[i];
        g.counts.add_site(r.https_ok, r.forced_https);
        if r.url < g.first_url {
            g.first_url.clone_from(&r.url);
        }
        self.total.add_site(r.https_ok, r.forced_https);
        let codes: BTreeSet<Code> = r.findings.iter().map(|f| f.code).collect();
        for code in codes {
            *self.codes.entry(code).or_default() += 1;
        }
    }

    /// One row per group, in the report's order.
    pub fn groups(&self) -> Vec<GroupRow> {
        let mut groups: Vec<&Group> = self.groups.iter().collect();
        groups.sort_by(|a, b| {
            (document_position(&a.name), &a.first_url)
                .cmp(&(document_position(&b.name), &b.first_url))
        });
        groups
            .into_iter()
            .map(|g| GroupRow {
                group: g.name.clone(),
                row: g.counts.into(),
            })
            .collect()
    }

    /// The total row (合計).
    pub fn total(&self) -> Row {
        self.total.into()
    }

    /// Sites with at least one finding of each code, by code.
    pub fn codes(&self) -> impl Iterator<Item = (Code, u64)> + '_ {
        self.codes.iter().map(|(c, n)| (*c, *n))
    }
}

fn document_position(group: &str) -> usize {
    DOCUMENT_GROUPS
        .iter()
        .position(|d| *d == group)
        .unwrap_or(DOCUMENT_GROUPS.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(url: &str, cat: &str, ok: bool, forced: bool) -> SiteResult {
        let mut s = model::Site::parse(url).unwrap();
        s.category = cat.into();
        let mut r = SiteResult::for_site(&s);
        r.https_ok = ok;
        r.forced_https = forced;
        r
    }

    #[test]
    fn the_order_of_the_groups_does_not_depend_on_the_order_of_the_results() {
        let rs = [
            site("z.gov.tw", "國營事業", true, true),
            site("b.gov.tw", "縣市政府", true, false),
            site("a.gov.tw", "學校", false, false),
            site("c.gov.tw", "二級機關", true, true),
        ];
        let mut forward = Tally::default();
        rs.iter().for_each(|r| forward.add(r));
        let mut backward = Tally::default();
        rs.iter().rev().for_each(|r| backward.add(r));
        let names = |t: &Tally| t.groups().into_iter().map(|g| g.group).collect::<Vec<_>>();
        assert_eq!(
            names(&forward),
            ["二級機關", "縣市政府", "學校", "國營事業"]
        );
        assert_eq!(names(&forward), names(&backward));
        assert_eq!(
            forward.total().counts,
            Counts {
                count: 4,
                adopted: 3,
                forced: 2
            }
        );
    }

    #[test]
    fn one_of_32_is_3_13_percent_everywhere() {
        let mut t = Tally::default();
        for i in 0..32 {
            t.add(&site(&format!("s{i}.gov.tw"), "二級機關", i == 0, false));
        }
        assert_eq!(t.total().ratio.to_string(), "3.13%");
        assert_eq!(t.groups()[0].row.ratio.to_string(), "3.13%");
    }
}
