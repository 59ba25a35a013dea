//! Inspections: starting, the checklist with results so far, answers, photos, finishing.

use crate::{GridSafeError, GridStore, off_thread};
use gridsafe_core::store::NewPhoto;
use std::sync::Arc;

/// An inspection just started: the checklist version it is pinned to.
#[derive(Debug, Clone, uniffi::Record)]
pub struct InspectionStarted {
    pub id: String,
    pub venue_id: String,
    pub template_id: String,
    pub template_version: String,
}

/// How one checklist item came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Outcome {
    Pass,
    Fail,
    NotApplicable,
    Info,
    Unanswered,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct ItemResult {
    pub item_id: String,
    pub outcome: Outcome,
    /// Why it failed or what is missing, Chinese and English.
    pub findings_zh: Vec<String>,
    pub findings_en: Vec<String>,
}

/// One field of a checklist item, as the form shows it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ChecklistField {
    pub key: String,
    /// `yn`, `count`, `measure`, `choice`, `multi` or `text`.
    pub kind: String,
    pub label_zh: String,
    pub label_en: String,
    pub unit: Option<String>,
    /// For `choice`/`multi`: option keys with their labels.
    pub option_keys: Vec<String>,
    pub option_labels_zh: Vec<String>,
    pub option_labels_en: Vec<String>,
}

/// One item of an inspection's checklist with its result so far.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ChecklistItem {
    pub id: String,
    pub domain: String,
    pub question_zh: String,
    pub question_en: String,
    pub fields: Vec<ChecklistField>,
    /// A before photo is required when the item fails.
    pub photo_required: bool,
    pub note_zh: Option<String>,
    pub note_en: Option<String>,
    pub result: ItemResult,
}

/// A photograph from the camera (JPEG or PNG bytes as captured).
#[derive(Debug, Clone, uniffi::Record)]
pub struct PhotoInput {
    pub bytes: Vec<u8>,
    /// The checklist item it documents.
    #[uniffi(default)]
    pub item_id: Option<String>,
    /// `before`, `after`, `document` or `signature`.
    pub role: String,
    /// The phone's own location, used when the photo carries no GPS in its EXIF.
    #[uniffi(default)]
    pub lat: Option<f64>,
    #[uniffi(default)]
    pub lon: Option<f64>,
}

/// The stored evidence copy of a photo.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Photo {
    pub sha256: String,
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub thumb_sha256: Option<String>,
}

/// A finished inspection and the hazards it registered.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Finished {
    pub inspection_id: String,
    pub hazard_ids: Vec<String>,
    /// Items already open as a hazard at this venue (not registered twice).
    pub already_open: Vec<String>,
}

pub(crate) fn item_result(r: gridsafe_core::eval::ItemResult) -> ItemResult {
    use gridsafe_core::eval::Outcome as O;
    ItemResult {
        item_id: r.item_id,
        outcome: match r.outcome {
            O::Pass => Outcome::Pass,
            O::Fail => Outcome::Fail,
            O::NotApplicable => Outcome::NotApplicable,
            O::Info => Outcome::Info,
            O::Unanswered => Outcome::Unanswered,
        },
        findings_zh: r.findings.iter().map(|f| f.zh.clone()).collect(),
        findings_en: r.findings.into_iter().map(|f| f.en).collect(),
    }
}

pub(crate) fn photo_of(p: PhotoInput) -> NewPhoto {
    NewPhoto {
        bytes: p.bytes,
        item_id: p.item_id,
        role: p.role,
        lat: p.lat,
        lon: p.lon,
    }
}

#[uniffi::export]
impl GridStore {
    /// Starts an inspection of a venue with the newest version of a checklist (`lx.gas`,
    /// `lx.ebike`, `lx.selfbuilt`, `lx.lifeline`, `lx.threeinone`).
    pub fn start_inspection(
        &self,
        user: String,
        venue_id: String,
        template_id: String,
    ) -> Result<InspectionStarted, GridSafeError> {
        let h = self.with(|s| s.start_inspection(&user, &venue_id, &template_id, None))?;
        Ok(InspectionStarted {
            id: h.id,
            venue_id: h.venue_id,
            template_id: h.template_id,
            template_version: h.template_version,
        })
    }

    /// The inspection's checklist (its pinned template version) with each item's result so far;
    /// items that do not apply to this venue come back as [`Outcome::NotApplicable`].
    pub fn checklist(&self, inspection_id: String) -> Result<Vec<ChecklistItem>, GridSafeError> {
        use gridsafe_core::template::PhotoRule;
        let items = self.with(|s| s.checklist(&inspection_id))?;
        Ok(items
            .into_iter()
            .map(|(item, result)| ChecklistItem {
                id: item.id,
                domain: item.domain,
                question_zh: item.q_zh,
                question_en: item.q_en,
                fields: item
                    .fields
                    .into_iter()
                    .map(|f| ChecklistField {
                        key: f.key,
                        kind: serde_json::to_value(f.kind)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        label_zh: f.label_zh,
                        label_en: f.label_en,
                        unit: f.unit,
                        option_keys: f.options.iter().map(|o| o.key.clone()).collect(),
                        option_labels_zh: f.options.iter().map(|o| o.zh.clone()).collect(),
                        option_labels_en: f.options.into_iter().map(|o| o.en).collect(),
                    })
                    .collect(),
                photo_required: matches!(
                    item.photo,
                    PhotoRule::Required | PhotoRule::RequiredWithMeasure
                ),
                note_zh: item.note_zh,
                note_en: item.note_en,
                result: item_result(result),
            })
            .collect())
    }

    /// Turns a camera photo into its evidence copy and thumbnail and attaches it.
    pub async fn attach_photo(
        self: Arc<Self>,
        user: String,
        inspection_id: String,
        photo: PhotoInput,
    ) -> Result<Photo, GridSafeError> {
        off_thread(move || {
            let p = self.with(|s| s.attach_photo(&user, &inspection_id, photo_of(photo)))?;
            Ok(Photo {
                sha256: p.sha256,
                size: p.size,
                width: p.width,
                height: p.height,
                thumb_sha256: p.thumb_sha256,
            })
        })
        .await
    }

    /// Finishes an inspection: evaluates it, seals it and registers its hazards.
    pub fn finish_inspection(
        &self,
        user: String,
        inspection_id: String,
    ) -> Result<Finished, GridSafeError> {
        self.finish_inspection_with(user, inspection_id, vec![])
    }

    /// [`Self::finish_inspection`] with the inspector's choice of 即改 (`on_spot`) or 限期整改
    /// (`deadline`) per failed item; items not named keep the checklist's default.
    pub fn finish_inspection_with(
        &self,
        user: String,
        inspection_id: String,
        fix_modes: Vec<FixChoice>,
    ) -> Result<Finished, GridSafeError> {
        let mut modes = std::collections::BTreeMap::new();
        for c in fix_modes {
            let mode = match c.fix_mode.as_str() {
                "on_spot" => gridsafe_core::template::FixMode::OnSpot,
                "deadline" => gridsafe_core::template::FixMode::Deadline,
                other => {
                    return Err(GridSafeError::InvalidInput {
                        reason: format!(
                            "整改方式须为即改或限期整改 / fix mode {other:?} is neither on_spot nor deadline"
                        ),
                    });
                }
            };
            modes.insert(c.item_id, mode);
        }
        let f = self.with(|s| s.finish_inspection_with(&user, &inspection_id, &modes))?;
        Ok(Finished {
            inspection_id: f.inspection_id,
            hazard_ids: f.hazards.into_iter().map(|h| h.id).collect(),
            already_open: f.already_open.into_keys().collect(),
        })
    }
}

/// The inspector's choice for one failed item: `on_spot` (即改) or `deadline` (限期整改).
#[derive(Debug, Clone, uniffi::Record)]
pub struct FixChoice {
    pub item_id: String,
    pub fix_mode: String,
}
