//! The town office's intake of public reports (12345, 随申拍): the list of tickets and what the
//! grid workers found, one ticket entered by hand, or a CSV export imported all or nothing.

use askama::Template;
use axum::extract::{Form, Multipart, State};
use axum::response::Response;
use gridsafe_core::directory::User;
use gridsafe_core::policy::{self, Capability};
use gridsafe_core::store::TaskRow;
use serde::Deserialize;

use super::{Chrome, SignedIn, WebError, check_csrf, html};
use crate::AppState;
use crate::error::RelayError;
use crate::intake::{Ticket, parse_csv};

#[derive(Template)]
#[template(path = "intake.html")]
struct IntakePage {
    c: Chrome,
    tasks: Vec<TaskRow>,
    grids: Vec<(String, String)>,
    notice: Option<String>,
}

fn office_only(user: &User) -> Result<(), WebError> {
    Ok(policy::check(user, Capability::EnterPublicReports).map_err(RelayError::Forbidden)?)
}

async fn render(
    s: &AppState,
    user: &User,
    csrf: &str,
    notice: Option<String>,
) -> Result<Response, WebError> {
    let (tasks, grids) = s
        .with_reader(|st| {
            let grids = st
                .directory()
                .map(|d| {
                    d.grids
                        .iter()
                        .map(|g| (g.id.clone(), g.name_zh.clone()))
                        .collect()
                })
                .unwrap_or_default();
            Ok((st.tasks(300)?, grids))
        })
        .await
        .map_err(|e| e.0)?;
    Ok(html(IntakePage {
        c: Chrome::new(user, csrf),
        tasks,
        grids,
        notice,
    }))
}

pub async fn page(
    State(s): State<AppState>,
    SignedIn { user, csrf }: SignedIn,
) -> Result<Response, WebError> {
    office_only(&user)?;
    render(&s, &user, &csrf, None).await
}

#[derive(Debug, Deserialize)]
pub struct TicketForm {
    #[serde(default)]
    csrf: String,
    ticket_no: String,
    #[serde(default)]
    channel: String,
    received_at: String,
    address: String,
    description: String,
    category: String,
    grid: String,
}

/// One ticket entered by hand.
pub async fn add(
    State(s): State<AppState>,
    SignedIn { user, csrf }: SignedIn,
    Form(f): Form<TicketForm>,
) -> Result<Response, WebError> {
    office_only(&user)?;
    check_csrf(&f.csrf, &csrf)?;
    let t = Ticket {
        ticket_no: f.ticket_no,
        channel: if f.channel.trim().is_empty() {
            "12345".into()
        } else {
            f.channel
        },
        received_at: f.received_at,
        address: f.address,
        description: f.description,
        category: f.category,
        grid: f.grid,
    };
    let u = user.clone();
    let n = s
        .with_store(move |st| {
            let n = st.import_tickets(&u, &[(1, t)])?;
            st.audit(&u.id, "intake.ticket", "12345", &n.to_string())?;
            Ok(n)
        })
        .await
        .map_err(|e| e.0)?;
    tracing::info!(user = %user.id, n, "public report entered");
    let c = Chrome::new(&user, &csrf);
    let msg = format!("{} {n}", c.t("已登记工单", "Tickets registered:"));
    render(&s, &user, &csrf, Some(msg)).await
}

/// A CSV export: every line checked first; one bad line and nothing is imported.
pub async fn import(
    State(s): State<AppState>,
    SignedIn { user, csrf }: SignedIn,
    mut form: Multipart,
) -> Result<Response, WebError> {
    office_only(&user)?;
    let (mut form_csrf, mut file) = (String::new(), Vec::new());
    let bad = |e: axum::extract::multipart::MultipartError| {
        RelayError::BadRequest(format!("upload: {e}"))
    };
    while let Some(field) = form.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "csrf" => form_csrf = field.text().await.map_err(bad)?,
            "file" => file = field.bytes().await.map_err(bad)?.to_vec(),
            _ => {}
        }
    }
    check_csrf(&form_csrf, &csrf)?;
    let tickets = parse_csv(&file).map_err(|errors| {
        RelayError::BadRequest(format!(
            "nothing imported; fix these lines: {}",
            errors.join("; ")
        ))
    })?;
    let u = user.clone();
    let n = s
        .with_store(move |st| {
            let n = st.import_tickets(&u, &tickets)?;
            st.audit(&u.id, "intake.import", "12345", &format!("{n} tickets"))?;
            Ok(n)
        })
        .await
        .map_err(|e| e.0)?;
    tracing::info!(user = %user.id, n, "public reports imported");
    let c = Chrome::new(&user, &csrf);
    let msg = format!("{} {n}", c.t("已导入工单", "Tickets imported:"));
    render(&s, &user, &csrf, Some(msg)).await
}
