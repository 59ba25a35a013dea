//! The findings finishing will register, and one hazard's screen: its state and history in words
//! and only the actions this user may take now, each with the inputs it needs.

use time::Date;

use crate::error::{Error, Result};
use crate::eval::{Outcome, propose};
use crate::hazard_state::EventKind;
use crate::labels::{Labels, Lang};
use crate::store::Store;
use crate::template::{FixMode, Level};

/// A finding the inspection will register when finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub item_id: String,
    pub question: String,
    /// What was found, in words.
    pub finding: String,
    pub severity: String,
    pub major_candidate: bool,
    pub departments: String,
    /// The citations as printed on the notice.
    pub basis: Vec<String>,
    /// 即改 may be chosen (never for a major candidate).
    pub on_spot_allowed: bool,
    pub default_on_spot: bool,
    /// The deadline each choice gives, as a date: 即改 — today; 限期整改 — today plus the period.
    pub on_spot_deadline: String,
    pub deadline: String,
    /// A hazard for this item is still open at the venue: nothing new is registered.
    pub already_open: bool,
}

/// The findings of inspection `id` as it stands, in checklist order.
pub fn findings(store: &Store, id: &str, lang: Lang, today: Date) -> Result<Vec<Finding>> {
    let insp = store.inspection(id)?;
    let t = store.template(&insp.header.template_id, &insp.header.template_version)?;
    let dir = store.directory().ok();
    let l = Labels::new(dir.as_deref(), lang);
    let open: std::collections::HashSet<String> = store
        .list_hazards(&crate::store::HazardQuery {
            venue_id: Some(insp.header.venue_id.clone()),
            open_only: true,
            ..Default::default()
        })?
        .into_iter()
        .map(|h| h.item_id)
        .collect();
    let mut out = Vec::new();
    for r in crate::workflow::evaluate_all(&t, &insp)
        .into_iter()
        .filter(|r| r.outcome == Outcome::Fail)
    {
        let Some(item) = t.item(&r.item_id) else {
            continue;
        };
        let answer = crate::workflow::answer_of(&insp, &item.id);
        let Some(p) = propose(item, &insp.header.profile, &answer, &r) else {
            continue;
        };
        let major = p.severity == Level::MajorCandidate;
        out.push(Finding {
            item_id: item.id.clone(),
            question: l.pick(&item.q_zh, &item.q_en).to_owned(),
            finding: p
                .findings
                .iter()
                .map(|f| l.pick(&f.zh, &f.en))
                .collect::<Vec<_>>()
                .join(l.pick("；", "; ")),
            severity: l.severity(if major { "major_candidate" } else { "general" }),
            major_candidate: major,
            departments: l.depts(&p.lead_depts),
            basis: crate::citations::for_item(&t.template_id, &t.version, &item.id)
                .into_iter()
                .map(|c| c.text)
                .collect(),
            on_spot_allowed: !major,
            default_on_spot: p.fix_mode == FixMode::OnSpot && !major,
            on_spot_deadline: crate::workflow::deadline_of(today, FixMode::OnSpot, p.deadline_days),
            deadline: crate::workflow::deadline_of(today, FixMode::Deadline, p.deadline_days),
            already_open: open.contains(&item.id),
        });
    }
    Ok(out)
}

/// An input an action needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Need {
    /// A photo of this role (`after`, `signature`) — the shell opens the camera.
    Photo {
        role: String,
        label: String,
    },
    Deadline {
        label: String,
    },
    Text {
        label: String,
    },
}

/// An action this user may take now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    pub kind: EventKind,
    pub label: String,
    pub needs: Vec<Need>,
}

/// One step of the hazard's history, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryLine {
    pub at: String,
    pub what: String,
    pub who: String,
    pub note: String,
    /// Refused by the rules (the reason is in `note`).
    pub refused: bool,
}

/// The hazard screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HazardScreen {
    pub id: String,
    pub title: String,
    pub venue: String,
    pub finding: String,
    pub state: String,
    pub severity: String,
    pub deadline: String,
    pub overdue: bool,
    pub departments: String,
    pub handler: Option<String>,
    pub basis: Vec<String>,
    pub history: Vec<HistoryLine>,
    pub actions: Vec<Offer>,
}

/// The actions a phone records (the office's are on its pages), in the order offered.
const PHONE_ACTIONS: [EventKind; 4] = [
    EventKind::Rectify,
    EventKind::Notify,
    EventKind::Claim,
    EventKind::Control,
];

/// Hazard `id` for `user` on `today`.
pub fn hazard_screen(
    store: &Store,
    user: &str,
    id: &str,
    lang: Lang,
    today: Date,
) -> Result<HazardScreen> {
    let dir = store.directory()?;
    let me = dir
        .user(user)
        .ok_or_else(|| Error::Forbidden(format!("unknown user {user:?}")))?;
    let l = Labels::new(Some(&dir), lang);
    let v = store.hazard(id)?;
    let (h, s) = (&v.header, &v.status);
    if !crate::policy::hazard_in_scope(me, &h.grid_id, &h.lead_depts)
        && !s
            .venue_grid
            .as_deref()
            .is_some_and(|g| crate::policy::hazard_in_scope(me, g, &h.lead_depts))
    {
        return Err(Error::Forbidden(format!(
            "hazard {id} is outside {user}'s grids"
        )));
    }
    let allowed = crate::policy::allowed_events(me, h, s, today);
    let actions = PHONE_ACTIONS
        .iter()
        .filter(|k| allowed.contains(k))
        .map(|k| Offer {
            kind: *k,
            label: l.event(k.as_str()),
            needs: needs(&l, *k),
        })
        .collect();
    let history = s
        .history
        .iter()
        .map(|e| HistoryLine {
            at: l.time(&e.at),
            what: l.event(&e.kind),
            who: e.user.as_deref().map_or_else(
                || l.pick("未知设备", "Unknown device").to_owned(),
                |u| l.user(u),
            ),
            note: match (&e.refusal, e.kind.as_str()) {
                (Some(r), _) => l.pick(&r.zh, &r.en).to_owned(),
                (None, "assign") => e.text.as_deref().map(|u| l.user(u)).unwrap_or_default(),
                (None, _) => [e.reason.as_deref(), e.deadline.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" · "),
            },
            refused: !e.applied,
        })
        .collect();
    Ok(HazardScreen {
        id: h.id.clone(),
        title: l.pick(&h.title_zh, &h.title_en).to_owned(),
        venue: h.venue_name.clone(),
        finding: l.pick(&h.finding_zh, &h.finding_en).to_owned(),
        state: l.state(s.state.as_str()),
        severity: l.severity(&s.severity),
        deadline: s.deadline.clone().unwrap_or_else(|| "—".into()),
        overdue: s.is_overdue(today),
        departments: l.depts(&h.lead_depts),
        handler: s.assignee.as_deref().map(|u| l.user(u)),
        basis: crate::citations::printed(h),
        history,
        actions,
    })
}

fn needs(l: &Labels<'_>, kind: EventKind) -> Vec<Need> {
    let photo = |role: &str, zh: &str, en: &str| Need::Photo {
        role: role.into(),
        label: l.pick(zh, en).to_owned(),
    };
    match kind {
        EventKind::Rectify => vec![photo(
            "after",
            "整改后照片（本次检查中拍摄）",
            "After photo, taken in this visit",
        )],
        EventKind::Claim => vec![photo("after", "整改后照片", "After photo")],
        EventKind::Notify => vec![photo(
            "signature",
            "签收的整改通知书照片或电子签名",
            "Photo of the signed notice, or an e-signature",
        )],
        EventKind::Control => vec![Need::Text {
            label: l.pick("临时管控措施", "Control measures").to_owned(),
        }],
        _ => vec![],
    }
}
