//! The issuing body of the documents a town hands out (its name, address, contact, the public
//! address owner links use) and the numbers of its rectification notices. The administrator sets
//! the issuer at the relay; it reaches every phone on sync, so a notice printed offline is
//! complete. Numbers are handed to each device in blocks (as paper ticket books are), so a phone
//! without signal still numbers its notices, and numbers stay unique town-wide (ADR 0015).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How many numbers a device receives at once, and when it asks for the next block.
pub const BLOCK_SIZE: u32 = 50;
pub const ASK_BELOW: u32 = 20;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issuer {
    /// 吕巷镇安全生产委员会办公室
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
    #[serde(default)]
    pub address: String,
    /// A telephone number owners may call.
    #[serde(default)]
    pub contact: String,
    /// The notices' number prefix: 吕巷安改 → 吕巷安改〔2026〕第0101号.
    pub notice_prefix: String,
    /// The public address of the owner's page (what the QR code opens and its caption prints),
    /// e.g. `https://aq.lvxiang.gov.cn`; never the relay's listening address.
    #[serde(default)]
    pub public_url: String,
}

impl Issuer {
    /// Checks what the administrator entered; the error names the field and says what to enter.
    pub fn validate(&self) -> Result<()> {
        if self.name_zh.trim().is_empty() {
            return Err(Error::invalid(
                "请填写发文机关名称 / enter the issuing body's name",
            ));
        }
        let prefix = self.notice_prefix.trim();
        if prefix.is_empty() || prefix.chars().count() > 12 {
            return Err(Error::invalid(
                "请填写通知书编号前缀（1至12个字，如“吕巷安改”） / enter the notice number prefix (1 to 12 characters)",
            ));
        }
        let url = self.public_url.trim();
        if !url.is_empty()
            && (!(url.starts_with("https://") || url.starts_with("http://"))
                || url.contains(char::is_whitespace))
        {
            return Err(Error::invalid(
                "公众访问地址须以 https:// 开头 / the public address must start with https://",
            ));
        }
        Ok(())
    }

    /// A notice number as documents print it: 吕巷安改〔2026〕第0101号.
    pub fn notice_number(&self, year: i32, n: u32) -> String {
        notice_number(&self.notice_prefix, year, n)
    }
}

/// A notice number with `prefix` (the town's name when no issuer is set).
pub fn notice_number(prefix: &str, year: i32, n: u32) -> String {
    format!("{prefix}〔{year}〕第{n:04}号")
}

/// Numbers `first..=last` of `year`, handed to one device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeBlock {
    pub year: i32,
    pub first: u32,
    pub last: u32,
}

/// A number a phone gave a notice, reported to the relay's register.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedNotice {
    pub year: i32,
    pub n: u32,
    pub venue_id: String,
    pub issued_ms: i64,
}

impl IssuedNotice {
    pub fn key(&self) -> String {
        format!("{}-{}", self.year, self.n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_documents_write_them_and_bad_settings_are_named() {
        let i = Issuer {
            name_zh: "吕巷镇安全生产委员会办公室".into(),
            notice_prefix: "吕巷安改".into(),
            ..Default::default()
        };
        assert_eq!(i.notice_number(2026, 101), "吕巷安改〔2026〕第0101号");
        assert!(i.validate().is_ok());
        let no_name = Issuer {
            name_zh: " ".into(),
            ..i.clone()
        };
        assert!(
            no_name
                .validate()
                .unwrap_err()
                .to_string()
                .contains("发文机关")
        );
        let bad_url = Issuer {
            public_url: "10.0.0.5:8080".into(),
            ..i
        };
        assert!(
            bad_url
                .validate()
                .unwrap_err()
                .to_string()
                .contains("https://")
        );
    }
}
