//! Photo ingest over arbitrary bytes: must return Ok or a clear error, never panic, hang or
//! allocate beyond the pixel limit.
#![no_main]

use gridsafe_core::evidence::{IngestContext, ingest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ctx = IngestContext {
        venue_short: "fuzz".into(),
        inspector: "fuzz".into(),
        app_gps: None,
        now_ms: 0,
    };
    if let Ok(e) = ingest(data, &ctx) {
        assert!(
            e.width <= 1600
                && e.height <= 1600
                && !e.evidence.is_empty()
                && !e.thumbnail.is_empty()
        );
    }
});
