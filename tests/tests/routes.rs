//! Every route the relay serves, asked by everyone who can ask it — no one, a grid worker in
//! and out of the record's grid, a lead department's reviewer, the town office, an
//! administrator — and the status each gets, compared with `tests/policy/routes.tsv` (issue
//! #25: a status means what it says). Then a failing store: a 500 with a fixed text and nothing
//! of the SQL or the file system in it.
//!
//! `GRIDSAFE_BLESS=1 cargo test -p gridsafe-tests --test routes` rewrites the table.

use std::fmt::Write as _;

use gridsafe_client as client;
use gridsafe_tests::browser::Browser;
use gridsafe_tests::fixtures;
use gridsafe_tests::relay::TestRelay;

const PASSWORD: &str = "correct horse";
const PEOPLE: &[(&str, &str)] = &[
    ("anonymous", ""),
    ("inspector_in", "wang"),
    ("inspector_out", "li"),
    ("reviewer_in", "sun"),
    ("reviewer_out", "zheng"),
    ("office", "office"),
    ("admin", "admin"),
];

#[test]
fn every_route_answers_each_person_with_the_status_it_means() {
    let relay = TestRelay::start(&["wang", "li", "sun", "zheng", "office", "admin"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = relay.phone(dir.path(), "wang");
    let hazard = fixtures::flying_lead_visit(&mut wang, "wang", "heping-1", 0);
    client::sync_all(&mut wang, false, &mut |_| {}).unwrap();
    let h = wang.hazard(&hazard).unwrap().header;
    let (venue, photo) = (h.venue_id.clone(), h.photos[0].sha256.clone());
    let unknown = gridsafe_core::store::new_id();
    let pages = [
        "/".to_owned(),
        "/login".into(),
        "/hazards".into(),
        "/hazards?sort=sideways".into(),
        "/hazards.csv".into(),
        "/hazards.xlsx".into(),
        format!("/hazards/{hazard}"),
        format!("/hazards/{unknown}"),
        "/hazards/not-an-id".into(),
        format!("/photos/{photo}"),
        format!("/photos/{}", "0".repeat(64)),
        "/devices".into(),
        "/audit".into(),
        "/reports/monthly".into(),
        "/reports/monthly.xlsx".into(),
        "/reports/monthly?month=2026-13".into(),
        "/reports/monthly?period=2026-Q4".into(),
        "/reports/monthly?period=2026-Q5".into(),
        "/reports/monthly.xlsx?period=2026-H2".into(),
        "/admin/users".into(),
        "/intake".into(),
        "/self-reports".into(),
        "/batch".into(),
        "/notices".into(),
        format!("/venues/{venue}/notice"),
        format!("/venues/{venue}"),
        format!("/venues/{unknown}"),
        "/venues/not-an-id".into(),
        format!("/venues/{unknown}/notice"),
        "/o/forged-token".into(),
        "/healthz".into(),
        "/metrics".into(),
        "/lang?to=en&back=/hazards".into(),
        "/no/such/page".into(),
        "/todo".into(),
        "/search?q=%E5%BA%97".into(),
        "/overview".into(),
    ];
    let mut got = String::from("# route\tperson\tstatus\n");
    for (who, user) in PEOPLE {
        let mut b = Browser::new(&relay.url);
        if !user.is_empty() {
            assert_eq!(b.login(user, PASSWORD), 303, "{user} signs in");
        }
        for p in &pages {
            let status = b.get(p).0;
            let route = p
                .replace(&hazard, "{hazard}")
                .replace(&unknown, "{unknown}")
                .replace(&venue, "{venue}")
                .replace(&photo, "{photo}");
            writeln!(got, "GET {route}\t{who}\t{status}").unwrap();
        }
    }
    // The phones' API, by device: no token, a revoked one, and each enrolled role's own.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let call = |method: &str, path: &str, token: Option<&str>, body: &[u8]| {
        let url = format!("{}{path}", relay.url);
        let mut r = match (method, token) {
            ("GET", Some(t)) => agent
                .get(&url)
                .header("Authorization", &format!("Bearer {t}"))
                .call(),
            ("GET", None) => agent.get(&url).call(),
            ("PUT", Some(t)) => agent
                .put(&url)
                .header("Authorization", &format!("Bearer {t}"))
                .send(body),
            (_, Some(t)) => agent
                .post(&url)
                .header("Authorization", &format!("Bearer {t}"))
                .header("Content-Type", "application/cbor")
                .send(body),
            ("PUT", None) => agent.put(&url).send(body),
            (_, None) => agent.post(&url).send(body),
        }
        .unwrap();
        drop(r.body_mut().read_to_vec());
        r.status().as_u16()
    };
    let mut tokens = vec![("no_token", None)];
    for (who, user) in PEOPLE
        .iter()
        .filter(|(_, u)| !u.is_empty() && *u != "admin")
    {
        let s = if *user == "wang" {
            wang.enrollment().unwrap().unwrap().1
        } else {
            relay
                .phone(dir.path(), user)
                .enrollment()
                .unwrap()
                .unwrap()
                .1
        };
        tokens.push((who, Some(s)));
    }
    let sync_body = wang.sync_request(1 << 20).unwrap().encode();
    for (who, token) in &tokens {
        let t = token.as_deref();
        for (method, path, body) in [
            ("POST", "/v1/sync".to_owned(), &sync_body[..]),
            ("POST", "/v1/sync".to_owned(), &b"not cbor"[..]),
            ("GET", format!("/v1/blobs/{photo}"), &[][..]),
            ("GET", format!("/v1/blobs/{photo}/status"), &[][..]),
            ("GET", format!("/v1/blobs/{}", "0".repeat(64)), &[][..]),
            ("GET", "/v1/blobs/not-a-hash".to_owned(), &[][..]),
            (
                "PUT",
                format!("/v1/blobs/{photo}?offset=0&total=99999999999"),
                &[0u8; 4][..],
            ),
            ("GET", "/v1/owner-key".to_owned(), &[][..]),
        ] {
            let status = call(method, &path, t, body);
            let route = path.replace(&photo, "{photo}");
            let what = if body == b"not cbor" {
                " (not CBOR)"
            } else {
                ""
            };
            writeln!(got, "{method} {route}{what}\t{who}\t{status}").unwrap();
        }
    }
    let big = vec![0u8; gridsafe_server::MAX_SYNC_BODY + 1];
    let status = call("POST", "/v1/sync", tokens[1].1.as_deref(), &big);
    writeln!(got, "POST /v1/sync (over 32 MiB)\tinspector_in\t{status}").unwrap();

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/policy/routes.tsv");
    if std::env::var_os("GRIDSAFE_BLESS").is_some() {
        std::fs::write(path, &got).unwrap();
    } else {
        let want = std::fs::read_to_string(path).expect("tests/policy/routes.tsv");
        let diff: Vec<String> = got
            .lines()
            .zip(want.lines())
            .filter(|(g, w)| g != w)
            .map(|(g, w)| format!("  now {g}\n  was {w}"))
            .collect();
        assert!(
            got == want,
            "route statuses changed ({} rows now, {} recorded):\n{}",
            got.lines().count(),
            want.lines().count(),
            diff.join("\n")
        );
    }

    // A store that fails under a page: 500, a fixed text, no SQL, table or path in it.
    relay.inspect(|st| {
        st.db()
            .exec("ALTER TABLE devices RENAME TO devices_gone", &[])
            .unwrap()
    });
    let mut office = Browser::new(&relay.url);
    assert_eq!(office.login("office", PASSWORD), 303);
    let (status, page, _) = office.get("/devices");
    assert_eq!(status, 500, "{page}");
    assert!(
        page.contains("服务器出错") && page.contains("系统管理员"),
        "{page}"
    );
    for leak in ["no such table", "SELECT", "relay.sqlite", "/tmp/"] {
        assert!(!page.contains(leak), "{leak} in the page: {page}");
    }
    let status = call("POST", "/v1/sync", tokens[1].1.as_deref(), &sync_body);
    assert_eq!(
        status, 500,
        "a storage failure in a sync is 500, not 400 or 403"
    );
}
