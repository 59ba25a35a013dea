//! Public reports (12345, 随申拍) to verify on site.

use crate::{GridSafeError, GridStore, PhotoInput, off_thread, photo_of};
use std::sync::Arc;

/// A public report (12345, 随申拍) to verify on site.
#[derive(Debug, Clone, uniffi::Record)]
pub struct PublicReport {
    pub id: String,
    pub ticket_no: String,
    pub channel: String,
    pub received_at: String,
    pub address: String,
    pub description: String,
    pub category: String,
    pub grid_id: String,
    /// to_verify / substantiated / not_substantiated
    pub status: String,
    pub reason: Option<String>,
    pub hazard_id: Option<String>,
}

/// What the grid worker found on site.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ReportVerdict {
    pub substantiated: bool,
    /// Required when not substantiated.
    pub reason: String,
    /// Required when substantiated: the venue the hazard is at.
    pub venue_id: Option<String>,
    pub finding: String,
    pub photo: Option<PhotoInput>,
    /// The checklist item the finding matches: registered with its severity, basis and
    /// departments.
    #[uniffi(default)]
    pub item_id: Option<String>,
}

#[uniffi::export]
impl GridStore {
    /// Public reports in `user`'s grids, unverified first.
    pub fn public_reports(&self, user: String) -> Result<Vec<PublicReport>, GridSafeError> {
        let rows = self.with(|s| s.list_tasks(Some(&user)))?;
        Ok(rows
            .into_iter()
            .map(|t| PublicReport {
                id: t.id,
                ticket_no: t.ticket_no,
                channel: t.channel,
                received_at: t.received_at,
                address: t.address,
                description: t.description,
                category: t.category,
                grid_id: t.grid_id,
                status: t.status,
                reason: t.reason,
                hazard_id: t.hazard_id,
            })
            .collect())
    }

    /// Records the verdict on a public report (查实): returns the registered hazard's id when
    /// substantiated. Refusals (already verified, missing reason or venue) are `InvalidInput`.
    pub async fn verify_public_report(
        self: Arc<Self>,
        user: String,
        report_id: String,
        verdict: ReportVerdict,
    ) -> Result<Option<String>, GridSafeError> {
        off_thread(move || {
            let v = gridsafe_core::store::TaskVerdict {
                substantiated: verdict.substantiated,
                reason: verdict.reason,
                venue_id: verdict.venue_id,
                finding: verdict.finding,
                photo: verdict.photo.map(photo_of),
                item_id: verdict.item_id,
            };
            self.with(|s| s.verify_task(&user, &report_id, v))
        })
        .await
    }
}
