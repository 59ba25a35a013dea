//! The search page: what the header's search box finds, in the user's scope.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::{Chrome, SignedIn, WebError, html, on_reader};
use crate::AppState;
use crate::search::Hits;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SearchQuery {
    q: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    c: Chrome,
    q: String,
    hits: Hits,
}

pub(crate) async fn page(
    State(s): State<AppState>,
    Query(q): Query<SearchQuery>,
    SignedIn { user, csrf }: SignedIn,
) -> Result<Response, WebError> {
    let (u, text) = (user.clone(), q.q.clone());
    let hits = on_reader(&s, &user, move |conn, dir| {
        crate::search::search(conn, dir, &u, &text)
    })
    .await?;
    Ok(html(SearchPage {
        c: Chrome::new(&user, &csrf),
        q: q.q.trim().to_owned(),
        hits,
    }))
}
