//! The FFI boundary benchmark's Rust side (`boundary`): the same list read from Rust that the
//! Kotlin side reads through the bindings.

use super::*;

/// A store with `n` open hazards (one flying lead per e-bike inspection, with its photo), for the
/// FFI boundary benchmark; built once and reused.
pub(crate) fn boundary_prepare(path: &Path, n: usize) {
    if path.exists() {
        return;
    }
    let tmp = path.with_extension("partial");
    let _ = std::fs::remove_file(&tmp);
    let mut s = Store::create(&tmp).expect("store");
    s.import_directory(fixtures::DIRECTORY_JSON)
        .expect("directory");
    let fail = answers(ANSWERS_EBIKE, &[]);
    for k in 0..n {
        let mut profile = fixtures::restaurant_profile();
        profile.gas_supply = "none".into();
        let v = s
            .add_venue(
                "wang",
                NewVenue {
                    name: format!("车行{k}"),
                    grid_id: "heping-1".into(),
                    profile,
                    ..Default::default()
                },
            )
            .expect("venue");
        let i = s
            .start_inspection("wang", &v.id, "lx.ebike", None)
            .expect("start");
        s.answer("wang", &i.id, &fail).expect("answer");
        s.attach_photo("wang", &i.id, photo("ebike.flying_lead"))
            .expect("photo");
        s.finish_inspection("wang", &i.id).expect("finish");
    }
    drop(s);
    std::fs::rename(&tmp, path).expect("rename");
    for ext in ["-wal", "-shm"] {
        let _ = std::fs::rename(
            format!("{}{ext}", tmp.display()),
            format!("{}{ext}", path.display()),
        );
    }
}

/// The same call the Kotlin benchmark makes, in Rust: median ms of listing 1,000 hazards.
pub(crate) fn boundary_rust(path: &Path) -> f64 {
    let s = Store::open(path).expect("store");
    let q = HazardQuery {
        limit: Some(1000),
        ..Default::default()
    };
    for _ in 0..5 {
        s.list_hazards(&q).expect("list");
    }
    median(
        (0..51)
            .map(|_| {
                let t = Instant::now();
                assert_eq!(s.list_hazards(&q).expect("list").len(), 1000);
                ms(t)
            })
            .collect(),
    )
}
