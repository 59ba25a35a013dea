//! The seal over a finished inspection: a hash per answer and per photo, and a root; verifying
//! it names every answer or photo byte changed since.

use super::*;
use crate::error::Result;

pub(crate) fn answer_hash(a: &crate::records::AnswerRecord) -> String {
    sha256_hex(&serde_json::to_vec(a).unwrap_or_default())
}

pub(crate) fn photo_entry(p: &crate::records::PhotoRef) -> String {
    let o = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    format!(
        "{}:{}:{}:{}:{}",
        p.sha256,
        o(&p.thumb_sha256),
        o(&p.original_sha256),
        o(&p.item_id),
        p.role
    )
}

pub(crate) fn root_of(
    id: &str,
    template_hash: &str,
    answers: &std::collections::BTreeMap<String, String>,
    photos: &[String],
) -> String {
    let canonical = serde_json::json!({"v": 1, "inspection": id, "template_hash": template_hash, "answers": answers, "photos": photos});
    sha256_hex(&serde_json::to_vec(&canonical).unwrap_or_default())
}

/// Seals an inspection: a hash per answer and per photo, and a root over them.
pub fn seal(insp: &crate::records::Inspection) -> crate::records::Manifest {
    let answers: std::collections::BTreeMap<String, String> = insp
        .answers
        .iter()
        .map(|(k, a)| (k.clone(), answer_hash(a)))
        .collect();
    let photos: Vec<String> = insp.photos.iter().map(photo_entry).collect();
    crate::records::Manifest {
        root: root_of(
            &insp.header.id,
            &insp.header.template_hash,
            &answers,
            &photos,
        ),
        answers,
        photos,
    }
}

/// The outcome of `gridsafe evidence verify`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvidenceReport {
    pub inspection_id: String,
    pub intact: bool,
    pub answers_checked: usize,
    pub photo_files_checked: usize,
    /// Exactly what was altered, one line each.
    pub problems: Vec<String>,
}

/// Compares an inspection with its sealed manifest and every stored photo variant with its hash.
/// `blob` returns the stored bytes for a SHA-256, or `None` when not stored.
pub fn verify(
    insp: &crate::records::Inspection,
    blob: &dyn Fn(&str) -> Result<Option<Vec<u8>>>,
) -> Result<EvidenceReport> {
    let mut problems = Vec::new();
    let mut files = 0;
    let id = insp.header.id.clone();
    let Some(m) = insp.finish.as_ref().and_then(|f| f.manifest.as_ref()) else {
        let why = if insp.finish.is_none() {
            "not finished: nothing has been sealed yet"
        } else {
            "finished without a manifest"
        };
        return Ok(EvidenceReport {
            inspection_id: id,
            intact: false,
            answers_checked: 0,
            photo_files_checked: 0,
            problems: vec![why.into()],
        });
    };
    if root_of(&id, &insp.header.template_hash, &m.answers, &m.photos) != m.root {
        problems.push(
            "the sealed manifest itself was altered (root hash does not match its entries)".into(),
        );
    }
    for (item, a) in &insp.answers {
        match m.answers.get(item) {
            None => problems.push(format!("answer to {item} was added after finishing")),
            Some(h) if *h != answer_hash(a) => {
                problems.push(format!("answer to {item} was altered after finishing"))
            }
            Some(_) => {}
        }
    }
    for item in m.answers.keys().filter(|k| !insp.answers.contains_key(*k)) {
        problems.push(format!("answer to {item} was removed after finishing"));
    }
    let current: Vec<String> = insp.photos.iter().map(photo_entry).collect();
    for e in current.iter().filter(|e| !m.photos.contains(e)) {
        problems.push(format!(
            "photo reference {} was added or altered after finishing",
            &e[..12.min(e.len())]
        ));
    }
    for e in m.photos.iter().filter(|e| !current.contains(e)) {
        problems.push(format!(
            "photo reference {} was removed or altered after finishing",
            &e[..12.min(e.len())]
        ));
    }
    for p in &insp.photos {
        let variants = [
            ("evidence copy", Some(&p.sha256), true),
            ("thumbnail", p.thumb_sha256.as_ref(), true),
            ("original", p.original_sha256.as_ref(), false),
        ];
        for (what, sha, required) in variants {
            let Some(sha) = sha else { continue };
            match blob(sha)? {
                Some(bytes) => {
                    files += 1;
                    if sha256_hex(&bytes) != *sha {
                        problems.push(format!(
                            "photo {}… {what}: stored bytes do not match its SHA-256 (altered)",
                            &sha[..12]
                        ));
                    }
                }
                // An original may be dropped by policy; the others must be there.
                None if required => {
                    problems.push(format!("photo {}… {what} is missing", &sha[..12]))
                }
                None => {}
            }
        }
    }
    Ok(EvidenceReport {
        inspection_id: id,
        intact: problems.is_empty(),
        answers_checked: insp.answers.len(),
        photo_files_checked: files,
        problems,
    })
}
