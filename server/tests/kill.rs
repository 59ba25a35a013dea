//! The relay killed with SIGKILL during 50 concurrent syncs, then restarted: every change it had
//! acknowledged is present, and the phones finish syncing.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use gridsafe_client as client;
use gridsafe_core::Store;
use gridsafe_core::store::{NewPhoto, NewVenue};
use gridsafe_server::store::RelayStore;

fn start(data: &Path, listen: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gridsafe-server"))
        .args(["serve", "--listen", listen, "--data"])
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    (child, url)
}

fn day(s: &mut Store, user: &str, grid: &str, n: usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let profile = gridsafe_core::profile::VenueProfile {
        venue_type: vec!["street_shop".into()],
        floors_above_ground: 1,
        gas_supply: "none".into(),
        is_crowded_place: true,
        ..Default::default()
    };
    let v = s
        .add_venue(
            user,
            NewVenue {
                name: format!("店{n}"),
                grid_id: grid.into(),
                profile,
                ..Default::default()
            },
        )
        .unwrap();
    let i = s.start_inspection(user, &v.id, "lx.ebike", None).unwrap();
    let a = gridsafe_core::eval::answers_from_json(
        &std::fs::read(root.join("examples/answers/ebike-shop.json")).unwrap(),
    )
    .unwrap();
    s.answer(user, &i.id, &a).unwrap();
    let photo = std::fs::read(root.join("examples/photos/corridor-before.jpg")).unwrap();
    s.attach_photo(
        user,
        &i.id,
        NewPhoto {
            bytes: photo,
            item_id: Some("ebike.flying_lead".into()),
            role: "before".into(),
            ..Default::default()
        },
    )
    .unwrap();
    s.finish_inspection(user, &i.id).unwrap();
}

#[test]
fn sigkill_during_fifty_concurrent_syncs_loses_no_acknowledged_change() {
    let data = tempfile::tempdir().unwrap();
    let phones_dir = tempfile::tempdir().unwrap();
    let dir_json = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .join("examples/lvxiang-directory.json"),
    )
    .unwrap();
    {
        let mut st = RelayStore::open(data.path()).unwrap();
        let d = st.import_directory(&dir_json).unwrap();
        for u in &d.users {
            st.set_password(&u.id, "correct horse").unwrap();
        }
    }
    let (mut relay, url) = start(data.path(), "127.0.0.1:0");
    let addr = url.trim_start_matches("http://").to_owned();
    let inspectors = [
        ("wang", "heping-1"),
        ("li", "jialou-1"),
        ("zhang", "taiping-1"),
        ("liu", "longyue-1"),
        ("chen", "baiyang-1"),
    ];
    let mut phones: Vec<Store> = (0..50)
        .map(|n| {
            let (user, grid) = inspectors[n % inspectors.len()];
            let mut s = Store::create(phones_dir.path().join(format!("p{n}.sqlite"))).unwrap();
            s.import_directory(&dir_json).unwrap();
            client::enroll(&mut s, &url, user, "correct horse", &format!("p{n}")).unwrap();
            day(&mut s, user, grid, n);
            s
        })
        .collect();
    // 50 phones sync at once; the relay is killed while they do.
    let results: Vec<(Store, bool)> = std::thread::scope(|scope| {
        let handles: Vec<_> = phones
            .drain(..)
            .enumerate()
            .map(|(n, mut s)| {
                scope.spawn(move || {
                    std::thread::sleep(Duration::from_millis((n as u64 % 10) * 15));
                    let ok = client::sync(&mut s, &mut |_| {}).is_ok();
                    (s, ok)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(120));
        relay.kill().unwrap(); // SIGKILL
        relay.wait().unwrap();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let synced = results.iter().filter(|(_, ok)| *ok).count();
    eprintln!("{synced} of 50 syncs completed before the kill");

    // Restart on the same address: every change acknowledged to a phone is there.
    let (mut relay, _) = start(data.path(), &addr);
    let mut check = RelayStore::open(data.path()).unwrap();
    let mut phones = Vec::new();
    for (s, ok) in results {
        if ok {
            for v in s.list_venues(None).unwrap() {
                assert_eq!(
                    check.doc_heads(&v.id).unwrap(),
                    Some(s.doc_heads(&v.id).unwrap()),
                    "acknowledged venue {} lost",
                    v.id
                );
            }
        }
        phones.push(s);
    }
    // Everyone finishes syncing after the restart, nothing pending, nothing duplicated.
    for s in &mut phones {
        client::sync(s, &mut |_| {}).unwrap();
        assert_eq!(s.sync_status().unwrap().pending_docs, 0);
    }
    // Changes are keyed by hash (UNIQUE), so retried pushes cannot duplicate them.
    let (docs, _, _) = check.counts().unwrap();
    assert_eq!(docs, 50 * 3, "50 venues, 50 inspections, 50 hazards");
    for s in &phones {
        for v in s.list_venues(None).unwrap() {
            assert_eq!(
                check.doc_heads(&v.id).unwrap(),
                Some(s.doc_heads(&v.id).unwrap())
            );
        }
    }
    relay.kill().unwrap();
    relay.wait().unwrap();
}
