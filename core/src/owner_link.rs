//! Owner links: the signed, expiring token in a rectification notice's QR code that opens the
//! venue owner's self-report page — for that one venue, without a login.
//!
//! A phone signs links offline with its device's owner key (issued by the relay at enrolment), so
//! a notice printed or shown in the field carries a working code. The relay holds the same key per
//! device and checks the signature, the expiry, that the device is not revoked and that no later
//! revocation of the venue's links applies. Format (URL-safe, no padding to decode):
//! `v1.<device id>.<venue id>.<issued ms>.<expires ms>.<HMAC-SHA256 hex>`.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

/// How long a link printed on a notice works unless revoked: long enough for a deadline and the
/// review after it.
pub const VALID_MS: i64 = 60 * 86_400_000;

/// What a link grants: the owner's page of `venue_id`, signed by `device_id`'s key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnerLink {
    pub device_id: String,
    pub venue_id: String,
    pub issued_ms: i64,
    pub expires_ms: i64,
}

fn mac(key: &[u8], payload: &str) -> Result<Hmac<Sha256>> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .map_err(|e| Error::invalid(format!("owner key: {e}")))?;
    m.update(payload.as_bytes());
    Ok(m)
}

fn payload(l: &OwnerLink) -> String {
    format!(
        "v1.{}.{}.{}.{}",
        l.device_id, l.venue_id, l.issued_ms, l.expires_ms
    )
}

/// The token for `link`, signed with the device's owner key (32 bytes, hex).
pub fn sign(key_hex: &str, link: &OwnerLink) -> Result<String> {
    let key = hex::decode(key_hex).map_err(|_| Error::invalid("owner key is not hex"))?;
    for (what, v) in [("device", &link.device_id), ("venue", &link.venue_id)] {
        if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(Error::invalid(format!("owner link: bad {what} id {v:?}")));
        }
    }
    let p = payload(link);
    let tag = hex::encode(mac(&key, &p)?.finalize().into_bytes());
    Ok(format!("{p}.{tag}"))
}

/// Reads a token's claims without checking them (to find the device whose key checks it).
pub fn parse(token: &str) -> Result<OwnerLink> {
    let bad = |why: &str| Error::invalid(format!("owner link: {why}"));
    if token.len() > 300 {
        return Err(bad("too long"));
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [v, device, venue, issued, expires, tag] = parts.as_slice() else {
        return Err(bad("not a GridSafe owner link"));
    };
    if *v != "v1" {
        return Err(bad("unknown version"));
    }
    if tag.len() != 64 || !tag.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad("malformed signature"));
    }
    let ms = |s: &str| s.parse::<i64>().map_err(|_| bad("malformed time"));
    Ok(OwnerLink {
        device_id: (*device).to_owned(),
        venue_id: (*venue).to_owned(),
        issued_ms: ms(issued)?,
        expires_ms: ms(expires)?,
    })
}

/// Checks a token with the signing device's key at `now_ms`: the signature (in constant time),
/// then the expiry. The error says which, and never what the right signature would be.
pub fn verify(key_hex: &str, token: &str, now_ms: i64) -> Result<OwnerLink> {
    let link = parse(token)?;
    let key = hex::decode(key_hex).map_err(|_| Error::invalid("owner key is not hex"))?;
    let tag = token
        .rsplit('.')
        .next()
        .and_then(|t| hex::decode(t).ok())
        .ok_or_else(|| Error::invalid("owner link: malformed signature"))?;
    mac(&key, &payload(&link))?
        .verify_slice(&tag)
        .map_err(|_| Error::Forbidden("owner link: the signature does not match".into()))?;
    if now_ms >= link.expires_ms {
        return Err(Error::Forbidden(
            "owner link: expired; ask the grid worker for a new notice".into(),
        ));
    }
    Ok(link)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn link() -> OwnerLink {
        OwnerLink {
            device_id: "d1".into(),
            venue_id: "0190b6c6-0000-7000-8000-000000000001".into(),
            issued_ms: 1_000,
            expires_ms: 2_000,
        }
    }

    #[test]
    fn a_signed_link_verifies_until_it_expires() {
        let t = sign(KEY, &link()).unwrap();
        assert_eq!(verify(KEY, &t, 1_500).unwrap(), link());
        assert!(
            verify(KEY, &t, 2_000)
                .unwrap_err()
                .to_string()
                .contains("expired")
        );
    }

    #[test]
    fn tampering_another_key_and_garbage_are_refused_by_name() {
        let t = sign(KEY, &link()).unwrap();
        let other_venue = t.replace("000000000001", "000000000002");
        assert!(
            verify(KEY, &other_venue, 1_500)
                .unwrap_err()
                .to_string()
                .contains("signature does not match")
        );
        let later = t.replace(".2000.", ".9999999.");
        assert!(
            verify(KEY, &later, 1_500)
                .unwrap_err()
                .to_string()
                .contains("signature does not match")
        );
        let other_key = KEY.replace("00", "ff");
        assert!(
            verify(&other_key, &t, 1_500)
                .unwrap_err()
                .to_string()
                .contains("signature does not match")
        );
        for junk in [
            "",
            "v1",
            "v2.a.b.1.2.00",
            "v1.a.b.x.2.00",
            &"x".repeat(400),
            "v1.a.b.1.2.zz",
        ] {
            assert!(verify(KEY, junk, 1_500).is_err(), "{junk}");
        }
        assert!(
            sign(
                KEY,
                &OwnerLink {
                    venue_id: "a.b".into(),
                    ..link()
                }
            )
            .is_err(),
            "ids cannot smuggle separators"
        );
    }
}
