//! Sync protocol v1 messages, sans-IO: bytes in, bytes out. The phone builds a [`SyncRequest`]
//! from its store and applies the relay's [`SyncResponse`] to it (see `Store::sync_request` and
//! `Store::apply_sync_response`); the transport (HTTP) lives outside core.
//!
//! Messages are CBOR, so automerge changes travel as raw bytes (no base64 inflation). One request
//! pushes every local change since the relay's last acknowledged heads and pulls every change in
//! the user's scope after the phone's cursor; `more` says another round trip is needed.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::error::{Error, Result};

/// The protocol version this build speaks.
pub const PROTOCOL: u32 = 1;

/// Changes of one record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DocChanges {
    pub doc_id: String,
    /// venue / inspection / hazard
    pub kind: String,
    /// automerge changes, each as its raw bytes.
    pub changes: Vec<ByteBuf>,
    /// On pull: the relay's heads for this record after the changes (hex change hashes). On
    /// push: the phone's heads its changes lead to.
    #[serde(default)]
    pub heads: Vec<String>,
}

/// What the phone reports about itself on every sync (shown on the office's device page).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceStatus {
    pub pending_docs: u64,
    pub pending_photos: u64,
    pub app_version: String,
    /// Notice numbers this phone has left for the current year (absent from older phones,
    /// which number no notices).
    #[serde(default)]
    pub notice_numbers_left: Option<u32>,
    /// The last number of the newest block the phone holds (0: none), so a block whose answer
    /// was lost is sent again rather than a new one allotted.
    #[serde(default)]
    pub notice_block_last: u32,
    /// Numbers given to notices, for the relay's register (sent until acknowledged).
    #[serde(default)]
    pub notices: Vec<crate::issuer::IssuedNotice>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncRequest {
    pub protocol: u32,
    /// Everything in scope up to this relay cursor has been applied on the phone.
    pub cursor: u64,
    pub directory_version: u64,
    /// Template versions the phone has, as `template_id@version`.
    pub templates: Vec<String>,
    pub push: Vec<DocChanges>,
    /// More local changes wait for the next request (the push was capped in size).
    pub more_to_push: bool,
    pub status: DeviceStatus,
}

/// A record the relay refused, with the reason (the phone keeps it pending and shows why).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Refused {
    pub doc_id: String,
    pub reason: String,
    /// The relay holds this record and refused changes that rewrite its history: the phone sets
    /// its unaccepted changes aside (kept, with the reason), rebuilds the record from what the
    /// relay accepted, and records its honest events again on top — so one refused change does
    /// not block the record's later events. Absent from relays before protocol 1.1 (false).
    #[serde(default)]
    pub rebuild: bool,
}

/// The relay's heads for a record after accepting a push.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Acked {
    pub doc_id: String,
    pub heads: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncResponse {
    pub protocol: u32,
    pub accepted: Vec<Acked>,
    pub refused: Vec<Refused>,
    pub pull: Vec<DocChanges>,
    /// The cursor to send next time, once `pull` is applied.
    pub cursor: u64,
    /// More changes wait on the relay: sync again.
    pub more: bool,
    /// The directory, when newer than the phone's.
    pub directory: Option<ByteBuf>,
    /// Template versions the phone lacks, as template files.
    pub templates: Vec<TemplateFile>,
    /// actor (hex) → user id, for every actor in the pulled records.
    pub actors: Vec<(String, String)>,
    /// The relay's clock when it answered (milliseconds since the epoch; 0 from relays before
    /// protocol 1.1): how the phone learns its own clock is wrong before it records an event
    /// the relay would refuse.
    #[serde(default)]
    pub server_ms: i64,
    /// Records that left this device's scope (their venue moved to another grid): the phone
    /// drops them once nothing of its own waits to be sent (absent from older relays).
    #[serde(default)]
    pub dropped: Vec<String>,
    /// The issuing body of the town's documents, as the administrator set it.
    #[serde(default)]
    pub issuer: Option<crate::issuer::Issuer>,
    /// Notice numbers for this phone, when it runs low.
    #[serde(default)]
    pub notice_block: Option<crate::issuer::NoticeBlock>,
    /// Reported notice numbers the relay's register now holds (`year-n`).
    #[serde(default)]
    pub notices_recorded: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemplateFile {
    pub name: String,
    pub bytes: ByteBuf,
}

fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing CBOR into a Vec cannot fail for these plain data types.
    ciborium::into_writer(v, &mut out).unwrap_or_default();
    out
}

fn decode<T: for<'de> Deserialize<'de>>(what: &str, bytes: &[u8]) -> Result<T> {
    ciborium::from_reader(bytes).map_err(|e| {
        Error::invalid(format!(
            "{what}: not a valid protocol v{PROTOCOL} message: {e}"
        ))
    })
}

fn check_version(what: &str, v: u32) -> Result<()> {
    if v != PROTOCOL {
        return Err(Error::invalid(format!(
            "{what}: protocol version {v} is not supported (this build speaks {PROTOCOL})"
        )));
    }
    Ok(())
}

impl SyncRequest {
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }
    pub fn decode(bytes: &[u8]) -> Result<SyncRequest> {
        let r: SyncRequest = decode("sync request", bytes)?;
        check_version("sync request", r.protocol)?;
        Ok(r)
    }
    /// Raw automerge bytes carried (for the wire-overhead measure).
    pub fn change_bytes(&self) -> usize {
        self.push
            .iter()
            .flat_map(|d| d.changes.iter())
            .map(|c| c.len())
            .sum()
    }
}

impl SyncResponse {
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }
    pub fn decode(bytes: &[u8]) -> Result<SyncResponse> {
        let r: SyncResponse = decode("sync response", bytes)?;
        check_version("sync response", r.protocol)?;
        Ok(r)
    }
    pub fn change_bytes(&self) -> usize {
        self.pull
            .iter()
            .flat_map(|d| d.changes.iter())
            .map(|c| c.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_bad_bytes_are_named() {
        let req = SyncRequest {
            protocol: PROTOCOL,
            cursor: 42,
            directory_version: 1,
            templates: vec!["lx.gas@2026.11-a".into()],
            push: vec![DocChanges {
                doc_id: "d".into(),
                kind: "hazard".into(),
                changes: vec![ByteBuf::from(vec![1, 2, 3])],
                heads: vec![],
            }],
            more_to_push: false,
            status: DeviceStatus {
                pending_docs: 1,
                pending_photos: 2,
                app_version: "0.1.0".into(),
                ..Default::default()
            },
        };
        let bytes = req.encode();
        assert_eq!(SyncRequest::decode(&bytes).unwrap(), req);
        // Changes travel as raw CBOR byte strings (0x43 = 3 bytes follow), not base64.
        assert!(bytes.windows(4).any(|w| w == [0x43, 1, 2, 3]));
        assert!(
            SyncRequest::decode(b"\xff\x00garbage")
                .unwrap_err()
                .to_string()
                .contains("not a valid protocol")
        );
        let mut v2 = req.clone();
        v2.protocol = 2;
        assert!(
            SyncRequest::decode(&v2.encode())
                .unwrap_err()
                .to_string()
                .contains("version 2")
        );
        assert!(
            SyncResponse::decode(&bytes).is_err(),
            "a request is not a response"
        );
    }
}
