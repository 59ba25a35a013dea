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
pub fn answers(
    json: &str,
    overrides: &[(&str, serde_json::Value)],
) -> Vec<(String, serde_json::Value)> {
    let mut a =
        gridsafe_core::eval::answers_from_json(json.as_bytes()).expect("example answers file");
    for (k, v) in overrides {
        a.retain(|(item, _)| item != k);
        a.push(((*k).to_owned(), v.clone()));
    }
    a
}

pub fn directory() -> Directory {
    Directory::from_json(DIRECTORY_JSON).expect("demo directory is valid")
}

/// A grid worker's visit: a venue, an e-bike inspection finding a flying lead and its before
/// photo (three records, one photo). Returns the hazard's id.
pub fn flying_lead_visit(s: &mut gridsafe_core::Store, user: &str, grid: &str, n: usize) -> String {
    use gridsafe_core::store::{NewPhoto, NewVenue};
    let v = s
        .add_venue(
            user,
            NewVenue {
                name: format!("{user}-店{n}"),
                grid_id: grid.into(),
                profile: restaurant_profile(),
                ..Default::default()
            },
        )
        .expect("venue");
    let i = s
        .start_inspection(user, &v.id, "lx.ebike", None)
        .expect("inspection");
    s.answer(user, &i.id, &answers(EBIKE_ANSWERS, &[]))
        .expect("answers");
    let photo = NewPhoto {
        bytes: PHOTO_BEFORE.to_vec(),
        item_id: Some("ebike.flying_lead".into()),
        role: "before".into(),
        ..Default::default()
    };
    s.attach_photo(user, &i.id, photo).expect("photo");
    s.finish_inspection(user, &i.id)
        .expect("finish")
        .hazards
        .remove(0)
        .id
}

/// A two-storey LPG restaurant with a basement and two people sleeping upstairs.
pub fn restaurant_profile() -> VenueProfile {
    VenueProfile {
        venue_type: vec!["small_restaurant".into()],
        floors_above_ground: 2,
        max_floor_area_m2: 90.0,
        building_height_m: 7.0,
        has_basement: true,
        residents_count: Some(2),
        is_crowded_place: true,
        gas_supply: "lpg".into(),
        ..Default::default()
    }
}
