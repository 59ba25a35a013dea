//! Printed citations: what a page, an export or a document shows as a hazard's basis, in the
//! form Chinese documents write it (《上海市非机动车安全管理条例》第二十九条第一款). They come from a
//! correctable table (`core/citations.tsv`) keyed by checklist version and item, never from the
//! template's own references, which carry verification tags and maintainers' notes — so a hazard
//! registered before the table existed prints clean too, and its immutable header is not touched.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::records::HazardHeader;

const TABLE: &str = include_str!("../citations.tsv");

/// One printed citation and the edition of the text it cites.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Citation {
    pub text: String,
    pub edition: String,
}

type Index = HashMap<(String, String), Vec<Citation>>;

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| parse(TABLE).unwrap_or_default())
}

/// Reads the table: `template@version`, item, reference number, printed text, edition, verify
/// tag, source. Rows with no printed text are metadata only.
fn parse(text: &str) -> Result<Index, String> {
    let mut out: Index = HashMap::new();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    lines.next(); // header
    for (n, line) in lines.enumerate() {
        let cols: Vec<&str> = line.split('\t').collect();
        let [key, item, _, printed, edition, ..] = cols[..] else {
            return Err(format!("citations.tsv row {}: expected 7 columns", n + 1));
        };
        if printed.is_empty() {
            continue;
        }
        out.entry((key.to_owned(), item.to_owned()))
            .or_default()
            .push(Citation {
                text: printed.to_owned(),
                edition: edition.to_owned(),
            });
    }
    Ok(out)
}

/// The printed citations of an item of a checklist version, in the template's order.
/// An item included from another checklist (lx.mixed asks ebike.flying_lead) is found under its
/// home checklist of the same version: item ids are unique across checklists.
pub fn for_item(template_id: &str, version: &str, item_id: &str) -> Vec<Citation> {
    let idx = index();
    if let Some(c) = idx.get(&(format!("{template_id}@{version}"), item_id.to_owned())) {
        return c.clone();
    }
    let suffix = format!("@{version}");
    idx.iter()
        .find(|((k, i), _)| i == item_id && k.ends_with(&suffix))
        .map(|(_, c)| c.clone())
        .unwrap_or_default()
}

/// A hazard's basis as printed: from the table for its checklist version and item; for a hazard
/// no checklist item stands behind (a public report), the texts registered with it, when they
/// read as citations.
pub fn printed(h: &HazardHeader) -> Vec<String> {
    let from_table = for_item(&h.template_id, &h.template_version, &h.item_id);
    if !from_table.is_empty() {
        return from_table.into_iter().map(|c| c.text).collect();
    }
    h.basis_refs
        .iter()
        .filter(|r| is_printable(r))
        .cloned()
        .collect()
}

/// Whether a text reads as a citation a person may be shown: it names a document (《…》 or a
/// standard's code), carries no verification tag and no Latin-script note.
pub fn is_printable(text: &str) -> bool {
    let names_a_document = text.contains('《') || text.starts_with("经营性自建房");
    let mut rest = text.to_owned();
    // Standard codes are Latin by nature: GB 50028-2006, GA 703-2007, DG/TJ08-2451-2024.
    for code in ["GB", "GA", "DG/TJ", "XF"] {
        rest = rest.replace(code, "");
    }
    let latin = rest
        .chars()
        .any(|c| c.is_ascii_alphabetic() && c != 'a' && c != 'b' && c != 'c');
    names_a_document && !latin && !text.contains('[') && !text.contains('§')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{bundled_sources, load_bundle};

    #[test]
    fn the_table_reads_and_every_printed_citation_is_clean() {
        let all = parse(TABLE).unwrap();
        assert!(!all.is_empty());
        for ((key, item), cites) in &all {
            for c in cites {
                assert!(is_printable(&c.text), "{key} {item}: {:?}", c.text);
                assert!(!c.edition.is_empty(), "{key} {item}: no edition");
            }
        }
    }

    #[test]
    fn every_item_of_every_version_has_a_row_for_each_reference() {
        let ts = load_bundle(&bundled_sources(), &|_, _| None).unwrap();
        let rows: Vec<(String, String)> = TABLE
            .lines()
            .filter(|l| !l.starts_with('#'))
            .skip(1)
            .map(|l| {
                let c: Vec<&str> = l.split('\t').collect();
                (c[0].to_owned(), c[1].to_owned())
            })
            .collect();
        for t in &ts {
            for i in t.items.iter().filter(|i| i.included_from.is_none()) {
                let n = rows
                    .iter()
                    .filter(|(k, it)| *k == t.key() && *it == i.id)
                    .count();
                assert!(n >= i.refs.len(), "{} {}: {n} rows", t.key(), i.id);
            }
        }
    }

    #[test]
    fn included_items_and_old_hazards_print_from_the_table() {
        let inc = for_item("lx.mixed", "2026.11-a", "ebike.flying_lead");
        assert_eq!(
            inc[0].text,
            "《上海市非机动车安全管理条例》第二十九条第一款、第四十四条第一款"
        );
        // A hazard registered with tagged references prints clean; its header is untouched.
        let h = crate::records::HazardHeader {
            template_id: "lx.lifeline".into(),
            template_version: "2026.11-a".into(),
            item_id: "lifeline.exit_count".into(),
            basis_refs: vec!["GB 35181-2017 §6.5 [V2]".into()],
            ..test_header()
        };
        assert_eq!(
            printed(&h),
            ["《重大火灾隐患判定方法》（GB 35181-2017）第6.5条"]
        );
        assert_eq!(h.basis_refs, ["GB 35181-2017 §6.5 [V2]"]);
        // No checklist item behind it (a public report): only what reads as a citation.
        let h = crate::records::HazardHeader {
            template_id: String::new(),
            basis_refs: vec![
                "same §10 [V2]".into(),
                "《中华人民共和国消防法》第二十八条".into(),
            ],
            ..test_header()
        };
        assert_eq!(printed(&h), ["《中华人民共和国消防法》第二十八条"]);
    }

    fn test_header() -> crate::records::HazardHeader {
        serde_json::from_value(serde_json::json!({
            "id": "h", "venue_id": "v", "venue_name": "店", "village": "heping", "grid_id": "heping-1",
            "inspection_id": null, "template_id": "", "template_version": "", "item_id": "",
            "domain": "lifeline", "title_zh": "", "title_en": "", "finding_zh": "", "finding_en": "",
            "basis_refs": [], "basis_edition": {}, "severity_proposed": "general", "focus": false,
            "combined_group": null, "lead_depts": [], "source": "inspection", "ticket_no": null,
            "fix_mode": "deadline", "deadline": null, "recurrence_of": null, "found_at": "",
            "found_ms": 0, "found_by": "wang", "photos": []
        }))
        .unwrap()
    }

    #[test]
    fn tags_notes_and_clauses_without_a_law_are_not_printable() {
        for bad in [
            "GB 35181-2017 §6.5 [V2]",
            "原条例 §25 ¶3",
            "same §10",
            "document name not verified)",
            "§29 ¶1, §44 ¶1",
            "《上海市消防条例》第十六条 [V]",
            "《消防法》 (definition)",
        ] {
            assert!(!is_printable(bad), "{bad}");
        }
        for good in [
            "《上海市非机动车安全管理条例》第二十九条第一款",
            "《城镇燃气设计规范》（GB 50028-2006，2020年版）第10.2.8条",
            "《住宿与生产储存经营合用场所消防安全技术要求》（GA 703-2007）第4.3条（a）",
        ] {
            assert!(is_printable(good), "{good}");
        }
    }
}
