//! The venue owner's page (mobile web, no login: the signed link is the key) and the office's
//! side of it: the printable notice with its QR code, decisions on owners' reports, revoking a
//! venue's links.

use askama::Template;
use axum::extract::{Form, Multipart, Path as AxPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Chrome, SignedIn, WebError, check_csrf, html};
use crate::AppState;
use crate::error::RelayError;
use crate::owner::{MAX_PHOTO_BYTES, OwnerPage};

#[derive(Template)]
#[template(path = "owner.html")]
struct OwnerPageT {
    c: Chrome,
    token: String,
    p: OwnerPage,
    sent: bool,
    /// The self-inspection's figures all met the rules: nothing was sent.
    all_met: bool,
    /// What went wrong with the owner's last submission, shown on the page itself.
    error: Option<String>,
    checklist: Vec<gridsafe_core::self_report::SelfCheckItem>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SentQuery {
    sent: Option<String>,
    met: Option<String>,
}

/// The owner's page: the venue's open hazards, what to fix by when, and a form per hazard for
/// an after photo and a note. An invalid, expired or revoked link gets one page that reveals
/// nothing about any venue.
pub async fn page(
    State(s): State<AppState>,
    AxPath(token): AxPath<String>,
    axum::extract::Query(q): axum::extract::Query<SentQuery>,
) -> Result<Response, WebError> {
    owner_page(&s, token, q.sent.is_some(), q.met.is_some(), None).await
}

async fn owner_page(
    s: &AppState,
    token: String,
    sent: bool,
    all_met: bool,
    error: Option<String>,
) -> Result<Response, WebError> {
    let t = token.clone();
    let (p, checklist) = s
        .with_store(move |st| {
            let link = st.check_owner_link(&t)?;
            Ok((st.owner_page(&link)?, st.owner_self_check(&link)?))
        })
        .await
        .map_err(|e| e.0)?;
    Ok(html(OwnerPageT {
        c: Chrome::anonymous(),
        token,
        p,
        sent,
        all_met,
        error,
        checklist,
    }))
}

/// An owner's submission that went wrong: the same page again with the reason on it (an invalid
/// link still gets the page that reveals nothing).
async fn or_on_page(
    s: &AppState,
    token: String,
    r: Result<Response, WebError>,
) -> Result<Response, WebError> {
    match r {
        Err(WebError(
            e @ (RelayError::BadRequest(_)
            | RelayError::TooLarge(_)
            | RelayError::TooMany(_)
            | RelayError::Refused(_)),
        )) => {
            let status = match &e {
                RelayError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                RelayError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
                RelayError::Refused(_) => StatusCode::CONFLICT,
                _ => StatusCode::BAD_REQUEST,
            };
            let page = owner_page(s, token, false, false, Some(e.message().to_owned())).await?;
            Ok((status, page).into_response())
        }
        other => other,
    }
}

/// The owner's self-inspection: the items ticked as not met (and a note) become findings that a
/// lead department registers as hazards or dismisses.
pub async fn self_check(
    State(s): State<AppState>,
    AxPath(token): AxPath<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let r = self_check_inner(&s, token.clone(), fields).await;
    or_on_page(&s, token, r).await
}

async fn self_check_inner(
    s: &AppState,
    token: String,
    fields: Vec<(String, String)>,
) -> Result<Response, WebError> {
    // Figures arrive as `m:<item>:<field>`; blank ones were left out by the owner.
    let mut measured: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for (k, v) in &fields {
        let Some((item, key)) = k.strip_prefix("m:").and_then(|r| r.split_once(':')) else {
            continue;
        };
        if v.trim().is_empty() {
            continue;
        }
        match measured.iter_mut().find(|(i, _)| i == item) {
            Some((_, vals)) => vals.push((key.to_owned(), v.clone())),
            None => measured.push((item.to_owned(), vec![(key.to_owned(), v.clone())])),
        }
    }
    let items: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "item")
        .map(|(_, v)| v.clone())
        .collect();
    let note = fields
        .iter()
        .find(|(k, _)| k == "note")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let t = token.clone();
    let n = s
        .with_store(move |st| {
            let link = st.check_owner_link(&t)?;
            st.add_owner_findings(&link, &items, &measured, &note)
        })
        .await
        .map_err(|e| e.0)?;
    let q = if n == 0 { "met=1" } else { "sent=1" };
    Ok(Redirect::to(&format!("/o/{token}?{q}")).into_response())
}

#[derive(Template)]
#[template(path = "self_reports.html")]
struct SelfReportsPage {
    c: Chrome,
    findings: Vec<crate::owner::OwnerFinding>,
}

/// The lead department's queue of owners' self-inspection findings.
pub async fn findings(
    State(s): State<AppState>,
    SignedIn { user, csrf }: SignedIn,
) -> Result<Response, WebError> {
    let u = user.clone();
    let findings = s
        .with_reader(move |st| st.owner_findings(&u))
        .await
        .map_err(|e| e.0)?;
    Ok(html(SelfReportsPage {
        c: Chrome::new(&user, &csrf),
        findings,
    }))
}

#[derive(Debug, Deserialize)]
pub struct FindingForm {
    #[serde(default)]
    csrf: String,
    decision: String,
    #[serde(default)]
    reason: String,
}

/// Registers a finding as a hazard (source self_report) or dismisses it with a reason.
pub async fn decide_finding(
    State(s): State<AppState>,
    AxPath(id): AxPath<String>,
    SignedIn { user, csrf }: SignedIn,
    Form(f): Form<FindingForm>,
) -> Result<Response, WebError> {
    check_csrf(&f.csrf, &csrf)?;
    let register = match f.decision.as_str() {
        "register" => true,
        "dismiss" => false,
        other => {
            return Err(RelayError::BadRequest(format!(
                "unknown decision {other:?} (register or dismiss)"
            ))
            .into());
        }
    };
    let who = user.id.clone();
    let hazard = s
        .with_store(move |st| {
            let hazard = st.decide_owner_finding(&user, &id, register, &f.reason)?;
            let action = if register {
                "self_report.register"
            } else {
                "self_report.dismiss"
            };
            st.audit(
                &user.id,
                action,
                &id,
                hazard.as_deref().unwrap_or(f.reason.trim()),
            )?;
            Ok(hazard)
        })
        .await
        .map_err(|e| e.0)?;
    tracing::info!(user = %who, register, "self-inspection finding decided");
    Ok(Redirect::to(
        &hazard.map_or_else(|| "/self-reports".to_owned(), |h| format!("/hazards/{h}")),
    )
    .into_response())
}

/// An owner's report: the photo goes through the evidence pipeline (a JPEG or PNG of sane size,
/// re-encoded without metadata, hashed), is stored as blobs, and waits for the lead department.
pub async fn report(
    State(s): State<AppState>,
    AxPath(token): AxPath<String>,
    form: Multipart,
) -> Result<Response, WebError> {
    let r = report_inner(&s, token.clone(), form).await;
    or_on_page(&s, token, r).await
}

async fn report_inner(
    s: &AppState,
    token: String,
    mut form: Multipart,
) -> Result<Response, WebError> {
    let (mut hazard, mut note, mut photo) = (String::new(), String::new(), Vec::new());
    let bad = |e: axum::extract::multipart::MultipartError| {
        RelayError::BadRequest(format!("upload: {e}"))
    };
    while let Some(field) = form.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "hazard" => hazard = field.text().await.map_err(bad)?,
            "note" => note = field.text().await.map_err(bad)?,
            "photo" => {
                let bytes = field.bytes().await.map_err(|e| {
                    RelayError::BadRequest(format!(
                        "照片过大或上传中断 The photo is larger than {} MB or the upload broke off: {e}",
                        MAX_PHOTO_BYTES >> 20
                    ))
                })?;
                photo = bytes.to_vec();
            }
            _ => {}
        }
    }
    if photo.is_empty() {
        return Err(RelayError::BadRequest(
            "请选择整改后的照片 Choose a photo of the rectified hazard".into(),
        )
        .into());
    }
    let (t, h, n) = (token.clone(), hazard.clone(), note.clone());
    let link = s
        .with_store(move |st| {
            let link = st.check_owner_link(&t)?;
            st.owner_report_allowed(&link, &h, &n)?;
            Ok(link)
        })
        .await
        .map_err(|e| e.0)?;
    // Decoding and re-encoding is CPU work: off the store lock.
    let blobs = s.blobs.clone();
    let venue_short: String = link.venue_id.chars().take(8).collect();
    let stored = crate::AppState::blocking(move || {
        let ctx = gridsafe_core::evidence::IngestContext {
            venue_short,
            inspector: "业主自查".into(),
            app_gps: None,
            now_ms: gridsafe_core::clock::now_ms(),
        };
        let ev = gridsafe_core::evidence::ingest(&photo, &ctx).map_err(|e| match e {
            gridsafe_core::Error::TooLarge(m) => RelayError::TooLarge(format!(
                "照片过大，请用手机相机的普通照片 The photo is too large: {m}"
            )),
            e => RelayError::BadRequest(format!(
                "不是可用的照片 Not a usable photo (JPEG or PNG): {e}"
            )),
        })?;
        for (sha, bytes) in [
            (&ev.evidence_sha256, &ev.evidence),
            (&ev.thumbnail_sha256, &ev.thumbnail),
        ] {
            blobs.put(sha, bytes)?;
        }
        Ok([
            (ev.evidence_sha256, ev.evidence.len() as u64),
            (ev.thumbnail_sha256, ev.thumbnail.len() as u64),
        ])
    })
    .await
    .map_err(|e| WebError(e.0))?;
    s.with_store(move |st| {
        st.add_owner_report(
            &link,
            &hazard,
            [(&stored[0].0, stored[0].1), (&stored[1].0, stored[1].1)],
            &note,
        )
    })
    .await
    .map_err(|e| e.0)?;
    Ok(Redirect::to(&format!("/o/{token}?sent=1")).into_response())
}

/// The base URL owners reach this relay at, as the office's browser did (a reverse proxy sets
/// X-Forwarded-Proto).
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{proto}://{host}")
}

/// The printable rectification notice of a venue (core's document, the same as the phone shows).
pub async fn notice(
    State(s): State<AppState>,
    headers: HeaderMap,
    AxPath(venue): AxPath<String>,
    SignedIn { user, .. }: SignedIn,
) -> Result<Response, WebError> {
    let base = base_url(&headers);
    let lang = if Chrome::anonymous().en() {
        gridsafe_core::labels::Lang::En
    } else {
        gridsafe_core::labels::Lang::Zh
    };
    let body = s
        .with_store(move |st| {
            let n = st.venue_notice(&user, &venue, &base)?;
            Ok(gridsafe_core::notice::to_html_in(&n, lang)?)
        })
        .await
        .map_err(|e| e.0)?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response())
}

#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    decision: String,
    #[serde(default)]
    reason: String,
}

/// Accept (as the hazard's owner_claim) or reject (with a reason) an owner's report.
pub async fn decide(
    State(s): State<AppState>,
    AxPath((hazard, report)): AxPath<(String, String)>,
    SignedIn { user, csrf }: SignedIn,
    Form(f): Form<DecisionForm>,
) -> Result<Response, WebError> {
    check_csrf(&f.csrf, &csrf)?;
    let accept = match f.decision.as_str() {
        "accept" => true,
        "reject" => false,
        other => {
            return Err(RelayError::BadRequest(format!(
                "unknown decision {other:?} (accept or reject)"
            ))
            .into());
        }
    };
    let (h, who) = (hazard.clone(), user.id.clone());
    s.with_store(move |st| {
        st.decide_owner_report(&user, &h, &report, accept, &f.reason)?;
        let action = if accept {
            "owner_report.accept"
        } else {
            "owner_report.return"
        };
        st.audit(
            &user.id,
            action,
            &h,
            &format!("report {report} {}", f.reason.trim()),
        )
    })
    .await
    .map_err(|e| e.0)?;
    tracing::info!(user = %who, hazard = %hazard, accept, "owner report decided");
    Ok(Redirect::to(&format!("/hazards/{hazard}")).into_response())
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// Ends every owner link of a venue issued until now.
pub async fn revoke_links(
    State(s): State<AppState>,
    AxPath(venue): AxPath<String>,
    SignedIn { user, csrf }: SignedIn,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    check_csrf(&f.csrf, &csrf)?;
    let (v, who) = (venue.clone(), user.id.clone());
    s.with_store(move |st| {
        st.revoke_owner_links(&user, &v)?;
        st.audit(&user.id, "owner_link.revoke", &v, "")
    })
    .await
    .map_err(|e| e.0)?;
    tracing::info!(user = %who, venue = %venue, "owner links revoked");
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, "/hazards")]).into_response())
}
