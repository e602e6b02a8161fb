//! JSON: the report data with stable English field names, plus the words of the chosen
//! language where a person reads them (`meaning` and `fix` of each finding, `text` of each
//! note). Ratios are numbers with two decimals (`96.77`), `null` for an empty group.

use super::table::note_text;
use crate::{Diff, Lang, Report};
use model::Code;
use serde_json::{Value, json};

fn words(v: &mut Value, lang: Lang, with_fix: bool) {
    let Some(code) = v
        .get("code")
        .and_then(Value::as_str)
        .and_then(|c| c.parse::<Code>().ok())
    else {
        return;
    };
    if let Some(o) = v.as_object_mut() {
        o.insert("meaning".into(), json!(lang.meaning(code)));
        if with_fix {
            o.insert("fix".into(), json!(lang.fix(code)));
        }
    }
}

pub(super) fn report(report: &Report, lang: Lang) -> String {
    let mut v = serde_json::to_value(report).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert("lang".into(), json!(lang.tag()));
    }
    if let Some(fs) = v.get_mut("findings").and_then(Value::as_array_mut) {
        fs.iter_mut().for_each(|f| words(f, lang, true));
    }
    if let Some(sites) = v.get_mut("failing").and_then(Value::as_array_mut) {
        for s in sites {
            if let Some(fs) = s.get_mut("findings").and_then(Value::as_array_mut) {
                fs.iter_mut().for_each(|f| words(f, lang, true));
            }
        }
    }
    if let Some(notes) = v.get_mut("notes").and_then(Value::as_array_mut) {
        for (n, note) in notes.iter_mut().zip(&report.notes) {
            if let Some(o) = n.as_object_mut() {
                o.insert("text".into(), json!(note_text(note, lang)));
            }
        }
    }
    pretty(&v)
}

pub(super) fn diff(d: &Diff, lang: Lang) -> String {
    let mut v = serde_json::to_value(d).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert("lang".into(), json!(lang.tag()));
    }
    pretty(&v)
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
