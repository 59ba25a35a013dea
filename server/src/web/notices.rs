//! The issuing body's settings (administrator) and the register of notice numbers (town office
//! and administrator): every block handed out, who holds it, the numbers used and the gaps.

use super::*;
use crate::AppState;
use crate::error::RelayError;
use askama::Template;
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use gridsafe_core::issuer::Issuer;
use gridsafe_core::policy::{self, Capability};
use serde::Deserialize;
use session::SignedIn;

#[derive(Debug, Deserialize)]
pub(crate) struct IssuerForm {
    #[serde(default)]
    csrf: String,
    name_zh: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    contact: String,
    notice_prefix: String,
    #[serde(default)]
    public_url: String,
}

/// Sets the issuing body; phones receive it on their next sync.
pub(crate) async fn set_issuer(
    State(s): State<AppState>,
    SignedIn { user, csrf }: SignedIn,
    Form(f): Form<IssuerForm>,
) -> Result<Response, WebError> {
    check_csrf(&f.csrf, &csrf)?;
    let issuer = Issuer {
        name_zh: f.name_zh.trim().to_owned(),
        name_en: f.name_en.trim().to_owned(),
        address: f.address.trim().to_owned(),
        contact: f.contact.trim().to_owned(),
        notice_prefix: f.notice_prefix.trim().to_owned(),
        public_url: f.public_url.trim().to_owned(),
    };
    s.with_store(move |st| {
        let name = issuer.name_zh.clone();
        st.set_issuer(&user, issuer)?;
        st.audit(&user.id, "issuer.save", "issuer", &name)
    })
    .await
    .map_err(|e| e.0)?;
    Ok(Redirect::to("/admin/users#issuer").into_response())
}

pub(crate) struct BlockView {
    holder: String,
    range: String,
    allotted: String,
    used: Vec<String>,
    /// Numbers of the block not (yet) reported used, as ranges.
    unused: String,
}

#[derive(Template)]
#[template(path = "notices.html")]
pub(crate) struct RegisterPage {
    c: Chrome,
    year: i32,
    blocks: Vec<BlockView>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RegisterQuery {
    year: Option<i32>,
}

/// Ranges of the numbers in `first..=last` not in `used`, as 0105–0110、0112.
fn gaps(first: u32, last: u32, used: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut start: Option<u32> = None;
    for n in first..=last + 1 {
        let free = n <= last && !used.contains(&n);
        match (free, start) {
            (true, None) => start = Some(n),
            (false, Some(s)) => {
                out.push(if s == n - 1 {
                    format!("{s:04}")
                } else {
                    format!("{s:04}–{:04}", n - 1)
                });
                start = None;
            }
            _ => {}
        }
    }
    out.join("、")
}

pub(crate) async fn register(
    State(s): State<AppState>,
    Query(q): Query<RegisterQuery>,
    SignedIn { user, csrf }: SignedIn,
) -> Result<Response, WebError> {
    policy::check(&user, Capability::SeeDeviceHealth).map_err(RelayError::Forbidden)?;
    let year = q
        .year
        .unwrap_or_else(|| gridsafe_core::clock::today().year());
    let (blocks, venues) = s
        .with_reader(move |st| {
            let blocks = st.notice_register(year)?;
            let mut names = std::collections::HashMap::new();
            for b in &blocks {
                for (_, v, _) in &b.used {
                    if !names.contains_key(v)
                        && let Ok(venue) = st.load_venue(v)
                    {
                        names.insert(v.clone(), venue.name);
                    }
                }
            }
            Ok((blocks, names))
        })
        .await
        .map_err(|e| e.0)?;
    let c = Chrome::new(&user, &csrf);
    let blocks = blocks
        .into_iter()
        .map(|b| {
            let numbers: Vec<u32> = b.used.iter().map(|u| u.0).collect();
            BlockView {
                holder: format!("{} · {}", c.user(&b.user_id), b.device_name),
                range: format!("{:04}–{:04}", b.block.first, b.block.last),
                allotted: gridsafe_core::clock::ms_to_minute(b.allotted_ms),
                used: b
                    .used
                    .iter()
                    .map(|(n, v, at)| {
                        format!(
                            "{n:04} {} {}",
                            venues.get(v).map_or("—", String::as_str),
                            gridsafe_core::clock::ms_to_minute(*at)
                        )
                    })
                    .collect(),
                unused: gaps(b.block.first, b.block.last, &numbers),
            }
        })
        .collect();
    Ok(html(RegisterPage { c, year, blocks }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn gaps_are_the_numbers_not_used() {
        assert_eq!(
            super::gaps(101, 110, &[101, 102, 105]),
            "0103–0104、0106–0110"
        );
        assert_eq!(super::gaps(1, 3, &[1, 2, 3]), "");
        assert_eq!(super::gaps(1, 3, &[2]), "0001、0003");
    }
}
