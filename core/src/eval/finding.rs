//! Finding texts: what a failed item says on the notice, the hazard page and the report
//! ("燃气软管长度2.4米，超过2米"), from the template's words with the answer's values put in.

use super::{Answer, FieldValue, Finding, fmt_num};
use crate::template::{Check, Field, Item, placeholders};

/// `text` with each `{key}` replaced by the answer's value (or a check's total).
fn render(text: &str, answer: &Answer, totals: &[(&str, f64)]) -> String {
    let mut out = text.to_owned();
    for key in placeholders(text) {
        let value = match answer.fields.get(key) {
            Some(FieldValue::Number(n)) => fmt_num(*n),
            Some(FieldValue::Count(c)) => c.to_string(),
            Some(FieldValue::Text(t) | FieldValue::Choice(t) | FieldValue::Yn(t)) => t.clone(),
            Some(FieldValue::Multi(v)) => v.join("、"),
            None => totals
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| fmt_num(*v))
                .unwrap_or_else(|| "—".into()),
        };
        out = out.replace(&format!("{{{key}}}"), &value);
    }
    out
}

fn pick(
    own: (&Option<String>, &Option<String>),
    item: &Item,
    answer: &Answer,
    totals: &[(&str, f64)],
) -> Option<Finding> {
    let (zh, en) = match own {
        (Some(zh), Some(en)) => (zh, en),
        _ => (item.finding_zh.as_ref()?, item.finding_en.as_ref()?),
    };
    Some(Finding {
        zh: render(zh, answer, totals),
        en: render(en, answer, totals),
    })
}

/// The finding a failed field says: its own text, else the item's, else `None` (the generic
/// "label: value" wording of templates written before finding texts).
pub(super) fn of_field(
    item: &Item,
    f: &Field,
    answer: &Answer,
    totals: &[(&str, f64)],
) -> Option<Finding> {
    pick((&f.finding_zh, &f.finding_en), item, answer, totals)
}

/// The finding a failed check says (see [`of_field`]).
pub(super) fn of_check(
    item: &Item,
    c: &Check,
    answer: &Answer,
    totals: &[(&str, f64)],
) -> Option<Finding> {
    pick((&c.finding_zh, &c.finding_en), item, answer, totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_and_filled() {
        assert_eq!(
            placeholders("软管长{length}米，超过{max}米"),
            ["length", "max"]
        );
        let mut a = Answer::default();
        a.fields.insert("length".into(), FieldValue::Number(2.4));
        assert_eq!(
            render(
                "燃气软管长度{length}米，共{total_kg}千克",
                &a,
                &[("total_kg", 150.0)]
            ),
            "燃气软管长度2.4米，共150千克"
        );
    }
}
