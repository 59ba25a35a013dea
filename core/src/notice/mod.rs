//! The rectification notice (整改通知书) for a venue's open hazards, built and rendered here so the
//! phone (shown to the owner to sign) and the relay (printed at the office) produce the same
//! document: the hazards with their cited basis and deadlines, the inspector and the lead
//! departments, and a QR code to the owner's self-report page.

use serde::Serialize;
use time::Date;

use crate::clock::parse_date;
use crate::directory::Directory;
use crate::error::{Error, Result};
use crate::issuer::Issuer;
use crate::lifecycle::HazardStatus;
use crate::records::{HazardHeader, Venue};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NoticeHazard {
    pub id: String,
    pub title_zh: String,
    pub title_en: String,
    pub finding_en: String,
    pub severity_en: String,
    pub requirement_en: String,
    /// What was found, in plain words.
    pub finding_zh: String,
    /// Printed citations (core's table).
    pub basis: Vec<String>,
    /// 一般隐患 / 重大隐患 / 重大隐患（待认定）
    pub severity_zh: String,
    /// 立即整改 or 限期整改, with the date: "立即整改" / "限期整改，2026年12月10日前".
    pub requirement_zh: String,
    /// The immediate order the checklist gives (e.g. stop using the basement), when it does.
    pub order_zh: Option<String>,
    /// Temporary control measures recorded on a major hazard.
    pub controls_zh: Vec<String>,
    pub departments: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Notice {
    /// 吕巷安改〔2026〕第0101号 (from the device's block of numbers).
    pub number: String,
    /// The issuing body (the administrator's setting; the town's name until one is set).
    pub issuer_zh: String,
    pub issuer_en: String,
    pub issuer_address: String,
    pub issuer_contact: String,
    pub town_zh: String,
    pub venue_name: String,
    pub venue_address: String,
    pub village_zh: String,
    pub grid_zh: String,
    pub responsible_name: String,
    pub responsible_phone: String,
    pub hazards: Vec<NoticeHazard>,
    pub inspector_name: String,
    /// When the venue was inspected (the first listed hazard's finding), as 2026年12月3日.
    pub inspected_on: String,
    /// Lead departments' names, in the order first cited.
    pub departments: Vec<String>,
    /// 2026年12月3日
    pub issued_on: String,
    /// The same days as 2026-12-03 (the English notice).
    pub inspected_day: String,
    pub issued_day: String,
    pub recheck_day: String,
    /// When the lead department rechecks: the day after the latest deadline.
    pub recheck_on: String,
    /// The owner's self-report page (the QR code), when the phone or relay could sign one.
    pub owner_url: Option<String>,
    /// The address printed under the QR code: the public address set by the administrator.
    pub owner_caption: Option<String>,
}

/// A date as Chinese documents write it: 2026年12月3日.
pub fn date_zh(d: Date) -> String {
    format!("{}年{}月{}日", d.year(), u8::from(d.month()), d.day())
}

/// What a notice is built from: the venue and its hazards, who inspected, the issuing body and
/// the number this notice takes.
#[derive(Debug)]
pub struct NoticeInput<'a> {
    pub dir: &'a Directory,
    pub issuer: Option<&'a Issuer>,
    pub number: (i32, u32),
    pub venue: &'a Venue,
    pub hazards: &'a [(HazardHeader, HazardStatus)],
    pub inspector: &'a str,
    pub issued_on: Date,
    pub owner_url: Option<String>,
}

/// The hazards a notice lists for `venue`: open and awaiting rectification, soonest deadline
/// first. Empty: nothing to notify.
pub fn listed<'a>(
    venue: &Venue,
    hazards: &'a [(HazardHeader, HazardStatus)],
) -> Vec<&'a (HazardHeader, HazardStatus)> {
    let mut open: Vec<&(HazardHeader, HazardStatus)> = hazards
        .iter()
        .filter(|(h, s)| {
            h.venue_id == venue.id && s.state.is_open() && s.state.as_str() != "rectified_claimed"
        })
        .collect();
    open.sort_by(|a, b| {
        (a.1.deadline.is_none(), &a.1.deadline, a.0.found_ms).cmp(&(
            b.1.deadline.is_none(),
            &b.1.deadline,
            b.0.found_ms,
        ))
    });
    open
}

/// The notice for the venue listing its open hazards. A venue without an open hazard has
/// nothing to notify.
pub fn build(i: NoticeInput<'_>) -> Result<Notice> {
    let dir = i.dir;
    let venue = i.venue;
    let dept_name = |code: &str| {
        dir.department(code)
            .map_or_else(|| "未登记的部门".to_owned(), |d| d.name_zh.clone())
    };
    let open = listed(venue, i.hazards);
    if open.is_empty() {
        return Err(Error::invalid(format!(
            "{} 没有待整改的隐患，无需出具整改通知书 / venue {} has no open hazard awaiting rectification to notify",
            venue.name, venue.name
        )));
    }
    let mut departments: Vec<String> = Vec::new();
    let mut latest: Option<Date> = None;
    let hazards = open
        .iter()
        .map(|(h, s)| {
            let depts: Vec<String> = h.lead_depts.iter().map(|d| dept_name(d)).collect();
            for d in &depts {
                if !departments.contains(d) {
                    departments.push(d.clone());
                }
            }
            let due = s.deadline.as_deref().and_then(|d| parse_date(d).ok());
            if let Some(d) = due {
                latest = Some(latest.map_or(d, |l| l.max(d)));
            }
            let (requirement_zh, requirement_en) = match (s.fix_mode.as_str(), due) {
                ("on_spot", _) | (_, None) => ("立即整改".to_owned(), "Fix at once".to_owned()),
                (_, Some(d)) => (
                    format!("限期整改，{}前完成", date_zh(d)),
                    format!("Fix by {}", crate::clock::format_date(d)),
                ),
            };
            NoticeHazard {
                id: h.id.clone(),
                title_zh: h.title_zh.clone(),
                title_en: h.title_en.clone(),
                finding_en: h.finding_en.clone(),
                severity_en: match s.severity.as_str() {
                    "general" => "General",
                    "major" => "Major",
                    _ => "Major (to confirm)",
                }
                .to_owned(),
                requirement_en,
                finding_zh: h.finding_zh.clone(),
                basis: crate::citations::printed(h),
                severity_zh: match s.severity.as_str() {
                    "general" => "一般隐患",
                    "major" => "重大隐患",
                    _ => "重大隐患（待认定）",
                }
                .to_owned(),
                requirement_zh,
                order_zh: h.order_zh.clone(),
                controls_zh: s.controls.clone(),
                departments: depts,
            }
        })
        .collect();
    let first_found = open
        .iter()
        .map(|(h, _)| h.found_ms)
        .min()
        .unwrap_or_default();
    let recheck = latest
        .unwrap_or(i.issued_on)
        .next_day()
        .unwrap_or(i.issued_on);
    let prefix = i
        .issuer
        .map_or_else(|| dir.town_zh.clone(), |x| x.notice_prefix.clone());
    let caption = i.owner_url.as_ref().map(|u| {
        i.issuer
            .map(|x| x.public_url.trim().trim_end_matches('/').to_owned())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| u.split("/o/").next().unwrap_or(u).to_owned())
    });
    Ok(Notice {
        number: crate::issuer::notice_number(&prefix, i.number.0, i.number.1),
        issuer_zh: i
            .issuer
            .map_or_else(|| format!("{}人民政府", dir.town_zh), |x| x.name_zh.clone()),
        issuer_en: i
            .issuer
            .map(|x| x.name_en.clone())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("{} People's Government", dir.town_en)),
        issuer_address: i.issuer.map(|x| x.address.clone()).unwrap_or_default(),
        issuer_contact: i.issuer.map(|x| x.contact.clone()).unwrap_or_default(),
        town_zh: dir.town_zh.clone(),
        venue_name: venue.name.clone(),
        venue_address: venue.address.clone(),
        village_zh: dir
            .villages
            .iter()
            .find(|v| v.code == venue.village)
            .map_or_else(String::new, |v| v.name_zh.clone()),
        grid_zh: dir
            .grid(&venue.grid_id)
            .map_or_else(String::new, |g| g.name_zh.clone()),
        responsible_name: venue.responsible.name.clone(),
        responsible_phone: venue.responsible.phone.clone(),
        hazards,
        inspector_name: dir
            .user(i.inspector)
            .map_or_else(|| "—".to_owned(), |u| u.name.clone()),
        inspected_on: date_zh(crate::clock::ms_to_date(first_found)),
        departments,
        issued_on: date_zh(i.issued_on),
        recheck_on: date_zh(recheck),
        inspected_day: crate::clock::format_date(crate::clock::ms_to_date(first_found)),
        issued_day: crate::clock::format_date(i.issued_on),
        recheck_day: crate::clock::format_date(recheck),
        owner_url: i.owner_url,
        owner_caption: caption,
    })
}

mod html;
pub use html::{qr_svg, to_html, to_html_in};
