//! Checklist template parsing and resolution over arbitrary files (alone and beside the bundled
//! ones it may include): a clear error or a valid template, never a panic.
#![no_main]

use gridsafe_core::template::{
    TemplateSource, bundled_sources, content_hash, from_stored, load_bundle,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let fuzzed = TemplateSource {
        name: "fuzz.json".into(),
        bytes: rest.to_vec(),
    };
    let sources = if mode & 1 == 0 {
        vec![fuzzed]
    } else {
        let mut s = bundled_sources();
        s.push(fuzzed);
        s
    };
    if let Ok(loaded) = load_bundle(&sources, &|_, _| None) {
        for t in &loaded {
            assert_eq!(t.hash, content_hash(t));
            // What the store keeps must read back as the same template.
            let stored = serde_json::to_vec(t).expect("a template serialises");
            assert_eq!(
                &from_stored(&stored, &t.hash).expect("stored template reads back"),
                t
            );
        }
    }
    let _ = from_stored(rest, "0");
});
