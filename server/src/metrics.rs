//! `/metrics` in the Prometheus text format: request counters, stored records, and the hazard
//! gauges the town office tracks to zero.

use crate::error::{ApiError, RelayError};
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use std::sync::atomic::Ordering;

/// Who may read `/metrics`: with a token configured, a request carrying it; without one, only
/// this machine (the figures name villages and departments: they are not for the internet).
fn allowed(s: &AppState, req: &axum::extract::Request) -> Result<(), ApiError> {
    match &s.options.metrics_token {
        Some(token) => {
            use subtle::ConstantTimeEq;
            let given = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            if bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
                Ok(())
            } else {
                Err(ApiError(RelayError::Unauthorized(
                    "/metrics needs the metrics token (Authorization: Bearer …)".into(),
                )))
            }
        }
        None => {
            let local = req
                .extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .is_some_and(|c| c.0.ip().is_loopback());
            if local {
                Ok(())
            } else {
                Err(ApiError(RelayError::Forbidden(
                    "/metrics answers this machine only; start the relay with --metrics-token to read it from elsewhere".into(),
                )))
            }
        }
    }
}

pub(crate) async fn metrics(
    State(s): State<AppState>,
    req: axum::extract::Request,
) -> Result<impl IntoResponse, ApiError> {
    allowed(&s, &req)?;
    let today = gridsafe_core::clock::format_date(gridsafe_core::clock::today());
    let ((docs, changes, devices), hazards, by_dept) = s
        .with_reader(move |st| {
            Ok((
                st.counts()?,
                st.hazard_summary(&today)?,
                st.open_by_department()?,
            ))
        })
        .await?;
    let m = &s.metrics;
    let mut out = String::new();
    for (name, help, kind, v) in [
        (
            "gridsafe_syncs_total",
            "Sync requests received",
            "counter",
            m.syncs.load(Ordering::Relaxed) as i64,
        ),
        (
            "gridsafe_sync_errors_total",
            "Sync requests that failed",
            "counter",
            m.sync_errors.load(Ordering::Relaxed) as i64,
        ),
        (
            "gridsafe_docs_accepted_total",
            "Records accepted from phones",
            "counter",
            m.docs_accepted.load(Ordering::Relaxed) as i64,
        ),
        (
            "gridsafe_docs_refused_total",
            "Records refused (scope, actor, shape)",
            "counter",
            m.docs_refused.load(Ordering::Relaxed) as i64,
        ),
        (
            "gridsafe_enrolments_total",
            "Devices enrolled",
            "counter",
            m.enrolments.load(Ordering::Relaxed) as i64,
        ),
        ("gridsafe_documents", "Records stored", "gauge", docs),
        ("gridsafe_changes", "Changes in the log", "gauge", changes),
        ("gridsafe_devices", "Active devices", "gauge", devices),
    ] {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
        ));
    }
    // From the projections: what the town office tracks to zero.
    out.push_str("# HELP gridsafe_hazards Hazards by village, domain, state and severity\n# TYPE gridsafe_hazards gauge\n");
    for h in &hazards {
        out.push_str(&format!(
            "gridsafe_hazards{{village=\"{}\",domain=\"{}\",state=\"{}\",severity=\"{}\"}} {}\n",
            label(&h.village),
            label(&h.domain),
            label(&h.state),
            label(&h.severity),
            h.count
        ));
    }
    out.push_str("# HELP gridsafe_hazards_overdue Hazards past their deadline, still awaiting rectification\n# TYPE gridsafe_hazards_overdue gauge\n");
    let mut overdue: std::collections::BTreeMap<(&str, &str), i64> =
        std::collections::BTreeMap::new();
    for h in &hazards {
        *overdue.entry((&h.village, &h.domain)).or_default() += h.overdue;
    }
    for ((village, domain), n) in overdue {
        out.push_str(&format!(
            "gridsafe_hazards_overdue{{village=\"{}\",domain=\"{}\"}} {n}\n",
            label(village),
            label(domain)
        ));
    }
    out.push_str(
        "# HELP gridsafe_hazards_open_by_department Open hazards per lead department\n# TYPE gridsafe_hazards_open_by_department gauge\n",
    );
    for (dept, n) in by_dept {
        out.push_str(&format!(
            "gridsafe_hazards_open_by_department{{department=\"{}\"}} {n}\n",
            label(&dept)
        ));
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out))
}

/// A Prometheus label value, escaped.
pub(crate) fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
