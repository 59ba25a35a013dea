//! What a phone's processor must reproduce exactly: the evidence pipeline's output for the same
//! photos, and an encrypted store and automerge documents written on another architecture.
//!
//! The fixtures were written on x86-64 (`GRIDSAFE_BLESS=1 cargo test -p gridsafe-core --test
//! cross_arch` rewrites them); `scripts/test` also runs this file built for aarch64 under qemu
//! (`scripts/aarch64`), where the same committed values must come out.

use std::path::{Path, PathBuf};

use automerge::AutoCommit;
use gridsafe_core::Store;
use gridsafe_core::evidence::{IngestContext, ingest, sha256_hex};
use gridsafe_core::store::{NewPhoto, NewVenue};
use gridsafe_core::store_key::StoreKey;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn bless() -> bool {
    std::env::var_os("GRIDSAFE_BLESS").is_some()
}

/// The photos: the examples' camera-style JPEGs, and the test fixtures that exercise EXIF
/// orientation, progressive and greyscale JPEG, CMYK and PNG with alpha.
const PHOTOS: &[&str] = &[
    "examples/photos/corridor-before.jpg",
    "examples/photos/corridor-after.jpg",
    "examples/photos/hose-measure.jpg",
    "tests/fixtures/photos/oriented6.jpg",
    "tests/fixtures/photos/progressive.jpg",
    "tests/fixtures/photos/gray.jpg",
    "tests/fixtures/photos/cmyk.jpg",
    "tests/fixtures/photos/rgba.png",
];

fn ctx() -> IngestContext {
    IngestContext {
        venue_short: "01a22b58".into(),
        inspector: "wang".into(),
        app_gps: Some((30.8312, 121.2004)),
        now_ms: 1_795_000_000_000,
    }
}

/// The same photo gives byte-identical evidence copies and thumbnails on every architecture:
/// libjpeg-turbo's SIMD paths (AVX2 on x86-64, NEON on ARM) produce the same coefficients at the
/// scales and quality we use, and the resize and watermark are plain integer and float code.
#[test]
fn evidence_files_are_the_same_on_every_architecture() {
    let mut got = String::from("# photo\tevidence sha256\tthumbnail sha256\tsize\n");
    for p in PHOTOS {
        let bytes = std::fs::read(root().join(p)).unwrap();
        let e = ingest(&bytes, &ctx()).unwrap();
        assert_eq!(sha256_hex(&e.evidence), e.evidence_sha256);
        got.push_str(&format!(
            "{p}\t{}\t{}\t{}x{}\n",
            e.evidence_sha256, e.thumbnail_sha256, e.width, e.height
        ));
    }
    let table = fixtures().join("evidence-hashes.tsv");
    if bless() {
        std::fs::write(&table, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&table).unwrap();
    assert_eq!(
        got,
        want,
        "evidence output differs from the x86-64 table on {}",
        std::env::consts::ARCH
    );
}

/// What the fixture store holds, recorded when it was written.
const KEY_HEX: &str = "6772696473616665206669787475726520b1a3e5d0c9f7426ea8813f5d2c4b9e";

fn key() -> StoreKey {
    StoreKey::from_bytes(&hex::decode(KEY_HEX).unwrap()).unwrap()
}

fn write_fixture_store(path: &Path) -> String {
    let mut s = Store::create_with(path, Some(&key())).unwrap();
    s.import_directory(&std::fs::read(root().join("examples/lvxiang-directory.json")).unwrap())
        .unwrap();
    let v = s
        .add_venue(
            "wang",
            NewVenue {
                name: "老王电动车行".into(),
                address: "和平村10号".into(),
                grid_id: "heping-1".into(),
                profile: gridsafe_core::profile::VenueProfile {
                    venue_type: vec!["street_shop".into()],
                    floors_above_ground: 1,
                    gas_supply: "none".into(),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .unwrap();
    let i = s.start_inspection("wang", &v.id, "lx.ebike", None).unwrap();
    let answers = gridsafe_core::eval::answers_from_json(
        &std::fs::read(root().join("examples/answers/ebike-shop.json")).unwrap(),
    )
    .unwrap();
    s.answer("wang", &i.id, &answers).unwrap();
    s.attach_photo(
        "wang",
        &i.id,
        NewPhoto {
            bytes: std::fs::read(root().join("examples/photos/corridor-before.jpg")).unwrap(),
            item_id: Some("ebike.flying_lead".into()),
            role: "before".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let done = s.finish_inspection("wang", &i.id).unwrap();
    assert_eq!(done.hazards.len(), 1);
    i.id
}

/// An encrypted store written on x86-64 opens with its key on this machine, passes SQLite's
/// integrity check, its sealed inspection verifies against its photos, and its automerge
/// documents load and save to the very same bytes.
#[test]
fn a_store_and_documents_written_on_x86_64_open_and_verify_here() {
    let dir = tempfile::tempdir().unwrap();
    let committed = fixtures().join("x86_64-store.sqlite");
    let docs_dir = fixtures().join("x86_64-docs");
    if bless() {
        let _ = std::fs::remove_file(&committed);
        let inspection = write_fixture_store(&committed);
        let store = Store::open_with(&committed, Some(&key())).unwrap();
        std::fs::create_dir_all(&docs_dir).unwrap();
        for (name, id) in [("inspection", inspection.clone())].into_iter().chain(
            store
                .list_hazards(&Default::default())
                .unwrap()
                .into_iter()
                .map(|h| ("hazard", h.id)),
        ) {
            let (_, bytes) = store.export_doc(&id).unwrap();
            std::fs::write(docs_dir.join(format!("{name}.automerge")), bytes).unwrap();
            std::fs::write(
                docs_dir.join(format!("{name}.heads")),
                store.doc_heads(&id).unwrap().join("\n"),
            )
            .unwrap();
        }
        std::fs::write(docs_dir.join("inspection.id"), &inspection).unwrap();
        drop(store);
        return;
    }
    // The store is opened from a copy: opening writes (WAL, migrations of a newer build).
    let path = dir.path().join("phone.sqlite");
    std::fs::copy(&committed, &path).unwrap();
    assert!(gridsafe_core::store_key::is_encrypted(&path).unwrap());
    let wrong = StoreKey::from_bytes(&[7u8; 32]).unwrap();
    assert!(matches!(
        Store::open_with(&path, Some(&wrong)),
        Err(gridsafe_core::Error::WrongKey { .. })
    ));
    let store = Store::open_with(&path, Some(&key())).unwrap();
    store.integrity_check().unwrap();
    let inspection = std::fs::read_to_string(docs_dir.join("inspection.id")).unwrap();
    let report = store.verify_evidence(&inspection).unwrap();
    assert!(report.intact, "{:?}", report.problems);
    assert!(report.photo_files_checked > 0);
    let hazards = store.list_hazards(&Default::default()).unwrap();
    assert_eq!(hazards.len(), 1);
    assert_eq!(hazards[0].item_id, "ebike.flying_lead");
    for (name, id) in [
        ("inspection", inspection),
        ("hazard", hazards[0].id.clone()),
    ] {
        let heads = std::fs::read_to_string(docs_dir.join(format!("{name}.heads"))).unwrap();
        assert_eq!(store.doc_heads(&id).unwrap().join("\n"), heads, "{name}");
        let bytes = std::fs::read(docs_dir.join(format!("{name}.automerge"))).unwrap();
        let (_, mine) = store.export_doc(&id).unwrap();
        assert_eq!(
            mine, bytes,
            "{name}: the store saves the same automerge bytes"
        );
        let mut doc = AutoCommit::load(&bytes).unwrap();
        assert_eq!(
            doc.save(),
            bytes,
            "{name}: loading and saving is byte-exact"
        );
    }
}
