//! `gridsafe-bench core [--data DIR] [--venues N]`: the phone-store benchmark of issue #2.
//!
//! Builds (once, cached in DIR) a store with 5,000 venues, 20,000 inspections and 10,000 hazards
//! through the public store API, then, in a fresh process, measures opening it, the two list
//! queries, and recording a 25-item inspection with 3 failures end to end. Prints a table and, as
//! its last line, one JSON object with the figures. Medians over repeated runs; this machine is
//! shared and noisy.

#[path = "bench/dashboard.rs"]
mod dashboard;
#[path = "bench/load.rs"]
mod load;
#[path = "bench/million.rs"]
mod million;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use gridsafe_core::Store;
use gridsafe_core::store::{HazardQuery, NewPhoto, NewVenue};
use gridsafe_core::store_key::StoreKey;
use gridsafe_tests::fixtures;
use gridsafe_tests::relay::RelayProcess;
use serde_json::json;

use gridsafe_tests::fixtures::{
    EBIKE_ANSWERS as ANSWERS_EBIKE, GAS_ANSWERS as ANSWERS_GAS, answers,
};

fn args() -> (String, PathBuf, usize) {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let mode = a.first().cloned().unwrap_or_default();
    let mut data = PathBuf::from("bench-data");
    let mut venues = 5000;
    let mut i = 1;
    while i < a.len() {
        match a[i].as_str() {
            "--data" => {
                data = PathBuf::from(&a[i + 1]);
                i += 1;
            }
            "--venues" => {
                venues = a[i + 1].parse().expect("--venues N");
                i += 1;
            }
            other => panic!("unknown argument {other}"),
        }
        i += 1;
    }
    (mode, data, venues)
}

fn clean_gas() -> Vec<(String, serde_json::Value)> {
    answers(
        ANSWERS_GAS,
        &[
            ("gas.lpg_underground", json!("no")),
            ("gas.hose_length", json!(1.5)),
            ("gas.shutoff_installed", json!("yes")),
            ("gas.shutoff_test_record", json!("yes")),
        ],
    )
}

fn photo(item: &str) -> NewPhoto {
    NewPhoto {
        bytes: fixtures::PHOTO_MEASURE.to_vec(),
        item_id: Some(item.into()),
        role: "before".into(),
        lat: Some(30.83),
        lon: Some(121.2),
    }
}

fn inspectors() -> Vec<(String, Vec<String>)> {
    fixtures::directory()
        .users
        .iter()
        .filter(|u| !u.grids.is_empty())
        .map(|u| (u.id.clone(), u.grids.clone()))
        .collect()
}

/// One venue's history: four inspections (gas, e-bike, gas again, e-bike again), two hazards.
fn generate(path: &Path, venues: usize) {
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn measure(path: &Path, key: Option<&StoreKey>) {
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
fn bench_key() -> StoreKey {
    StoreKey::from_bytes(&[0x5a; 32]).expect("bench key")
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// One photo through the GridSafe pipeline, as its own process (so it is timed like the CLIs).
fn evidence_one(input: &Path, out: &Path) {
    let bytes = std::fs::read(input).expect("read photo");
    let ctx = gridsafe_core::evidence::IngestContext {
        venue_short: "01a22b58".into(),
        inspector: "wang".into(),
        app_gps: None,
        now_ms: gridsafe_core::clock::now_ms(),
    };
    let e = gridsafe_core::evidence::ingest(&bytes, &ctx).expect("ingest");
    drop(bytes);
    std::fs::write(out.join("ev.jpg"), &e.evidence).expect("write");
    std::fs::write(out.join("th.jpg"), &e.thumbnail).expect("write");
    println!(
        "{} {} {}",
        e.original_sha256, e.evidence_sha256, e.thumbnail_sha256
    );
}

struct Run {
    secs: f64,
    rss_mb: f64,
    ev_bytes: u64,
}

/// Runs a shell command under GNU time; wall seconds and the largest process's peak RSS.
fn timed(cmd: &str, out: &Path) -> Run {
    let _ = std::fs::remove_file(out.join("ev.jpg"));
    // Wall time measured here (GNU time's %e has only 10 ms resolution); RSS from GNU time.
    let t = Instant::now();
    let o = Command::new("/usr/bin/time")
        .args(["-f", "%e %M", "sh", "-c", cmd])
        .output()
        .expect("/usr/bin/time (apt-get install time)");
    let wall = t.elapsed().as_secs_f64();
    assert!(
        o.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    let last = err.lines().last().unwrap_or_default().to_owned();
    let mut it = last.split_whitespace();
    let _gnu_secs: f64 = it.next().and_then(|x| x.parse().ok()).expect("time output");
    let secs = wall;
    let kb: f64 = it.next().and_then(|x| x.parse().ok()).expect("time output");
    let ev_bytes = std::fs::metadata(out.join("ev.jpg"))
        .map(|m| m.len())
        .unwrap_or(0);
    Run {
        secs,
        rss_mb: kb / 1024.0,
        ev_bytes,
    }
}

fn bench_evidence(photos: &Path, rounds: usize) {
    let me = std::env::current_exe().expect("exe");
    let out = std::env::temp_dir().join(format!("gridsafe-evidence-bench-{}", std::process::id()));
    std::fs::create_dir_all(&out).expect("out dir");
    let mut files: Vec<PathBuf> = std::fs::read_dir(photos)
        .expect("photo dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no photos in {}", photos.display());
    let o = out.display();
    println!(
        "{:<34} {:>9} {:>9} {:>9} {:>7} {:>7} {:>7} {:>8} {:>8}",
        "photo", "vips ms", "IM ms", "ours ms", "ours/v", "IM/v", "RSS MB", "vipsMB", "bytes/v"
    );
    let (mut ratios, mut im_ratios, mut byte_ratios, mut peak, mut vips_peak) =
        (Vec::new(), Vec::new(), Vec::new(), 0f64, 0f64);
    let (mut sum_ours, mut sum_vips) = (0.0, 0.0);
    for f in &files {
        let i = f.display();
        let vips = format!(
            "vipsthumbnail '{i}' -s 1600 -o '{o}/ev.jpg[Q=80,strip]' && vipsthumbnail '{i}' -s 320 -o '{o}/th.jpg[Q=80,strip]' && sha256sum '{i}' '{o}/ev.jpg' '{o}/th.jpg' >/dev/null"
        );
        let im = format!(
            "/usr/bin/convert -define jpeg:size=3200x3200 '{i}' -auto-orient -strip -resize 1600x1600 -quality 80 -sampling-factor 4:2:0 -write '{o}/ev.jpg' -resize 320x320 '{o}/th.jpg' && sha256sum '{i}' '{o}/ev.jpg' '{o}/th.jpg' >/dev/null"
        );
        let ours = format!("'{}' evidence-one '{i}' '{o}' >/dev/null", me.display());
        let (mut v, mut m, mut g) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            // Interleaved so that machine noise hits all three alike.
            v.push(timed(&vips, &out));
            m.push(timed(&im, &out));
            g.push(timed(&ours, &out));
        }
        let med = |r: &[Run]| median(r.iter().map(|x| x.secs * 1000.0).collect());
        let (vm, mm, gm) = (med(&v), med(&m), med(&g));
        let rss = g.iter().map(|x| x.rss_mb).fold(0.0, f64::max);
        let vrss = v.iter().map(|x| x.rss_mb).fold(0.0, f64::max);
        let bytes = g[0].ev_bytes as f64 / v[0].ev_bytes.max(1) as f64;
        peak = peak.max(rss);
        vips_peak = vips_peak.max(vrss);
        ratios.push(gm / vm);
        im_ratios.push(mm / vm);
        byte_ratios.push(bytes);
        sum_ours += gm;
        sum_vips += vm;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!(
            "{name:<34} {vm:>9.0} {mm:>9.0} {gm:>9.0} {:>7.2} {:>7.2} {rss:>7.1} {vrss:>8.1} {bytes:>8.3}",
            gm / vm,
            mm / vm
        );
    }
    let _ = std::fs::remove_dir_all(&out);
    let ratio = median(ratios.clone());
    println!(
        "\nmedian ratio vs vips: ours {ratio:.2}×, ImageMagick {:.2}×; total time ratio {:.2}×; evidence bytes vs vips {:.3}× (median); peak RSS ours {peak:.1} MB, vips {vips_peak:.1} MB",
        median(im_ratios.clone()),
        sum_ours / sum_vips,
        median(byte_ratios.clone())
    );
    println!(
        "{}",
        json!({"bench": "evidence", "ratio_vs_vips": round2(ratio), "ratio_imagemagick_vs_vips": round2(median(im_ratios)),
               "total_ratio_vs_vips": round2(sum_ours / sum_vips), "bytes_ratio_vs_vips": (median(byte_ratios) * 1000.0).round() / 1000.0,
               "peak_rss_mb": round2(peak), "vips_peak_rss_mb": round2(vips_peak), "photos": files.len(), "rounds": rounds})
    );
}

/// A phone with `inspections` e-bike inspections over `venues` venues; every `hazard_every`-th
/// inspection finds a flying lead (one hazard, one before photo); `photos_per` photos each.
/// Every hazard inspection gets its required before photo; `photos_per` distinct photos in all
/// per inspection (generated, 1600×1200, so none deduplicates).
#[allow(clippy::too_many_arguments)]
fn phone_with_day(
    path: &Path,
    directory: &[u8],
    url: &str,
    user: &str,
    grid: &str,
    venues: usize,
    inspections: usize,
    hazards: usize,
    photos_per: usize,
) -> Store {
    let mut s = Store::create(path).expect("store");
    s.import_directory(directory).expect("directory");
    gridsafe_client::enroll(&mut s, url, user, "bench-password", "bench").expect("enrol");
    let ok = answers(ANSWERS_EBIKE, &[("ebike.flying_lead", json!("no"))]);
    let fail = answers(ANSWERS_EBIKE, &[]);
    let mut vs = Vec::new();
    for n in 0..venues {
        let mut profile = fixtures::restaurant_profile();
        profile.gas_supply = "none".into();
        vs.push(
            s.add_venue(
                user,
                NewVenue {
                    name: format!("场所{n}"),
                    grid_id: grid.into(),
                    profile,
                    ..Default::default()
                },
            )
            .expect("venue")
            .id,
        );
    }
    for n in 0..inspections {
        let i = s
            .start_inspection(user, &vs[n % vs.len()], "lx.ebike", None)
            .expect("start");
        let hazard = n < hazards;
        s.answer(user, &i.id, if hazard { &fail } else { &ok })
            .expect("answer");
        for k in 0..photos_per.max(usize::from(hazard)) {
            let item = if k == 0 && hazard {
                "ebike.flying_lead"
            } else {
                "ebike.management_signage"
            };
            let seed = (path.as_os_str().len() * 1_000_003 + n * 101 + k) as u32
                ^ (gridsafe_core::clock::now_ms() as u32);
            let bytes = gridsafe_server::demo::synthetic_photo(1600, 1200, seed).expect("photo");
            s.attach_photo(
                user,
                &i.id,
                NewPhoto {
                    bytes,
                    item_id: Some(item.into()),
                    role: "before".into(),
                    lat: None,
                    lon: None,
                },
            )
            .expect("photo");
        }
        s.finish_inspection(user, &i.id).expect("finish");
    }
    s
}

/// The demo town plus `grids` bench grids with two inspectors each (`bench-i0` … on `bench-g0` …):
/// in a real town a grid has one or two workers, so a phone pulls one colleague's work.
fn bench_directory(grids: usize) -> Vec<u8> {
    let mut d: serde_json::Value =
        serde_json::from_slice(fixtures::DIRECTORY_JSON).expect("directory");
    let villages: Vec<String> = d["villages"]
        .as_array()
        .expect("villages")
        .iter()
        .map(|v| v["code"].as_str().expect("code").to_owned())
        .collect();
    for g in 0..grids {
        let village = &villages[g % villages.len()];
        d["grids"]
            .as_array_mut()
            .expect("grids")
            .push(json!({"id": format!("bench-g{g}"), "village": village, "name_zh": format!("压测网格{g}")}));
        for k in 0..2 {
            d["users"].as_array_mut().expect("users").push(
                json!({"id": format!("bench-i{}", g * 2 + k), "name": format!("压测{}", g * 2 + k), "role": "inspector", "grids": [format!("bench-g{g}")]}),
            );
        }
    }
    serde_json::to_vec(&d).expect("json")
}

fn start_relay(data: &Path, directory: &[u8]) -> RelayProcess {
    let mut st = gridsafe_server::store::RelayStore::open(data).expect("relay store");
    let d = st.import_directory(directory).expect("directory");
    for u in d.users.iter().filter(|u| !u.grids.is_empty()) {
        st.set_password(&u.id, "bench-password").expect("password");
    }
    drop(st);
    spawn_relay(data)
}

/// The relay built beside this benchmark (release), as its own process.
fn spawn_relay_with(data: &Path, database: Option<&str>, blobs: Option<&Path>) -> RelayProcess {
    RelayProcess::spawn(
        &std::env::current_exe()
            .expect("exe")
            .with_file_name("gridsafe-server"),
        data,
        database,
        blobs,
    )
}

fn spawn_relay(data: &Path) -> RelayProcess {
    spawn_relay_with(data, None, None)
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// One phone's day (50 inspections, 20 hazards, 200 photos): round trips and wire bytes on
/// loopback, then the same day from a second phone over a throttled link (1 Mbit/s, 200 ms RTT).
fn bench_sync() {
    let dir = tempfile::tempdir().expect("tmp");
    let directory = fixtures::DIRECTORY_JSON;
    let relay = start_relay(&dir.path().join("relay"), directory);
    let url = relay.url.clone();
    let link = gridsafe_tests::throttle::Link {
        bits_per_s: 1_000_000,
        rtt_ms: 200,
    };
    let proxy = gridsafe_tests::throttle::Proxy::start(url.trim_start_matches("http://"), link)
        .expect("proxy");
    let t = Instant::now();
    let mut day = phone_with_day(
        &dir.path().join("day.sqlite"),
        directory,
        &url,
        "wang",
        "heping-1",
        50,
        50,
        20,
        4,
    );
    // This phone reaches the relay only through the slow link.
    let mut slow = phone_with_day(
        &dir.path().join("slow.sqlite"),
        directory,
        &proxy.url(),
        "li",
        "jialou-1",
        50,
        50,
        20,
        4,
    );
    eprintln!(
        "prepared two phones' days in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let hazards = day
        .list_hazards(&HazardQuery::default())
        .expect("hazards")
        .len();
    let req = day.sync_request(usize::MAX).expect("request");
    let raw_changes = req.change_bytes();
    let photo_bytes: u64 = day
        .pending_uploads(false)
        .expect("uploads")
        .iter()
        .map(|(_, _, n)| n)
        .sum();
    let t = Instant::now();
    let p = gridsafe_client::sync_all(&mut day, false, &mut |_| {}).expect("sync day");
    let day_secs = t.elapsed().as_secs_f64();
    let wire = p.bytes_sent + p.bytes_received;
    let raw = raw_changes as u64 + photo_bytes;
    let wire_ratio = wire as f64 / raw as f64;
    println!(
        "one phone's day: {} records ({hazards} hazards), {} photo files; {} record round trips; wire {wire} B vs raw {raw} B (changes {raw_changes} + photos {photo_bytes}) = {wire_ratio:.3}×; {day_secs:.2} s on loopback",
        req.push.len(),
        p.photos_uploaded,
        p.round_trips,
    );
    // The same day over a slow link. The proxy carries every byte both ways, so the floor is the
    // bytes it carried at the link rate (plus one RTT); the ratio is what the protocol adds.
    proxy.reset_count();
    let t = Instant::now();
    let q =
        gridsafe_client::sync_all(&mut slow, false, &mut |_| {}).expect("sync over the slow link");
    let slow_secs = t.elapsed().as_secs_f64();
    let carried = proxy.bytes_carried();
    let floor = carried as f64 * 8.0 / link.bits_per_s as f64;
    println!(
        "the same day over {} kbit/s, {} ms RTT: {slow_secs:.1} s; the proxy carried {carried} B = {floor:.1} s at the link rate; {:.3}× of that; {} round trips for records",
        link.bits_per_s / 1000,
        link.rtt_ms,
        slow_secs / floor,
        q.round_trips
    );
    drop(relay);
    println!(
        "{}",
        json!({"bench": "sync", "day_records": req.push.len(), "day_photo_files": p.photos_uploaded, "day_round_trips": p.round_trips,
               "day_wire_bytes": wire, "day_raw_bytes": raw, "day_wire_vs_raw": (wire_ratio * 1000.0).round() / 1000.0,
               "loopback_s": round2(day_secs), "throttled_kbit_s": link.bits_per_s / 1000, "throttled_rtt_ms": link.rtt_ms,
               "throttled_s": round2(slow_secs), "throttled_bytes": carried, "throttled_vs_bandwidth": (slow_secs / floor * 1000.0).round() / 1000.0})
    );
}

/// A store with `n` open hazards (one flying lead per e-bike inspection, with its photo), for the
/// FFI boundary benchmark; built once and reused.
fn boundary_prepare(path: &Path, n: usize) {
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
fn boundary_rust(path: &Path) -> f64 {
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

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("boundary-prepare") => {
            let p = PathBuf::from(std::env::args().nth(2).expect("path"));
            boundary_prepare(&p, 1000);
            return;
        }
        Some("boundary-rust") => {
            let p = PathBuf::from(std::env::args().nth(2).expect("path"));
            println!(
                "{}",
                json!({"rust_list_1000_ms": round2(boundary_rust(&p)), "rounds": 51})
            );
            return;
        }
        Some("relay") => {
            let n = |i: usize, d: usize| {
                std::env::args()
                    .nth(i)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(d)
            };
            load::run(n(2, 100), n(3, 16), n(4, 3));
            return;
        }
        Some("relay-million") => {
            million::run(
                std::env::args()
                    .nth(2)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1_000_000),
            );
            return;
        }
        Some("sync") => {
            bench_sync();
            return;
        }
        Some("dashboard") => {
            let n = |i: usize, d: usize| {
                std::env::args()
                    .nth(i)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(d)
            };
            dashboard::run(n(2, 100_000), n(3, 30_000), n(4, 15));
            return;
        }
        Some("evidence-one") => {
            let a: Vec<String> = std::env::args().collect();
            evidence_one(Path::new(&a[2]), Path::new(&a[3]));
            return;
        }
        Some("evidence") => {
            let a: Vec<String> = std::env::args().collect();
            let rounds = a.get(3).and_then(|r| r.parse().ok()).unwrap_or(5);
            bench_evidence(
                Path::new(
                    a.get(2)
                        .expect("usage: gridsafe-bench evidence PHOTO_DIR [ROUNDS]"),
                ),
                rounds,
            );
            return;
        }
        _ => {}
    }
    if std::env::args().nth(1).as_deref() == Some("core-measure") {
        let path = std::env::args().nth(2).expect("path");
        let key = std::env::args().nth(3).is_some().then(bench_key);
        measure(Path::new(&path), key.as_ref());
        return;
    }
    let (mode, data, venues) = args();
    match mode.as_str() {
        "core" => {
            std::fs::create_dir_all(&data).expect("data dir");
            let path = data.join(format!("core-{venues}.sqlite"));
            if !path.exists() {
                eprintln!(
                    "generating {venues} venues × 4 inspections (once; cached at {})",
                    path.display()
                );
                let tmp = data.join(format!("core-{venues}.sqlite.partial"));
                let _ = std::fs::remove_file(&tmp);
                generate(&tmp, venues);
                std::fs::rename(&tmp, &path).expect("rename");
                for ext in ["-wal", "-shm"] {
                    let _ = std::fs::rename(
                        data.join(format!("core-{venues}.sqlite.partial{ext}")),
                        data.join(format!("core-{venues}.sqlite{ext}")),
                    );
                }
            }
            // The same store encrypted (SQLCipher), made once from the plain one.
            let enc = data.join(format!("core-{venues}-encrypted.sqlite"));
            if !enc.exists() {
                let tmp = data.join(format!("core-{venues}-encrypted.sqlite.partial"));
                std::fs::copy(&path, &tmp).expect("copy");
                drop(Store::open_with(&tmp, Some(&bench_key())).expect("encrypt"));
                std::fs::rename(&tmp, &enc).expect("rename");
            }
            // Each measured in a fresh process so peak memory is the measuring phase's alone;
            // plain and encrypted in one run, side by side.
            let mut figures = Vec::new();
            for (store, keyed) in [(&path, false), (&enc, true)] {
                let mut cmd = Command::new(std::env::current_exe().expect("exe"));
                cmd.arg("core-measure").arg(store);
                if keyed {
                    cmd.arg("key");
                }
                let out = cmd.output().expect("spawn");
                let text = String::from_utf8_lossy(&out.stdout).to_string();
                print!("{text}");
                if !out.status.success() {
                    std::process::exit(out.status.code().unwrap_or(1));
                }
                let last: serde_json::Value =
                    serde_json::from_str(text.lines().last().unwrap_or("{}")).expect("figures");
                figures.push(last);
            }
            let ratio = |k: &str| {
                round2(
                    figures[1][k].as_f64().unwrap_or(0.0)
                        / figures[0][k].as_f64().unwrap_or(1.0).max(1e-9),
                )
            };
            println!(
                "{}",
                json!({
                    "bench": "core", "plain": figures[0], "encrypted": figures[1],
                    "encrypted_vs_plain": {
                        "open": ratio("open_ms"), "my_open_hazards": ratio("my_open_hazards_ms"),
                        "overdue": ratio("overdue_ms"), "record_inspection": ratio("record_inspection_ms")
                    }
                })
            );
        }
        _ => {
            eprintln!("usage: gridsafe-bench core [--data DIR] [--venues N]");
            std::process::exit(2);
        }
    }
}
