//! Words for codes: every code a person could otherwise read — villages, grids, departments and
//! users (from the directory), states, events, severities, sources, domains, fix modes, roles,
//! times and the relay's refusals — in zh-CN and English. Pages, exports, documents and the phone all read these, so a
//! label is corrected once.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::directory::{Directory, Role};
use crate::hazard_state::{EventKind, State};

mod refusals;
pub use refusals::span;

/// The language a person reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

/// The domains in the order the town reports them (code, zh, en).
pub const DOMAINS: [(&str, &str, &str); 6] = [
    ("selfbuilt", "经营性自建房", "Self-built business premises"),
    ("ebike", "电动自行车", "E-bikes"),
    ("gas", "城镇燃气", "Town gas"),
    ("lifeline", "生命通道", "Fire lifelines"),
    ("mixed", "三合一·群租", "Mixed-use and group rentals"),
    ("other", "其他", "Other"),
];

/// The hazard sources of §6.2, in the report's column order (code, zh, en).
pub const SOURCES: [(&str, &str, &str); 4] = [
    ("inspection", "督导检查发现", "Inspection"),
    ("self_report", "企业自查上报", "Self-report"),
    (
        "public_report",
        "群众举报查实",
        "Public report (12345, 随申拍)",
    ),
    ("referral", "转办", "Referral"),
];

/// How a report counts hazards by where they came from (§6.4: public reports with 12345 and
/// 随申拍 apart): code, zh, en.
pub const REPORT_SOURCES: [(&str, &str, &str); 6] = [
    ("inspection", "督导检查发现", "Inspection"),
    ("self_report", "企业自查上报", "Self-report"),
    ("12345", "12345热线", "12345 hotline"),
    ("随申拍", "随申拍", "Suishenpai app"),
    ("public_other", "其他群众举报", "Other public reports"),
    ("referral", "部门转办", "Referral"),
];

/// A domain's words (zh, en); an unknown code reads as "other".
pub fn domain(code: &str) -> (&'static str, &'static str) {
    DOMAINS
        .iter()
        .find(|d| d.0 == code)
        .map_or(("其他", "Other"), |d| (d.1, d.2))
}

impl State {
    pub fn label_en(self) -> &'static str {
        match self {
            State::Draft => "Draft",
            State::Registered => "Registered",
            State::Notified => "Notice served",
            State::Rectifying => "Being rectified",
            State::RectifiedClaimed => "Awaiting review",
            State::Escalated => "Escalated",
            State::Closed => "Closed",
            State::Rejected => "Not registered",
        }
    }
}

impl EventKind {
    pub fn label_en(self) -> &'static str {
        match self {
            EventKind::Register => "Registered",
            EventKind::Notify => "Notice served",
            EventKind::Rectify => "Fixed on the spot",
            EventKind::Claim => "Rectification claimed",
            EventKind::OwnerClaim => "Owner's fix accepted",
            EventKind::Close => "Reviewed and closed",
            EventKind::Reject => "Review failed",
            EventKind::Escalate => "Escalated",
            EventKind::Reopen => "Reopened",
            EventKind::ConfirmMajor => "Confirmed as major",
            EventKind::Downgrade => "Downgraded to general",
            EventKind::SetDeadline => "Deadline set",
            EventKind::Plan => "Treatment plan",
            EventKind::Recheck => "Rechecked on site",
            EventKind::Dismiss => "Not registered",
            EventKind::Control => "Temporary control measures",
            EventKind::Supervise => "Listed for supervision",
            EventKind::Assign => "Handler assigned",
        }
    }
}

impl Role {
    pub fn label_en(self) -> &'static str {
        match self {
            Role::Inspector => "Grid worker",
            Role::Reviewer => "Lead department reviewer",
            Role::TownOffice => "Town safety office",
            Role::Admin => "Administrator",
        }
    }
}

/// Labels in one language, with the directory for names.
#[derive(Clone, Copy, Debug)]
pub struct Labels<'a> {
    pub dir: Option<&'a Directory>,
    pub lang: Lang,
}

impl<'a> Labels<'a> {
    pub fn new(dir: Option<&'a Directory>, lang: Lang) -> Labels<'a> {
        Labels { dir, lang }
    }

    /// The text in this language.
    pub fn pick<'b>(&self, zh: &'b str, en: &'b str) -> &'b str {
        match self.lang {
            Lang::Zh => zh,
            Lang::En if en.is_empty() => zh,
            Lang::En => en,
        }
    }

    /// Why the relay refused a record (its reason as sent), in words: no ids, no codes.
    pub fn refusal(&self, reason: &str) -> String {
        refusals::words(self, reason)
    }

    pub fn state(&self, code: &str) -> String {
        State::parse(code).map_or_else(
            || self.pick("未知状态", "Unknown state").to_owned(),
            |s| self.pick(s.label_zh(), s.label_en()).to_owned(),
        )
    }

    pub fn event(&self, code: &str) -> String {
        EventKind::parse(code).map_or_else(
            || self.pick("其他事件", "Other event").to_owned(),
            |k| self.pick(k.label_zh(), k.label_en()).to_owned(),
        )
    }

    pub fn severity(&self, code: &str) -> String {
        let (zh, en) = match code {
            "general" => ("一般", "General"),
            "major" => ("重大", "Major"),
            "major_candidate" => ("重大(待认定)", "Major (to confirm)"),
            _ => ("未定", "Not set"),
        };
        self.pick(zh, en).to_owned()
    }

    pub fn source(&self, code: &str) -> String {
        SOURCES.iter().find(|s| s.0 == code).map_or_else(
            || self.pick("其他", "Other").to_owned(),
            |s| self.pick(s.1, s.2).to_owned(),
        )
    }

    pub fn domain(&self, code: &str) -> String {
        let (zh, en) = domain(code);
        self.pick(zh, en).to_owned()
    }

    pub fn fix_mode(&self, code: &str) -> String {
        let (zh, en) = match code {
            "on_spot" => ("即查即改", "Fix on the spot"),
            "deadline" => ("限期整改", "Fix by a deadline"),
            _ => ("—", "—"),
        };
        self.pick(zh, en).to_owned()
    }

    pub fn role(&self, role: Role) -> String {
        self.pick(role.label_zh(), role.label_en()).to_owned()
    }

    pub fn village(&self, code: &str) -> String {
        self.dir
            .and_then(|d| d.villages.iter().find(|v| v.code == code))
            .map_or_else(
                || self.unknown(code, "未登记的村居", "Unlisted village"),
                |v| self.pick(&v.name_zh, &v.name_en).to_owned(),
            )
    }

    pub fn grid(&self, id: &str) -> String {
        self.dir.and_then(|d| d.grid(id)).map_or_else(
            || self.unknown(id, "未登记的网格", "Unlisted grid"),
            |g| g.name_zh.clone(),
        )
    }

    pub fn dept(&self, code: &str) -> String {
        self.dir.and_then(|d| d.department(code)).map_or_else(
            || self.unknown(code, "未登记的部门", "Unlisted department"),
            |d| self.pick(&d.name_zh, &d.name_en).to_owned(),
        )
    }

    /// Several departments, joined as people write them.
    pub fn depts<S: AsRef<str>>(&self, codes: &[S]) -> String {
        codes
            .iter()
            .map(|c| self.dept(c.as_ref()))
            .collect::<Vec<_>>()
            .join(self.pick("、", ", "))
    }

    /// A user by name; someone no longer in the directory as "former user".
    pub fn user(&self, id: &str) -> String {
        self.dir.and_then(|d| d.user(id)).map_or_else(
            || self.unknown(id, "已移除的用户", "Former user"),
            |u| u.name.clone(),
        )
    }

    /// A ticket's channel as the caller knows it: 12345 and 随申拍 by their names, a referral
    /// and "other" in words; any other channel a platform exports, as it was entered.
    pub fn channel(&self, code: &str) -> String {
        match code {
            "other" => self.pick("其他渠道", "Other channel").to_owned(),
            crate::workflow::REFERRAL_CHANNEL => self.pick("部门转办", "Referral").to_owned(),
            "随申拍" => self.pick("随申拍", "Suishenpai").to_owned(),
            other => other.to_owned(),
        }
    }

    /// A stored time (RFC 3339) as people read it: `2026-12-03 15:52`, Shanghai time.
    pub fn time(&self, rfc3339: &str) -> String {
        OffsetDateTime::parse(rfc3339, &Rfc3339).map_or_else(
            |_| rfc3339.get(..10).unwrap_or("—").to_owned(),
            |t| crate::clock::ms_to_minute((t.unix_timestamp_nanos() / 1_000_000) as i64),
        )
    }

    /// A venue type (小餐饮, …) or gas supply (瓶装液化石油气, …) from the profile's tables.
    pub fn profile_code(&self, code: &str) -> String {
        crate::profile::VENUE_TYPES
            .iter()
            .chain(crate::profile::GAS_SUPPLIES)
            .find(|(c, ..)| *c == code)
            .map_or_else(
                || self.unknown(code, "其他", "Other"),
                |(_, zh, en)| self.pick(zh, en).to_owned(),
            )
    }

    /// A venue field's value as people read it: names for the grid and village, words for the
    /// venue types and gas supplies, yes/no, "—" for nothing.
    pub fn venue_value(&self, path: &str, value: &serde_json::Value) -> String {
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        match (path, value) {
            ("grid_id", v) => self.grid(&text(v)),
            ("village", v) => self.village(&text(v)),
            ("profile.venue_type" | "profile.gas_supplies", serde_json::Value::Array(items)) => {
                if items.is_empty() {
                    return "—".into();
                }
                items
                    .iter()
                    .map(|i| self.profile_code(&text(i)))
                    .collect::<Vec<_>>()
                    .join(self.pick("、", ", "))
            }
            ("profile.gas_supply", v) => self.profile_code(&text(v)),
            (_, serde_json::Value::Bool(b)) => if *b {
                self.pick("是", "Yes")
            } else {
                self.pick("否", "No")
            }
            .to_owned(),
            (_, v) => crate::records::venue_fields::display(v),
        }
    }

    /// A unit as the rule writes it (米, 千克, 分钟, …).
    pub fn unit(&self, code: &str) -> String {
        let (zh, en) = match code {
            "m" => ("米", "m"),
            "cm" => ("厘米", "cm"),
            "mm" => ("毫米", "mm"),
            "m2" | "m²" => ("平方米", "m²"),
            "kg" => ("千克", "kg"),
            "min" => ("分钟", "min"),
            "h" => ("小时", "h"),
            "d" | "day" | "days" => ("天", "days"),
            "count" | "" => ("", ""),
            other => (other, other),
        };
        self.pick(zh, en).to_owned()
    }

    fn unknown(&self, code: &str, zh: &str, en: &str) -> String {
        if code.is_empty() {
            "—".to_owned()
        } else {
            self.pick(zh, en).to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_as_words_in_both_languages() {
        let dir = Directory::from_json(include_bytes!("../../../examples/lvxiang-directory.json"))
            .unwrap();
        let zh = Labels::new(Some(&dir), Lang::Zh);
        let en = Labels::new(Some(&dir), Lang::En);
        assert_eq!(zh.village("heping"), "和平村");
        assert_eq!(zh.grid("heping-1"), "和平村第1网格");
        assert_eq!(zh.user("wang"), "王建国");
        assert_eq!(zh.user("gone"), "已移除的用户");
        assert_eq!(zh.state("rectified_claimed"), "待审核销号");
        assert_eq!(en.state("rectified_claimed"), "Awaiting review");
        assert_eq!(en.event("confirm_major"), "Confirmed as major");
        assert_eq!(zh.severity("major_candidate"), "重大(待认定)");
        assert_eq!(zh.time("2026-12-03T15:52:15.952+08:00"), "2026-12-03 15:52");
        assert_eq!(zh.time("2026-12-03T07:52:15Z"), "2026-12-03 15:52");
        assert!(!zh.depts(&["cyzx", "pcs"]).contains("cyzx"));
        assert_eq!(
            zh.venue_value(
                "profile.venue_type",
                &serde_json::json!(["small_restaurant", "selfbuilt_business"])
            ),
            "小餐饮、经营性自建房"
        );
        assert_eq!(
            zh.venue_value("profile.gas_supply", &serde_json::json!("lpg")),
            "瓶装液化石油气"
        );
        assert_eq!(
            en.venue_value("profile.has_basement", &serde_json::json!(true)),
            "Yes"
        );
        assert_eq!(
            zh.venue_value("grid_id", &serde_json::json!("heping-1")),
            "和平村第1网格"
        );
        for s in State::ALL {
            assert!(!en.state(s.as_str()).contains('_'));
        }
        for k in EventKind::ALL {
            assert_ne!(en.event(k.as_str()), k.as_str());
        }
    }
}
