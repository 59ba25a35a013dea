//! What people read shows words, not codes (issue #31): every page, export and document of a
//! seeded relay, as each role and in both languages, is read as text and must not show a code of
//! the directory (village, grid, department, user id) or of the code tables (states, events,
//! severities, sources, item and checklist ids), nor an ISO timestamp.

use std::collections::BTreeSet;

use gridsafe_client as client;
use gridsafe_core::Store;
use gridsafe_core::lifecycle::{EventKind, State};
use gridsafe_tests::browser::Browser;
use gridsafe_tests::fixtures;
use gridsafe_tests::relay::TestRelay;

const PASSWORD: &str = "correct horse";

fn phone(dir: &std::path::Path, relay: &TestRelay, user: &str) -> Store {
    let mut s = Store::create(dir.join(format!("{user}.sqlite"))).unwrap();
    s.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    client::enroll(&mut s, &relay.url, user, PASSWORD, "网格手机").unwrap();
    s
}

/// The text a person sees: tags, scripts, styles and attribute values removed, entities decoded.
fn visible_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        out.push(' ');
        rest = &rest[lt..];
        let lower = rest.get(..7).unwrap_or("").to_ascii_lowercase();
        // A login name is what a person types to sign in (the administrator's user list shows
        // it in <kbd>): the one id people do read.
        let skip_to = if lower.starts_with("<script") {
            Some("</script>")
        } else if lower.starts_with("<kbd") {
            Some("</kbd>")
        } else if lower.starts_with("<style") {
            Some("</style>")
        } else {
            None
        };
        match skip_to.and_then(|end| rest.find(end).map(|i| i + end.len())) {
            Some(i) => rest = &rest[i..],
            None => match rest.find('>') {
                Some(gt) => rest = &rest[gt + 1..],
                None => break,
            },
        }
    }
    out.push_str(rest);
    out.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

/// What in `text` is a code or an ISO timestamp (each with a little context).
fn leaks(text: &str, codes: &BTreeSet<String>) -> Vec<String> {
    let mut found = Vec::new();
    let is_tok = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-';
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        if !is_tok(chars[i].1) {
            i += 1;
            continue;
        }
        let start = chars[i].0;
        while i < chars.len() && is_tok(chars[i].1) {
            i += 1;
        }
        let end = chars.get(i).map_or(text.len(), |c| c.0);
        let tok = text[start..end].trim_matches(|c| c == '.' || c == '-');
        let b = tok.as_bytes();
        let iso = b.len() >= 13
            && b[..10].iter().enumerate().all(|(k, c)| {
                if k == 4 || k == 7 {
                    *c == b'-'
                } else {
                    c.is_ascii_digit()
                }
            })
            && b[10] == b'T';
        let dotted = {
            let mut parts = tok.split('.');
            let (a, z) = (parts.next(), parts.next());
            parts.next().is_none()
                && a.is_some_and(|a| !a.is_empty() && a.bytes().all(|c| c.is_ascii_lowercase()))
                && z.is_some_and(|z| {
                    !z.is_empty() && z.bytes().all(|c| c.is_ascii_lowercase() || c == b'_')
                })
        };
        if iso || dotted || codes.contains(tok) {
            let from = text[..start]
                .char_indices()
                .rev()
                .nth(15)
                .map_or(0, |c| c.0);
            let to = text[end..]
                .char_indices()
                .nth(15)
                .map_or(text.len(), |c| end + c.0);
            found.push(format!(
                "{tok:?} in …{}…",
                text[from..to].replace('\n', " ")
            ));
        }
    }
    found
}

/// The codes no person should read: the directory's, the states', the events', severities and
/// sources. English words that are also codes (a state "closed", a severity "general") are
/// left to the Chinese pages, where they cannot be prose.
fn codes(english: bool) -> BTreeSet<String> {
    let dir = fixtures::directory();
    let mut c: BTreeSet<String> = BTreeSet::new();
    c.extend(dir.villages.iter().map(|v| v.code.clone()));
    c.extend(dir.grids.iter().map(|g| g.id.clone()));
    c.extend(dir.departments.iter().map(|d| d.code.clone()));
    c.extend(dir.users.iter().map(|u| u.id.clone()));
    c.extend(State::ALL.iter().map(|s| s.as_str().to_owned()));
    c.extend(EventKind::ALL.iter().map(|k| k.as_str().to_owned()));
    c.extend(
        gridsafe_core::profile::VENUE_TYPES
            .iter()
            .chain(gridsafe_core::profile::GAS_SUPPLIES)
            .map(|(code, ..)| (*code).to_owned()),
    );
    for code in [
        "major_candidate",
        "general",
        "major",
        "on_spot",
        "deadline",
        "inspection",
        "public_report",
        "self_report",
        "referral",
        "town_office",
        "inspector",
        "reviewer",
    ] {
        c.insert(code.into());
    }
    if english {
        c.retain(|x| x.contains('_') || x.contains('-') || !is_english_word(x));
    }
    c
}

fn is_english_word(x: &str) -> bool {
    [
        "draft",
        "registered",
        "notified",
        "rectifying",
        "escalated",
        "closed",
        "rejected",
        "register",
        "notify",
        "rectify",
        "claim",
        "close",
        "reject",
        "escalate",
        "reopen",
        "plan",
        "recheck",
        "dismiss",
        "control",
        "supervise",
        "general",
        "major",
        "deadline",
        "inspection",
        "referral",
        "inspector",
        "reviewer",
        "office",
        "admin",
        "other",
        "none",
        "market",
        "entertainment",
    ]
    .contains(&x)
}

#[test]
fn no_page_or_export_shows_a_code_a_user_id_or_an_iso_timestamp() {
    let relay = TestRelay::start(&["wang", "sun", "office", "admin"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = phone(dir.path(), &relay, "wang");
    // Hazards in several states: registered, notified, claimed; one of each source the phone
    // makes; a venue with a conflict.
    let h1 = fixtures::flying_lead_visit_at(&mut wang, "wang", "heping-1", "小吃店");
    let h2 = fixtures::flying_lead_visit_at(&mut wang, "wang", "heping-1", "车行");
    fixtures::serve_notice(&mut wang, "wang", &h2);
    let h3 = fixtures::flying_lead_visit_at(&mut wang, "wang", "heping-1", "面馆");
    fixtures::claim_fixed(&mut wang, "wang", &h3);
    client::sync_all(&mut wang, false, &mut |_| {}).unwrap();
    let venue = wang.hazard(&h1).unwrap().header.venue_id;
    let owner_url = wang.notice("wang", &venue).unwrap().owner_url;
    let mut pages = vec![
        "/".to_owned(),
        "/hazards".into(),
        "/hazards.csv".into(),
        format!("/hazards/{h1}"),
        format!("/hazards/{h2}"),
        format!("/hazards/{h3}"),
        "/devices".into(),
        "/audit".into(),
        "/reports/monthly".into(),
        "/reports/monthly?period=2026-Q4".into(),
        "/reports/monthly?period=2026-W49".into(),
        "/todo".into(),
        "/overview".into(),
        format!("/search?q={}", "%E5%BA%97"),
        "/no/such/page".into(),
        "/admin/users".into(),
        "/intake".into(),
        "/self-reports".into(),
        "/batch".into(),
        "/notices".into(),
        format!("/venues/{venue}"),
        format!("/venues/{venue}/notice"),
        "/hazards/not-an-id".into(),
    ];
    if let Some(u) = &owner_url {
        pages.push(u.trim_start_matches(&relay.url).to_owned());
    }
    let mut all = Vec::new();
    for user in ["wang", "sun", "office", "admin"] {
        for lang in ["zh", "en"] {
            let mut b = Browser::new(&relay.url);
            assert_eq!(b.login(user, PASSWORD), 303);
            b.get(&format!("/lang?to={lang}&back=/"));
            let codes = codes(lang == "en");
            for p in &pages {
                let (status, body, _) = b.get(p);
                if status == 303 {
                    continue;
                }
                let text = if p.ends_with(".csv") && status == 200 {
                    body.clone()
                } else {
                    visible_text(&body)
                };
                for l in leaks(&text, &codes) {
                    all.push(format!("{user} {lang} {p} ({status}): {l}"));
                }
            }
        }
    }
    all.sort();
    all.dedup();
    assert!(all.is_empty(), "{} leaks:\n{}", all.len(), all.join("\n"));
}

#[test]
fn the_leak_finder_finds_what_it_is_for() {
    let codes = codes(false);
    assert_eq!(
        leaks("负责人 王建国 2026-12-03 15:52", &codes),
        Vec::<String>::new()
    );
    assert_eq!(leaks("2026-12-03T15:52:15.952+08:00", &codes).len(), 1);
    assert_eq!(leaks("村 heping，部门 gjb, cyzx", &codes).len(), 3);
    assert_eq!(
        leaks("项目 gas.hose_length 状态 major_candidate", &codes).len(),
        2
    );
    assert_eq!(
        visible_text("<p title=\"wang\">王<script>var wang</script>建国</p>").trim(),
        "王 建国"
    );
}
