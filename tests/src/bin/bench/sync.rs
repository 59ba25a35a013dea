//! The sync benchmark (`sync`): a grid worker's day pushed to a relay, directly and over a
//! throttled 1 Mbit/s link.

use super::*;

/// A phone with `inspections` e-bike inspections over `venues` venues; every `hazard_every`-th
/// inspection finds a flying lead (one hazard, one before photo); `photos_per` photos each.
/// Every hazard inspection gets its required before photo; `photos_per` distinct photos in all
/// per inspection (generated, 1600×1200, so none deduplicates).
#[allow(clippy::too_many_arguments)]
pub(crate) fn phone_with_day(
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

/// One phone's day (50 inspections, 20 hazards, 200 photos): round trips and wire bytes on
/// loopback, then the same day from a second phone over a throttled link (1 Mbit/s, 200 ms RTT).
pub(crate) fn bench_sync() {
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
