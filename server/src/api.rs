//! The phones' HTTP API (protocol v1, docs/protocol.md): enrolment, sync, resumable photo upload
//! and download, the owner key.

use crate::blobs;
use crate::error::ApiError;
use crate::error::RelayError;
use crate::state::AppState;
use crate::store::{self};
use crate::store::{BlobAccess, Device};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path as AxPath, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gridsafe_core::sync::{PROTOCOL, SyncRequest, SyncResponse};
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// `password` or `code` (a one-time enrolment code from `gridsafe-server admin enrol-code`).
#[derive(Debug, Deserialize)]
pub(crate) struct EnrollBody {
    user: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    device_name: String,
    #[serde(default)]
    actors: Vec<String>,
}

pub(crate) async fn enroll(
    State(s): State<AppState>,
    Json(b): Json<EnrollBody>,
) -> Result<impl IntoResponse, ApiError> {
    let name = if b.device_name.trim().is_empty() {
        "phone".to_owned()
    } else {
        b.device_name.chars().take(64).collect()
    };
    let e = s
        .with_store(move |st| match (&b.password, &b.code) {
            (Some(p), None) => st.enroll(&b.user, p, &name, &b.actors),
            (None, Some(c)) => st.enroll_with_code(&b.user, c, &name, &b.actors),
            _ => Err(RelayError::BadRequest(
                "give either a password or an enrolment code".into(),
            )),
        })
        .await?;
    s.metrics.enrolments.fetch_add(1, Ordering::Relaxed);
    tracing::info!(user = %e.user_id, device = %e.device_id, "device enrolled");
    Ok(Json(e))
}

pub(crate) fn bearer(h: &HeaderMap) -> Result<String, ApiError> {
    h.get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
        .ok_or_else(|| ApiError(RelayError::Unauthorized("missing bearer token".into())))
}

/// One sync round trip, in the phases described in `store`: only looking up the stored records
/// and writing the accepted ones hold the store lock; decoding, checking, pulling and encoding
/// run beside other requests.
pub(crate) async fn sync_phases(
    s: &AppState,
    token: String,
    body: Bytes,
) -> Result<Vec<u8>, ApiError> {
    let device = s.with_store(move |st| st.authenticate(&token)).await?;
    store::refuse_admin(&device).map_err(ApiError)?;
    let req = AppState::blocking(move || {
        SyncRequest::decode(&body).map_err(|e| RelayError::BadRequest(e.to_string()))
    })
    .await?;
    let req = Arc::new(req);
    let r = req.clone();
    let stored = s.with_store(move |st| st.stored(&r)).await?;
    let (r, dev) = (req.clone(), device.clone());
    let checked = AppState::blocking(move || {
        Ok(r.push
            .iter()
            .zip(&stored)
            .map(|(d, b)| store::check(&dev, d, b.as_deref()))
            .collect::<Vec<_>>())
    })
    .await?;
    let (status, dev) = (req.status.clone(), device.clone());
    let (issuer, notice_block, notices_recorded) = s
        .with_store(move |st| st.notice_answer(&dev, &status))
        .await?;
    let (r, dev) = (req.clone(), device.clone());
    let store::Committed {
        accepted,
        refused,
        directory,
        templates,
    } = s.with_store(move |st| st.commit(&dev, &r, checked)).await?;
    let (readers, dev, cursor) = (s.readers.clone(), device.clone(), req.cursor);
    let metrics = s.metrics.clone();
    AppState::blocking(move || {
        let (pull, cursor, more, actors, dropped) =
            readers.with_db(|db| store::pull(db, &dev, cursor))?;
        // A record leaving this phone's scope: the relay holds everything up to the heads the
        // phone pushed, which is all the phone needs to know to let it go (it will never pull
        // the rest).
        let mut accepted = accepted;
        for a in accepted.iter_mut().filter(|a| dropped.contains(&a.doc_id)) {
            if let Some(p) = req.push.iter().find(|p| p.doc_id == a.doc_id && !p.heads.is_empty()) {
                a.heads = p.heads.clone();
            }
        }
        tracing::info!(device = %dev.id, user = %dev.user.id, pushed = req.push.len(), accepted = accepted.len(),
            refused = refused.len(), pulled = pull.len(), cursor, "sync");
        for r in &refused {
            tracing::info!(device = %dev.id, user = %dev.user.id, record = %r.doc_id, reason = %r.reason, "record refused");
        }
        metrics.docs_accepted.fetch_add(accepted.len() as u64, Ordering::Relaxed);
        metrics.docs_refused.fetch_add(refused.len() as u64, Ordering::Relaxed);
        let resp = SyncResponse {
            protocol: PROTOCOL,
            accepted,
            refused,
            pull,
            cursor,
            more,
            directory,
            templates,
            actors,
            server_ms: gridsafe_core::clock::now_ms(),
            dropped,
            issuer,
            notice_block,
            notices_recorded,
        };
        Ok(resp.encode())
    })
    .await
}

pub(crate) async fn sync(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let token = bearer(&headers)?;
    s.metrics.syncs.fetch_add(1, Ordering::Relaxed);
    match sync_phases(&s, token, body).await {
        Ok(bytes) => Ok(([(header::CONTENT_TYPE, "application/cbor")], bytes).into_response()),
        Err(e) => {
            s.metrics.sync_errors.fetch_add(1, Ordering::Relaxed);
            Err(e)
        }
    }
}

/// Largest photo accepted, and the largest chunk of one upload request.
pub const MAX_BLOB: u64 = 40 * 1024 * 1024;

pub const MAX_CHUNK: usize = 1024 * 1024;

pub(crate) fn check_sha(sha: &str) -> Result<(), ApiError> {
    // Also what keeps a blob id from ever naming a path outside the blob directory.
    if sha.len() == 64
        && sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(ApiError(RelayError::BadRequest(format!(
            "blob id {sha:?} is not a lowercase SHA-256 hex string"
        ))))
    }
}

/// A photo is the business of the devices whose scope covers a record referencing it: they may
/// upload it, ask how much of it the relay holds, and download it. A phone syncs the record
/// first, then its photos; a hash no record references is nobody's to send. A device whose
/// records reference a photo other people's records held first may only send its bytes.
fn bound(
    st: &mut crate::store::RelayStore,
    device: &Device,
    sha: &str,
) -> Result<BlobAccess, RelayError> {
    match st.blob_access(&device.user, sha)? {
        BlobAccess::None => Err(RelayError::Forbidden(
            "no record in your scope references this photo; sync the record first".into(),
        )),
        access => Ok(access),
    }
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct BlobStatus {
    /// Bytes the relay holds of this photo (the client resumes from here).
    pub have: u64,
    pub complete: bool,
}

pub(crate) async fn blob_status(
    State(s): State<AppState>,
    headers: HeaderMap,
    AxPath(sha): AxPath<String>,
) -> Result<Json<BlobStatus>, ApiError> {
    let token = bearer(&headers)?;
    check_sha(&sha)?;
    let (sha, complete, proof) = s
        .with_store(move |st| {
            let device = st.authenticate(&token)?;
            let access = bound(st, &device, &sha)?;
            let complete = st.blob_complete(&sha)?;
            let proof = (complete && access == BlobAccess::NeedsProof).then_some(device.id);
            Ok((sha, complete, proof))
        })
        .await?;
    let blobs = s.blobs.clone();
    let st = AppState::blocking(move || {
        if let Some(who) = proof {
            return Ok(BlobStatus {
                have: blobs.proved(&sha, &who)?,
                complete: false,
            });
        }
        if complete && let Some(size) = blobs.size(&sha)? {
            return Ok(BlobStatus {
                have: size,
                complete: true,
            });
        }
        Ok(BlobStatus {
            have: blobs.partial(&sha)?,
            complete: false,
        })
    })
    .await?;
    Ok(Json(st))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChunkQuery {
    offset: u64,
    total: u64,
}

/// Appends one chunk at `offset`; on the last chunk the whole file is checked against its SHA-256
/// before it becomes visible. An offset other than the bytes held → 409 with the relay's count,
/// from which the client resumes. File work runs without the store lock.
pub(crate) async fn blob_put(
    State(s): State<AppState>,
    headers: HeaderMap,
    AxPath(sha): AxPath<String>,
    Query(q): Query<ChunkQuery>,
    body: Bytes,
) -> Result<(StatusCode, Json<BlobStatus>), ApiError> {
    let token = bearer(&headers)?;
    check_sha(&sha)?;
    if q.total == 0 {
        return Err(ApiError(RelayError::BadRequest(
            "total: a photo has at least one byte".into(),
        )));
    }
    if q.total > MAX_BLOB {
        return Err(ApiError(RelayError::TooLarge(format!(
            "total: a photo of {} bytes is above the limit of {MAX_BLOB} bytes",
            q.total
        ))));
    }
    if q.offset
        .checked_add(body.len() as u64)
        .is_none_or(|end| end > q.total)
    {
        return Err(ApiError(RelayError::BadRequest(
            "offset: the chunk runs past the declared total".into(),
        )));
    }
    let (device, complete, access) = {
        let sha = sha.clone();
        s.with_store(move |st| {
            let device = st.authenticate(&token)?;
            let access = bound(st, &device, &sha)?;
            Ok((device, st.blob_complete(&sha)?, access))
        })
        .await?
    };
    if complete && access == BlobAccess::NeedsProof {
        let (blobs, sha2, who) = (s.blobs.clone(), sha.clone(), device.id.clone());
        let proved =
            AppState::blocking(move || blobs.prove(&sha2, &who, q.offset, &body, q.total)).await?;
        if let blobs::Appended::Complete { .. } = proved {
            s.with_store(move |st| st.grant_blob(&device, &sha)).await?;
        }
        let (code, have, complete) = match proved {
            blobs::Appended::Resume { have } => (StatusCode::CONFLICT, have, false),
            blobs::Appended::Partial { have } => (StatusCode::OK, have, false),
            blobs::Appended::Complete { size } => (StatusCode::OK, size, true),
        };
        return Ok((code, Json(BlobStatus { have, complete })));
    }
    if complete {
        return Ok((
            StatusCode::OK,
            Json(BlobStatus {
                have: q.total,
                complete: true,
            }),
        ));
    }
    let blobs = s.blobs.clone();
    let sha2 = sha.clone();
    let appended =
        AppState::blocking(move || blobs.append(&sha2, q.offset, &body, q.total)).await?;
    match appended {
        // Not an error the client must show: it resumes from what the relay holds.
        blobs::Appended::Resume { have } => Ok((
            StatusCode::CONFLICT,
            Json(BlobStatus {
                have,
                complete: false,
            }),
        )),
        blobs::Appended::Partial { have } => Ok((
            StatusCode::OK,
            Json(BlobStatus {
                have,
                complete: false,
            }),
        )),
        blobs::Appended::Complete { size } => {
            s.with_store(move |st| {
                st.blob_completed(&sha, size, &device)?;
                // Whoever sent the bytes holds the photo: their references give access.
                st.grant_blob(&device, &sha)
            })
            .await?;
            Ok((
                StatusCode::OK,
                Json(BlobStatus {
                    have: size,
                    complete: true,
                }),
            ))
        }
    }
}

pub(crate) async fn blob_get(
    State(s): State<AppState>,
    headers: HeaderMap,
    AxPath(sha): AxPath<String>,
) -> Result<Response, ApiError> {
    let token = bearer(&headers)?;
    check_sha(&sha)?;
    let sha = s
        .with_store(move |st| {
            let device = st.authenticate(&token)?;
            if bound(st, &device, &sha)? != BlobAccess::Granted {
                return Err(RelayError::Forbidden(
                    "this photo belongs to records outside your scope; send it to gain access"
                        .into(),
                ));
            }
            if !st.blob_complete(&sha)? {
                return Err(RelayError::NotFound(
                    "this photo has not been uploaded yet".into(),
                ));
            }
            Ok(sha)
        })
        .await?;
    let blobs = s.blobs.clone();
    let bytes = AppState::blocking(move || blobs.get(&sha)).await?;
    Ok(([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response())
}

/// The device's owner key (phones enrolled before owner links existed fetch it once).
pub(crate) async fn owner_key(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let token = bearer(&headers)?;
    let key = s
        .with_store(move |st| {
            let device = st.authenticate(&token)?;
            st.owner_key(&device)
        })
        .await?;
    Ok(Json(serde_json::json!({ "owner_key": key })))
}
