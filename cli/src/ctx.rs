//! What every command shares: the acting user, output as text or JSON, file arguments.

use anyhow::{Context, Result};
use gridsafe_core::store::NewPhoto;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

pub(crate) struct Ctx {
    pub(crate) json: bool,
    pub(crate) as_user: Option<String>,
}

impl Ctx {
    pub(crate) fn user(&self) -> Result<&str> {
        self.as_user
            .as_deref()
            .context("who is acting? give --as USER (or set GRIDSAFE_USER)")
    }
    pub(crate) fn emit<T: Serialize>(
        &self,
        value: &T,
        human: impl FnOnce() -> String,
    ) -> Result<()> {
        let mut out = std::io::stdout().lock();
        if self.json {
            serde_json::to_writer_pretty(&mut out, value)?;
            writeln!(out)?;
        } else {
            writeln!(out, "{}", human())?;
        }
        Ok(())
    }
}

pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

pub(crate) fn photo(path: &Option<PathBuf>, role: &str) -> Result<Option<NewPhoto>> {
    path.as_ref()
        .map(|p| {
            Ok(NewPhoto {
                bytes: read_file(p)?,
                item_id: None,
                role: role.into(),
                lat: None,
                lon: None,
            })
        })
        .transpose()
}

/// VALUE as JSON when it parses, else as a plain string (so `no` and `是` work unquoted).
pub(crate) fn value_arg(v: &str) -> serde_json::Value {
    serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.to_owned()))
}
