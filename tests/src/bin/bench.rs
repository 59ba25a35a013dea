//! `gridsafe-bench core [--data DIR] [--venues N]`: the phone-store benchmark of issue #2.
//!
//! Builds (once, cached in DIR) a store with 5,000 venues, 20,000 inspections and 10,000 hazards
//! through the public store API, then, in a fresh process, measures opening it, the two list
//! queries, and recording a 25-item inspection with 3 failures end to end. Prints a table and, as
//! its last line, one JSON object with the figures. Medians over repeated runs; this machine is
//! shared and noisy.

#[path = "bench/boundary.rs"]
mod boundary;
#[path = "bench/dashboard.rs"]
mod dashboard;
#[path = "bench/evidence.rs"]
mod evidence;
#[path = "bench/findings.rs"]
mod findings;
#[path = "bench/load.rs"]
mod load;
#[path = "bench/million.rs"]
mod million;
#[path = "bench/office.rs"]
mod office;
#[path = "bench/phone.rs"]
mod phone;
#[path = "bench/relays.rs"]
mod relays;
#[path = "bench/reports.rs"]
mod reports;
#[path = "bench/screens.rs"]
mod screens;
#[path = "bench/sync.rs"]
mod sync;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use gridsafe_core::Store;
use gridsafe_core::store::{HazardQuery, NewPhoto, NewVenue};
use gridsafe_core::store_key::StoreKey;
use gridsafe_tests::fixtures;
use gridsafe_tests::relay::RelayProcess;
use serde_json::json;

use boundary::{boundary_prepare, boundary_rust};
use evidence::bench_evidence;
use evidence::evidence_one;
use phone::{bench_key, generate, measure};
use relays::{bench_directory, rss_mb, spawn_relay, spawn_relay_with, start_relay};
use sync::bench_sync;

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

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
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
        Some("office-under-sync") => {
            let n = |i: usize, d: usize| {
                std::env::args()
                    .nth(i)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(d)
            };
            office::run(n(2, 8), n(3, 30));
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
        Some("reports") => {
            let n = |i: usize, d: usize| {
                std::env::args()
                    .nth(i)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(d)
            };
            reports::run(n(2, 100_000), n(3, 30_000), n(4, 7));
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
            let path = core_store(&data, venues);
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
        "screens" => screens::run(&core_store(&data, venues)),
        _ => {
            eprintln!("usage: gridsafe-bench core|screens [--data DIR] [--venues N]");
            std::process::exit(2);
        }
    }
}

/// The phone store of the `core` and `screens` benchmarks: `venues` venues × 4 inspections,
/// generated once and cached in `data`.
fn core_store(data: &Path, venues: usize) -> PathBuf {
    std::fs::create_dir_all(data).expect("data dir");
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
    path
}
