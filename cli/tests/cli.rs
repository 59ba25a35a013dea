//! The `gridsafe` binary end to end: the scripted offline day, bad input, and SIGKILL mid-write.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_gridsafe");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn gs(store: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--store")
        .arg(store)
        .args(args)
        .env_remove("GRIDSAFE_USER")
        .output()
        .unwrap()
}

fn ok(store: &Path, args: &[&str]) -> String {
    let o = gs(store, args);
    assert!(
        o.status.success(),
        "gridsafe {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap().trim().to_owned()
}

fn new_store(dir: &Path) -> PathBuf {
    let s = dir.join("phone.sqlite");
    ok(&s, &["init"]);
    ok(
        &s,
        &[
            "directory",
            "import",
            root()
                .join("examples/lvxiang-directory.json")
                .to_str()
                .unwrap(),
        ],
    );
    s
}

#[test]
fn the_scripted_offline_day_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(root().join("scripts/offline-day.sh"))
        .arg(dir.path().join("day.sqlite"))
        .env("GRIDSAFE_BIN", BIN)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("gas.lpg_underground") && stdout.contains("已销号 (closed)"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("department_only"));
}

#[test]
fn templates_export_as_json_with_everything_a_reviewer_needs() {
    let dir = tempfile::tempdir().unwrap();
    let s = new_store(dir.path());
    let all: serde_json::Value = serde_json::from_str(&ok(&s, &["--json", "templates"])).unwrap();
    let all = all.as_array().unwrap();
    assert_eq!(
        all.len(),
        11,
        "five checklists in two versions each, and lx.gas's 2026.12-b"
    );
    let items: Vec<&serde_json::Value> = all
        .iter()
        .filter(|t| t["version"] == "2026.12-a")
        .flat_map(|t| t["items"].as_array().unwrap())
        .collect();
    assert_eq!(
        items
            .iter()
            .filter(|i| i.get("included_from").is_none())
            .count(),
        103
    );
    let hose = items.iter().find(|i| i["id"] == "gas.hose_length").unwrap();
    assert_eq!(hose["fields"][0]["rules"][0]["threshold"], 2.0);
    assert_eq!(hose["fields"][0]["unit"], "m");
    assert_eq!(hose["lead_depts"][0], "gjb");
    assert_eq!(hose["photo"], "required_with_measure");
    assert!(
        hose["refs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["verify"].is_string() && r["cite"].is_string())
    );
}

#[test]
fn bad_input_is_named_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let s = new_store(dir.path());
    let v = ok(
        &s,
        &[
            "--as",
            "wang",
            "venue",
            "add",
            "--name",
            "小店",
            "--grid",
            "heping-1",
            "--type",
            "street_shop",
            "--gas",
            "piped_ng",
        ],
    );
    let i = ok(
        &s,
        &[
            "--as",
            "wang",
            "inspect",
            "start",
            "--venue",
            &v,
            "--template",
            "lx.gas",
        ],
    );
    for (item, value, expect) in [
        ("gas.hose_length", "-0.5", "negative"),
        ("gas.hose_length", "long", "expected a number"),
        (
            "gas.cylinder_count",
            "{\"spare_15\": \"two\"}",
            "whole number",
        ),
        ("gas.nope", "no", "not an item"),
    ] {
        let o = gs(&s, &["--as", "wang", "inspect", "answer", &i, item, value]);
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(item) && err.contains(expect), "{err}");
    }
    // No acting user, unknown user, another grid.
    assert!(
        String::from_utf8_lossy(&gs(&s, &["inspect", "answer", &i, "gas.hose_length", "1"]).stderr)
            .contains("--as")
    );
    assert!(
        !gs(&s, &["--as", "nobody", "venue", "list"])
            .status
            .success()
    );
    let o = gs(
        &s,
        &[
            "--as",
            "li",
            "inspect",
            "start",
            "--venue",
            &v,
            "--template",
            "lx.gas",
        ],
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("forbidden"));
    // A broken template file names file, item and reason; nothing is installed.
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"format":1,"template_id":"lx.x","version":"1","domain":"x","title_zh":"x","title_en":"x","effective_from":"2026-01-01","lead_depts":["cyzx"],"deadline_days":7,
           "items":[{"id":"x.width","q_zh":"宽","q_en":"Width","fields":[{"key":"w","type":"measure","unit":"cm","label_zh":"宽","label_en":"W","rules":[{"cmp":">=","threshold":1}]}],
           "severity":{"level":"general"},"photo":"required","refs":[{"cite":"X","verify":"G"}],"fix_mode_default":"deadline"}]}"#,
    )
    .unwrap();
    let o = gs(&s, &["templates", "import", bad.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.json") && err.contains("x.width") && err.contains("unknown unit"),
        "{err}"
    );
    assert_eq!(ok(&s, &["templates", "list"]).lines().count(), 11);
    // init never overwrites; a garbage store is reported, not recreated.
    assert!(!gs(&s, &["init"]).status.success());
    let junk = dir.path().join("junk.sqlite");
    std::fs::write(&junk, vec![7u8; 4096]).unwrap();
    let o = gs(&junk, &["venue", "list"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("junk.sqlite"));
    assert_eq!(std::fs::read(&junk).unwrap(), vec![7u8; 4096]);
    // Illegal transition: exit code 3 and the reason.
    let bad_id = gs(&s, &["--as", "zheng", "hazard", "close", "not-a-uuid"]);
    assert!(String::from_utf8_lossy(&bad_id.stderr).contains("not a UUID"));
    ok(&s, &["check"]);
}

#[test]
fn sigkill_mid_write_loses_nothing_reported_saved() {
    let dir = tempfile::tempdir().unwrap();
    let s = new_store(dir.path());
    let venues = dir.path().join("venues.jsonl");
    let mut f = std::fs::File::create(&venues).unwrap();
    for n in 0..5000 {
        writeln!(
            f,
            r#"{{"name":"场所{n}","address":"和平村{n}号","grid_id":"heping-{}","profile":{{"venue_type":["street_shop"],"floors_above_ground":2,"gas_supply":"none"}}}}"#,
            n % 2 + 1
        )
        .unwrap();
    }
    drop(f);
    let mut reported = Vec::new();
    for (round, stop_after) in [37usize, 211, 5, 480].into_iter().enumerate() {
        let mut child = Command::new(BIN)
            .arg("--store")
            .arg(&s)
            .args(["--as", "wang", "venue", "import", venues.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0;
        while seen < stop_after {
            let Some(Ok(line)) = lines.next() else { break };
            if let Some(id) = line.strip_prefix("saved ") {
                reported.push(id.to_owned());
                seen += 1;
            }
        }
        child.kill().unwrap(); // SIGKILL on Unix.
        // Anything printed before the kill was already committed: collect it too.
        for line in lines.map_while(Result::ok) {
            if let Some(id) = line.strip_prefix("saved ") {
                reported.push(id.to_owned());
            }
        }
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "round {round}: the writer must have been killed mid-import"
        );
        ok(&s, &["check"]);
        let listed: serde_json::Value =
            serde_json::from_str(&ok(&s, &["--as", "wang", "--json", "venue", "list"])).unwrap();
        let ids: std::collections::HashSet<&str> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap())
            .collect();
        for id in &reported {
            assert!(
                ids.contains(id.as_str()),
                "round {round}: venue {id} was reported saved but is missing"
            );
        }
        // Every listed venue opens as a document.
        let last = reported.last().unwrap();
        ok(&s, &["--json", "venue", "show", last]);
    }
    assert!(reported.len() >= 37 + 211 + 5 + 480);
}

#[test]
fn evidence_verify_reports_intact_then_exactly_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let s = new_store(dir.path());
    let v = ok(
        &s,
        &[
            "--as",
            "wang",
            "venue",
            "add",
            "--name",
            "小店",
            "--grid",
            "heping-1",
            "--type",
            "street_shop",
            "--gas",
            "none",
        ],
    );
    let i = ok(
        &s,
        &[
            "--as",
            "wang",
            "inspect",
            "start",
            "--venue",
            &v,
            "--template",
            "lx.ebike",
        ],
    );
    ok(
        &s,
        &[
            "--as",
            "wang",
            "inspect",
            "answers",
            &i,
            root()
                .join("examples/answers/ebike-shop.json")
                .to_str()
                .unwrap(),
        ],
    );
    let photo = root().join("tests/fixtures/photos/oriented6.jpg");
    let attached: serde_json::Value = serde_json::from_str(&ok(
        &s,
        &[
            "--as",
            "wang",
            "--json",
            "inspect",
            "attach",
            &i,
            "--item",
            "ebike.flying_lead",
            "--photo",
            photo.to_str().unwrap(),
        ],
    ))
    .unwrap();
    ok(&s, &["--as", "wang", "inspect", "finish", &i]);
    assert!(ok(&s, &["evidence", "verify", &i]).contains("intact"));
    let thumb = attached["thumb_sha256"].as_str().unwrap();
    let out = dir.path().join("thumb.jpg");
    ok(
        &s,
        &["evidence", "export", thumb, "--out", out.to_str().unwrap()],
    );
    assert!(std::fs::read(&out).unwrap().starts_with(&[0xFF, 0xD8]));
    // Flip one byte of the thumbnail in the store file.
    let c = rusqlite::Connection::open(&s).unwrap();
    c.execute(
        "UPDATE blobs SET data = CAST(x'00' || substr(data, 2) AS BLOB) WHERE sha256 = ?1",
        [thumb],
    )
    .unwrap();
    drop(c);
    let o = gs(&s, &["evidence", "verify", &i]);
    assert_eq!(o.status.code(), Some(4));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains(&thumb[..12]) && text.contains("thumbnail"),
        "{text}"
    );
}

#[test]
fn an_encrypted_store_needs_its_key_file_and_rekeys() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("phone.sqlite");
    let (k1, k2, bad) = (
        dir.path().join("k1"),
        dir.path().join("k2"),
        dir.path().join("bad"),
    );
    std::fs::write(&k1, "11".repeat(32)).unwrap();
    std::fs::write(&k2, [0x22u8; 32]).unwrap();
    std::fs::write(&bad, "12345").unwrap();
    let k = |key: &Path, args: &[&str]| {
        let mut a = vec!["--key-file", key.to_str().unwrap()];
        a.extend_from_slice(args);
        gs(&store, &a)
    };
    assert!(k(&k1, &["init"]).status.success());
    let out = gs(&store, &["check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is encrypted"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = k(&k2, &["check"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be decrypted with this key"));
    let out = k(&bad, &["check"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("neither 32 bytes nor 64 hex digits"));
    let out = k(&k1, &["--json", "check"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["encrypted"], true, "{v}");
    assert!(
        k(&k1, &["rekey", "--new-key-file", k2.to_str().unwrap()])
            .status
            .success()
    );
    assert!(!k(&k1, &["check"]).status.success());
    assert!(k(&k2, &["check"]).status.success());
}
