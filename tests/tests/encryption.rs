//! Encryption at rest on the phone (issue #8): the store file, photos included, is unreadable
//! without its key; a wrong key is a clear error that changes nothing; keys rotate; an older
//! unencrypted store is encrypted on the way in; an encrypted phone syncs as any other.

use std::path::Path;

use gridsafe_client as client;
use gridsafe_core::store_key::{StoreKey, is_encrypted};
use gridsafe_core::{Error, Store};
use gridsafe_tests::fixtures;
use gridsafe_tests::relay::TestRelay;

fn key(b: u8) -> StoreKey {
    StoreKey::from_bytes(&[b; 32]).unwrap()
}

fn sha(path: &Path) -> String {
    gridsafe_core::evidence::sha256_hex(&std::fs::read(path).unwrap())
}

/// A store with a venue, an inspection, a hazard and its photo; returns the hazard id.
fn fill(s: &mut Store) -> String {
    s.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    fixtures::flying_lead_visit(s, "wang", "heping-1", 7)
}

/// Every document, with its heads, and every stored photo byte.
fn contents(s: &Store, hazard: &str) -> (Vec<String>, String, Vec<u8>) {
    let view = s.hazard(hazard).unwrap();
    let photo = s.blob(&view.header.photos[0].sha256).unwrap();
    (s.doc_heads(hazard).unwrap(), view.header.venue_name, photo)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn the_store_file_and_its_photos_are_unreadable_without_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.sqlite");
    let mut s = Store::create_with(&path, Some(&key(1))).unwrap();
    let h = fill(&mut s);
    let before = contents(&s, &h);
    drop(s);

    assert!(is_encrypted(&path).unwrap());
    let raw = std::fs::read(&path).unwrap();
    assert!(
        !raw.starts_with(b"SQLite format 3"),
        "no plain SQLite header"
    );
    assert!(
        !contains(&raw, "wang-店7".as_bytes()),
        "the venue's name is not in the file"
    );
    assert!(
        !contains(&raw, &before.2[before.2.len() / 2..before.2.len() / 2 + 64]),
        "nor the photo's bytes"
    );
    assert!(!contains(&raw, b"heping-1"), "nor the grid");

    // Without a key, with a wrong key: clear errors, and the file is byte for byte the same.
    let hash = sha(&path);
    let e = Store::open(&path).unwrap_err();
    assert!(e.to_string().contains("is encrypted"), "{e}");
    let e = Store::open_with(&path, Some(&key(2))).unwrap_err();
    assert!(matches!(e, Error::WrongKey { .. }), "{e:?}");
    assert!(
        e.to_string().contains("cannot be decrypted with this key"),
        "{e}"
    );
    assert_eq!(sha(&path), hash, "a wrong key changes nothing");

    // The right key: everything is there.
    let s = Store::open_with(&path, Some(&key(1))).unwrap();
    s.integrity_check().unwrap();
    assert_eq!(contents(&s, &h), before);
}

#[test]
fn keys_rotate_and_an_interrupted_rotation_leaves_the_old_key_working() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.sqlite");
    let mut s = Store::create_with(&path, Some(&key(1))).unwrap();
    let h = fill(&mut s);
    let before = contents(&s, &h);

    // A rotation the app did not live through: its half-written copy is all that is left.
    let stale = dir.path().join("phone.sqlite.rekey");
    std::fs::write(&stale, b"half-written").unwrap();
    drop(s);
    let s = Store::open_with(&path, Some(&key(1))).unwrap();
    assert_eq!(
        contents(&s, &h),
        before,
        "the old key still opens the untouched store"
    );

    let mut s = s.rekey(&key(3)).unwrap();
    assert!(!stale.exists(), "the stale copy is gone");
    assert_eq!(contents(&s, &h), before);
    // The store keeps working under the new key, and only the new key opens it.
    let h2 = fixtures::flying_lead_visit(&mut s, "wang", "heping-1", 8);
    drop(s);
    assert!(matches!(
        Store::open_with(&path, Some(&key(1))).unwrap_err(),
        Error::WrongKey { .. }
    ));
    let s = Store::open_with(&path, Some(&key(3))).unwrap();
    assert_eq!(contents(&s, &h), before);
    assert_eq!(s.hazard(&h2).unwrap().status.state.as_str(), "registered");
}

#[test]
fn an_unencrypted_store_from_an_older_app_is_encrypted_on_the_way_in() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.sqlite");
    let mut s = Store::create(&path).unwrap();
    let h = fill(&mut s);
    let before = contents(&s, &h);
    drop(s);
    assert!(!is_encrypted(&path).unwrap());
    assert!(
        contains(&std::fs::read(&path).unwrap(), b"heping-1"),
        "plain before"
    );

    let s = Store::open_with(&path, Some(&key(4))).unwrap();
    assert_eq!(contents(&s, &h), before);
    drop(s);
    assert!(is_encrypted(&path).unwrap());
    assert!(
        !contains(&std::fs::read(&path).unwrap(), b"heping-1"),
        "encrypted after"
    );
    assert!(Store::open(&path).is_err());

    // A file that is not a GridSafe store is refused, not encrypted.
    let foreign = dir.path().join("foreign.sqlite");
    std::fs::write(&foreign, b"not a database at all").unwrap();
    assert!(Store::open_with(&foreign, Some(&key(4))).is_err());
    assert_eq!(std::fs::read(&foreign).unwrap(), b"not a database at all");
}

#[test]
fn an_encrypted_phone_syncs_its_records_and_photos() {
    let relay = TestRelay::start(&["wang", "office"]);
    let dir = tempfile::tempdir().unwrap();
    let mut wang = Store::create_with(dir.path().join("wang.sqlite"), Some(&key(5))).unwrap();
    let h = fill(&mut wang);
    client::enroll(&mut wang, &relay.url, "wang", "correct horse", "wang").unwrap();
    client::sync_all(&mut wang, false, &mut |_| {}).unwrap();
    let mut office = Store::create_with(dir.path().join("office.sqlite"), Some(&key(6))).unwrap();
    office.import_directory(fixtures::DIRECTORY_JSON).unwrap();
    client::enroll(&mut office, &relay.url, "office", "correct horse", "office").unwrap();
    client::sync_all(&mut office, false, &mut |_| {}).unwrap();
    assert_eq!(office.doc_heads(&h).unwrap(), wang.doc_heads(&h).unwrap());
    let sha = wang.hazard(&h).unwrap().header.photos[0].sha256.clone();
    assert!(
        relay.inspect(|r| r.blob_complete(&sha).unwrap()),
        "the photo reached the relay whole"
    );
}
