//! Photo evidence: orientation, metadata stripping, hashes, bad input, and tamper evidence.

use gridsafe_core::evidence::{IngestContext, ingest, sha256_hex};
use gridsafe_core::store::{NewPhoto, NewVenue};
use gridsafe_core::{Error, Store};
use gridsafe_tests::fixtures;
use serde_json::json;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/photos")
            .join(name),
    )
    .unwrap()
}

fn ctx() -> IngestContext {
    IngestContext {
        venue_short: "01a22b58".into(),
        inspector: "wang".into(),
        app_gps: None,
        now_ms: 1_795_000_000_000,
    }
}

fn rgb_at(jpeg: &[u8], x: usize, y: usize) -> [u8; 3] {
    let img = turbojpeg_decompress(jpeg);
    let i = (y * img.0 + x) * 3;
    [img.2[i], img.2[i + 1], img.2[i + 2]]
}

fn turbojpeg_decompress(jpeg: &[u8]) -> (usize, usize, Vec<u8>) {
    let img = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
        .unwrap()
        .into_rgb8();
    (img.width() as usize, img.height() as usize, img.into_raw())
}

#[test]
fn orientation_is_applied_and_metadata_stripped() {
    let src = fixture("oriented6.jpg");
    let e = ingest(&src, &ctx()).unwrap();
    // 960×600 in the sensor, rotated 90° clockwise by EXIF orientation 6 → 600×960 upright.
    assert_eq!(
        (e.orientation, e.original_width, e.original_height),
        (6, 600, 960)
    );
    assert_eq!((e.width, e.height), (600, 960));
    assert_eq!((e.thumb_width, e.thumb_height), (200, 320));
    // The red marker in the sensor's top-left corner is now in the top-right corner.
    let tr = rgb_at(&e.evidence, 560, 20);
    let tl = rgb_at(&e.evidence, 20, 20);
    assert!(
        tr[0] > 200 && tr[1] < 60 && tr[2] < 60,
        "top-right should be red: {tr:?}"
    );
    assert!(
        !(tl[0] > 200 && tl[1] < 60),
        "top-left should not be red: {tl:?}"
    );
    // EXIF is read into the record...
    assert!(e.captured_from_exif);
    assert_eq!(
        gridsafe_core::clock::ms_to_rfc3339(e.captured_ms),
        "2026-11-30T09:41:07+08:00"
    );
    let (lat, lon) = e.gps.unwrap();
    assert!((lat - 30.8312).abs() < 1e-4 && (lon - 121.2004).abs() < 1e-4);
    assert_eq!(e.gps_source, "exif");
    assert_eq!(e.camera.as_deref(), Some("Huawei Mate 60"));
    // ...and nothing of it survives in the outputs: no APP1/Exif, no serial, no owner.
    for out in [&e.evidence, &e.thumbnail] {
        assert!(!contains(out, b"Exif"), "EXIF left in output");
        assert!(!contains(out, b"HW-SERIAL-0042") && !contains(out, b"Zhang San"));
        assert!(out.starts_with(&[0xFF, 0xD8, 0xFF]));
    }
    assert!(
        contains(&src, b"HW-SERIAL-0042"),
        "the fixture does carry a serial"
    );
    // Hashes are SHA-256 of the exact bytes.
    assert_eq!(e.original_sha256, sha256_hex(&src));
    assert_eq!(e.evidence_sha256, sha256_hex(&e.evidence));
    assert_eq!(e.thumbnail_sha256, sha256_hex(&e.thumbnail));
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn large_photos_are_bounded_and_watermarked() {
    // A camera-sized photo: 5640×3172 from Debian's mate-backgrounds when present, else generated.
    let big = std::fs::read("/usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg")
        .unwrap_or_else(|_| {
            let img = image::RgbImage::from_fn(4000, 3000, |x, y| {
                image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x + y) % 239) as u8])
            });
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
                .encode_image(&img)
                .unwrap();
            out
        });
    let e = ingest(
        &big,
        &IngestContext {
            app_gps: Some((30.83, 121.2)),
            ..ctx()
        },
    )
    .unwrap();
    assert_eq!(e.width.max(e.height), 1600);
    assert_eq!(e.thumb_width.max(e.thumb_height), 320);
    assert_eq!(e.gps_source, "app");
    // The watermark band darkens the bottom-left corner and carries white text.
    let (w, h, px) = turbojpeg_decompress(&e.evidence);
    let band: Vec<[u8; 3]> = (h - 60..h)
        .flat_map(|y| (0..400).map(move |x| (y * w + x) * 3))
        .map(|i| [px[i], px[i + 1], px[i + 2]])
        .collect();
    let white = band.iter().filter(|p| p.iter().all(|&c| c > 200)).count();
    assert!(white > 500, "white glyph pixels in the band: {white}");
}

#[test]
fn valid_jpeg_variants_work() {
    for name in ["progressive.jpg", "gray.jpg", "cmyk.jpg", "rgba.png"] {
        let e = ingest(&fixture(name), &ctx()).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert!(
            e.width > 0 && !e.evidence.is_empty() && !e.thumbnail.is_empty(),
            "{name}"
        );
    }
    // CMYK comes out with its colours, not inverted: the red marker stays red.
    let e = ingest(&fixture("cmyk.jpg"), &ctx()).unwrap();
    let p = rgb_at(&e.evidence, 20, 20);
    assert!(
        p[0] > 180 && p[1] < 90 && p[2] < 90,
        "cmyk red marker: {p:?}"
    );
}

#[test]
fn bad_photos_are_refused_with_a_reason() {
    for (name, expect) in [
        ("not-an-image.jpg", "not a JPEG or PNG"),
        ("empty.jpg", "empty"),
        ("truncated.jpg", "truncated"),
        ("gray16.png", "16-bit"),
        ("bomb.png", "above the limit"),
        // Found by the fuzzer: makes the png crate panic; must be a clear error instead.
        ("png-bad-palette.png", "corrupt PNG"),
    ] {
        match ingest(&fixture(name), &ctx()) {
            Err(Error::Photo(r) | Error::TooLarge(r)) => {
                assert!(r.contains(expect), "{name}: {r}")
            }
            other => panic!("{name}: expected a photo error, got {other:?}"),
        }
    }
    // A JPEG whose header claims 60000×60000 is refused from the header alone.
    let mut bomb = fixture("oriented6.jpg");
    let sof = bomb.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    bomb[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    match ingest(&bomb, &ctx()) {
        Err(Error::TooLarge(r)) => assert!(r.contains("above the limit"), "{r}"),
        other => panic!("jpeg bomb: {other:?}"),
    }
}

fn store_with_inspection() -> (tempfile::TempDir, Store, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::create(dir.path().join("p.sqlite")).unwrap();
    s.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    let v = s
        .add_venue(
            "wang",
            NewVenue {
                name: "证据小店".into(),
                grid_id: "heping-1".into(),
                profile: fixtures::restaurant_profile(),
                ..Default::default()
            },
        )
        .unwrap();
    let i = s.start_inspection("wang", &v.id, "lx.gas", None).unwrap();
    (dir, s, i.id)
}

#[test]
fn bad_photos_leave_the_inspection_unchanged() {
    let (_d, mut s, i) = store_with_inspection();
    let before = s.export_doc(&i).unwrap().1;
    for name in [
        "not-an-image.jpg",
        "empty.jpg",
        "truncated.jpg",
        "gray16.png",
        "bomb.png",
    ] {
        let r = s.attach_photo(
            "wang",
            &i,
            NewPhoto {
                bytes: fixture(name),
                item_id: Some("gas.hose_length".into()),
                role: "before".into(),
                ..Default::default()
            },
        );
        assert!(
            matches!(r, Err(Error::Photo(_) | Error::TooLarge(_))),
            "{name}: {r:?}"
        );
    }
    assert_eq!(s.export_doc(&i).unwrap().1, before);
    let blobs: i64 = s
        .raw()
        .query_row("SELECT count(*) FROM blobs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(blobs, 0, "nothing stored");
}

#[test]
fn attach_runs_the_pipeline_and_the_manifest_detects_tampering() {
    let (_d, mut s, i) = store_with_inspection();
    let answers = fixtures::answers(
        fixtures::GAS_ANSWERS,
        &[
            ("gas.lpg_underground", json!("no")),
            ("gas.shutoff_installed", json!("yes")),
        ],
    );
    s.answer("wang", &i, &answers).unwrap();
    let p = s
        .attach_photo(
            "wang",
            &i,
            NewPhoto {
                bytes: fixture("oriented6.jpg"),
                item_id: Some("gas.hose_length".into()),
                role: "before".into(),
                lat: None,
                lon: None,
            },
        )
        .unwrap();
    assert_eq!((p.width, p.height), (Some(600), Some(960)));
    assert_eq!(p.gps_source.as_deref(), Some("exif"));
    assert_eq!(p.captured_at, "2026-11-30T09:41:07+08:00");
    // Evidence copy, thumbnail and (by default) the original are stored, content-addressed.
    for sha in [
        &p.sha256,
        p.thumb_sha256.as_ref().unwrap(),
        p.original_sha256.as_ref().unwrap(),
    ] {
        assert_eq!(&sha256_hex(&s.blob(sha).unwrap()), sha);
    }
    s.finish_inspection("wang", &i).unwrap();
    let report = s.verify_evidence(&i).unwrap();
    assert!(report.intact, "{report:?}");

    // One changed byte in the stored evidence copy is detected and named.
    s.raw()
        .execute("UPDATE blobs SET data = CAST(substr(data, 1, 100) || x'00' || substr(data, 102) AS BLOB) WHERE sha256 = ?1", [&p.sha256])
        .unwrap();
    let report = s.verify_evidence(&i).unwrap();
    assert!(!report.intact);
    assert!(
        report
            .problems
            .iter()
            .any(|m| m.contains(&p.sha256[..12]) && m.contains("evidence")),
        "{:?}",
        report.problems
    );

    // A changed answer (written behind the app's back) is detected and named.
    let (_d2, mut s2, i2) = store_with_inspection();
    s2.answer("wang", &i2, &answers).unwrap();
    s2.attach_photo(
        "wang",
        &i2,
        NewPhoto {
            bytes: fixture("progressive.jpg"),
            item_id: Some("gas.hose_length".into()),
            role: "before".into(),
            ..Default::default()
        },
    )
    .unwrap();
    s2.finish_inspection("wang", &i2).unwrap();
    let mut doc = automerge::AutoCommit::load(&s2.export_doc(&i2).unwrap().1).unwrap();
    let mut insp = gridsafe_core::records::read_inspection(&doc, &i2).unwrap();
    let mut hose = insp.answers.remove("gas.hose_length").unwrap();
    hose.fields.insert(
        "length".into(),
        gridsafe_core::eval::FieldValue::Number(1.9),
    );
    gridsafe_core::records::put_answer(&mut doc, &i2, "gas.hose_length", &hose).unwrap();
    // Merged as a change, a sealed inspection's answer is refused (issue #26)...
    let e = s2.merge_doc(&i2, &doc.save()).unwrap_err();
    assert!(e.to_string().contains("sealed"), "{e}");
    // ...and written behind the store's back, straight into its file, the seal finds it.
    s2.raw()
        .execute(
            "UPDATE docs SET snapshot = ?2, chunks = 0 WHERE id = ?1",
            rusqlite::params![i2, doc.save()],
        )
        .unwrap();
    s2.raw()
        .execute(
            "DELETE FROM doc_chunks WHERE doc_id = ?1",
            rusqlite::params![i2],
        )
        .unwrap();
    let report = s2.verify_evidence(&i2).unwrap();
    assert!(!report.intact);
    assert!(
        report
            .problems
            .iter()
            .any(|m| m.contains("gas.hose_length")),
        "{:?}",
        report.problems
    );
}
