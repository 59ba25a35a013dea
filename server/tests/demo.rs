//! The one-command demo runs end to end (with the small example photographs, to stay quick).

use std::path::Path;
use std::process::Command;

#[test]
fn demo_seeds_syncs_and_merges_a_conflict() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gridsafe-server"))
        .args(["demo", "--listen", "127.0.0.1:0", "--exit", "--data"])
        .arg(data.path().join("demo"))
        .arg("--photos")
        .arg(root.join("examples/photos"))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("3 inspectors + 1 office reviewer, 4 devices enrolled"),
        "{stdout}"
    );
    assert!(
        stdout.contains("conflict") && stdout.contains("merged, then closed"),
        "{stdout}"
    );
    // The inspector's phone learnt the office's close.
    let phone = data.path().join("demo/phones/phone-wang.sqlite");
    let store = gridsafe_core::Store::open(&phone).unwrap();
    let closed = store
        .list_hazards(&gridsafe_core::store::HazardQuery::default())
        .unwrap()
        .into_iter()
        .filter(|h| h.state == "closed")
        .count();
    assert!(closed >= 1);
    assert_eq!(store.sync_status().unwrap().pending_docs, 0);
    // A non-empty data directory is refused rather than reused.
    let again = Command::new(env!("CARGO_BIN_EXE_gridsafe-server"))
        .args(["demo", "--exit", "--data"])
        .arg(data.path().join("demo"))
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
}

/// A log written to a file or a pipe (CI, journald) carries no terminal colour codes.
#[test]
fn logs_to_a_pipe_carry_no_colour_codes() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gridsafe-server"))
        .args(["admin", "--data"])
        .arg(data.path())
        .args(["report-cutoff", "28"])
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let all = [out.stdout, out.stderr].concat();
    assert!(!all.is_empty(), "the command logs or prints something");
    assert!(
        !all.contains(&0x1b),
        "escape codes in piped output: {}",
        String::from_utf8_lossy(&all)
    );
}
