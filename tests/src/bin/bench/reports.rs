//! `gridsafe-bench reports [HAZARDS] [VENUES] [ROUNDS]`: reports for any period at town scale
//! (issue #30), computed the way the office pages compute them (`report::report` on a relay's
//! SQLite file), against the monthly report's target of 2 s (issue #6).
//!
//! Seeds a relay's projection tables directly (the rows its fold writes: each hazard's steps at
//! their times), since a period-stable report reads only those: VENUES venues in 166 grids, two
//! finished inspections each over the last two months, HAZARDS hazards found over three years
//! (1 % majors, confirmed; three in four of the older ones noticed and claimed, nine in ten of
//! those closed). Then times, as the town office and as a 规建办 reviewer: the current month, a
//! closed month, a quarter, a year, and a month whose three previous months were issued (the late
//! records are looked for in each). The reference in the same run is the report's previous core
//! query: one aggregate over today's state (what period stability replaces).

use std::time::Instant;

use gridsafe_core::clock::{format_date, ms_to_date, today};
use gridsafe_core::directory::Directory;
use gridsafe_server::report::{self, Period, Report};
use gridsafe_server::store::RelayStore;
use rusqlite::{Connection, params};
use serde_json::json;

use super::{bench_directory, median, round2};

const DAY: i64 = 86_400_000;
const TARGET_MS: f64 = 2_000.0;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn seed(conn: &mut Connection, dir: &Directory, hazards: usize, venues: usize) {
    let grids: Vec<(String, String)> = dir
        .grids
        .iter()
        .map(|g| (g.id.clone(), g.village.clone()))
        .collect();
    let depts = ["cyzx,pcs", "gjb", "cyzx", "gjb,cjzx"];
    let domains = ["ebike", "gas", "selfbuilt", "lifeline", "mixed"];
    let templates = [
        "lx.ebike",
        "lx.gas",
        "lx.selfbuilt",
        "lx.lifeline",
        "lx.mixed",
    ];
    let now = gridsafe_core::clock::now_ms();
    let start = now - 3 * 365 * DAY;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let tx = conn.transaction().expect("tx");
    {
        let mut venue = tx
            .prepare(
                "INSERT INTO venues_idx (id, name, address, village, grid_id, venue_types, archived)
                 VALUES (?1, ?2, '', ?3, ?4, '', 0)",
            )
            .unwrap();
        let mut facts = tx
            .prepare("INSERT INTO venue_facts (venue_id, responsible, phone) VALUES (?1, '业主', '13800000000')")
            .unwrap();
        let mut insp = tx
            .prepare(
                "INSERT INTO inspections_idx (id, venue_id, venue_name, template_id, template_version,
                    inspector, grid_id, started_ms, day, finished, failed, hazards)
                 VALUES (?1, ?2, ?3, ?4, '1', 'bench', ?5, ?6, ?7, 1, 0, 0)",
            )
            .unwrap();
        for v in 0..venues {
            let (g, village) = &grids[v % grids.len()];
            let id = format!("v{v}");
            let name = format!("场所{v}");
            venue.execute(params![id, name, village, g]).unwrap();
            facts.execute([&id]).unwrap();
            for k in 0..2 {
                let t = now - rng.below(60) as i64 * DAY;
                let tpl = templates[(v + k) % templates.len()];
                insp.execute(params![
                    format!("i{v}-{k}"),
                    id,
                    name,
                    tpl,
                    g,
                    t,
                    format_date(ms_to_date(t))
                ])
                .unwrap();
            }
        }
        let mut hz = tx
            .prepare(
                "INSERT INTO hazards_idx (id, venue_id, venue_name, village, grid_id, inspection_id,
                    item_id, domain, title_zh, title_en, severity, confirmation, state, is_open,
                    awaiting, due_date, lead_depts, source, fix_mode, focus, combined_group,
                    found_ms, closed_at, recurrence_of, refused_events, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, ?7, '隐患', 'hazard', ?8, 'not_required', ?9,
                    ?10, ?11, ?12, ?13, ?14, 'deadline', ?15, NULL, ?16, ?17, NULL, 0, 0)",
            )
            .unwrap();
        let mut hf = tx
            .prepare(
                "INSERT INTO hazard_facts (hazard_id, basis, plan, escalations, reopened,
                    rectified_at, before_thumb, after_photo, ticket_no, last_step_ms)
                 VALUES (?1, '依据', 0, 0, 0, NULL, NULL, NULL, ?2, ?3)",
            )
            .unwrap();
        let mut st = tx
            .prepare(
                "INSERT INTO hazard_steps (hazard_id, n, at_ms, kind, state, severity, deadline, seen_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?3)",
            )
            .unwrap();
        let mut hd = tx
            .prepare("INSERT OR IGNORE INTO hazard_depts (dept, hazard_id) VALUES (?1, ?2)")
            .unwrap();
        for h in 0..hazards {
            let v = rng.below(venues as u64) as usize;
            let (g, village) = &grids[v % grids.len()];
            let found = start + rng.below((now - start) as u64) as i64;
            let d = rng.below(domains.len() as u64) as usize;
            let major = rng.below(100) == 0;
            let severity = if major { "major" } else { "general" };
            let due = format_date(ms_to_date(found + 30 * DAY));
            let mut steps = vec![("register", found, "registered", due.clone())];
            if major {
                steps.push(("confirm_major", found + DAY, "registered", due.clone()));
            }
            let age = now - found;
            if age > 20 * DAY && rng.below(4) < 3 {
                steps.push(("notify", found + 2 * DAY, "notified", due.clone()));
                steps.push(("claim", found + 10 * DAY, "rectified_claimed", due.clone()));
                if rng.below(10) < 9 {
                    steps.push(("close", found + 15 * DAY, "closed", due.clone()));
                }
            }
            let last = steps.last().expect("registered");
            let (state, last_ms) = (last.2, last.1);
            let id = format!("h{h}");
            let source = ["inspection", "self_report", "public_report", "referral"]
                [[0, 0, 0, 0, 0, 0, 0, 0, 1, 2][rng.below(10) as usize]];
            hz.execute(params![
                id,
                format!("v{v}"),
                format!("场所{v}"),
                village,
                g,
                format!("{}.item{}", domains[d], h % 7),
                domains[d],
                severity,
                state,
                state != "closed",
                matches!(state, "registered" | "notified"),
                due,
                depts[d % depts.len()],
                source,
                h % 11 == 0,
                found,
                // When it was closed, as the fold records it (the departments' days to close).
                (state == "closed").then(|| gridsafe_core::clock::ms_to_rfc3339(last_ms))
            ])
            .unwrap();
            let ticket = (source == "public_report").then(|| format!("12345 T{h}"));
            hf.execute(params![id, ticket, last_ms]).unwrap();
            for (n, (kind, at, state, deadline)) in steps.iter().enumerate() {
                st.execute(params![id, n as i64, at, kind, state, severity, deadline])
                    .unwrap();
            }
            for dept in depts[d % depts.len()].split(',') {
                hd.execute(params![dept, id]).unwrap();
            }
        }
    }
    tx.commit().expect("commit");
}

fn time(rounds: usize, mut f: impl FnMut() -> Report) -> (f64, Report) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..rounds {
        let t = Instant::now();
        let r = f();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        last = Some(r);
    }
    (median(times), last.expect("a round"))
}

pub fn run(hazards: usize, venues: usize, rounds: usize) {
    let mut data = tempfile::tempdir().expect("tempdir");
    // BENCH_KEEP=1 leaves the seeded relay.sqlite behind to look at its queries by hand.
    if std::env::var_os("BENCH_KEEP").is_some() {
        eprintln!("keeping {}", data.path().display());
        data.disable_cleanup(true);
    }
    let directory = bench_directory(150);
    {
        let mut st = RelayStore::open(data.path()).expect("relay store");
        st.import_directory(&directory).expect("directory");
    }
    let dir = Directory::from_json(&directory).expect("directory");
    let mut conn = Connection::open(data.path().join("relay.sqlite")).expect("relay.sqlite");
    let t = Instant::now();
    seed(&mut conn, &dir, hazards, venues);
    eprintln!(
        "seeded {hazards} hazards, {venues} venues in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    conn.execute_batch("ANALYZE").expect("analyze");
    let today = today();
    let cutoff = report::DEFAULT_CUTOFF_DAY;
    let office = dir.user("office").expect("office").clone();
    let reviewer = dir.user("zheng").expect("a 规建办 reviewer").clone();
    let month = Period::containing(today, cutoff).expect("period");
    let closed = month.previous().expect("previous");
    let quarter = Period::of_span(report::Span::Quarter, today, cutoff).expect("quarter");
    let year = Period::of_span(report::Span::Year, today, cutoff).expect("year");
    // The three months before the current one, issued.
    let mut issued = Vec::new();
    let mut p = closed.clone();
    for _ in 0..3 {
        let mut r = report::generate(&conn, &dir, &office, &p, today).expect("report");
        r.issued = Some(report::Issued {
            number: format!("吕安委办〔2026〕{}号", issued.len() + 1),
            issued_ms: gridsafe_core::clock::now_ms(),
            issued_by: "office".into(),
        });
        issued.push(r);
        p = p.previous().expect("previous");
    }
    issued.reverse();

    let mut results = serde_json::Map::new();
    let mut row = |name: &str, ms: f64, r: &Report| {
        println!(
            "{name:<46} {ms:>9.1} ms  target {TARGET_MS:.0} ms  ratio {:.2}  ({} found, {} open)",
            ms / TARGET_MS,
            r.totals.found(),
            r.totals.open
        );
        results.insert(
            name.to_owned(),
            json!({"median_ms": round2(ms), "target_ms": TARGET_MS, "ratio": round2(ms / TARGET_MS)}),
        );
    };
    let make = |user, period: &Period, issued: &[Report]| {
        report::report(&conn, &dir, user, period, today, issued).expect("report")
    };
    // BENCH_PAGES_ONLY=1 times the office pages alone (quicker while working on them).
    if std::env::var_os("BENCH_PAGES_ONLY").is_none() {
        let (ms, r) = time(rounds, || make(&office, &month, &[]));
        row("current month, town office", ms, &r);
        let (ms, r) = time(rounds, || make(&office, &month, &issued));
        row("current month, 3 issued months checked for late", ms, &r);
        // A phone offline for a week: one record dated in the last issued month arrives now.
        let (late_from, _) = closed.bounds_ms().expect("bounds");
        conn.execute(
            "INSERT INTO hazard_steps (hazard_id, n, at_ms, kind, state, severity, deadline, seen_ms)
             SELECT hazard_id, n + 100, ?1, 'notify', state, severity, deadline, ?2
             FROM hazard_steps WHERE hazard_id = 'h1' AND n = 0",
            params![late_from + DAY, gridsafe_core::clock::now_ms() + 1],
        )
        .expect("a late step");
        let (ms, r) = time(rounds, || make(&office, &month, &issued));
        row("current month, a late record in the last issued", ms, &r);
        conn.execute(
            "DELETE FROM hazard_steps WHERE hazard_id = 'h1' AND n >= 100",
            [],
        )
        .expect("undo");
        let (ms, r) = time(rounds, || make(&office, &closed, &[]));
        row("closed month, town office", ms, &r);
        let (ms, r) = time(rounds, || make(&reviewer, &month, &[]));
        row("current month, reviewer (规建办)", ms, &r);
        let (ms, r) = time(rounds, || make(&office, &quarter, &[]));
        row("quarter, town office", ms, &r);
        let (ms, r) = time(rounds, || make(&office, &year, &[]));
        row("year, town office", ms, &r);
        let (ms, r) = time(rounds, || make(&office, &issued[2].period, &issued));
        row("issued month (stored copy)", ms, &r);
    }

    // The office's pages on the same town (issue #32, target 150 ms each): the overview's
    // charts and department table, the to-do list, search.
    let page_target = 150.0;
    let mut page_row = |name: &str, ms: f64| {
        println!(
            "{name:<46} {ms:>9.1} ms  target {page_target:.0} ms  ratio {:.2}",
            ms / page_target
        );
        results.insert(
            name.to_owned(),
            json!({"median_ms": round2(ms), "target_ms": page_target, "ratio": round2(ms / page_target)}),
        );
    };
    let timed = |f: &mut dyn FnMut()| {
        let mut times = Vec::new();
        for _ in 0..rounds {
            let t = Instant::now();
            f();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        median(times)
    };
    let ms = timed(&mut || {
        gridsafe_server::charts::charts(&conn, &dir, &office, today).expect("charts");
    });
    page_row("overview charts + departments, town office", ms);
    let ms = timed(&mut || {
        gridsafe_server::charts::charts(&conn, &dir, &reviewer, today).expect("charts");
    });
    page_row("overview charts + departments, reviewer", ms);
    let ms = timed(&mut || {
        gridsafe_server::todo::todo(&conn, &dir, &reviewer, today).expect("todo");
    });
    page_row("to-do list, reviewer (规建办)", ms);
    let ms = timed(&mut || {
        gridsafe_server::todo::todo(&conn, &dir, &office, today).expect("todo");
    });
    page_row("to-do list, town office", ms);
    let ms = timed(&mut || {
        gridsafe_server::search::search(&conn, &dir, &office, "场所123").expect("search");
    });
    page_row("search (a venue's name), town office", ms);
    let ms = timed(&mut || {
        gridsafe_server::search::search(&conn, &dir, &office, "12345 T99").expect("search");
    });
    page_row("search (a ticket number), town office", ms);
    let ms = timed(&mut || {
        gridsafe_server::search::search(&conn, &dir, &reviewer, "场所123").expect("search");
    });
    page_row("search (a venue's name), reviewer (规建办)", ms);
    // The start page's other figures, read as the relay's office readers read them.
    let mut reader = RelayStore::open_reader(data.path(), None).expect("reader");
    let today_text = format_date(today);
    for (who, user) in [("town office", &office), ("reviewer (规建办)", &reviewer)] {
        let ms = timed(&mut || {
            reader.overview(user, &today_text).expect("overview");
        });
        page_row(&format!("overview figures, {who}"), ms);
        let ms = timed(&mut || {
            reader.combined_alerts(user).expect("alerts");
        });
        page_row(&format!("combined-risk alerts, {who}"), ms);
    }

    // The reference: the previous report's main query, one aggregate over today's state.
    let mut times = Vec::new();
    for _ in 0..rounds {
        times.push(reference_aggregate(&conn, &closed, today));
    }
    let reference = median(times);
    println!(
        "{:<46} {reference:>9.1} ms  (reference)",
        "previous report's aggregate, today's state"
    );
    results.insert(
        "reference: previous aggregate over today's state".into(),
        json!({"median_ms": round2(reference)}),
    );
    println!(
        "{}",
        json!({"bench": "reports", "hazards": hazards, "venues": venues, "rounds": rounds, "results": results})
    );
}

/// The reference both town-scale benchmarks time in their own run: the monthly report's former
/// core query, one aggregate of today's state over every hazard and its facts, for `closed`
/// (a closed month). Milliseconds for one run.
pub fn reference_aggregate(conn: &Connection, closed: &Period, today: time::Date) -> f64 {
    let (from_ms, end_ms) = closed.bounds_ms().expect("bounds");
    let t = Instant::now();
    let mut stmt = conn
        .prepare_cached(
            "SELECT domain, village,
                coalesce(sum(p AND severity = 'general'), 0), coalesce(sum(p AND severity != 'general'), 0),
                coalesce(sum(p AND fix_mode = 'on_spot'), 0),
                coalesce(sum(rectified_at >= ?3 AND rectified_at < ?4), 0),
                coalesce(sum(closed_at >= ?3 AND closed_at < ?4), 0),
                coalesce(sum(is_open = 1 AND found_ms < ?2), 0),
                coalesce(sum(awaiting = 1 AND due_date < ?5 AND found_ms < ?2), 0)
             FROM (SELECT h.*, f.rectified_at, (h.found_ms >= ?1 AND h.found_ms < ?2) AS p
                   FROM hazards_idx h LEFT JOIN hazard_facts f ON f.hazard_id = h.id)
             GROUP BY domain, village",
        )
        .expect("reference query");
    let n = stmt
        .query_map(
            params![from_ms, end_ms, closed.from, closed.to, format_date(today)],
            |r| r.get::<_, i64>(2),
        )
        .expect("rows")
        .count();
    assert!(n > 0);
    t.elapsed().as_secs_f64() * 1000.0
}
