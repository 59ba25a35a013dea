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

/// The password every test user has on a test relay.
pub const PASSWORD: &str = "correct horse";

/// Syncs a phone until nothing is left to send (errors fail the test).
pub fn sync(s: &mut gridsafe_core::Store) {
    gridsafe_client::sync_all(s, false, &mut |_| {}).expect("sync");
}

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
    flying_lead_visit_at(s, user, grid, &format!("{user}-店{n}"))
}

/// [`flying_lead_visit`] at a venue of this name.
pub fn flying_lead_visit_at(
    s: &mut gridsafe_core::Store,
    user: &str,
    grid: &str,
    name: &str,
) -> String {
    use gridsafe_core::store::{NewPhoto, NewVenue};
    let v = s
        .add_venue(
            user,
            NewVenue {
                name: name.into(),
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

/// Serves the rectification notice on hazard `h` as `user`, with its proof: a photo of the
/// signed notice (rules 2: no claim before it).
pub fn serve_notice(s: &mut gridsafe_core::Store, user: &str, h: &str) {
    use gridsafe_core::lifecycle::EventKind;
    use gridsafe_core::store::{Action, NewPhoto};
    let proof = NewPhoto {
        bytes: PHOTO_MEASURE.to_vec(),
        role: "signature".into(),
        ..Default::default()
    };
    s.transition(
        user,
        h,
        Action {
            photo: Some(proof),
            ..Action::new(EventKind::Notify)
        },
    )
    .expect("notice served");
}

/// Claims hazard `h` rectified as `user` with an after photo, serving the notice first when it
/// has not been.
pub fn claim_fixed(s: &mut gridsafe_core::Store, user: &str, h: &str) {
    use gridsafe_core::lifecycle::EventKind;
    use gridsafe_core::store::{Action, NewPhoto};
    if s.hazard(h).expect("hazard").status.state.as_str() == "registered" {
        serve_notice(s, user, h);
    }
    let after = NewPhoto {
        bytes: PHOTO_AFTER.to_vec(),
        role: "after".into(),
        ..Default::default()
    };
    s.transition(
        user,
        h,
        Action {
            photo: Some(after),
            ..Action::new(EventKind::Claim)
        },
    )
    .expect("claim");
}

/// The Shanghai date `days` from today, as a deadline (YYYY-MM-DD).
pub fn in_days(days: i64) -> String {
    gridsafe_core::clock::format_date(gridsafe_core::clock::today() + time::Duration::days(days))
}

/// A photo of the signed rectification notice: proof of service (rules 2).
pub fn notice_proof() -> gridsafe_core::store::NewPhoto {
    gridsafe_core::store::NewPhoto {
        bytes: PHOTO_MEASURE.to_vec(),
        role: "signature".into(),
        ..Default::default()
    }
}

/// A 治理方案 with its six contents, as the lifecycle reads it.
pub const PLAN_JSON: &str = r#"{"goal":"消除地下室液化气使用","method":"停用地下室液化气，改接管道天然气","funds":"业主自筹","owner":"业主王某，规建办郑红督促","timeline":"30日内完成","safety":"整改期间停用地下室，配备灭火器"}"#;

/// An on-site recheck with the photo taken there (rules 2).
pub fn recheck_action() -> gridsafe_core::store::Action {
    use gridsafe_core::lifecycle::EventKind;
    gridsafe_core::store::Action {
        photo: Some(gridsafe_core::store::NewPhoto {
            bytes: PHOTO_AFTER.to_vec(),
            role: "after".into(),
            ..Default::default()
        }),
        ..gridsafe_core::store::Action::new(EventKind::Recheck)
    }
}
