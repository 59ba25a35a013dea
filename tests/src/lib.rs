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

    /// The example answers files (examples/answers/).
    pub const GAS_ANSWERS: &str = include_str!("../../examples/answers/gas-restaurant.json");
    pub const EBIKE_ANSWERS: &str = include_str!("../../examples/answers/ebike-shop.json");

    /// An example answers file with some answers replaced.
    pub fn answers(json: &str, overrides: &[(&str, serde_json::Value)]) -> Vec<(String, serde_json::Value)> {
        let mut a = gridsafe_core::eval::answers_from_json(json.as_bytes()).expect("example answers file");
        for (k, v) in overrides {
            a.retain(|(item, _)| item != k);
            a.push(((*k).to_owned(), v.clone()));
        }
        a
    }

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
