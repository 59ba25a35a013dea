//! Checklist templates: the bundled versions installed once, imports, and pinned lookups.

use std::sync::Arc;

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Store;
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::template::{self, Template, TemplateSource};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemplateRow {
    pub template_id: String,
    pub version: String,
    pub hash: String,
    pub domain: String,
    pub title_zh: String,
    pub title_en: String,
    pub items: u32,
}

impl Store {
    pub(super) fn install_bundled(&mut self) -> Result<()> {
        let sources = template::bundled_sources();
        let mut h = Sha256::new();
        for s in &sources {
            h.update(s.name.as_bytes());
            h.update(&s.bytes);
        }
        let bundle_hash = hex::encode(h.finalize());
        let seen = self.meta("bundle_hash")?;
        if seen.as_deref() == Some(bundle_hash.as_str()) {
            return Ok(());
        }
        self.import_templates(&sources)?;
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('bundle_hash', ?1)",
            params![bundle_hash],
        )?;
        Ok(())
    }

    /// Installs template versions. Already-installed versions must be byte-for-byte the same
    /// content (versions are immutable); any error installs nothing.
    pub fn import_templates(&mut self, sources: &[TemplateSource]) -> Result<Vec<TemplateRow>> {
        let loaded = {
            let known = |id: &str, v: &str| self.template(id, v).ok();
            template::load_bundle(sources, &known)?
        };
        let tx = self.conn.transaction()?;
        let mut rows = Vec::new();
        for t in &loaded {
            let existing: Option<String> = tx
                .query_row(
                    "SELECT hash FROM templates WHERE template_id = ?1 AND version = ?2",
                    params![t.template_id, t.version],
                    |r| r.get(0),
                )
                .optional()?;
            match existing {
                Some(h) if h == t.hash => continue,
                Some(_) => {
                    return Err(Error::Template {
                        file: t.key(),
                        item: "-".into(),
                        reason: "this version is already installed with different content; template versions are immutable, publish a new version".into(),
                    });
                }
                None => {}
            }
            tx.execute(
                "INSERT INTO templates (template_id, version, hash, domain, title_zh, title_en, items, body, installed_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![t.template_id, t.version, t.hash, t.domain, t.title_zh, t.title_en, t.items.len() as i64, serde_json::to_vec(t)?, now_ms()],
            )?;
            rows.push(TemplateRow {
                template_id: t.template_id.clone(),
                version: t.version.clone(),
                hash: t.hash.clone(),
                domain: t.domain.clone(),
                title_zh: t.title_zh.clone(),
                title_en: t.title_en.clone(),
                items: t.items.len() as u32,
            });
        }
        tx.commit()?;
        Ok(rows)
    }

    /// The newest installed version of each checklist, by checklist id.
    pub fn current_templates(&self) -> Result<Vec<Arc<Template>>> {
        let mut ids: Vec<String> = self
            .list_templates()?
            .into_iter()
            .map(|t| t.template_id)
            .collect();
        ids.dedup();
        ids.iter().map(|id| self.latest_template(id)).collect()
    }

    pub fn list_templates(&self) -> Result<Vec<TemplateRow>> {
        let mut stmt = self
            .conn
            .prepare("SELECT template_id, version, hash, domain, title_zh, title_en, items FROM templates ORDER BY template_id, version")?;
        let rows = stmt.query_map([], |r| {
            Ok(TemplateRow {
                template_id: r.get(0)?,
                version: r.get(1)?,
                hash: r.get(2)?,
                domain: r.get(3)?,
                title_zh: r.get(4)?,
                title_en: r.get(5)?,
                items: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A pinned template version, verified against its content hash.
    pub fn template(&self, id: &str, version: &str) -> Result<Arc<Template>> {
        let key = format!("{id}@{version}");
        if let Some(t) = self.templates.get(&key) {
            return Ok(t.clone());
        }
        let row: Option<(Vec<u8>, String)> = self
            .conn
            .query_row(
                "SELECT body, hash FROM templates WHERE template_id = ?1 AND version = ?2",
                params![id, version],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (body, hash) = row.ok_or_else(|| Error::not_found("template", &key))?;
        Ok(Arc::new(template::from_stored(&body, &hash)?))
    }

    pub(super) fn template_cached(&mut self, id: &str, version: &str) -> Result<Arc<Template>> {
        let t = self.template(id, version)?;
        self.templates.insert(t.key(), t.clone());
        Ok(t)
    }

    /// The newest installed version of a template (versions are `YYYY.MM-x` and sort as text).
    pub fn latest_template(&self, id: &str) -> Result<Arc<Template>> {
        let v: Option<String> = self.conn.query_row(
            "SELECT max(version) FROM templates WHERE template_id = ?1",
            params![id],
            |r| r.get(0),
        )?;
        let v = v.ok_or_else(|| Error::not_found("template", id))?;
        self.template(id, &v)
    }
}
