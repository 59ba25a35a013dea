//! Public reports (12345, 随申拍) to verify on site: the ticket screen Today's rows open, and
//! the verdict recorded from it.

use crate::{GridSafeError, GridStore, Language, PhotoInput, off_thread, photo_of};
use gridsafe_core::field;
use std::sync::Arc;

/// A checklist item a ticket's finding can be matched to.
#[derive(Debug, Clone, uniffi::Record)]
pub struct TicketItem {
    pub id: String,
    /// The item's question, in the screen's language.
    pub question: String,
}

/// A venue of the ticket's grid the hazard may be at.
#[derive(Debug, Clone, uniffi::Record)]
pub struct TicketVenue {
    pub id: String,
    pub name: String,
    pub address: String,
}

/// A 12345 / 随申拍 ticket to verify on site, every text in the screen's language.
#[derive(Debug, Clone, uniffi::Record)]
pub struct TicketScreen {
    pub id: String,
    /// The channel and the ticket's number ("12345 2026120300012").
    pub title: String,
    /// "收到 2026-11-20 09:30".
    pub received: String,
    pub address: String,
    pub description: String,
    /// The ticket's kind in words (城镇燃气, 生命通道 …).
    pub domain: String,
    pub grid: String,
    /// 待核查 / 属实，已登记隐患 / 不属实.
    pub status: String,
    /// The verdict can be recorded now.
    pub to_verify: bool,
    /// Who checked it on site and when ("王建国 2026-12-08 09:26 核查").
    pub verified: Option<String>,
    /// Why it was found not substantiated.
    pub reason: Option<String>,
    /// The hazard a substantiated ticket registered (the screen opens it).
    pub hazard_id: Option<String>,
    /// Checklist items of the ticket's kind, to match the finding to (optional).
    pub items: Vec<TicketItem>,
    /// Usual reasons a ticket is not substantiated, to pick from (or type another).
    pub reasons: Vec<String>,
    /// The grid's venues nearest the ticket's address, best first; others through the venue
    /// list's search.
    pub venues: Vec<TicketVenue>,
}

/// What the worker found on site: 属实 at a venue (with the item, finding and photo when given)
/// or 不属实 with the reason.
#[derive(Debug, Clone, uniffi::Record)]
pub struct TicketVerdict {
    pub substantiated: bool,
    #[uniffi(default)]
    pub venue_id: Option<String>,
    #[uniffi(default)]
    pub item_id: Option<String>,
    #[uniffi(default)]
    pub finding: String,
    #[uniffi(default)]
    pub reason: String,
    #[uniffi(default)]
    pub photo: Option<PhotoInput>,
}

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
    /// Ticket `ticket_id` as Today's row opens it.
    pub fn ticket_screen(
        &self,
        user: String,
        ticket_id: String,
        lang: Language,
    ) -> Result<TicketScreen, GridSafeError> {
        let t = self.with(|s| field::ticket::ticket_screen(s, &user, &ticket_id, lang.into()))?;
        Ok(TicketScreen {
            id: t.id,
            title: t.title,
            received: t.received,
            address: t.address,
            description: t.description,
            domain: t.domain,
            grid: t.grid,
            status: t.status,
            to_verify: t.to_verify,
            verified: t.verified,
            reason: t.reason,
            hazard_id: t.hazard_id,
            items: t
                .items
                .into_iter()
                .map(|i| TicketItem {
                    id: i.id,
                    question: i.question,
                })
                .collect(),
            reasons: t.reasons,
            venues: t
                .venues
                .into_iter()
                .map(|v| TicketVenue {
                    id: v.id,
                    name: v.name,
                    address: v.address,
                })
                .collect(),
        })
    }

    /// Records the verdict on ticket `ticket_id` from its screen: the registered hazard's id when
    /// substantiated. What is missing or not offered is `InvalidInput` with the reason in `lang`,
    /// and nothing is saved.
    pub async fn verify_ticket(
        self: Arc<Self>,
        user: String,
        ticket_id: String,
        verdict: TicketVerdict,
        lang: Language,
    ) -> Result<Option<String>, GridSafeError> {
        off_thread(move || {
            let v = field::Verdict {
                substantiated: verdict.substantiated,
                venue_id: verdict.venue_id,
                item_id: verdict.item_id,
                finding: verdict.finding,
                reason: verdict.reason,
                photo: verdict.photo.map(photo_of),
            };
            self.with(|s| field::ticket::verify(s, &user, &ticket_id, v, lang.into()))
        })
        .await
    }

    /// Public reports in `user`'s grids, unverified first (their fields as stored; a screen
    /// shows [`GridStore::ticket_screen`]).
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
