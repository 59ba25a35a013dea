//! The phone-store benchmark (`core`): a store with 5,000 venues, 20,000 inspections and 10,000
//! hazards, and the list queries and a recorded inspection measured on it.

use super::*;

/// One venue's history: four inspections (gas, e-bike, gas again, e-bike again), two hazards.
pub(crate) fn generate(path: &Path, venues: usize) {
    let t0 = Instant::now();
    let mut s = Store::create(path).expect("create bench store");
    s.import_directory(fixtures::DIRECTORY_JSON)
        .expect("directory");
    // Generation only: durability is not what is measured here.
    s.raw()
        .pragma_update(None, "synchronous", "OFF")
        .expect("pragma");
    let inspectors = inspectors();
    let gas_fail = answers(
        ANSWERS_GAS,
        &[
            ("gas.lpg_underground", json!("no")),
            ("gas.shutoff_installed", json!("yes")),
            ("gas.shutoff_test_record", json!("yes")),
        ],
    );
    let ebike_fail = answers(ANSWERS_EBIKE, &[]);
    let ebike_ok = answers(ANSWERS_EBIKE, &[("ebike.flying_lead", json!("no"))]);
    for n in 0..venues {
        let (user, grids) = &inspectors[n % inspectors.len()];
        let grid = &grids[n / inspectors.len() % grids.len()];
        let mut profile = fixtures::restaurant_profile();
        profile.has_basement = false;
        let v = s
            .add_venue(
                user,
                NewVenue {
                    name: format!("场所{n:05}"),
                    address: format!("{grid} {n}号"),
                    grid_id: grid.clone(),
                    profile,
                    ..Default::default()
                },
            )
            .expect("venue")
            .id;
        // 1: gas, hose too long → 1 hazard.
        let i = s.start_inspection(user, &v, "lx.gas", None).expect("start");
        s.answer(user, &i.id, &gas_fail).expect("answer");
        s.attach_photo(user, &i.id, photo("gas.hose_length"))
            .expect("photo");
        s.finish_inspection(user, &i.id).expect("finish");
        // 2: e-bike, flying lead → 1 hazard.
        let i = s
            .start_inspection(user, &v, "lx.ebike", None)
            .expect("start");
        s.answer(user, &i.id, &ebike_fail).expect("answer");
        s.attach_photo(user, &i.id, photo("ebike.flying_lead"))
            .expect("photo");
        s.finish_inspection(user, &i.id).expect("finish");
        // 3, 4: follow-up visits, clean.
        for (t, a) in [("lx.gas", clean_gas()), ("lx.ebike", ebike_ok.clone())] {
            let i = s.start_inspection(user, &v, t, None).expect("start");
            s.answer(user, &i.id, &a).expect("answer");
            s.finish_inspection(user, &i.id).expect("finish");
        }
        if n % 500 == 499 {
            eprintln!(
                "  generated {} venues ({:.0} s)",
                n + 1,
                t0.elapsed().as_secs_f64()
            );
        }
    }
    // Fixture: move a fifth of the deadlines into the past in the projection, so the overdue
    // query has overdue rows to find (real ones take days to appear).
    s.raw()
        .execute(
            "UPDATE hazards_idx SET due_date = '2026-01-15' WHERE awaiting = 1 AND rowid % 5 = 0",
            [],
        )
        .expect("fixture");
    s.raw()
        .pragma_update(None, "synchronous", "FULL")
        .expect("pragma");
    s.raw()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")
        .expect("checkpoint");
    eprintln!(
        "generated {} in {:.1} s",
        path.display(),
        t0.elapsed().as_secs_f64()
    );
}

pub(crate) fn measure(path: &Path, key: Option<&StoreKey>) {
    let rss_start = peak_rss_mb();
    let open_runs: Vec<f64> = (0..21)
        .map(|_| {
            let t = Instant::now();
            let s = Store::open_with(path, key).expect("open");
            let m = ms(t);
            drop(s);
            m
        })
        .collect();
    let mut s = Store::open_with(path, key).expect("open");
    let counts = s.counts().expect("counts");
    let mine_q = HazardQuery {
        scope_user: Some("wang".into()),
        open_only: true,
        ..Default::default()
    };
    let overdue_q = HazardQuery {
        scope_user: Some("wang".into()),
        overdue_only: true,
        ..Default::default()
    };
    let mine_rows = s.list_hazards(&mine_q).expect("mine").len();
    let overdue_rows = s.list_hazards(&overdue_q).expect("overdue").len();
    let timed_query = |q: &HazardQuery| -> Vec<f64> {
        (0..51)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(s.list_hazards(q).expect("query"));
                ms(t)
            })
            .collect()
    };
    let mine = timed_query(&mine_q);
    let overdue = timed_query(&overdue_q);
    // Record a 25-item inspection (lx.gas on an LPG venue: every item applies) with 3 failures,
    // their 3 before photos, and register the hazards — each run on a fresh venue, durable.
    let three_fail = answers(
        ANSWERS_GAS,
        &[
            ("gas.lpg_underground", json!("no")),
            ("gas.shutoff_test_record", json!("yes")),
            ("gas.hose_joint", json!("yes")),
            ("gas.hose_length", json!(2.4)),
        ],
    );
    let mut record = Vec::new();
    let mut hazards_registered = 0;
    for n in 0..31 {
        let mut profile = fixtures::restaurant_profile();
        profile.has_basement = false;
        let v = s
            .add_venue(
                "wang",
                NewVenue {
                    name: format!("计时场所{n}"),
                    grid_id: "heping-1".into(),
                    profile,
                    ..Default::default()
                },
            )
            .expect("venue")
            .id;
        let t = Instant::now();
        let i = s
            .start_inspection("wang", &v, "lx.gas", None)
            .expect("start");
        s.answer("wang", &i.id, &three_fail).expect("answer");
        for item in ["gas.hose_length", "gas.hose_joint", "gas.shutoff_installed"] {
            s.attach_photo("wang", &i.id, photo(item)).expect("photo");
        }
        let r = s.finish_inspection("wang", &i.id).expect("finish");
        record.push(ms(t));
        hazards_registered = r.hazards.len();
        assert_eq!(r.results.len(), 25);
    }
    assert_eq!(hazards_registered, 3);
    let sizes: Vec<(String, f64, f64)> = {
        let mut stmt = s
            .raw()
            .prepare(
                "SELECT d.kind, avg(length(d.snapshot) + coalesce((SELECT sum(length(c.data)) FROM doc_chunks c WHERE c.doc_id = d.id), 0)),
                        max(length(d.snapshot))
                 FROM docs d GROUP BY d.kind ORDER BY d.kind",
            )
            .expect("sizes");
        stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as f64))
        })
        .expect("sizes")
        .map(|r| r.expect("row"))
        .collect()
    };
    let file_mb = std::fs::metadata(path)
        .map(|m| m.len() as f64 / 1e6)
        .unwrap_or(0.0);
    let (open_ms, mine_ms, overdue_ms, record_ms) = (
        median(open_runs),
        median(mine),
        median(overdue),
        median(record),
    );
    let peak = peak_rss_mb();
    let encrypted = key.is_some();
    println!(
        "GridSafe core benchmark — store {} ({file_mb:.0} MB, encrypted: {encrypted}): {counts:?}",
        path.display()
    );
    println!(
        "{:<52} {:>10} {:>10} {:>8}",
        "measure", "median ms", "target ms", "ratio"
    );
    for (name, v, target) in [
        ("open the store", open_ms, 50.0),
        (
            &*format!("my open hazards by due date ({mine_rows} rows)"),
            mine_ms,
            10.0,
        ),
        (
            &*format!("overdue in my grids ({overdue_rows} rows)"),
            overdue_ms,
            10.0,
        ),
        (
            "record 25-item inspection, 3 failures, 3 photos, register",
            record_ms,
            30.0,
        ),
    ] {
        println!("{name:<52} {v:>10.2} {target:>10.1} {:>8.2}", v / target);
    }
    println!("\ndocument sizes (automerge bytes as saved):");
    for (kind, avg, max) in &sizes {
        println!("  {kind:<11} mean {avg:>8.0} B   largest snapshot {max:>8.0} B");
    }
    println!("peak RSS {peak:.1} MB (at start of measuring: {rss_start:.1} MB)");
    let size_json: serde_json::Map<String, serde_json::Value> = sizes
        .iter()
        .map(|(k, a, _)| (format!("{k}_bytes"), json!(a.round())))
        .collect();
    println!(
        "{}",
        json!({
            "bench": "core", "encrypted": encrypted,
            "venues": counts.get("venue"), "inspections": counts.get("inspection"), "hazards": counts.get("hazard"),
            "open_ms": round2(open_ms), "my_open_hazards_ms": round2(mine_ms), "overdue_ms": round2(overdue_ms),
            "record_inspection_ms": round2(record_ms), "peak_rss_mb": round2(peak), "doc_sizes": size_json, "store_mb": round2(file_mb)
        })
    );
}

/// The fixed key of the benchmark's encrypted store.
pub(crate) fn bench_key() -> StoreKey {
    StoreKey::from_bytes(&[0x5a; 32]).expect("bench key")
}
