//! Several relays on one PostgreSQL database (issue #7): two `gridsafe-server` processes share the
//! database and a photo directory behind a round-robin balancer (no sticky sessions). Phones that
//! work on the same records sync through both, alternately and at once; nothing is lost, nothing
//! is duplicated, and every phone's cursor brings it everything. Also: backup and restore.
//!
//! Needs a PostgreSQL cluster (`GRIDSAFE_TEST_PG`): `scripts/test` starts a throwaway one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use gridsafe_client as client;
use gridsafe_core::Store;
use gridsafe_core::store::VenueEdit;
use gridsafe_server::Config;
use gridsafe_server::store::RelayStore;
use gridsafe_tests::balancer::Balancer;
use gridsafe_tests::browser::Browser;
use gridsafe_tests::relay::RelayProcess;
use gridsafe_tests::{fixtures, pg};

const PASSWORD: &str = "correct horse";

fn server_exe() -> PathBuf {
    // target/<profile>/deps/postgres-… → target/<profile>/gridsafe-server
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("gridsafe-server");
    assert!(
        bin.exists(),
        "{} is missing: cargo build -p gridsafe-server (scripts/test builds it)",
        bin.display()
    );
    bin
}

/// A relay process with its own (kept) local directory, on the shared database and photo path.
fn relay_process(database: &str, blobs: &Path) -> RelayProcess {
    RelayProcess::spawn_fresh(&server_exe(), Some(database), Some(blobs))
}

/// A database with the demo directory and passwords, as `gridsafe-server admin` would install them.
fn district_database(users: &[&str]) -> String {
    let url = pg::database();
    let admin = tempfile::tempdir().unwrap();
    let mut st = Config {
        data: admin.path().to_owned(),
        database: Some(url.clone()),
        blobs: None,
    }
    .open_store()
    .unwrap();
    st.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    for u in users {
        st.set_password(u, PASSWORD).unwrap();
    }
    url
}

fn phone(dir: &Path, name: &str, url: &str, user: &str) -> Store {
    let mut s = Store::create(dir.join(format!("{name}.sqlite"))).unwrap();
    s.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    client::enroll(&mut s, url, user, PASSWORD, name).unwrap();
    s
}

/// Every record a phone holds, with its heads.
fn holdings(s: &Store) -> BTreeMap<String, Vec<String>> {
    let ids: Vec<String> = {
        let mut stmt = s.raw().prepare("SELECT id FROM docs ORDER BY id").unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    ids.into_iter()
        .map(|id| (id.clone(), s.doc_heads(&id).unwrap()))
        .collect()
}

/// Three of wang's phones and two of li's, in two grids, edit the same records and sync through
/// the balancer: one round one after the other, then rounds all at once.
#[test]
fn two_relay_processes_on_one_database_lose_and_duplicate_nothing() {
    let database = district_database(&["wang", "li", "office"]);
    let blobs = tempfile::tempdir().unwrap();
    let (r1, r2) = (
        relay_process(&database, blobs.path()),
        relay_process(&database, blobs.path()),
    );
    let lb = Balancer::start(vec![
        r1.url.trim_start_matches("http://").into(),
        r2.url.trim_start_matches("http://").into(),
    ])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let who = [
        ("wang-a", "wang", "heping-1"),
        ("wang-b", "wang", "heping-1"),
        ("wang-c", "wang", "heping-1"),
        ("li-a", "li", "jialou-1"),
        ("li-b", "li", "jialou-1"),
    ];
    let mut phones: Vec<(&str, &str, Store)> = who
        .iter()
        .map(|(n, u, g)| (*u, *g, phone(dir.path(), n, &lb.url(), u)))
        .collect();

    // Each phone's first visit, synced one after the other: everyone then holds the grid's records.
    let mut venues: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (n, (user, grid, s)) in phones.iter_mut().enumerate() {
        let h = fixtures::flying_lead_visit(s, user, grid, n);
        let venue = s.hazard(&h).unwrap().header.venue_id.clone();
        venues.entry(*grid).or_default().push(venue);
        client::sync_all(s, false, &mut |_| {}).unwrap();
    }
    for (_, _, s) in phones.iter_mut() {
        client::sync_all(s, false, &mut |_| {}).unwrap();
    }

    // Rounds at once: every phone edits every venue of its grid (the same records as its
    // colleagues' phones) and records a new visit, then all sync together.
    const ROUNDS: usize = 6;
    for round in 0..ROUNDS {
        std::thread::scope(|scope| {
            for (n, (user, grid, s)) in phones.iter_mut().enumerate() {
                let venues = &venues[grid];
                scope.spawn(move || {
                    for v in venues {
                        if s.venue(v).is_ok() {
                            let e = VenueEdit {
                                address: Some(format!("round {round} by phone {n}")),
                                ..Default::default()
                            };
                            s.edit_venue(user, v, e).unwrap();
                        }
                    }
                    fixtures::flying_lead_visit(s, user, grid, 100 + round * 10 + n);
                    client::sync_all(s, false, &mut |_| {}).unwrap();
                });
            }
        });
    }
    // Two quiet rounds: whatever one phone pushed after another's pull reaches it now.
    for _ in 0..2 {
        for (_, _, s) in phones.iter_mut() {
            client::sync_all(s, false, &mut |_| {}).unwrap();
        }
    }
    let served = lb.served();
    assert!(
        served.iter().all(|&n| n > 20),
        "both relays took a share of the syncs: {served:?}"
    );

    // Every phone of a grid holds the same records at the same heads, and so does the database.
    let local = tempfile::tempdir().unwrap();
    let mut relay = Config {
        data: local.path().to_owned(),
        database: Some(database.clone()),
        blobs: None,
    }
    .open_store()
    .unwrap();
    for grid in ["heping-1", "jialou-1"] {
        let views: Vec<BTreeMap<String, Vec<String>>> = phones
            .iter()
            .filter(|p| p.1 == grid)
            .map(|p| holdings(&p.2))
            .collect();
        for v in &views {
            assert_eq!(
                v, &views[0],
                "phones of {grid} agree on every record and its heads"
            );
        }
        // 1 + ROUNDS visits per phone, three records each, plus nothing else.
        let phones_in_grid = views.len();
        assert_eq!(
            views[0].len(),
            phones_in_grid * (1 + ROUNDS) * 3,
            "{grid}: every visit's venue, inspection and hazard"
        );
        for (id, heads) in &views[0] {
            assert_eq!(
                relay.doc_heads(id).unwrap().as_ref(),
                Some(heads),
                "the relays hold {id} as the phones do"
            );
        }
    }
    // Each venue edit is one change in the log, once: the log holds exactly what the phones made.
    let mut db = relay.db();
    let changes = db
        .one("SELECT count(*), count(DISTINCT hash) FROM changes", &[])
        .unwrap()
        .unwrap();
    assert_eq!(
        changes.int(0).unwrap(),
        changes.int(1).unwrap(),
        "no change stored twice"
    );
    let per_doc = db
        .query("SELECT doc_id, count(*) FROM changes GROUP BY doc_id", &[])
        .unwrap();
    let by_doc: BTreeMap<String, i64> = per_doc
        .iter()
        .map(|r| (r.text(0).unwrap(), r.int(1).unwrap()))
        .collect();
    for (grid, vs) in &venues {
        let editors = who.iter().filter(|w| w.2 == *grid).count() as i64;
        for v in vs {
            assert_eq!(
                by_doc[v],
                1 + ROUNDS as i64 * editors,
                "venue {v}: its creation and one edit per phone per round"
            );
        }
    }
    // The office, enrolled through the balancer, pulls every record the district holds.
    let mut office = phone(dir.path(), "office", &lb.url(), "office");
    client::sync_all(&mut office, false, &mut |_| {}).unwrap();
    let all: BTreeSet<String> = db
        .query("SELECT id FROM docs", &[])
        .unwrap()
        .iter()
        .map(|r| r.text(0).unwrap())
        .collect();
    assert_eq!(
        holdings(&office).keys().cloned().collect::<BTreeSet<_>>(),
        all,
        "the office's cursor brought it everything"
    );
}

/// A photo uploaded in two chunks, one through each relay, completes; both relays serve it to a
/// phone whose scope covers it, and both dashboards list a hazard pushed through only one.
#[test]
fn photos_and_dashboards_are_shared_between_relays() {
    let database = district_database(&["wang", "office"]);
    let blobs = tempfile::tempdir().unwrap();
    let (r1, r2) = (
        relay_process(&database, blobs.path()),
        relay_process(&database, blobs.path()),
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();

    let dir = tempfile::tempdir().unwrap();
    let mut wang = phone(dir.path(), "wang", &r1.url, "wang");
    let token = wang.enrollment().unwrap().unwrap().1;
    // A photo the relay takes only once a record it holds references it (issue #25): an
    // inspection's before photo, its record synced first (records only, no photos).
    let first = fixtures::flying_lead_visit(&mut wang, "wang", "heping-1", 9);
    client::sync(&mut wang, &mut |_| {}).unwrap();
    let sha = wang.hazard(&first).unwrap().header.photos[0].sha256.clone();
    let bytes = wang.blob(&sha).unwrap();
    let third = bytes.len() / 3;
    let put = |url: &str, offset: usize, end: usize| {
        let mut r = agent
            .put(&format!(
                "{url}/v1/blobs/{sha}?offset={offset}&total={}",
                bytes.len()
            ))
            .header("Authorization", &format!("Bearer {token}"))
            .send(&bytes[offset..end])
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    };
    assert_eq!(
        put(&r1.url, 0, third),
        (200, format!(r#"{{"have":{third},"complete":false}}"#))
    );
    // A chunk at the wrong offset through the other relay: it knows what the first one took.
    assert_eq!(put(&r2.url, 0, third).0, 409);
    assert_eq!(
        put(&r2.url, third, bytes.len()),
        (
            200,
            format!(r#"{{"have":{},"complete":true}}"#, bytes.len())
        )
    );
    let status = |url: &str| {
        agent
            .get(&format!("{url}/v1/blobs/{sha}/status"))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap()
    };
    assert_eq!(
        status(&r1.url),
        format!(r#"{{"have":{},"complete":true}}"#, bytes.len()),
        "the first relay sees the completed photo"
    );

    // A visit synced through relay 1; its photo downloads from relay 2.
    let h = fixtures::flying_lead_visit(&mut wang, "wang", "heping-1", 0);
    client::sync_all(&mut wang, false, &mut |_| {}).unwrap();
    let photo = wang.hazard(&h).unwrap().header.photos[0].sha256.clone();
    for url in [&r1.url, &r2.url] {
        let mut r = agent
            .get(&format!("{url}/v1/blobs/{photo}"))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{url}");
        let got = r
            .body_mut()
            .with_config()
            .limit(1 << 26)
            .read_to_vec()
            .unwrap();
        assert_eq!(
            gridsafe_core::evidence::sha256_hex(&got),
            photo,
            "{url} serves the photo's bytes"
        );
    }

    // Relay 2's dashboard lists the hazard it never received itself. The office's pages read
    // without waiting for a catch-up: each relay brings its figures up to the shared log on its
    // own schedule (every 2 s by default), so a page is at most that far behind another relay.
    let short: String = h.chars().take(8).collect();
    for url in [&r1.url, &r2.url] {
        let mut b = Browser::new(url);
        assert_eq!(b.login("office", PASSWORD), 303, "{url}: signed in");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let page = b.get("/hazards").1;
            if page.contains(&h) || page.contains(&short) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{url}'s ledger lists hazard {h} within the catch-up interval"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
}

/// Backup of a running relay and restore into a new database and directory: the same records,
/// changes and photos, and the restored relay opens and serves them.
#[test]
fn backup_and_restore_on_postgres_and_sqlite() {
    for on_pg in [false, true] {
        let database = on_pg.then(|| district_database(&["wang"]));
        let data = tempfile::tempdir().unwrap();
        let cfg = Config {
            data: data.path().to_owned(),
            database: database.clone(),
            blobs: None,
        };
        if !on_pg {
            let mut st = cfg.open_store().unwrap();
            st.import_directory(fixtures::DIRECTORY_JSON).unwrap();
            st.set_password("wang", PASSWORD).unwrap();
        }
        let relay = gridsafe_tests::relay::TestRelay::start_with(&["wang"], database, None);
        let dir = tempfile::tempdir().unwrap();
        let mut wang = phone(dir.path(), "wang", &relay.url, "wang");
        let h = fixtures::flying_lead_visit(&mut wang, "wang", "heping-1", 0);
        client::sync_all(&mut wang, false, &mut |_| {}).unwrap();

        let out = tempfile::tempdir().unwrap();
        let to = out.path().join("backup");
        let m = gridsafe_server::backup::backup(&relay.config, &to).unwrap();
        assert_eq!(
            (m.docs, m.photos > 0, m.postgres),
            (3, true, on_pg),
            "{m:?}"
        );
        let again = gridsafe_server::backup::backup(&relay.config, &to)
            .unwrap_err()
            .to_string();
        assert!(again.contains("already exists"), "{again}");

        // A backup restored as the other kind of relay is refused before anything is written.
        let wrong = Config {
            data: out.path().join("wrong"),
            database: (!on_pg).then(pg::database),
            blobs: None,
        };
        let e = gridsafe_server::backup::restore(&to, &wrong)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(if on_pg {
                "give --database"
            } else {
                "without --database"
            }),
            "{e}"
        );
        assert!(!wrong.data.exists(), "nothing written");
        let target = Config {
            data: out.path().join("restored"),
            database: on_pg.then(pg::database),
            blobs: None,
        };
        let r = gridsafe_server::backup::restore(&to, &target).unwrap();
        assert_eq!(r, m);
        let mut restored = target.open_store().unwrap();
        assert_eq!(
            restored.doc_heads(&h).unwrap().unwrap(),
            wang.doc_heads(&h).unwrap(),
            "the hazard at the same heads"
        );
        let photo = wang.hazard(&h).unwrap().header.photos[0].sha256.clone();
        assert!(restored.blob_complete(&photo).unwrap());
        assert!(
            target.blob_root().join(&photo[..2]).join(&photo).exists(),
            "the photo's bytes came back"
        );
        // Restoring over a relay refuses and leaves it as it was.
        let e = gridsafe_server::backup::restore(&to, &target)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not empty"), "{e}");
        assert_eq!(target.open_store().unwrap().counts().unwrap().0, 3);
    }
}

/// A database URL that does not answer, and one of a newer schema, fail with messages that name
/// the problem; the relay refuses to start on either.
#[test]
fn bad_databases_are_named() {
    let data = tempfile::tempdir().unwrap();
    let e = Config {
        data: data.path().to_owned(),
        database: Some("postgres://nobody:secret@127.0.0.1:1/none".into()),
        blobs: None,
    }
    .open_store()
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("cannot connect to postgres://nobody@127.0.0.1:1/none"),
        "{e}"
    );
    assert!(
        !e.contains("secret"),
        "the password stays out of messages: {e}"
    );

    let url = pg::database();
    let cfg = Config {
        data: data.path().to_owned(),
        database: Some(url.clone()),
        blobs: None,
    };
    drop(cfg.open_store().unwrap());
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    c.execute(
        "INSERT INTO gridsafe_schema (version, applied_ms) VALUES (99, 0)",
        &[],
    )
    .unwrap();
    let e = cfg.open_store().unwrap_err().to_string();
    assert!(e.contains("schema 99, newer than this relay's"), "{e}");
}

/// The relay's last handle to its store can be let go on a thread that drives async tasks (a
/// connection task that outlives shutdown does). Closing the PostgreSQL connection there must not
/// abort the process (CI saw `Cannot start a runtime from within a runtime`, then SIGABRT).
#[test]
fn a_store_on_postgresql_closes_on_an_async_worker() {
    let data = tempfile::tempdir().unwrap();
    let cfg = Config {
        data: data.path().to_owned(),
        database: Some(pg::database()),
        blobs: None,
    };
    let store = cfg.open_store().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    rt.block_on(async move {
        tokio::spawn(async move { drop(store) }).await.unwrap();
    });
    let again = cfg.open_store().expect("the database is still usable");
    assert!(again.directory().is_none());
}

/// PostgreSQL restarted or failed over under running relays drops every connection they hold.
/// A phone's sync that meets the dropped connection fails and keeps its work (it tries again);
/// the relay connects again, and the next syncs go through with nothing lost, reads (a pull on
/// another phone) included.
#[test]
fn a_relay_connects_again_after_postgresql_drops_its_connections() {
    let database = district_database(&["wang"]);
    let blobs = tempfile::tempdir().unwrap();
    let relay = relay_process(&database, blobs.path());
    let dir = tempfile::tempdir().unwrap();
    let mut a = phone(dir.path(), "wang-a", &relay.url, "wang");
    let mut b = phone(dir.path(), "wang-b", &relay.url, "wang");
    fixtures::flying_lead_visit(&mut a, "wang", "heping-1", 0);
    client::sync_all(&mut a, false, &mut |_| {}).unwrap();

    let name = database.rsplit('/').next().unwrap().to_owned();
    let mut admin = postgres::Client::connect(&pg::cluster(), postgres::NoTls).unwrap();
    let dropped: i64 = admin
        .query_one("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", &[&name])
        .unwrap()
        .get(0);
    assert!(dropped > 0, "the relay held connections to drop");

    let h = fixtures::flying_lead_visit(&mut a, "wang", "heping-1", 1);
    let mut failed = 0;
    let mut tries = 0;
    for (n, s) in [&mut a, &mut b].into_iter().enumerate() {
        // One failed sync per dropped connection at most (the writer's, then each reader's).
        loop {
            tries += 1;
            match client::sync_all(s, false, &mut |_| {}) {
                Ok(_) => break,
                Err(e) => {
                    let e = e.to_string();
                    assert!(e.contains("storage error on the relay"), "{e}");
                    assert!(
                        !e.contains("SELECT") && !e.contains("postgres"),
                        "the database's details stay in the relay's log: {e}"
                    );
                    failed += 1;
                    assert!(
                        failed <= dropped as usize,
                        "phone {n}: still failing after {failed} tries: {e}"
                    );
                }
            }
        }
    }
    eprintln!(
        "{dropped} connections dropped; {failed} of {tries} syncs failed before the relay connected again"
    );
    assert!(
        b.hazard(&h).is_ok(),
        "the hazard pushed after the drop reached the other phone"
    );
    assert_eq!(
        holdings(&a),
        holdings(&b),
        "both phones hold every record at the same heads"
    );
    let local = tempfile::tempdir().unwrap();
    let mut relay_store = Config {
        data: local.path().to_owned(),
        database: Some(database.clone()),
        blobs: None,
    }
    .open_store()
    .unwrap();
    for (id, heads) in holdings(&a) {
        assert_eq!(
            relay_store.doc_heads(&id).unwrap(),
            Some(heads),
            "{id} stored as the phone holds it"
        );
    }
}

/// A relay joining a district brings its projections up to the shared log a step at a time (on
/// a million records it must not hold every id at once, and a restart resumes): every record the
/// other relay stored reaches its dashboard data, and the next catch-up projects only what is new.
#[test]
fn a_joining_relay_catches_up_step_by_step() {
    let database = district_database(&["wang"]);
    let blobs = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    let mut joining = Config {
        data: local.path().to_owned(),
        database: Some(database.clone()),
        blobs: None,
    }
    .open_store()
    .unwrap();
    let relay = relay_process(&database, blobs.path());
    let dir = tempfile::tempdir().unwrap();
    let mut p = phone(dir.path(), "wang-a", &relay.url, "wang");
    for n in 0..5 {
        fixtures::flying_lead_visit(&mut p, "wang", "heping-1", n);
    }
    client::sync_all(&mut p, false, &mut |_| {}).unwrap();
    let changes = joining
        .db()
        .one("SELECT count(*) FROM changes", &[])
        .unwrap()
        .unwrap()
        .int(0)
        .unwrap();
    assert!(
        changes >= 15,
        "five visits, three records each: {changes} changes"
    );
    let hazards = |st: &RelayStore| {
        st.hazard_summary("2026-11-30")
            .unwrap()
            .iter()
            .map(|c| c.count)
            .sum::<i64>()
    };
    assert_eq!(hazards(&joining), 0, "nothing projected before catching up");

    let projected = joining.catch_up_by(4).unwrap();
    assert!(
        projected >= 15,
        "every record, in steps of 4 changes: {projected}"
    );
    assert_eq!(
        hazards(&joining),
        5,
        "every hazard on the joining relay's dashboard data"
    );
    assert_eq!(
        joining.catch_up_by(4).unwrap(),
        0,
        "caught up: nothing left to project"
    );

    fixtures::flying_lead_visit(&mut p, "wang", "heping-1", 5);
    client::sync_all(&mut p, false, &mut |_| {}).unwrap();
    let next = joining.catch_up_by(4).unwrap();
    assert!(
        (3..15).contains(&next),
        "only the new visit's records: {next}"
    );
    assert_eq!(hazards(&joining), 6);
}
