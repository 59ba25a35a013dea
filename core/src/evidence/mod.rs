//! Photo evidence: a camera photo in, an upload-sized evidence copy and a thumbnail out.
//!
//! Pure functions over bytes. The pipeline reads EXIF (orientation, capture time, GPS, camera),
//! checks the pixel count before allocating anything, decodes a JPEG at a DCT-scaled size
//! (libjpeg-turbo) so a 12 MP photo is never decoded at full size, resizes with a convolution
//! filter (fast_image_resize), applies the orientation, burns a watermark with an embedded bitmap
//! font, and encodes both outputs as fresh JPEGs (quality 80, 4:2:0), which carry no metadata at
//! all. The record keeps what matters (time, GPS, dimensions, sizes, hashes).

mod pixels;

use pixels::{decode_jpeg, decode_png, encode, fit, resize};
pub use pixels::{orient, watermark};

mod seal;

pub use seal::{EvidenceReport, seal, verify};

use std::io::Cursor;

use image::RgbImage;
use sha2::{Digest, Sha256};

use crate::clock::{SHANGHAI, ms_to_rfc3339};
use crate::error::{Error, Result};

/// Largest photo accepted, in pixels (width × height). Checked from the header, before decoding.
pub const MAX_PIXELS: u64 = 64_000_000;
/// Largest side accepted, in pixels.
pub const MAX_SIDE: u32 = 20_000;
/// Most memory one photo's decoding may take, estimated from its header before any buffer
/// exists: the decoded pixels (at the DCT scale used for a JPEG), plus a progressive JPEG's
/// whole-image coefficient buffers, plus a PNG's RGBA and RGB copies. A 12 MP phone photo takes
/// about 8 MiB; a 64 MP progressive JPEG, or a PNG above about 14 MP, is refused.
pub const MAX_DECODE_BYTES: u64 = 96 * 1024 * 1024;
/// Long side of the evidence copy.
pub const EVIDENCE_LONG_SIDE: u32 = 1600;
/// Long side of the thumbnail.
pub const THUMB_LONG_SIDE: u32 = 320;
/// JPEG quality of both outputs.
pub const JPEG_QUALITY: i32 = 80;

/// What the app knows that the photo may not: who took it, where, for which venue.
#[derive(Clone, Debug, Default)]
pub struct IngestContext {
    /// A short venue id for the watermark (first 8 characters of the venue id).
    pub venue_short: String,
    pub inspector: String,
    /// Position from the phone's location service, used when the photo has no EXIF GPS.
    pub app_gps: Option<(f64, f64)>,
    /// Now, used as the capture time when the photo has none.
    pub now_ms: i64,
}

/// The processed photo.
#[derive(Clone, Debug)]
pub struct Evidence {
    pub original_sha256: String,
    pub original_size: u64,
    pub original_mime: &'static str,
    pub original_width: u32,
    pub original_height: u32,
    pub evidence: Vec<u8>,
    pub evidence_sha256: String,
    pub width: u32,
    pub height: u32,
    pub thumbnail: Vec<u8>,
    pub thumbnail_sha256: String,
    pub thumb_width: u32,
    pub thumb_height: u32,
    /// Capture time: EXIF DateTimeOriginal (read as Shanghai time) or `now_ms`.
    pub captured_ms: i64,
    pub captured_from_exif: bool,
    pub gps: Option<(f64, f64)>,
    /// "exif", "app" or "none".
    pub gps_source: &'static str,
    /// EXIF make and model, e.g. "Huawei Mate 60".
    pub camera: Option<String>,
    /// EXIF orientation that was applied (1 = none).
    pub orientation: u16,
}

fn bad(reason: impl Into<String>) -> Error {
    Error::Photo(reason.into())
}

pub fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

#[derive(Debug, Default)]
struct Exif {
    orientation: u16,
    captured_ms: Option<i64>,
    gps: Option<(f64, f64)>,
    camera: Option<String>,
}

fn read_exif(bytes: &[u8]) -> Exif {
    let Ok(ex) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) else {
        return Exif {
            orientation: 1,
            ..Default::default()
        };
    };
    let field = |t| ex.get_field(t, exif::In::PRIMARY);
    let orientation = field(exif::Tag::Orientation)
        .and_then(|f| f.value.get_uint(0))
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1) as u16;
    let ascii = |t| match field(t).map(|f| &f.value) {
        Some(exif::Value::Ascii(v)) => v.first().map(|s| {
            String::from_utf8_lossy(s)
                .trim()
                .trim_end_matches('\0')
                .to_owned()
        }),
        _ => None,
    };
    let captured_ms = [exif::Tag::DateTimeOriginal, exif::Tag::DateTime]
        .into_iter()
        .find_map(|t| match field(t).map(|f| &f.value) {
            Some(exif::Value::Ascii(v)) => v
                .first()
                .and_then(|s| exif::DateTime::from_ascii(s).ok())
                .and_then(|dt| {
                    let date = time::Date::from_calendar_date(
                        i32::from(dt.year),
                        time::Month::try_from(dt.month).ok()?,
                        dt.day,
                    )
                    .ok()?;
                    let t = time::Time::from_hms(dt.hour, dt.minute, dt.second).ok()?;
                    // Phones write local time without a zone; the phones are in Shanghai.
                    let offset = dt
                        .offset
                        .and_then(|m| time::UtcOffset::from_whole_seconds(i32::from(m) * 60).ok())
                        .unwrap_or(SHANGHAI);
                    Some(
                        (time::PrimitiveDateTime::new(date, t)
                            .assume_offset(offset)
                            .unix_timestamp())
                            * 1000,
                    )
                }),
            _ => None,
        });
    let coord = |v: exif::Tag, r: exif::Tag, neg: &str| -> Option<f64> {
        let exif::Value::Rational(parts) = &field(v)?.value else {
            return None;
        };
        if parts.len() < 3 || parts.iter().any(|p| p.denom == 0) {
            return None;
        }
        let deg = parts[0].to_f64() + parts[1].to_f64() / 60.0 + parts[2].to_f64() / 3600.0;
        let sign = if ascii(r).is_some_and(|s| s.eq_ignore_ascii_case(neg)) {
            -1.0
        } else {
            1.0
        };
        Some(sign * deg)
    };
    let gps = match (
        coord(exif::Tag::GPSLatitude, exif::Tag::GPSLatitudeRef, "S"),
        coord(exif::Tag::GPSLongitude, exif::Tag::GPSLongitudeRef, "W"),
    ) {
        (Some(lat), Some(lon))
            if (-90.0..=90.0).contains(&lat)
                && (-180.0..=180.0).contains(&lon)
                && (lat, lon) != (0.0, 0.0) =>
        {
            Some((lat, lon))
        }
        _ => None,
    };
    let camera = match (ascii(exif::Tag::Make), ascii(exif::Tag::Model)) {
        (Some(m), Some(d)) if d.starts_with(&m) => Some(d),
        (Some(m), Some(d)) => Some(format!("{m} {d}")),
        (a, b) => a.or(b),
    }
    .filter(|s| !s.is_empty())
    .map(|s| s.chars().filter(|c| !c.is_control()).take(64).collect());
    Exif {
        orientation,
        captured_ms,
        gps,
        camera,
    }
}

/// The watermark text: capture time, GPS, venue short id, inspector (ASCII).
pub fn watermark_lines(
    captured_ms: i64,
    gps: Option<(f64, f64)>,
    ctx: &IngestContext,
) -> Vec<String> {
    let when = ms_to_rfc3339(captured_ms);
    let when = when.get(..16).map(|s| s.replace('T', " ")).unwrap_or(when);
    let gps = gps.map_or_else(|| "GPS -".to_owned(), |(a, b)| format!("GPS {a:.5},{b:.5}"));
    let ascii = |s: &str| {
        s.chars()
            .filter(char::is_ascii_graphic)
            .take(24)
            .collect::<String>()
    };
    vec![
        format!("{when} +08:00  {gps}"),
        format!(
            "VENUE {}  BY {}  GRIDSAFE",
            ascii(&ctx.venue_short),
            ascii(&ctx.inspector)
        ),
    ]
}

/// Runs the whole pipeline. Any failure is a clear [`Error::Photo`]; nothing is half-produced.
pub fn ingest(bytes: &[u8], ctx: &IngestContext) -> Result<Evidence> {
    if bytes.is_empty() {
        return Err(bad("the file is empty (0 bytes)"));
    }
    let mime = if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else {
        return Err(bad("not a JPEG or PNG image"));
    };
    let exif = read_exif(bytes);
    let swap = exif.orientation >= 5;
    let d = if mime == "image/jpeg" {
        decode_jpeg(bytes, EVIDENCE_LONG_SIDE)?
    } else {
        decode_png(bytes)?
    };
    // Target size in sensor orientation: the long side is the same either way.
    let (tw, th) = fit(d.width, d.height, EVIDENCE_LONG_SIDE);
    let rgb = resize(d.rgb, d.width, d.height, tw, th)?;
    let img = RgbImage::from_raw(tw, th, rgb).ok_or_else(|| bad("internal: pixel buffer size"))?;
    let mut img = orient(img, exif.orientation);
    let (ew, eh) = img.dimensions();
    let (thw, thh) = fit(ew, eh, THUMB_LONG_SIDE);
    let thumb_rgb = resize(img.as_raw().clone(), ew, eh, thw, thh)?;
    let thumb = RgbImage::from_raw(thw, thh, thumb_rgb)
        .ok_or_else(|| bad("internal: thumbnail buffer size"))?;
    let thumbnail = encode(&thumb)?;
    drop(thumb);
    let (captured_ms, captured_from_exif) = match exif.captured_ms {
        Some(ms) => (ms, true),
        None => (ctx.now_ms, false),
    };
    let (gps, gps_source) = match (exif.gps, ctx.app_gps) {
        (Some(g), _) => (Some(g), "exif"),
        (None, Some(g)) => (Some(g), "app"),
        (None, None) => (None, "none"),
    };
    watermark(&mut img, &watermark_lines(captured_ms, gps, ctx));
    let evidence = encode(&img)?;
    let (full_w, full_h) = if swap {
        (d.full_height, d.full_width)
    } else {
        (d.full_width, d.full_height)
    };
    Ok(Evidence {
        original_sha256: sha256_hex(bytes),
        original_size: bytes.len() as u64,
        original_mime: mime,
        original_width: full_w,
        original_height: full_h,
        evidence_sha256: sha256_hex(&evidence),
        evidence,
        width: ew,
        height: eh,
        thumbnail_sha256: sha256_hex(&thumbnail),
        thumbnail,
        thumb_width: thw,
        thumb_height: thh,
        captured_ms,
        captured_from_exif,
        gps,
        gps_source,
        camera: exif.camera,
        orientation: exif.orientation,
    })
}

// ---------------------------------------------------------------------------------------------
// Tamper evidence.
