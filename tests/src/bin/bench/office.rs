//! `gridsafe-bench office-under-sync [PHONES] [ROUNDS]`: the office's pages while phones sync
//! (issue #25). A release relay on SQLite with eight grid workers' days synced; the town office's
//! overview, ledger and `/metrics` are timed at rest, then again while PHONES phones (default 8)
//! each record an inspection and sync in a loop. The pages read through their own read-only
//! stores, so the syncs holding the writer should not move their times. Prints a table and, last,
//! one JSON line with the medians, the ratios, and the syncs done meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use gridsafe_tests::browser::Browser;

use super::sync::phone_with_day;
use super::*;

fn time_pages(office: &mut Browser, rounds: usize) -> Vec<(&'static str, f64)> {
    let mut out = Vec::new();
    for (name, path) in [
        ("overview", "/"),
        ("ledger", "/hazards"),
        ("metrics", "/metrics"),
    ] {
        let times: Vec<f64> = (0..rounds)
            .map(|_| {
                let t = Instant::now();
                let (status, _, _) = office.get(path);
                assert_eq!(status, 200, "{path}");
                ms(t)
            })
            .collect();
        out.push((name, median(times)));
    }
    out
}

pub(crate) fn run(phones: usize, rounds: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("relay");
    let directory = bench_directory(phones);
    {
        let mut st = gridsafe_server::store::RelayStore::open(&data).expect("relay store");
        let d = st.import_directory(&directory).expect("directory");
        for u in &d.users {
            st.set_password(&u.id, "bench-password").expect("password");
        }
    }
    let relay = spawn_relay(&data);
    // Each grid worker's day, synced: the pages have something to show.
    let mut stores: Vec<(Store, String, String)> = (0..phones)
        .map(|g| {
            let user = format!("bench-i{}", g * 2);
            let grid = format!("bench-g{g}");
            let mut s = phone_with_day(
                &dir.path().join(format!("{user}.sqlite")),
                &directory,
                &relay.url,
                &user,
                &grid,
                8,
                16,
                4,
                0,
            );
            gridsafe_client::sync(&mut s, &mut |_| {}).expect("sync");
            (s, user, grid)
        })
        .collect();
    let mut office = Browser::new(&relay.url);
    assert_eq!(office.login("office", "bench-password"), 303);
    time_pages(&mut office, 3);
    let idle = time_pages(&mut office, rounds);

    let stop = Arc::new(AtomicBool::new(false));
    let syncs = Arc::new(AtomicUsize::new(0));
    let loaded = std::thread::scope(|scope| {
        for (s, user, _) in stores.iter_mut() {
            let (stop, syncs) = (stop.clone(), syncs.clone());
            scope.spawn(move || {
                let venue = s.list_venues(Some(user.as_str())).expect("venues")[0]
                    .id
                    .clone();
                let ok = answers(ANSWERS_EBIKE, &[("ebike.flying_lead", json!("no"))]);
                while !stop.load(Ordering::Relaxed) {
                    let i = s
                        .start_inspection(user, &venue, "lx.ebike", None)
                        .expect("start");
                    s.answer(user, &i.id, &ok).expect("answer");
                    s.finish_inspection(user, &i.id).expect("finish");
                    gridsafe_client::sync(s, &mut |_| {}).expect("sync");
                    syncs.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        // Let the phones get going, then time the pages among them.
        std::thread::sleep(std::time::Duration::from_millis(500));
        let t = time_pages(&mut office, rounds);
        stop.store(true, Ordering::Relaxed);
        t
    });
    let synced = syncs.load(Ordering::Relaxed);
    println!("page        at rest (ms)   under {phones} syncing phones (ms)   ratio");
    let mut figures = serde_json::Map::new();
    for ((name, at_rest), (_, under)) in idle.iter().zip(&loaded) {
        println!(
            "{name:<11} {:>12.2}   {:>30.2}   {:>5.2}",
            at_rest,
            under,
            under / at_rest
        );
        figures.insert(format!("{name}_rest_ms"), json!(round2(*at_rest)));
        figures.insert(format!("{name}_under_sync_ms"), json!(round2(*under)));
        figures.insert(format!("{name}_ratio"), json!(round2(under / at_rest)));
    }
    println!("{synced} syncs completed while the pages were timed ({rounds} requests each)");
    figures.insert("bench".into(), json!("office-under-sync"));
    figures.insert("phones".into(), json!(phones));
    figures.insert("syncs_meanwhile".into(), json!(synced));
    println!("{}", serde_json::Value::Object(figures));
}
