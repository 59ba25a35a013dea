//! A venue's page at the office, its file (场所档案): its fields as kept on every phone, the
//! conflicts two people's concurrent edits left (who set what, when, and which was kept),
//! resolving one, the venue's moves between grids, every inspection, its hazards over time with
//! their photos, and the notices issued to it.

use super::*;
use crate::AppState;
use crate::error::RelayError;
use askama::Template;
use axum::extract::{Form, Path as AxPath, State};
use axum::response::{IntoResponse, Redirect, Response};
use gridsafe_core::records::venue_fields;
use serde::Deserialize;
use session::SignedIn;

/// One value of a field in conflict, as the page shows it.
pub(crate) struct VersionView {
    value: String,
    /// The value as the resolve form sends it back (JSON).
    raw: String,
    by: String,
    at: String,
    kept: bool,
}

pub(crate) struct ConflictView {
    field: String,
    label: String,
    versions: Vec<VersionView>,
}

/// One inspection as the file lists it.
pub(crate) struct InspectionView {
    at: String,
    checklist: String,
    inspector: String,
    outcome: String,
}

/// One of the venue's hazards, with its photos (hashes).
pub(crate) struct HazardView {
    row: gridsafe_core::store::HazardRow,
    photos: Vec<String>,
}

pub(crate) struct NoticeView {
    number: String,
    at: String,
    listed: String,
}

#[derive(Template)]
#[template(path = "venue.html")]
pub(crate) struct VenuePage {
    c: Chrome,
    id: String,
    name: String,
    /// The details the office may correct (address, responsible person and phone).
    address: String,
    responsible_name: String,
    responsible_phone: String,
    fields: Vec<(String, String)>,
    conflicts: Vec<ConflictView>,
    moves: Vec<String>,
    inspections: Vec<InspectionView>,
    hazards: Vec<HazardView>,
    notices: Vec<NoticeView>,
    can_resolve: bool,
    /// Grids the venue may move to (label, id), when this user may move it.
    move_to: Vec<(String, String)>,
}

pub(crate) async fn venue(
    State(s): State<AppState>,
    AxPath(id): AxPath<String>,
    SignedIn { user, csrf }: SignedIn,
) -> Result<Response, WebError> {
    let u = user.clone();
    let (v, conflicts, moves, dir, file, issuer) = s
        .with_reader(move |st| {
            let (v, c, m) = st.venue_view(&u, &id)?;
            let file = st.venue_file(&u, &id)?;
            let issuer = st.issuer()?;
            Ok((
                v,
                c,
                m,
                st.directory().cloned().unwrap_or_default(),
                file,
                issuer,
            ))
        })
        .await
        .map_err(|e| e.0)?;
    let c = Chrome::new(&user, &csrf);
    let (inspections, hazards, notices) = file_views(&c, file, issuer.as_ref());
    let name_of = |uid: &str| {
        dir.user(uid)
            .map_or_else(|| uid.to_owned(), |u| u.name.clone())
    };
    let grid_of = |g: &str| {
        dir.grid(g)
            .map_or_else(|| g.to_owned(), |g| g.name_zh.clone())
    };
    let village_of = |code: &str| {
        dir.villages
            .iter()
            .find(|x| x.code == code)
            .map_or_else(|| code.to_owned(), |x| x.name_zh.clone())
    };
    let fields = venue_fields::fields(&v)
        .into_iter()
        .map(|(path, value)| {
            let (zh, en) = venue_fields::label(&path);
            let shown = c.labels().venue_value(&path, &value);
            (c.t(zh, en).to_owned(), shown)
        })
        .collect();
    let conflicts = conflicts
        .into_iter()
        .map(|f| {
            let (zh, en) = venue_fields::label(&f.field);
            let version = |v: &venue_fields::FieldVersion, kept: bool| VersionView {
                value: c.labels().venue_value(&f.field, &v.value),
                raw: v.value.to_string(),
                by: name_of(&v.by),
                at: gridsafe_core::clock::ms_to_minute(v.ms),
                kept,
            };
            let mut versions = vec![version(&f.kept, true)];
            versions.extend(f.others.iter().map(|o| version(o, false)));
            ConflictView {
                field: f.field.clone(),
                label: c.t(zh, en).to_owned(),
                versions,
            }
        })
        .collect();
    let moves = moves
        .iter()
        .map(|m| {
            format!(
                "{} {} {} → {}",
                gridsafe_core::clock::ms_to_minute(m.ms),
                name_of(&m.by),
                grid_of(&m.from_grid),
                grid_of(&m.to_grid)
            )
        })
        .collect();
    let can_resolve = gridsafe_core::policy::check_edit_venue(&user).is_ok();
    let move_to = if gridsafe_core::policy::check_move_venue(&user, &v.grid_id).is_ok() {
        dir.grids
            .iter()
            .filter(|g| g.id != v.grid_id)
            .map(|g| {
                (
                    format!("{} {}", village_of(&g.village), g.name_zh),
                    g.id.clone(),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(html(VenuePage {
        c,
        id: v.id.clone(),
        name: v.name.clone(),
        address: v.address.clone(),
        responsible_name: v.responsible.name.clone(),
        responsible_phone: v.responsible.phone.clone(),
        fields,
        conflicts,
        moves,
        inspections,
        hazards,
        notices,
        can_resolve,
        move_to,
    }))
}

/// The file's lists in the page's language: checklists, people and outcomes by their names.
fn file_views(
    c: &Chrome,
    file: crate::store::VenueFile,
    issuer: Option<&gridsafe_core::issuer::Issuer>,
) -> (Vec<InspectionView>, Vec<HazardView>, Vec<NoticeView>) {
    let minute = gridsafe_core::clock::ms_to_minute;
    let inspections = file
        .inspections
        .into_iter()
        .map(|i| {
            let checklist = crate::owner::template_title(&i.template_id, &i.template_version)
                .map_or_else(
                    || {
                        c.t(
                            "（本版本未收录的检查表）",
                            "(a checklist this version does not ship)",
                        )
                        .to_owned()
                    },
                    |(zh, en)| c.t(zh, en).to_owned(),
                );
            let outcome = match (i.finished, i.failed, i.hazards) {
                (false, _, _) => c.t("检查未完成", "Not finished").to_owned(),
                (true, 0, _) => c.t("全部合格", "All passed").to_owned(),
                (true, f, h) if c.en() => format!("{f} items failed · {h} hazards registered"),
                (true, f, h) => format!("{f} 项不合格 · 登记隐患 {h} 项"),
            };
            InspectionView {
                at: minute(i.started_ms),
                checklist,
                inspector: c.user(&i.inspector),
                outcome,
            }
        })
        .collect();
    let hazards = file
        .hazards
        .into_iter()
        .map(|(row, photos)| HazardView { row, photos })
        .collect();
    let notices = file
        .notices
        .into_iter()
        .map(|n| NoticeView {
            number: issuer.map_or_else(
                || format!("〔{}〕第{:04}号", n.year, n.n),
                |i| i.notice_number(n.year, n.n),
            ),
            at: minute(n.issued_ms),
            listed: match n.hazards {
                Some(k) if c.en() => format!("{k} hazards (printed at the office)"),
                Some(k) => format!("{k} 项隐患（办公室打印）"),
                None => c.t("检查现场开具", "Issued on site").to_owned(),
            },
        })
        .collect();
    (inspections, hazards, notices)
}

#[derive(Debug, Deserialize)]
pub(crate) struct ResolveForm {
    #[serde(default)]
    csrf: String,
    field: String,
    /// The chosen value as JSON (one of the versions shown).
    #[serde(default)]
    value: String,
    /// A value typed in again instead (wins over the choice when not empty).
    #[serde(default)]
    other: String,
}

/// Keeps the chosen value of a field in conflict; the conflict is gone on every replica.
pub(crate) async fn resolve(
    State(s): State<AppState>,
    AxPath(id): AxPath<String>,
    SignedIn { user, csrf }: SignedIn,
    Form(f): Form<ResolveForm>,
) -> Result<Response, WebError> {
    check_csrf(&f.csrf, &csrf)?;
    let value: serde_json::Value = if f.other.trim().is_empty() {
        serde_json::from_str(&f.value).map_err(|_| {
            RelayError::BadRequest(
                "请从列出的取值中选择一个，或填写新的取值 / choose one of the values shown or enter a new one"
                    .into(),
            )
        })?
    } else {
        serde_json::Value::String(f.other.trim().to_owned())
    };
    let target = format!("/venues/{id}");
    s.with_store(move |st| {
        st.web_edit_venue_field(&user, &id, &f.field, value)?;
        st.audit(&user.id, "venue.resolve", &id, &f.field)
    })
    .await
    .map_err(|e| e.0)?;
    Ok(Redirect::to(&target).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct MoveForm {
    #[serde(default)]
    csrf: String,
    grid: String,
}

/// Moves the venue to another grid: its inspections and hazards follow it, the new grid's phones
/// receive them whole and the old grid's drop them once they have synced.
pub(crate) async fn move_venue(
    State(s): State<AppState>,
    AxPath(id): AxPath<String>,
    SignedIn { user, csrf }: SignedIn,
    Form(f): Form<MoveForm>,
) -> Result<Response, WebError> {
    check_csrf(&f.csrf, &csrf)?;
    let target = format!("/venues/{id}#moves");
    s.with_store(move |st| {
        st.web_edit_venue_field(&user, &id, "grid_id", f.grid.clone().into())?;
        st.audit(&user.id, "venue.move", &id, &f.grid)
    })
    .await
    .map_err(|e| e.0)?;
    Ok(Redirect::to(&target).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct DetailsForm {
    #[serde(default)]
    csrf: String,
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    responsible_name: String,
    #[serde(default)]
    responsible_phone: String,
}

/// The venue's details as the office corrects them (name, address, responsible person and
/// phone): stamped edits, the same on every phone after its next sync.
pub(crate) async fn edit_details(
    State(s): State<AppState>,
    AxPath(id): AxPath<String>,
    SignedIn { user, csrf }: SignedIn,
    Form(f): Form<DetailsForm>,
) -> Result<Response, WebError> {
    check_csrf(&f.csrf, &csrf)?;
    if f.name.trim().is_empty() {
        return Err(
            RelayError::BadRequest("请填写场所名称 / enter the venue's name".into()).into(),
        );
    }
    let target = format!("/venues/{id}");
    s.with_store(move |st| {
        let office = user.clone();
        let (now, _, _) = st.venue_view(&office, &id)?;
        let wanted = [
            ("name", f.name.trim(), now.name.as_str()),
            ("address", f.address.trim(), now.address.as_str()),
            (
                "responsible.name",
                f.responsible_name.trim(),
                now.responsible.name.as_str(),
            ),
            (
                "responsible.phone",
                f.responsible_phone.trim(),
                now.responsible.phone.as_str(),
            ),
        ];
        let edits: Vec<(String, serde_json::Value)> = wanted
            .iter()
            .filter(|(_, new, old)| new != old)
            .map(|(k, new, _)| {
                (
                    (*k).to_owned(),
                    serde_json::Value::String((*new).to_owned()),
                )
            })
            .collect();
        if edits.is_empty() {
            return Ok(());
        }
        let names = edits
            .iter()
            .map(|(k, _)| k.clone())
            .collect::<Vec<_>>()
            .join(",");
        st.web_edit_venue(&user, &id, &edits)?;
        st.audit(&user.id, "venue.edit", &id, &names)
    })
    .await
    .map_err(|e| e.0)?;
    Ok(Redirect::to(&target).into_response())
}
