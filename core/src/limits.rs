//! Length limits for every text a person or a phone can send: names, addresses, phone numbers,
//! codes, and free text. Checked on the phone where the text is typed and again at the relay
//! for every record it accepts, so a field of a megabyte is refused with the field's name instead
//! of being stored and shown on every page.

use crate::error::{Error, Result};

/// A person's, a venue's or a user's name.
pub const NAME_CHARS: usize = 100;
/// An address.
pub const ADDRESS_CHARS: usize = 200;
/// A telephone number.
pub const PHONE_CHARS: usize = 32;
/// Codes and identifiers: ids, hashes, template versions, ticket numbers, app versions.
pub const CODE_CHARS: usize = 128;
/// Free text: a reason, a plan, a finding, a description, a note.
pub const TEXT_CHARS: usize = 2000;

/// The limit for a field, by its name as records and forms spell it.
pub fn limit_of(field: &str) -> usize {
    match field {
        "name" | "venue_name" | "user_name" => NAME_CHARS,
        "address" => ADDRESS_CHARS,
        "phone" => PHONE_CHARS,
        "id" | "venue_id" | "inspection_id" | "item_id" | "template_id" | "template_version"
        | "template_hash" | "grid_id" | "village" | "sha256" | "thumb_sha256"
        | "original_sha256" | "ticket_no" | "app_version" | "kind" | "role" | "source"
        | "fix_mode" | "channel" | "category" | "domain" | "deadline" | "photo" | "by"
        | "created_by" | "found_by" | "taken_by" | "inspector" | "mime" | "id_last4" => CODE_CHARS,
        _ => TEXT_CHARS,
    }
}

/// `value` within the limit for `field`; the error names the field and the limit.
pub fn check(field: &str, value: &str) -> Result<()> {
    violation(field, value).map_or(Ok(()), |m| Err(Error::Invalid(m)))
}

/// What is wrong with `value` as `field`, in words ("name: 101 characters, the limit is 100").
pub fn violation(field: &str, value: &str) -> Option<String> {
    let max = limit_of(field);
    let n = value.chars().count();
    (n > max).then(|| format!("{field}: {n} characters, the limit is {max}"))
}

/// Every string in a record (as JSON), each against the limit of the key it sits under.
pub fn check_all(value: &serde_json::Value) -> Result<()> {
    fn walk(key: &str, v: &serde_json::Value) -> Result<()> {
        match v {
            serde_json::Value::String(s) => check(key, s),
            serde_json::Value::Array(a) => a.iter().try_for_each(|x| walk(key, x)),
            serde_json::Value::Object(m) => m.iter().try_for_each(|(k, x)| {
                // Map keys are data too (answers by item id, event maps).
                check("id", k)?;
                walk(k, x)
            }),
            _ => Ok(()),
        }
    }
    walk("", value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_field_has_its_limit_and_the_error_names_it() {
        check("name", &"店".repeat(NAME_CHARS)).unwrap();
        let e = check("name", &"店".repeat(NAME_CHARS + 1)).unwrap_err();
        assert!(
            e.to_string()
                .contains("name: 101 characters, the limit is 100"),
            "{e}"
        );
        assert!(check("app_version", &"1".repeat(1 << 20)).is_err());
        check("reason", &"因".repeat(TEXT_CHARS)).unwrap();
        let nested = json!({"venue": {"responsible": {"phone": "1".repeat(40)}}});
        let e = check_all(&nested).unwrap_err();
        assert!(e.to_string().starts_with("invalid input: phone:"), "{e}");
        check_all(&json!({"events": [{"reason": "ok", "ms": 5}]})).unwrap();
    }
}
