//! Shared fixtures for GridSafe's cross-crate scenario tests and benchmarks.

pub mod fixtures {
    use gridsafe_core::directory::Directory;
    use gridsafe_core::profile::VenueProfile;

    /// The demo directory of 吕巷镇 (examples/lvxiang-directory.json).
    pub const DIRECTORY_JSON: &[u8] = include_bytes!("../../examples/lvxiang-directory.json");
    /// Small real JPEG photographs.
    pub const PHOTO_BEFORE: &[u8] = include_bytes!("../../examples/photos/corridor-before.jpg");
    pub const PHOTO_AFTER: &[u8] = include_bytes!("../../examples/photos/corridor-after.jpg");
    pub const PHOTO_MEASURE: &[u8] = include_bytes!("../../examples/photos/hose-measure.jpg");

    pub fn directory() -> Directory {
        Directory::from_json(DIRECTORY_JSON).expect("demo directory is valid")
    }

    /// A two-storey LPG restaurant with a basement and two people sleeping upstairs.
    pub fn restaurant_profile() -> VenueProfile {
        VenueProfile {
            venue_type: vec!["small_restaurant".into()],
            floors_above_ground: 2,
            max_floor_area_m2: 90.0,
            building_height_m: 7.0,
            has_basement: true,
            residents_count: 2,
            is_crowded_place: true,
            gas_supply: "lpg".into(),
            ..Default::default()
        }
    }
}
