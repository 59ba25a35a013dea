//! Reports as §6.4 and the town plan define them (docs/reports.md): a month seeded from a listed
//! set of events whose every figure is worked out by hand below; a closed month generated again
//! after later events; issuing and a late record; quarters, half-years and years against their
//! months.
//!
//! The events are written straight into the relay's projection tables (what its fold writes for
//! each hazard: the state after each event, at the event's time), because phones can only write
//! events at today's clock; `relay.rs` covers the same tables written by real phones.

use gridsafe_server::report::{Period, Report};
use gridsafe_tests::browser::{Browser, url_encode};
use gridsafe_tests::relay::TestRelay;
use rusqlite::{Connection, params};

const USERS: &[&str] = &["office", "sun", "wang", "admin", "zheng"];

/// Milliseconds of a Shanghai time "YYYY-MM-DD HH:MM".
fn at(t: &str) -> i64 {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    let p = time::PrimitiveDateTime::parse(t, &f).expect("a time");
    p.assume_offset(time::macros::offset!(+8)).unix_timestamp() * 1000
}

/// A hazard as the relay indexes it, and its steps: (event kind, when, state after, severity
/// after, deadline after).
struct Seed<'a> {
    id: &'a str,
    venue: &'a str,
    village: &'a str,
    domain: &'a str,
    item: &'a str,
    source: &'a str,
    ticket: Option<&'a str>,
    found: &'a str,
    focus: bool,
    recurrence_of: Option<&'a str>,
    steps: &'a [(&'a str, &'a str, &'a str, &'a str, Option<&'a str>)],
}

const BASE: Seed<'static> = Seed {
    id: "",
    venue: "v1",
    village: "heping",
    domain: "ebike",
    item: "ebike.flying_lead",
    source: "inspection",
    ticket: None,
    found: "",
    focus: false,
    recurrence_of: None,
    steps: &[],
};

/// When the relay first saw a step: now, as the seeding is its arrival. Strictly later than any
/// earlier call, so a record seeded after an issue is seen after it.
fn seen_now() -> i64 {
    std::thread::sleep(std::time::Duration::from_millis(2));
    gridsafe_core::clock::now_ms()
}

fn seed(c: &Connection, s: &Seed<'_>) {
    let last = s.steps.last().expect("a registered hazard");
    let (state, severity, deadline) = (last.2, last.3, last.4);
    let open = !matches!(state, "draft" | "closed" | "rejected");
    let awaiting = matches!(
        state,
        "registered" | "notified" | "rectifying" | "escalated"
    );
    // The town plan's lead departments: gas is 规建办's, the rest 城运中心's and 派出所's.
    let depts: &[&str] = if s.domain == "gas" {
        &["gjb"]
    } else {
        &["cyzx", "pcs"]
    };
    c.execute(
        "INSERT INTO hazards_idx (id, venue_id, venue_name, village, grid_id, inspection_id, item_id,
            domain, title_zh, title_en, severity, confirmation, state, is_open, awaiting, due_date,
            lead_depts, source, fix_mode, focus, combined_group, found_ms, closed_at, recurrence_of,
            refused_events, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, ?7, ?8, ?9, ?10, 'not_required', ?11, ?12, ?13, ?14,
            ?19, ?15, 'deadline', ?16, NULL, ?17, NULL, ?18, 0, 0)",
        params![
            s.id,
            s.venue,
            format!("{}的场所", s.id),
            s.village,
            format!("{}-1", s.village),
            s.item,
            s.domain,
            format!("{}的隐患", s.id),
            format!("hazard {}", s.id),
            severity,
            state,
            open,
            awaiting,
            deadline,
            s.source,
            s.focus,
            at(s.found),
            s.recurrence_of,
            depts.join(",")
        ],
    )
    .unwrap();
    for d in depts {
        c.execute(
            "INSERT INTO hazard_depts (dept, hazard_id) VALUES (?1, ?2)",
            params![d, s.id],
        )
        .unwrap();
    }
    c.execute(
        "INSERT INTO hazard_facts (hazard_id, basis, plan, escalations, reopened, rectified_at,
            before_thumb, after_photo, ticket_no, last_step_ms)
         VALUES (?1, '', 0, 0, 0, NULL, NULL, NULL, ?2, ?3)",
        params![s.id, s.ticket, at(last.1)],
    )
    .unwrap();
    for (n, (kind, when, state, severity, deadline)) in s.steps.iter().enumerate() {
        c.execute(
            "INSERT INTO hazard_steps (hazard_id, n, at_ms, kind, state, severity, deadline, seen_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![s.id, n as i64, at(when), kind, state, severity, deadline, seen_now()],
        )
        .unwrap();
    }
}

fn inspection(c: &Connection, id: &str, venue: &str, template: &str, started: &str, done: bool) {
    c.execute(
        "INSERT INTO inspections_idx (id, venue_id, venue_name, template_id, template_version,
            inspector, grid_id, started_ms, day, finished, failed, hazards)
         VALUES (?1, ?2, ?3, ?4, '1', 'wang', 'heping-1', ?5, ?6, ?7, 0, 0)",
        params![
            id,
            venue,
            format!("{venue}的场所"),
            template,
            at(started),
            &started[..10],
            done
        ],
    )
    .unwrap();
}

fn venue(c: &Connection, id: &str, village: &str) {
    c.execute(
        "INSERT INTO venues_idx (id, name, address, village, grid_id, venue_types, archived)
         VALUES (?1, ?2, '', ?3, ?4, '', 0)",
        params![id, format!("{id}的场所"), village, format!("{village}-1")],
    )
    .unwrap();
}

fn relay_db(relay: &TestRelay) -> Connection {
    Connection::open(relay.data.path().join("relay.sqlite")).unwrap()
}

fn report(relay: &TestRelay, key: &str) -> Report {
    relay.inspect(|st| st.report("office", Some(key)).unwrap())
}

/// November 2026 (29 October to 28 November with the default cut-off), and what happened in it.
fn seed_november(c: &Connection) {
    for v in ["v1", "v2", "v3", "v4", "v5"] {
        venue(c, v, "heping");
    }
    venue(c, "v6", "jialou");
    c.execute(
        "INSERT INTO venue_facts (venue_id, responsible, phone) VALUES ('v1', '王老板', '13800000000')",
        [],
    )
    .unwrap();
    // Venues v1 and v2 inspected for e-bikes (v1 twice), v3's gas inspection never finished,
    // v4 inspected before the period.
    inspection(c, "i1", "v1", "lx.ebike", "2026-11-03 09:00", true);
    inspection(c, "i2", "v2", "lx.ebike", "2026-11-05 09:00", true);
    inspection(c, "i3", "v1", "lx.ebike", "2026-11-20 09:00", true);
    inspection(c, "i4", "v3", "lx.gas", "2026-11-10 09:00", false);
    inspection(c, "i5", "v4", "lx.ebike", "2026-10-20 09:00", true);
    let r = |when| {
        (
            "register",
            when,
            "registered",
            "general",
            Some("2026-11-10"),
        )
    };
    // h1: found, noticed, claimed and closed in the period.
    seed(
        c,
        &Seed {
            id: "h1",
            found: "2026-11-03 10:00",
            steps: &[
                r("2026-11-03 10:00"),
                (
                    "notify",
                    "2026-11-04 10:00",
                    "notified",
                    "general",
                    Some("2026-11-10"),
                ),
                (
                    "claim",
                    "2026-11-09 10:00",
                    "rectified_claimed",
                    "general",
                    Some("2026-11-10"),
                ),
                (
                    "close",
                    "2026-11-12 10:00",
                    "closed",
                    "general",
                    Some("2026-11-10"),
                ),
            ],
            ..BASE
        },
    );
    // h2: fixed during the visit (即改 with the after photo): rectified, awaiting 销号.
    seed(
        c,
        &Seed {
            id: "h2",
            venue: "v2",
            found: "2026-11-05 10:00",
            steps: &[
                (
                    "register",
                    "2026-11-05 10:00",
                    "registered",
                    "general",
                    Some("2026-11-05"),
                ),
                (
                    "rectify",
                    "2026-11-05 10:05",
                    "rectified_claimed",
                    "general",
                    Some("2026-11-05"),
                ),
            ],
            ..BASE
        },
    );
    // h3: a 即改 item not fixed on the spot: its deadline was the visit's day, so it is overdue.
    // A focus item (GEN★).
    seed(
        c,
        &Seed {
            id: "h3",
            found: "2026-11-06 10:00",
            focus: true,
            steps: &[(
                "register",
                "2026-11-06 10:00",
                "registered",
                "general",
                Some("2026-11-06"),
            )],
            ..BASE
        },
    );
    // h4: a 12345 ticket found a gas hazard, confirmed major in the period.
    seed(
        c,
        &Seed {
            id: "h4",
            domain: "gas",
            item: "public_report.gas",
            source: "public_report",
            ticket: Some("12345 T-1"),
            found: "2026-11-10 10:00",
            steps: &[
                (
                    "register",
                    "2026-11-10 10:00",
                    "registered",
                    "major_candidate",
                    Some("2026-12-10"),
                ),
                (
                    "confirm_major",
                    "2026-11-12 10:00",
                    "registered",
                    "major",
                    Some("2026-12-10"),
                ),
            ],
            ..BASE
        },
    );
    // h5: a 随申拍 ticket's major candidate, not yet confirmed: listed apart, not counted.
    seed(
        c,
        &Seed {
            id: "h5",
            village: "jialou",
            venue: "v6",
            domain: "gas",
            item: "public_report.gas",
            source: "public_report",
            ticket: Some("随申拍 S-1"),
            found: "2026-11-15 10:00",
            steps: &[(
                "register",
                "2026-11-15 10:00",
                "registered",
                "major_candidate",
                Some("2026-12-15"),
            )],
            ..BASE
        },
    );
    // h6: a department's referral (转办), escalated after its deadline passed: overdue.
    seed(
        c,
        &Seed {
            id: "h6",
            domain: "lifeline",
            item: "public_report.lifeline",
            source: "referral",
            ticket: Some("转办 R-1"),
            found: "2026-11-20 10:00",
            steps: &[
                (
                    "register",
                    "2026-11-20 10:00",
                    "registered",
                    "general",
                    Some("2026-11-25"),
                ),
                (
                    "escalate",
                    "2026-11-27 10:00",
                    "escalated",
                    "general",
                    Some("2026-11-25"),
                ),
            ],
            ..BASE
        },
    );
    // h7: found in October, overdue through November, closed only in December.
    seed(
        c,
        &Seed {
            id: "h7",
            found: "2026-10-10 10:00",
            steps: &[
                (
                    "register",
                    "2026-10-10 10:00",
                    "registered",
                    "general",
                    Some("2026-10-20"),
                ),
                (
                    "close",
                    "2026-12-02 10:00",
                    "closed",
                    "general",
                    Some("2026-10-20"),
                ),
            ],
            ..BASE
        },
    );
    // h8: an owner's self-report registered in the period, closed after it ended.
    seed(
        c,
        &Seed {
            id: "h8",
            source: "self_report",
            found: "2026-11-25 10:00",
            steps: &[
                (
                    "register",
                    "2026-11-25 10:00",
                    "registered",
                    "general",
                    Some("2026-12-25"),
                ),
                (
                    "close",
                    "2026-12-01 10:00",
                    "closed",
                    "general",
                    Some("2026-12-25"),
                ),
            ],
            ..BASE
        },
    );
    // h9: a major found in 2024 (the plan's stock), open at the start of 2026, closed in the
    // period.
    seed(
        c,
        &Seed {
            id: "h9",
            domain: "selfbuilt",
            item: "selfbuilt.escape_window",
            found: "2024-05-01 10:00",
            steps: &[
                (
                    "register",
                    "2024-05-01 10:00",
                    "registered",
                    "major_candidate",
                    Some("2024-08-01"),
                ),
                (
                    "confirm_major",
                    "2024-05-03 10:00",
                    "registered",
                    "major",
                    Some("2024-08-01"),
                ),
                (
                    "plan",
                    "2024-05-10 10:00",
                    "rectifying",
                    "major",
                    Some("2026-12-31"),
                ),
                (
                    "close",
                    "2026-11-20 10:00",
                    "closed",
                    "major",
                    Some("2026-12-31"),
                ),
            ],
            ..BASE
        },
    );
    // h10: not registered (不予上账): counted nowhere.
    seed(
        c,
        &Seed {
            id: "h10",
            found: "2026-11-08 10:00",
            steps: &[
                (
                    "register",
                    "2026-11-08 10:00",
                    "registered",
                    "general",
                    Some("2026-11-15"),
                ),
                (
                    "dismiss",
                    "2026-11-09 10:00",
                    "rejected",
                    "general",
                    Some("2026-11-15"),
                ),
            ],
            ..BASE
        },
    );
    // h14: found and closed in September, untouched since: counted in the cumulative figures
    // only. h15: not registered in September (不予上账): counted nowhere.
    seed(
        c,
        &Seed {
            id: "h14",
            found: "2026-09-01 10:00",
            steps: &[
                (
                    "register",
                    "2026-09-01 10:00",
                    "registered",
                    "general",
                    Some("2026-09-08"),
                ),
                (
                    "close",
                    "2026-09-10 10:00",
                    "closed",
                    "general",
                    Some("2026-09-08"),
                ),
            ],
            ..BASE
        },
    );
    seed(
        c,
        &Seed {
            id: "h15",
            found: "2026-09-02 10:00",
            steps: &[
                (
                    "register",
                    "2026-09-02 10:00",
                    "registered",
                    "general",
                    Some("2026-09-08"),
                ),
                (
                    "dismiss",
                    "2026-09-03 10:00",
                    "rejected",
                    "general",
                    Some("2026-09-08"),
                ),
            ],
            ..BASE
        },
    );
    // h11: the same item again at v1 after h1 was closed: a recurrence.
    seed(
        c,
        &Seed {
            id: "h11",
            found: "2026-11-18 10:00",
            recurrence_of: Some("h1"),
            steps: &[(
                "register",
                "2026-11-18 10:00",
                "registered",
                "general",
                Some("2026-12-18"),
            )],
            ..BASE
        },
    );
}

fn cell<'a>(r: &'a Report, domain: &str, village: &str) -> &'a gridsafe_server::report::Counts {
    &r.domains
        .iter()
        .find(|d| d.domain == domain)
        .and_then(|d| d.rows.iter().find(|row| row.village == village))
        .unwrap_or_else(|| panic!("no {domain} × {village} row: {:#?}", r.domains))
        .c
}

#[test]
fn every_figure_of_a_seeded_month_is_the_one_worked_out_by_hand() {
    let relay = TestRelay::start(USERS);
    seed_november(&relay_db(&relay));
    let r = report(&relay, "2026-11");
    assert_eq!(
        (r.period.from.as_str(), r.period.to.as_str()),
        ("2026-10-29", "2026-11-28")
    );

    // E-bikes at 和平村. Venues inspected: v1 and v2 (v1's second visit counts once, v4 was
    // inspected before the period). Found: h1, h2, h3, h8, h11 (h10 was not registered, h7 was
    // found in October). 即改: h2 alone (h3's item defaults to 即改 but was not fixed in the
    // visit). Rectified: h1's claim and h2's fix. Closed: h1. Open at the period's end: h2, h3,
    // h7 (closed only on 2 December), h8 (closed on 1 December), h11. Overdue on 28 November: h3
    // (due the visit's day, 6 November) and h7 (due 20 October). Sources: h1 h2 h3 h11 by
    // inspection, h8 self-reported.
    let e = cell(&r, "ebike", "heping");
    assert_eq!(
        (
            e.venues_inspected,
            e.found_general,
            e.found_major,
            e.on_spot
        ),
        (2, 5, 0, 1)
    );
    assert_eq!((e.rectified, e.closed, e.open, e.overdue), (2, 1, 5, 2));
    assert_eq!(e.by_source, [4, 1, 0, 0, 0, 0]);
    // Gas at 和平村: h4, a 12345 ticket confirmed major; gas at 甲娄村: h5, a 随申拍 candidate
    // not yet confirmed, so counted in neither column nor source, but open.
    let g = cell(&r, "gas", "heping");
    assert_eq!(
        (g.found_general, g.found_major, g.open, g.by_source),
        (0, 1, 1, [0, 0, 1, 0, 0, 0])
    );
    let j = cell(&r, "gas", "jialou");
    assert_eq!((j.found(), j.open, j.by_source), (0, 1, [0; 6]));
    // Fire lifelines: h6, a department's referral, escalated past its deadline (25 November).
    let l = cell(&r, "lifeline", "heping");
    assert_eq!(
        (l.found_general, l.open, l.overdue, l.by_source),
        (1, 1, 1, [0, 0, 0, 0, 0, 1])
    );
    // Self-built: h9, found in 2024, closed on 20 November.
    let b = cell(&r, "selfbuilt", "heping");
    assert_eq!((b.found(), b.closed, b.open), (0, 1, 0));
    let t = &r.totals;
    assert_eq!(
        (
            t.venues_inspected,
            t.found_general,
            t.found_major,
            t.on_spot,
            t.rectified
        ),
        (2, 6, 1, 1, 2)
    );
    assert_eq!((t.closed, t.open, t.overdue), (2, 8, 3));
    assert_eq!(t.by_source, [4, 1, 1, 0, 0, 1]);

    // 和平村: 5 venues listed, 2 inspected (40%), 4 inspections started (i5 was in October);
    // found h1 h2 h3 h4 h6 h8 h11 = 7 (140.0 per 100 venues), 即改 1 of 7 (14%); closed h1 and
    // h9; registered by the end h1 h2 h3 h4 h6 h7 h8 h9 h11 and September's h14 = 10, closed
    // h1 h9 h14 → 30% (h10 and h15 were never registered); overdue h3 h6 h7; one recurrence
    // (h11).
    let hp = r.villages.iter().find(|v| v.village == "heping").unwrap();
    assert_eq!(
        (hp.venues, hp.inspected, hp.coverage_pct(), hp.inspections),
        (5, 2, 40, 4)
    );
    assert_eq!(
        (hp.found, hp.per_100(), hp.on_spot_pct(), hp.closed),
        (7, "140.0".to_owned(), 14, 2)
    );
    assert_eq!(
        (hp.registered_total, hp.closed_total, hp.rectification_pct()),
        (10, 3, 30)
    );
    assert_eq!((hp.overdue, hp.recurrences), (3, 1));
    let jl = r.villages.iter().find(|v| v.village == "jialou").unwrap();
    assert_eq!((jl.venues, jl.found, jl.registered_total), (1, 0, 1));

    // Focus: h3 (GEN★) at one of the two venues inspected for e-bikes.
    assert_eq!(r.focus.len(), 1);
    assert_eq!(
        (
            r.focus[0].found,
            r.focus[0].open,
            r.focus[0].venues,
            r.focus[0].venues_pct
        ),
        (1, 1, 1, 50)
    );

    // Majors: h4 found this year (increment, open); h9 found in 2024 — the plan's stock — open
    // on 1 January, closed in November. h5 awaits confirmation, listed apart.
    assert_eq!(
        (
            r.major_stock,
            r.major_stock_open,
            r.major_increment,
            r.major_increment_open
        ),
        (1, 0, 1, 1)
    );
    let ids = |rows: &[gridsafe_server::report::MajorRow]| {
        rows.iter().map(|m| m.id.clone()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&r.majors), ["h9", "h4"]);
    assert_eq!(ids(&r.candidates), ["h5"]);
    let years: Vec<(i32, bool, i64, i64, i64, i64)> = r
        .by_year
        .iter()
        .map(|y| {
            (
                y.year,
                y.stock,
                y.found,
                y.open_at_year_start,
                y.closed_this_year,
                y.open,
            )
        })
        .collect();
    assert_eq!(years, [(2024, true, 1, 1, 1, 0), (2026, false, 1, 0, 0, 1)]);

    // The overdue list on 28 November, most days first: h7 (39 days), h3 (22), h6 (3); h3 and
    // h6 became overdue in the period.
    let overdue: Vec<(&str, i64, bool)> = r
        .overdue
        .iter()
        .map(|o| (o.id.as_str(), o.days, o.new_in_period))
        .collect();
    assert_eq!(
        overdue,
        [("h7", 39, false), ("h3", 22, true), ("h6", 3, true)]
    );
    assert_eq!(
        (
            r.overdue[0].responsible.as_str(),
            r.overdue[0].phone.as_str()
        ),
        ("王老板", "13800000000"),
        "the venue's responsible person"
    );
    assert!(
        r.overdue.iter().all(|o| o.depts_zh == "城运中心、派出所"),
        "{:?}",
        r.overdue
    );
}

/// The figures of a report without when it was generated.
fn figures(r: &Report) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap();
    v.as_object_mut().unwrap().remove("generated_at");
    v
}

#[test]
fn a_closed_month_keeps_its_figures_and_an_issued_one_lists_late_records_in_the_next() {
    let relay = TestRelay::start(USERS);
    let db = relay_db(&relay);
    seed_november(&db);
    let before = report(&relay, "2026-11");
    // Events dated after the period's end: h3 closed in December, a hazard found in December.
    db.execute(
        "INSERT INTO hazard_steps (hazard_id, n, at_ms, kind, state, severity, deadline, seen_ms)
         VALUES ('h3', 1, ?1, 'close', 'closed', 'general', '2026-11-06', ?2)",
        [at("2026-12-03 09:00"), seen_now()],
    )
    .unwrap();
    db.execute(
        "UPDATE hazard_facts SET last_step_ms = ?1 WHERE hazard_id = 'h3'",
        [at("2026-12-03 09:00")],
    )
    .unwrap();
    seed(
        &db,
        &Seed {
            id: "h12",
            found: "2026-12-01 10:00",
            steps: &[(
                "register",
                "2026-12-01 10:00",
                "registered",
                "general",
                Some("2026-12-20"),
            )],
            ..BASE
        },
    );
    assert_eq!(
        figures(&report(&relay, "2026-11")),
        figures(&before),
        "same figures"
    );

    // The town office issues it (after a refusal that keeps what was typed).
    let mut office = Browser::new(&relay.url);
    assert_eq!(office.login("office", "correct horse"), 303);
    let (_, page, _) = office.get("/reports/monthly?period=2026-11");
    assert!(page.contains(r#"id="issue""#), "{page}");
    let csrf = csrf_of(&page);
    let (status, page, _) = office.post(
        "/reports/issue",
        &format!("csrf={csrf}&period=2026-12&number=%E5%90%95%E5%AE%89%E5%A7%94%E5%8A%9E"),
    );
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("统计期至 2026-12-28 结束，结束后方可签发") && page.contains("吕安委办"),
        "the running month cannot be issued; the number stays: {page}"
    );
    assert!(
        page.contains("<nav") || page.contains("href=\"/hazards\""),
        "{page}"
    );
    let number = "吕安委办〔2026〕12号";
    let form = format!("csrf={csrf}&period=2026-11&number={}", url_encode(number));
    let (status, _, headers) = office.post("/reports/issue", &form);
    assert_eq!(status, 303);
    let to = headers
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let (_, page, _) = office.get(&to);
    assert!(
        page.contains("报告已签发") && page.contains(number) && !page.contains(r#"id="issue""#),
        "{page}"
    );
    let issued = report(&relay, "2026-11");
    assert_eq!(issued.issued.as_ref().unwrap().number, number);
    // Issuing it again is refused on the page.
    let (status, page, _) = office.post("/reports/issue", &form);
    assert_eq!(status, 200);
    assert!(page.contains("已签发，不能再次签发"), "{page}");

    // A phone offline for a week: a hazard found on 26 November arrives now.
    seed(
        &db,
        &Seed {
            id: "h13",
            venue: "v5",
            found: "2026-11-26 15:00",
            steps: &[(
                "register",
                "2026-11-26 15:00",
                "registered",
                "general",
                Some("2026-12-26"),
            )],
            ..BASE
        },
    );
    let again = report(&relay, "2026-11");
    assert_eq!(
        figures(&again),
        figures(&issued),
        "the issued report is unchanged"
    );
    assert_eq!(again.totals.found(), before.totals.found());
    // The next report lists it as late for November.
    let december = report(&relay, "2026-12");
    for l in &december.late {
        println!(
            "late for {} ({}): {} · {} · {} · {}",
            l.period_zh, l.period_key, l.venue_name, l.title_zh, l.day, l.change_zh
        );
    }
    let late: Vec<(&str, &str, &str)> = december
        .late
        .iter()
        .map(|l| (l.period_key.as_str(), l.id.as_str(), l.day.as_str()))
        .collect();
    assert_eq!(late, [("2026-11", "h13", "2026-11-26")]);
    let (_, page, _) = office.get("/reports/monthly?period=2026-12");
    assert!(
        page.contains("迟报记录") && page.contains("h13的场所") && page.contains("2026年11月"),
        "{page}"
    );
    // Others see their own scope, computed: a department's reviewer is never shown the issued
    // copy or its late list.
    let sun = relay.inspect(|st| st.report("sun", Some("2026-11")).unwrap());
    assert!(sun.issued.is_none() && sun.late.is_empty());
}

fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    page[at..at + 64].to_owned()
}

/// Seeds one general hazard found by inspection on `found`, closed on `closed` when given, and
/// the venue's finished e-bike inspection that day.
fn found_and_closed(c: &Connection, id: &str, venue: &str, found: &str, closed: Option<&str>) {
    let mut steps = vec![(
        "register",
        found,
        "registered",
        "general",
        Some("2030-01-01"),
    )];
    if let Some(cl) = closed {
        steps.push(("close", cl, "closed", "general", Some("2030-01-01")));
    }
    seed(
        c,
        &Seed {
            id,
            venue,
            found,
            steps: &steps,
            ..BASE
        },
    );
    inspection(c, &format!("i-{id}"), venue, "lx.ebike", found, true);
}

#[test]
fn quarters_half_years_and_years_add_up_their_months_where_a_figure_adds_up() {
    let relay = TestRelay::start(USERS);
    let db = relay_db(&relay);
    for v in ["v1", "v2", "v3", "v4"] {
        venue(&db, v, "heping");
    }
    // Q3 2026 with the 28th cut-off: 29 June to 28 September. v1 is inspected in July and in
    // August (one venue in the quarter, one in each month).
    found_and_closed(
        &db,
        "q1",
        "v1",
        "2026-07-02 10:00",
        Some("2026-08-03 10:00"),
    );
    found_and_closed(&db, "q2", "v1", "2026-08-05 10:00", None);
    found_and_closed(
        &db,
        "q3",
        "v2",
        "2026-09-20 10:00",
        Some("2026-09-21 10:00"),
    );
    // Q2: 29 March to 28 June; its first day and its last.
    found_and_closed(&db, "q4", "v3", "2026-03-29 00:00", None);
    found_and_closed(
        &db,
        "q5",
        "v4",
        "2026-06-28 23:59",
        Some("2026-07-01 10:00"),
    );

    let sum_of = |keys: &[String]| {
        let mut total = gridsafe_server::report::Counts::default();
        let mut venues_inspected = 0;
        for k in keys {
            let t = report(&relay, k).totals;
            venues_inspected += t.venues_inspected;
            total.found_general += t.found_general;
            total.found_major += t.found_major;
            total.on_spot += t.on_spot;
            total.rectified += t.rectified;
            total.closed += t.closed;
            for (a, b) in total.by_source.iter_mut().zip(t.by_source) {
                *a += b;
            }
        }
        (total, venues_inspected)
    };
    let additive = |t: &gridsafe_server::report::Counts| {
        (
            t.found_general,
            t.found_major,
            t.on_spot,
            t.rectified,
            t.closed,
            t.by_source,
        )
    };
    let keys = |p: &str| -> Vec<String> {
        Period::parse(p, 28)
            .unwrap()
            .months_in()
            .into_iter()
            .map(|m| m.key)
            .collect()
    };
    let q3 = report(&relay, "2026-Q3");
    let (months, venues_in_months) = sum_of(&keys("2026-Q3"));
    assert_eq!(additive(&q3.totals), additive(&months));
    assert_eq!(additive(&q3.totals), (3, 0, 0, 0, 3, [3, 0, 0, 0, 0, 0]));
    // Venues inspected are distinct in the quarter: v1 (July and August) and v2 → 2, while
    // the months count 1 + 1 + 1.
    assert_eq!((q3.totals.venues_inspected, venues_in_months), (2, 3));
    // Rates are computed over the quarter's own figures: 2 of 4 venues (50%) where the months
    // give 25% each.
    let hp = q3.villages.iter().find(|v| v.village == "heping").unwrap();
    assert_eq!(hp.coverage_pct(), 50);
    // Open and overdue are as of the quarter's end, like its last month's.
    let september = report(&relay, "2026-09");
    assert_eq!(q3.totals.open, september.totals.open);

    let h1 = report(&relay, "2026-H1");
    let (quarters, _) = sum_of(&["2026-Q1".to_owned(), "2026-Q2".to_owned()]);
    assert_eq!(additive(&h1.totals), additive(&quarters));
    assert_eq!(additive(&h1.totals), additive(&sum_of(&keys("2026-H1")).0));
    assert_eq!(h1.totals.found(), 2, "q4 on Q2's first day, q5 on its last");
    let year = report(&relay, "2026");
    assert_eq!(additive(&year.totals), additive(&sum_of(&keys("2026")).0));
    assert_eq!(year.totals.found(), 5);
    // A custom range is a period too: July alone.
    let july = report(&relay, "2026-07-01~2026-07-31");
    assert_eq!((july.totals.found(), july.totals.closed), (1, 1));
}

/// The seeded month also serves the header's search (issue #32): by ticket number, by venue
/// name, wildcards taken literally, and only in the searcher's scope.
#[test]
fn search_finds_venues_hazards_and_tickets_in_scope() {
    let relay = TestRelay::start(USERS);
    seed_november(&relay_db(&relay));
    let mut office = Browser::new(&relay.url);
    assert_eq!(office.login("office", "correct horse"), 303);
    let (status, page, _) = office.get("/search?q=T-1");
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("/hazards/h4") && page.contains("12345 T-1"),
        "{page}"
    );
    assert!(!page.contains("/hazards/h5"), "{page}");
    let (_, page, _) = office.get(&format!("/search?q={}", url_encode("v6的场所")));
    assert!(
        page.contains("/venues/v6") && !page.contains("/venues/v1"),
        "{page}"
    );
    let (_, page, _) = office.get(&format!("/search?q={}", url_encode("h5的场所")));
    assert!(
        page.contains("/hazards/h5") && !page.contains("/hazards/h4"),
        "{page}"
    );
    let (_, page, _) = office.get("/search?q=%25");
    assert!(
        !page.contains("/venues/") && !page.contains("/hazards/h"),
        "{page}"
    );
    let (status, page, _) = office.get(&format!("/search?q={}", "x".repeat(61)));
    assert_eq!(status, 400);
    assert!(page.contains("60") && page.contains("<header>"), "{page}");
    // 规建办's reviewer finds the gas hazards, not the e-bike ones.
    let mut zheng = Browser::new(&relay.url);
    assert_eq!(zheng.login("zheng", "correct horse"), 303);
    let (_, page, _) = zheng.get(&format!("/search?q={}", url_encode("的隐患")));
    assert!(
        page.contains("/hazards/h4") && !page.contains("/hazards/h1\""),
        "{page}"
    );
}
