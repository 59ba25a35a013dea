//! Relays for the benchmarks: a directory of many grids, relay processes on a fresh data
//! directory, and their memory.

use super::*;

/// The demo town plus `grids` bench grids with two inspectors each (`bench-i0` … on `bench-g0` …):
/// in a real town a grid has one or two workers, so a phone pulls one colleague's work.
pub(crate) fn bench_directory(grids: usize) -> Vec<u8> {
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

pub(crate) fn start_relay(data: &Path, directory: &[u8]) -> RelayProcess {
    let mut st = gridsafe_server::store::RelayStore::open(data).expect("relay store");
    let d = st.import_directory(directory).expect("directory");
    for u in d.users.iter().filter(|u| !u.grids.is_empty()) {
        st.set_password(&u.id, "bench-password").expect("password");
    }
    drop(st);
    spawn_relay(data)
}

/// The relay built beside this benchmark (release), as its own process.
pub(crate) fn spawn_relay_with(
    data: &Path,
    database: Option<&str>,
    blobs: Option<&Path>,
) -> RelayProcess {
    RelayProcess::spawn(
        &std::env::current_exe()
            .expect("exe")
            .with_file_name("gridsafe-server"),
        data,
        database,
        blobs,
    )
}

pub(crate) fn spawn_relay(data: &Path) -> RelayProcess {
    spawn_relay_with(data, None, None)
}

pub(crate) fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}
