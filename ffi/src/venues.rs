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
