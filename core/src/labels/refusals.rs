//! Why the relay refused a record, in words. The relay's reason is written for a log: it names
//! record and event ids and ends with the rule's code (`… (中文) [code]`, the `Refusal` display),
//! or it is a relay error (`forbidden: …`). A grid worker reads only what went wrong and what to
//! do, so the reason is read here once, by its code, and nothing of the log text reaches a screen.

use super::{Labels, Lang};

/// What a refused sync reason says, in words: the rule's own Chinese words where the reason
/// carries them (they name no ids), English by the rule's code, and for a relay error by its kind.
pub(super) fn words(l: &Labels<'_>, reason: &str) -> String {
    let reason = reason
        .strip_prefix("not taken from the relay: ")
        .unwrap_or(reason);
    if let Some((code, zh)) = coded(reason) {
        if code == "clock_ahead"
            && let Some(minutes) = minutes_ahead(reason)
        {
            let (zh, en) = span(minutes * 60_000);
            return l
                .pick(
                    &format!("手机时间比中继快约{zh}，请在手机设置中校准时间后再同步"),
                    &format!(
                        "This phone's clock is about {en} ahead of the relay's: set the clock, then sync"
                    ),
                )
                .to_owned();
        }
        return match l.lang {
            Lang::Zh => zh.map_or_else(|| by_code(code).0.to_owned(), str::to_owned),
            Lang::En => by_code(code).1.to_owned(),
        };
    }
    let (zh, en) = by_kind(reason);
    l.pick(zh, en).to_owned()
}

/// A span of time in words, rounded to the nearest: a clock six hours off reads "6 hours", not
/// "5". The Chinese starts with a space so it reads after "约".
pub fn span(ms: i64) -> (String, String) {
    let minutes = (ms + 30_000) / 60_000;
    if minutes < 120 {
        (format!(" {minutes} 分钟"), format!("{minutes} minutes"))
    } else if minutes < 48 * 60 {
        let h = (minutes + 30) / 60;
        (format!(" {h} 小时"), format!("{h} hours"))
    } else {
        let d = (minutes + 12 * 60) / (24 * 60);
        (format!(" {d} 天"), format!("{d} days"))
    }
}

/// The rule's code and, where present, its Chinese words, from `en (zh) [code]`.
fn coded(reason: &str) -> Option<(&str, Option<&str>)> {
    let rest = reason.trim_end().strip_suffix(']')?;
    let open = rest.rfind('[')?;
    let code = &rest[open + 1..];
    if code.is_empty() || !code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return None;
    }
    let before = rest[..open].trim_end();
    // The Chinese words are the last ASCII-parenthesised group (they use full-width brackets
    // inside, the English part may use ASCII ones earlier).
    let zh = before
        .strip_suffix(')')
        .and_then(|b| b.rfind(" (").map(|i| &b[i + 2..]))
        .filter(|zh| !zh.is_empty() && !zh.is_ascii());
    Some((code, zh))
}

/// "… dated 359 minutes ahead …" / "… stamped 359 minutes ahead …".
fn minutes_ahead(reason: &str) -> Option<i64> {
    let end = reason.find(" minutes ahead")?;
    let start = reason[..end].rfind(' ')? + 1;
    reason[start..end].parse().ok()
}

/// Words for a relay error without a rule's code, by its kind.
fn by_kind(reason: &str) -> (&'static str, &'static str) {
    let kind = reason.split_once(':').map_or("", |(k, _)| k);
    match kind {
        "forbidden" => (
            "这条记录不在本人网格或权限范围内，中继未接受；如场所已调整网格，请联系镇安委办",
            "This record is outside your grids or role, so the relay did not take it; if the venue moved to another grid, ask the town office",
        ),
        "unauthorized" => (
            "本机的登记已失效，请联系管理员重新登记本机",
            "This phone's enrolment is no longer valid: ask the administrator to enrol it again",
        ),
        "too large" => (
            "记录过大，中继未接受，请联系镇安委办",
            "The record is too large for the relay: ask the town office",
        ),
        "too many" => (
            "提交过于频繁，请稍后再同步",
            "Too many at once: sync again later",
        ),
        _ => (
            "中继未接受这条记录（格式不符），请将应用更新到最新版本后再同步",
            "The relay could not read this record: update the app, then sync",
        ),
    }
}

/// A rule's words by its code, for a reason that does not carry them (and in English).
fn by_code(code: &str) -> (&'static str, &'static str) {
    match code {
        "clock_ahead" => (
            "手机时间快于中继，请在手机设置中校准时间后再同步",
            "This phone's clock is ahead of the relay's: set the clock, then sync",
        ),
        "malformed" => (
            "记录格式错误，请将应用更新到最新版本",
            "The record does not read: update the app",
        ),
        "header_changed" => (
            "登记信息不能修改，请改为记录处置事件",
            "A registered record's header cannot change: record an event instead",
        ),
        "sealed" => (
            "已完成的检查记录不能修改",
            "A finished inspection cannot change",
        ),
        "verdict_changed" => (
            "群众举报的核查结论已给出，不能修改",
            "The report was verified; its verdict cannot change",
        ),
        "event_deleted" | "event_modified" | "event_reordered" | "event_outside_change" => (
            "处置记录只能追加，不能删除或修改",
            "A hazard's events are only added to, never removed or changed",
        ),
        "event_not_allowed" | "wrong_state" => (
            "该处置在当时的状态下不被允许",
            "That action was not allowed in the hazard's state at the time",
        ),
        "stamp_forged" | "tampered" => (
            "记录的修改人与提交的手机不一致",
            "The change names someone other than the phone that sent it",
        ),
        "unknown_actor" => (
            "未知设备或用户，请联系管理员",
            "Unknown phone or user: ask the administrator",
        ),
        "unknown_venue" => (
            "场所尚未到达中继，请先同步场所",
            "The venue is not on the relay yet: sync the venue first",
        ),
        "unknown_inspection" => (
            "隐患所依据的检查记录尚未到达中继，请先同步检查记录",
            "The hazard's inspection is not on the relay yet: sync it first",
        ),
        "wrong_place" => (
            "隐患所属村居、网格与场所不一致",
            "The hazard's village or grid differs from its venue's",
        ),
        "old_rules" => (
            "请更新应用后再同步",
            "Registered under old rules: update the app, then sync",
        ),
        "not_the_finder" => (
            "发现人须为上报本隐患的用户",
            "The finder must be the user who registered the hazard",
        ),
        "wrong_source" | "bad_source" | "bad_public_report" => (
            "隐患的来源登记不正确",
            "The hazard's source is not registered correctly",
        ),
        "wrong_departments" => (
            "牵头部门或领域与检查表不一致",
            "The lead department or domain differs from the checklist's",
        ),
        "severity_too_low" => (
            "隐患等级低于检查表规则",
            "The severity is below the checklist's rule",
        ),
        "unknown_template" | "unknown_item" => (
            "中继上没有该检查表版本或检查项，请更新应用",
            "The relay does not have this checklist version or item: update the app",
        ),
        "wrong_deadline" | "bad_deadline" | "deadline_past" | "deadline_required" => (
            "整改期限与规定不一致",
            "The deadline does not follow the rules",
        ),
        "wrong_inspection" => (
            "隐患与其检查记录的场所或检查表不一致",
            "The hazard's venue or checklist differs from its inspection's",
        ),
        "item_not_failed" => (
            "检查记录中该项并未判定为不合格",
            "The inspection did not fail that item",
        ),
        "bad_fix_mode" | "major_not_on_spot" | "not_same_visit" => (
            "整改方式不符合规定（重大隐患不能即改，即改须在同一次检查中完成）",
            "The fix mode breaks the rules (a major hazard is never fixed on the spot; an on-the-spot fix is made in the same visit)",
        ),
        "wrong_referral" => (
            "隐患缺少检查表规定的转办或立即整改要求",
            "The hazard lacks the checklist's referral or immediate-fix requirement",
        ),
        "out_of_scope" | "not_in_lead_department" => (
            "不在本人网格或牵头部门范围内",
            "Outside this user's grids or department",
        ),
        "admin" | "inspector_only" | "reviewer_only" | "department_only" | "dept_or_inspector" => (
            "该操作不属于本人的职责",
            "This action belongs to another role",
        ),
        "before_photo_missing" | "after_photo_missing" | "photo_required" | "proof_required" => {
            ("缺少规定的照片", "A required photo is missing")
        }
        "duplicate_event" | "already_registered" => ("重复的记录", "A duplicate record"),
        _ => (
            "不符合处置规则，中继未接受",
            "It breaks the hazard rules, so the relay did not take it",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Refusal;

    fn both(reason: &str) -> (String, String) {
        (
            words(&Labels::new(None, Lang::Zh), reason),
            words(&Labels::new(None, Lang::En), reason),
        )
    }

    fn clean(s: &str) {
        assert!(!s.contains('[') && !s.contains("019"), "{s}");
        assert!(!s.chars().any(|c| c == '_'), "{s}");
    }

    #[test]
    fn a_refusal_reads_as_words_without_ids_or_codes() {
        let id = "0193a4b2-7c00-7000-8000-000000000001";
        let clock = Refusal {
            code: "clock_ahead".into(),
            zh: "事件时间超前于接收方时钟，请校准手机时间".into(),
            en: format!(
                "hazard {id}: event {id} is dated 359 minutes ahead of this clock (at most 10 allowed); set the phone's clock"
            ),
        };
        let (zh, en) = both(&format!("record {id}: {clock}"));
        assert_eq!(
            zh,
            "手机时间比中继快约 6 小时，请在手机设置中校准时间后再同步"
        );
        assert_eq!(
            en,
            "This phone's clock is about 6 hours ahead of the relay's: set the clock, then sync"
        );
        let deadline = Refusal {
            code: "wrong_deadline".into(),
            zh: "整改期限与检查表规定不一致".into(),
            en: format!("hazard {id}: deadline 2026-12-09 is not the checklist's (7 days)"),
        };
        let (zh, en) = both(&format!("not taken from the relay: refused: {deadline}"));
        assert_eq!(zh, "整改期限与检查表规定不一致");
        assert_eq!(en, "The deadline does not follow the rules");
        // The rule's Chinese may hold full-width brackets; the English may hold ASCII ones.
        let claim = Refusal {
            code: "not_notified".into(),
            zh: "须先送达整改通知，才能申报整改完成（当场整改请选“即查即改”）".into(),
            en: "serve the notice first (an on-the-spot fix is recorded as such)".into(),
        };
        let (zh, en) = both(&claim.to_string());
        assert_eq!(zh, claim.zh);
        clean(&en);
        for reason in [
            format!("forbidden: venue {id} is not in your grids"),
            format!("record {id} is pushed twice in one request"),
            format!("document {id}: bad change: not a change"),
            "too large: 9000000 bytes (limit 4194304)".into(),
            "".into(),
        ] {
            let (zh, en) = both(&reason);
            clean(&zh);
            clean(&en);
            assert!(!zh.is_ascii(), "{zh}");
        }
    }

    #[test]
    fn spans_round_to_the_nearest_unit() {
        assert_eq!(span(359 * 60_000).0, " 6 小时");
        assert_eq!(span(30 * 60_000).1, "30 minutes");
        assert_eq!(span(3 * 86_400_000 - 60_000).1, "3 days");
    }
}
