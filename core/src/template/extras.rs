//! What checklists of December 2026 added to an item, checked when a template loads: severity
//! rules over the venue and the answer, referrals, excused checks, and finding texts whose
//! `{key}` placeholders name the item's own fields and checks.

use super::{Check, Field, Severity, load::is_code};

/// The `{key}` placeholders of a finding text, in order.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        out.push(&after[..close]);
        rest = &after[close + 1..];
    }
    out
}

/// Checks an item's severity rules, referral, excused checks and finding texts against its own
/// fields and checks; the reason names what is wrong.
pub(super) fn validate(
    fields: &[Field],
    checks: &[Check],
    severity: &Severity,
    finding: (&Option<String>, &Option<String>),
) -> Result<(), String> {
    let field = |k: &str| fields.iter().any(|f| f.key == k);
    for rule in &severity.major_when {
        if let Some(c) = &rule.profile {
            c.check().map_err(|r| format!("major_when: {r}"))?;
        }
        if let Some(a) = rule.answers.iter().find(|a| !field(&a.field)) {
            return Err(format!("major_when refers to unknown field {:?}", a.field));
        }
        if let Some(k) = &rule.failed_check
            && !checks.iter().any(|c| &c.key == k)
        {
            return Err(format!("major_when refers to unknown check {k:?}"));
        }
    }
    if let Some(r) = &severity.referral
        && (!is_code(&r.dept) || r.zh.trim().is_empty() || r.en.trim().is_empty())
    {
        return Err(
            "a referral needs a department code and its text in Chinese and English".into(),
        );
    }
    for c in checks {
        if let Some(u) = &c.unless
            && !field(&u.field)
        {
            return Err(format!(
                "check {:?}: unless refers to unknown field {:?}",
                c.key, u.field
            ));
        }
    }
    let texts = std::iter::once(finding)
        .chain(fields.iter().map(|f| (&f.finding_zh, &f.finding_en)))
        .chain(checks.iter().map(|c| (&c.finding_zh, &c.finding_en)));
    for (zh, en) in texts {
        if zh.is_some() != en.is_some() {
            return Err("a finding text is needed in Chinese and English".into());
        }
        for text in [zh, en].into_iter().flatten() {
            for key in placeholders(text) {
                if !field(key) && !checks.iter().any(|c| c.key == key) {
                    return Err(format!(
                        "finding text refers to unknown field or check {{{key}}}"
                    ));
                }
            }
        }
    }
    Ok(())
}
