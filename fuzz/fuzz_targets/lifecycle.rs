//! The lifecycle fold over arbitrary event lists: never panics, and every replica agrees — the
//! same events in any order fold to the same state and history.
#![no_main]

use std::collections::{BTreeMap, HashMap};

use gridsafe_core::directory::{Role, Roster, User};
use gridsafe_core::lifecycle::{EventKind, fold};
use gridsafe_core::records::{EventRecord, HazardHeader, StoredEvent};
use libfuzzer_sys::fuzz_target;

struct Users(HashMap<String, User>);

impl Roster for Users {
    fn user_of_actor(&self, actor_hex: &str) -> Option<&User> {
        self.0.get(actor_hex)
    }

    fn user(&self, id: &str) -> Option<&User> {
        self.0.values().find(|u| u.id == id)
    }
}

fn user(id: &str, role: Role, dept: Option<&str>) -> User {
    User {
        id: id.into(),
        name: id.into(),
        role,
        department: dept.map(Into::into),
        grids: vec!["G1".into()],
    }
}

const ACTORS: [&str; 5] = ["aa", "bb", "cc", "dd", "ee"];
const TEXTS: [Option<&str>; 4] = [
    None,
    Some(""),
    Some("2026-12-31"),
    Some("没有整改 not fixed"),
];
/// An event's text: a note, nothing, or a user (an assignment's handler, in a lead department
/// or not).
const NOTES: [Option<&str>; 4] = [None, Some("rev"), Some("rev2"), Some("没有整改 not fixed")];

fn header(major: bool, on_spot: bool) -> HazardHeader {
    HazardHeader {
        id: "h".into(),
        venue_id: "v".into(),
        venue_name: "店".into(),
        village: "V1".into(),
        grid_id: "G1".into(),
        inspection_id: Some("i".into()),
        template_id: "lx.ebike".into(),
        template_version: "2024.1".into(),
        item_id: "EB-01".into(),
        domain: "ebike".into(),
        title_zh: "t".into(),
        title_en: "t".into(),
        finding_zh: "f".into(),
        finding_en: "f".into(),
        basis_refs: vec![],
        basis_edition: BTreeMap::new(),
        severity_proposed: if major { "major_candidate" } else { "general" }.into(),
        focus: false,
        combined_group: None,
        lead_depts: vec!["FIRE".into()],
        source: "inspection".into(),
        ticket_no: None,
        fix_mode: if on_spot { "on_spot" } else { "deadline" }.into(),
        deadline: Some("2026-12-15".into()),
        recurrence_of: None,
        found_at: "2026-11-30T10:00:00+08:00".into(),
        found_ms: 1_764_468_000_000,
        found_by: "insp".into(),
        photos: vec![],
        referral: None,
        order_zh: None,
        order_en: None,
        lifecycle: gridsafe_core::lifecycle::RULES,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let roster = Users(HashMap::from([
        ("aa".to_owned(), user("insp", Role::Inspector, None)),
        ("bb".to_owned(), user("rev", Role::Reviewer, Some("FIRE"))),
        ("cc".to_owned(), user("rev2", Role::Reviewer, Some("GAS"))),
        ("dd".to_owned(), user("office", Role::TownOffice, None)),
    ]));
    // Eight bytes per event: kind, actor, clock (3), id, and which texts it carries.
    let events: Vec<StoredEvent> = rest
        .chunks_exact(8)
        .take(64)
        .map(|c| {
            let kind = EventKind::ALL[usize::from(c[0]) % EventKind::ALL.len()];
            StoredEvent {
                record: EventRecord {
                    id: format!("e{}", c[5] % 16),
                    kind: if c[0] >= 250 {
                        "bogus".into()
                    } else {
                        kind.as_str().into()
                    },
                    ms: 1_764_468_000_000 + i64::from(u16::from_le_bytes([c[2], c[3]])) * 60_000,
                    counter: u32::from(c[4] % 4),
                    reason: TEXTS[usize::from(c[6] & 3)].map(Into::into),
                    deadline: TEXTS[usize::from((c[6] >> 2) & 3)].map(Into::into),
                    photo: (c[6] & 0x10 != 0).then(|| "ab".repeat(32)),
                    inspection_id: (c[6] & 0x20 != 0).then(|| "i".into()),
                    text: NOTES[usize::from(c[7] & 3)].map(Into::into),
                },
                actor: ACTORS[usize::from(c[1]) % ACTORS.len()].into(),
                tampered: c[7] & 0x80 != 0,
            }
        })
        .collect();
    let h = header(flags & 1 != 0, flags & 2 != 0);
    let a = fold(&h, &events, &roster);
    let mut reversed = events.clone();
    reversed.reverse();
    let b = fold(&h, &reversed, &roster);
    assert_eq!(
        a, b,
        "the fold depends on the order the events were read in"
    );
    let mut rotated = events;
    if !rotated.is_empty() {
        let k = usize::from(flags >> 2) % rotated.len();
        rotated.rotate_left(k);
    }
    assert_eq!(
        a,
        fold(&h, &rotated, &roster),
        "the fold depends on the order the events were read in"
    );
});
