//! The field app's screens on a phone-sized store (`screens`, issue #33): 5,000 venues, 20,000
//! inspections, 10,000 hazards (the `core` benchmark's store). Each screen is timed as the shell
//! asks for it, beside the reference in the same run — the list query the old shell ran for its
//! one screen (overdue hazards in my grids) — against the one-frame budget of 16 ms.

use super::*;
use gridsafe_core::field::walk::{Input, answer_field, walk};
use gridsafe_core::field::{VenueFilter, hazard, today::today, venues};
use gridsafe_core::labels::Lang;

/// One frame at 60 Hz.
const FRAME_MS: f64 = 16.0;
const ROUNDS: usize = 51;

fn timed(mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    median(
        (0..ROUNDS)
            .map(|_| {
                let t = Instant::now();
                f();
                ms(t)
            })
            .collect(),
    )
}

/// Times every screen on the store at `path` (a copy: the walk writes) and prints a table and
/// one JSON line.
pub(crate) fn run(path: &Path) {
    let copy = path.with_extension("screens.sqlite");
    std::fs::copy(path, &copy).expect("copy the store");
    let mut s = Store::open(&copy).expect("store");
    let day = gridsafe_core::clock::today();
    let counts = s.counts().expect("counts");
    let overdue_q = HazardQuery {
        scope_user: Some("wang".into()),
        overdue_only: true,
        ..Default::default()
    };
    let reference = timed(|| {
        std::hint::black_box(s.list_hazards(&overdue_q).expect("overdue"));
    });
    let t = today(&s, "wang", Lang::Zh, day).expect("today");
    let today_ms = timed(|| {
        std::hint::black_box(today(&s, "wang", Lang::Zh, day).expect("today"));
    });
    let list_ms = timed(|| {
        std::hint::black_box(
            venues::venue_list(&s, "wang", &VenueFilter::default(), Lang::Zh, day).expect("list"),
        );
    });
    let search = VenueFilter {
        text: "场所0123".into(),
        ..Default::default()
    };
    let found = venues::venue_list(&s, "wang", &search, Lang::Zh, day).expect("search");
    let search_ms = timed(|| {
        std::hint::black_box(
            venues::venue_list(&s, "wang", &search, Lang::Zh, day).expect("search"),
        );
    });
    let venue = venues::venue_list(&s, "wang", &VenueFilter::default(), Lang::Zh, day)
        .expect("list")
        .rows[0]
        .id
        .clone();
    let file_ms = timed(|| {
        std::hint::black_box(venues::venue_file(&s, "wang", &venue, Lang::Zh).expect("file"));
    });
    let open = s.list_hazards(&overdue_q).expect("overdue");
    let hazard_ms = timed(|| {
        std::hint::black_box(
            hazard::hazard_screen(&s, "wang", &open[0].id, Lang::Zh, day).expect("hazard"),
        );
    });
    // A gas walk: the next item answered (saved durably, judged) and the walk rebuilt.
    let insp = s
        .start_inspection("wang", &venue, "lx.gas", None)
        .expect("start")
        .id;
    let w = walk(&s, &insp, Lang::Zh).expect("walk");
    let mut n = 0.0_f64;
    let answer_ms = timed(|| {
        n += 0.01;
        std::hint::black_box(
            answer_field(
                &mut s,
                "wang",
                &insp,
                "gas.hose_length",
                "length",
                Input::Number(1.0 + n),
                Lang::Zh,
            )
            .expect("answer"),
        );
    });
    let walk_ms = timed(|| {
        std::hint::black_box(walk(&s, &insp, Lang::Zh).expect("walk"));
    });
    drop(s);
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", copy.display()));
    }
    println!(
        "GridSafe field screens — {counts:?}; medians of {ROUNDS}; Today lists {} things, the search finds {}, the walk has {} items",
        t.total(),
        found.total,
        w.total
    );
    println!(
        "{:<48} {:>10} {:>10} {:>12}",
        "screen", "median ms", "frame ms", "× reference"
    );
    let rows = [
        ("reference: overdue in my grids (old list query)", reference),
        ("Today", today_ms),
        ("venue list, first page", list_ms),
        ("venue search by name", search_ms),
        ("venue file", file_ms),
        ("hazard screen", hazard_ms),
        ("walk: answer the next item, walk rebuilt", answer_ms),
        ("walk: rebuilt (app resumed)", walk_ms),
    ];
    for (name, v) in rows {
        println!(
            "{name:<48} {v:>10.2} {FRAME_MS:>10.1} {:>12.2}",
            v / reference
        );
    }
    let figures: serde_json::Map<String, serde_json::Value> = rows
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(round2(*v))))
        .collect();
    println!(
        "{}",
        json!({"bench": "screens", "frame_ms": FRAME_MS, "median_ms": figures})
    );
}
