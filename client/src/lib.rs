//! The field client's network side: enrolment, sync and photo upload over HTTP, driving core's
//! sans-IO sync. The `gridsafe` CLI, the FFI (phones), the demo's simulated phones and the tests
//! all use it, so there is one client implementation.
use std::time::Duration;

use anyhow::{Context, Result, bail};
use gridsafe_core::Store;
use gridsafe_core::sync::SyncResponse;
use serde::{Deserialize, Serialize};

/// Bytes of changes pushed per request before the rest waits for the next round trip.
pub const PUSH_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Serialize)]
struct EnrollBody<'a> {
    user: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    device_name: &'a str,
    actors: Vec<String>,
}

/// How a user proves who they are when enrolling a phone.
#[derive(Clone, Copy, Debug)]
pub enum Secret<'a> {
    Password(&'a str),
    /// A one-time enrolment code from the office (`gridsafe-server admin enrol-code`).
    Code(&'a str),
}

#[derive(Debug, Deserialize)]
struct Enrolled {
    device_id: String,
    token: String,
    user_id: String,
    actors: Vec<String>,
    /// Relays before owner links send none; the phone fetches it on its next sync.
    #[serde(default)]
    owner_key: Option<String>,
}

/// An HTTP agent for the relay (keeps connections open between requests).
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(120)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// Enrols this phone with the relay for `user` with a password; binds the phone's existing
/// actors for that user.
pub fn enroll(
    store: &mut Store,
    server: &str,
    user: &str,
    password: &str,
    device_name: &str,
) -> Result<String> {
    enroll_with(store, server, user, Secret::Password(password), device_name)
}

/// The relay's address, checked: HTTPS, or plain HTTP only to this machine (tests, the demo). A
/// phone never sends a password, a code or its records in the clear over a network.
pub fn check_server_url(server: &str) -> Result<()> {
    let uri: ureq::http::Uri = server
        .parse()
        .with_context(|| format!("relay address {server:?} is not a URL"))?;
    let host = uri.host().unwrap_or_default();
    match uri.scheme_str() {
        Some("https") if !host.is_empty() => Ok(()),
        Some("http") if matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1") => Ok(()),
        Some("http") => {
            bail!("relay address {server:?}: use https:// (plain http only to this machine)")
        }
        _ => bail!("relay address {server:?}: expected https://host[:port]"),
    }
}

/// Enrols this phone with a password or a one-time code.
pub fn enroll_with(
    store: &mut Store,
    server: &str,
    user: &str,
    secret: Secret<'_>,
    device_name: &str,
) -> Result<String> {
    check_server_url(server)?;
    let actors: Vec<String> = store
        .local_actors()?
        .into_iter()
        .filter(|(_, u)| u == user)
        .map(|(a, _)| a)
        .collect();
    let url = format!("{}/v1/enroll", server.trim_end_matches('/'));
    let (password, code) = match secret {
        Secret::Password(p) => (Some(p), None),
        Secret::Code(c) => (None, Some(c)),
    };
    let mut resp = agent()
        .post(&url)
        .send_json(EnrollBody {
            user,
            password,
            code,
            device_name,
            actors,
        })
        .with_context(|| format!("cannot reach the relay at {server}"))?;
    if !resp.status().is_success() {
        return Err(refused("enrolment", &mut resp));
    }
    let e: Enrolled = resp
        .body_mut()
        .read_json()
        .context("the relay's enrolment answer is malformed")?;
    store.set_enrollment(
        server.trim_end_matches('/'),
        &e.device_id,
        &e.token,
        &e.user_id,
        &e.actors,
    )?;
    if let Some(k) = &e.owner_key {
        store.set_owner_key(k)?;
    }
    Ok(e.device_id)
}

/// Progress of one sync, reported after every round trip.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Progress {
    pub round_trips: u32,
    pub docs_pushed: usize,
    pub docs_pulled: usize,
    pub bytes_sent: usize,
    pub bytes_received: usize,
    pub photos_uploaded: usize,
    pub refused: Vec<(String, String)>,
}

/// Bytes per photo upload request: an evidence copy (≤ ~400 kB) goes in one request; a cut
/// connection loses at most this much (4 s at 1 Mbit/s).
pub const CHUNK: usize = 512 * 1024;
/// Photos uploaded at once: on a slow link this hides each request's round trip behind the
/// other uploads' bytes.
pub const UPLOADS_AT_ONCE: usize = 3;

#[derive(Debug, Deserialize)]
struct BlobStatus {
    have: u64,
    complete: bool,
}

/// The relay answered a request with an error status: what was asked, the status and the
/// relay's reason. Callers branch on the status (401: enrol again; 403: this record or photo is
/// not the phone's to send; 413: too large; 5xx: try again later), never on the text.
#[derive(Debug)]
pub struct RelayAnswer {
    pub what: &'static str,
    pub status: u16,
    pub text: String,
}

impl std::fmt::Display for RelayAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.status == 401 && self.what != "enrolment" {
            write!(
                f,
                "the relay no longer accepts this phone ({}); enrol again",
                self.text
            )
        } else {
            write!(f, "{} refused ({}): {}", self.what, self.status, self.text)
        }
    }
}

impl std::error::Error for RelayAnswer {}

fn refused(what: &'static str, r: &mut ureq::http::Response<ureq::Body>) -> anyhow::Error {
    RelayAnswer {
        what,
        status: r.status().as_u16(),
        text: r.body_mut().read_to_string().unwrap_or_default(),
    }
    .into()
}

fn blob_status(agent: &ureq::Agent, server: &str, token: &str, sha: &str) -> Result<BlobStatus> {
    let mut r = agent
        .get(&format!("{server}/v1/blobs/{sha}/status"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()?;
    if !r.status().is_success() {
        return Err(refused("photo status", &mut r));
    }
    Ok(r.body_mut().read_json()?)
}

/// Uploads one photo, resuming from the bytes the relay already holds. `stop_after` cuts the
/// upload after that many bytes were sent (to test resumption). Returns the bytes sent.
///
/// A photo that fits one chunk is sent straight away (one request); a larger one first asks
/// how much the relay holds. Either way, a relay holding a different amount answers 409 with
/// its count and the upload continues from there.
pub fn upload_blob(
    agent: &ureq::Agent,
    server: &str,
    token: &str,
    sha: &str,
    bytes: &[u8],
    chunk: usize,
    stop_after: Option<usize>,
) -> Result<usize> {
    let mut offset = 0;
    if bytes.len() > chunk {
        let st = blob_status(agent, server, token, sha)?;
        if st.complete {
            return Ok(0);
        }
        offset = st.have as usize;
    }
    let mut sent = 0;
    let mut conflicts = 0;
    while offset < bytes.len() {
        if stop_after.is_some_and(|s| sent >= s) {
            return Ok(sent);
        }
        let end = (offset + chunk).min(bytes.len());
        let mut r = agent
            .put(&format!(
                "{server}/v1/blobs/{sha}?offset={offset}&total={}",
                bytes.len()
            ))
            .header("Authorization", &format!("Bearer {token}"))
            .send(&bytes[offset..end])?;
        sent += end - offset;
        let status = r.status().as_u16();
        if status == 409 && conflicts < 3 {
            conflicts += 1;
            let st: BlobStatus = r
                .body_mut()
                .read_json()
                .context("the relay's photo status is malformed")?;
            if st.complete {
                break;
            }
            offset = st.have as usize;
            continue;
        }
        if !r.status().is_success() {
            return Err(refused("photo upload", &mut r));
        }
        let st: BlobStatus = r.body_mut().read_json()?;
        offset = st.have as usize;
        if st.complete {
            break;
        }
    }
    Ok(sent)
}

/// Uploads pending photos, thumbnails and evidence copies before originals (originals only
/// when `originals` is set, e.g. on an unmetered network), [`UPLOADS_AT_ONCE`] at a time over
/// one connection pool. Each photo is marked uploaded as soon as the relay confirms it, so an
/// interrupted run loses nothing; the first failure stops the run after the uploads in flight.
pub fn upload_photos(
    store: &mut Store,
    originals: bool,
    on_progress: &mut dyn FnMut(&Progress),
    p: &mut Progress,
) -> Result<()> {
    upload_photos_until(store, originals, on_progress, p, &|| false)
}

/// A sync stopped because the caller cancelled it. Everything confirmed before is kept; the next
/// sync continues from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sync cancelled; what was confirmed is kept and the next sync continues")
    }
}

impl std::error::Error for Cancelled {}

/// [`upload_photos`], checking `cancelled` before each photo: once it says so, the uploads in
/// flight finish (and are recorded) and the call returns [`Cancelled`].
pub fn upload_photos_until(
    store: &mut Store,
    originals: bool,
    on_progress: &mut dyn FnMut(&Progress),
    p: &mut Progress,
    cancelled: &dyn Fn() -> bool,
) -> Result<()> {
    let (server, token, _) = store
        .enrollment()?
        .context("this phone is not enrolled (run `gridsafe enroll`)")?;
    let mut queue = store.pending_uploads(originals)?.into_iter();
    let agent = agent();
    let (work_tx, work_rx) = std::sync::mpsc::channel::<(String, Vec<u8>)>();
    let work_rx = std::sync::Mutex::new(work_rx);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<(String, Result<usize>)>();
    std::thread::scope(|scope| {
        for _ in 0..UPLOADS_AT_ONCE {
            let (rx, done, agent, server, token) =
                (&work_rx, done_tx.clone(), &agent, &server, &token);
            scope.spawn(move || {
                loop {
                    let job = rx
                        .lock()
                        .map_err(|_| ())
                        .and_then(|r| r.recv().map_err(|_| ()));
                    let Ok((sha, bytes)) = job else { return };
                    let r = upload_blob(agent, server, token, &sha, &bytes, CHUNK, None);
                    if done.send((sha, r)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let mut in_flight = 0;
        let mut failed: Option<anyhow::Error> = None;
        loop {
            if failed.is_none() && cancelled() {
                failed = Some(Cancelled.into());
            }
            if failed.is_none()
                && in_flight < UPLOADS_AT_ONCE
                && let Some((sha, _, _)) = queue.next()
            {
                match store.blob(&sha) {
                    Ok(bytes) => {
                        let _ = work_tx.send((sha, bytes));
                        in_flight += 1;
                    }
                    Err(e) => failed = Some(e.into()),
                }
                continue;
            }
            if in_flight == 0 {
                break;
            }
            let Ok((sha, r)) = done_rx.recv() else { break };
            in_flight -= 1;
            // A photo the relay refuses (403: no record it holds references it yet, e.g. its
            // record was refused; 413) stays on the phone, and the others go on: it is reported,
            // not a reason to stop the sync.
            let refused_here = match &r {
                Err(e) => e
                    .downcast_ref::<RelayAnswer>()
                    .filter(|a| matches!(a.status, 403 | 413))
                    .map(|a| a.to_string()),
                Ok(_) => None,
            };
            if let Some(why) = refused_here {
                p.refused
                    .push((sha.clone(), format!("photo not sent: {why}")));
                on_progress(p);
                continue;
            }
            match r.and_then(|n| store.mark_uploaded(&sha).map(|_| n).map_err(Into::into)) {
                Ok(n) => {
                    p.bytes_sent += n;
                    p.photos_uploaded += 1;
                    on_progress(p);
                }
                Err(e) => {
                    failed.get_or_insert(e.context(format!("photo {sha}")));
                }
            }
        }
        drop(work_tx);
        failed.map_or(Ok(()), Err)
    })
}

/// Syncs records, then photos. Safe to interrupt anywhere: nothing is marked sent before the
/// relay acknowledged it, the cursor only moves with the pulled changes, and a photo resumes
/// from the last byte the relay holds.
pub fn sync_all(
    store: &mut Store,
    originals: bool,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<Progress> {
    sync_all_until(store, originals, on_progress, &|| false)
}

/// [`sync_all`] that stops at the next safe point (between round trips, between photos) once
/// `cancelled` returns true, with the error [`Cancelled`].
pub fn sync_all_until(
    store: &mut Store,
    originals: bool,
    on_progress: &mut dyn FnMut(&Progress),
    cancelled: &dyn Fn() -> bool,
) -> Result<Progress> {
    let mut p = sync_until(store, on_progress, cancelled)?;
    upload_photos_until(store, originals, on_progress, &mut p, cancelled)?;
    Ok(p)
}

/// Syncs records until neither side has anything left.
pub fn sync(store: &mut Store, on_progress: &mut dyn FnMut(&Progress)) -> Result<Progress> {
    sync_until(store, on_progress, &|| false)
}

/// Fetches the device's owner key (signs the owner links on notices) for a phone enrolled before
/// relays issued one at enrolment.
fn fetch_owner_key(
    store: &mut Store,
    agent: &ureq::Agent,
    server: &str,
    token: &str,
) -> Result<()> {
    #[derive(Deserialize)]
    struct Key {
        owner_key: String,
    }
    let mut resp = agent
        .get(&format!("{server}/v1/owner-key"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .with_context(|| format!("cannot reach the relay at {server}"))?;
    if !resp.status().is_success() {
        return Err(refused("owner key", &mut resp));
    }
    let k: Key = resp
        .body_mut()
        .read_json()
        .context("the relay's owner key answer is malformed")?;
    store.set_owner_key(&k.owner_key)?;
    Ok(())
}

fn sync_until(
    store: &mut Store,
    on_progress: &mut dyn FnMut(&Progress),
    cancelled: &dyn Fn() -> bool,
) -> Result<Progress> {
    let (server, token, _) = store
        .enrollment()?
        .context("this phone is not enrolled (run `gridsafe enroll`)")?;
    if !store.has_owner_key()? {
        fetch_owner_key(store, &agent(), &server, &token)?;
    }
    let url = format!("{server}/v1/sync");
    let agent = agent();
    let mut p = Progress::default();
    let mut resend_rebuilt = true; // records rebuilt on the relay's word go back once, now
    loop {
        if cancelled() {
            return Err(Cancelled.into());
        }
        let req = store.sync_request(PUSH_BYTES)?;
        let body = req.encode();
        let mut resp = agent
            .post(&url)
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/cbor")
            .send(&body[..])
            .with_context(|| format!("cannot reach the relay at {server}"))?;
        let status = resp.status();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_to_vec()
            .context("sync answer cut off")?;
        if !status.is_success() {
            return Err(RelayAnswer {
                what: "sync",
                status: status.as_u16(),
                text: String::from_utf8_lossy(&bytes).into_owned(),
            }
            .into());
        }
        let r = SyncResponse::decode(&bytes)?;
        let outcome = store.apply_sync_response(&r)?;
        p.round_trips += 1;
        p.docs_pushed += outcome.pushed;
        p.docs_pulled += outcome.pulled;
        p.bytes_sent += body.len();
        p.bytes_received += bytes.len();
        p.refused.extend(outcome.refused);
        on_progress(&p);
        if !r.more && !req.more_to_push {
            if outcome.rebuilt > 0 && std::mem::take(&mut resend_rebuilt) {
                continue;
            }
            return Ok(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_server_url;

    #[test]
    fn credentials_go_over_https_or_stay_on_this_machine() {
        for ok in [
            "https://relay.lvxiang.gov.cn",
            "https://10.0.0.5:8443/",
            "http://127.0.0.1:8080",
            "http://localhost:3000",
            "http://[::1]:80",
        ] {
            check_server_url(ok).unwrap();
        }
        for bad in [
            "http://relay.lvxiang.gov.cn",
            "http://192.168.1.10:8080",
            "ftp://x",
            "relay.example",
            "",
        ] {
            assert!(check_server_url(bad).is_err(), "{bad}");
        }
        assert!(
            check_server_url("http://relay.lvxiang.gov.cn")
                .unwrap_err()
                .to_string()
                .contains("use https://")
        );
    }
}
