//! Venues: registering one and listing the user's.

use crate::{GridSafeError, GridStore};
use gridsafe_core::store::NewVenue;

/// The venue profile (checklists.md §0.6): what decides which checklist items apply.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VenueProfile {
    /// Codes such as `small_restaurant`, `shop`, `self_built_house`, `three_in_one`, `group_rental`.
    pub venue_type: Vec<String>,
    pub floors_above_ground: u32,
    pub max_floor_area_m2: f64,
    pub building_height_m: f64,
    pub has_basement: bool,
    pub roof_or_floors_combustible: bool,
    pub uses_by_floor: String,
    /// People sleeping on site; `None` when the worker does not know (asked, never assumed 0).
    pub residents_count: Option<u32>,
    /// Also a restaurant, entertainment venue or market, whatever this says (消防法 §73).
    pub is_crowded_place: bool,
    /// `piped_ng`, `lpg`, `other_fuel` or `none`: the first (or only) supply.
    pub gas_supply: String,
    /// Every supply when there are several (piped gas and LPG cylinders); empty: `gas_supply`.
    #[uniffi(default)]
    pub gas_supplies: Vec<String>,
}

/// A venue to create.
#[derive(Debug, Clone, uniffi::Record)]
pub struct NewVenueInput {
    pub name: String,
    pub address: String,
    pub grid_id: String,
    pub profile: VenueProfile,
    /// 主要负责人 / 实际控制人 (name, phone); the ID card's last four characters only.
    pub responsible_name: String,
    pub responsible_phone: String,
    pub responsible_id_last4: String,
}

/// A venue as listed.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Venue {
    pub id: String,
    pub name: String,
    pub address: String,
    pub village: String,
    pub grid_id: String,
    pub venue_types: Vec<String>,
    pub archived: bool,
    /// Shanghai date of the last finished inspection.
    pub last_inspected: Option<String>,
}

#[uniffi::export]
impl GridStore {
    pub fn add_venue(&self, user: String, venue: NewVenueInput) -> Result<Venue, GridSafeError> {
        let p = venue.profile;
        let new = NewVenue {
            name: venue.name,
            address: venue.address,
            grid_id: venue.grid_id,
            profile: gridsafe_core::profile::VenueProfile {
                venue_type: p.venue_type,
                floors_above_ground: p.floors_above_ground,
                max_floor_area_m2: p.max_floor_area_m2,
                building_height_m: p.building_height_m,
                has_basement: p.has_basement,
                roof_or_floors_combustible: p.roof_or_floors_combustible,
                uses_by_floor: p.uses_by_floor,
                residents_count: p.residents_count,
                is_crowded_place: p.is_crowded_place,
                gas_supply: p.gas_supply,
                gas_supplies: p.gas_supplies,
                ..Default::default()
            },
            responsible: gridsafe_core::records::Responsible {
                name: venue.responsible_name,
                phone: venue.responsible_phone,
                id_last4: venue.responsible_id_last4,
            },
        };
        let v = self.with(|s| s.add_venue(&user, new))?;
        Ok(Venue {
            id: v.id,
            name: v.name,
            address: v.address,
            village: v.village,
            grid_id: v.grid_id,
            venue_types: v.profile.venue_type,
            archived: v.archived,
            last_inspected: None,
        })
    }

    /// Venues, those of `user`'s grids when given.
    pub fn venues(&self, user: Option<String>) -> Result<Vec<Venue>, GridSafeError> {
        let rows = self.with(|s| s.list_venues(user.as_deref()))?;
        Ok(rows
            .into_iter()
            .map(|v| Venue {
                id: v.id,
                name: v.name,
                address: v.address,
                village: v.village,
                grid_id: v.grid_id,
                venue_types: v.venue_types,
                archived: v.archived,
                last_inspected: v.last_inspected,
            })
            .collect())
    }
}

/// One value a venue field was given in a conflict: who set it and when, in words.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FieldVersion {
    /// The value as people read it.
    pub value: String,
    /// The value as `resolve_venue_field` takes it back (JSON).
    pub raw: String,
    pub by: String,
    /// `2026-12-03 15:52`.
    pub at: String,
}

/// A venue field two people set at once: the value kept (the later edit) and the others.
#[derive(Debug, Clone, uniffi::Record)]
pub struct VenueConflict {
    /// The field's path (what `resolve_venue_field` takes).
    pub field: String,
    pub label_zh: String,
    pub label_en: String,
    pub kept: FieldVersion,
    pub others: Vec<FieldVersion>,
}

#[uniffi::export]
impl GridStore {
    /// The conflicts still open on a venue's fields, for the venue screen.
    pub fn venue_conflicts(&self, venue_id: String) -> Result<Vec<VenueConflict>, GridSafeError> {
        self.with(|s| {
            let dir = s.directory()?;
            let name = |u: &str| dir.user(u).map_or_else(|| u.to_owned(), |u| u.name.clone());
            let version = |v: &gridsafe_core::records::venue_fields::FieldVersion| FieldVersion {
                value: gridsafe_core::records::venue_fields::display(&v.value),
                raw: v.value.to_string(),
                by: name(&v.by),
                at: gridsafe_core::clock::ms_to_minute(v.ms),
            };
            Ok(s.venue_conflicts(&venue_id)?
                .0
                .iter()
                .map(|c| {
                    let (zh, en) = gridsafe_core::records::venue_fields::label(&c.field);
                    VenueConflict {
                        field: c.field.clone(),
                        label_zh: zh.into(),
                        label_en: en.into(),
                        kept: version(&c.kept),
                        others: c.others.iter().map(version).collect(),
                    }
                })
                .collect())
        })
    }

    /// Resolves a conflict: `raw_value` (one of the versions' `raw`, or a new value as JSON) is
    /// kept; the conflict is gone on every phone after sync.
    pub fn resolve_venue_field(
        &self,
        user: String,
        venue_id: String,
        field: String,
        raw_value: String,
    ) -> Result<(), GridSafeError> {
        let value: serde_json::Value =
            serde_json::from_str(&raw_value).map_err(|e| GridSafeError::InvalidInput {
                reason: format!("{field}: not a value: {e}"),
            })?;
        self.with(|s| s.resolve_venue_field(&user, &venue_id, &field, value))?;
        Ok(())
    }
}
