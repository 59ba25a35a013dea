//! Photo evidence: a camera photo in, an upload-sized evidence copy and a thumbnail out.
//!
//! Pure functions over bytes. The pipeline reads EXIF (orientation, capture time, GPS, camera),
//! checks the pixel count before allocating anything, decodes a JPEG at a DCT-scaled size
//! (libjpeg-turbo) so a 12 MP photo is never decoded at full size, resizes with a convolution
//! filter (fast_image_resize), applies the orientation, burns a watermark with an embedded bitmap
//! font, and encodes both outputs as fresh JPEGs (quality 80, 4:2:0), which carry no metadata at
//! all. The record keeps what matters (time, GPS, dimensions, sizes, hashes).

use std::io::Cursor;

use fast_image_resize as fr;
use image::{ImageDecoder, RgbImage};
use sha2::{Digest, Sha256};

use crate::clock::{SHANGHAI, ms_to_rfc3339};
use crate::error::{Error, Result};

/// Largest photo accepted, in pixels (width × height). Checked from the header, before decoding.
pub const MAX_PIXELS: u64 = 64_000_000;
/// Largest side accepted, in pixels.
pub const MAX_SIDE: u32 = 20_000;
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

/// Decoded pixels in the sensor's orientation, RGB.
struct Decoded {
    rgb: Vec<u8>,
    width: u32,
    height: u32,
    full_width: u32,
    full_height: u32,
}

fn check_size(w: u64, h: u64) -> Result<()> {
    if w == 0 || h == 0 {
        return Err(bad("image has no pixels"));
    }
    if w > u64::from(MAX_SIDE) || h > u64::from(MAX_SIDE) || w * h > MAX_PIXELS {
        return Err(bad(format!(
            "image is {w}×{h} ({:.0} MP), above the limit of {} MP or {MAX_SIDE} px a side; refused before decoding",
            (w * h) as f64 / 1e6,
            MAX_PIXELS / 1_000_000
        )));
    }
    Ok(())
}

fn decode_jpeg(bytes: &[u8], min_long_side: u32) -> Result<Decoded> {
    // libjpeg-turbo fills a truncated stream with grey and only warns: refuse it explicitly.
    let end = bytes.iter().rposition(|&b| b != 0).unwrap_or(0);
    if end < 1 || bytes[end - 1] != 0xFF || bytes[end] != 0xD9 {
        return Err(bad("truncated JPEG (no end-of-image marker)"));
    }
    let mut d = turbojpeg::Decompressor::new().map_err(|e| bad(format!("JPEG decoder: {e}")))?;
    let header = d
        .read_header(bytes)
        .map_err(|e| bad(format!("not a readable JPEG: {e}")))?;
    let (fw, fh) = (header.width as u32, header.height as u32);
    check_size(u64::from(fw), u64::from(fh))?;
    // The smallest DCT scaling (k/8) whose long side still covers the target.
    let long = fw.max(fh);
    let mut scale = turbojpeg::ScalingFactor::ONE;
    for k in 1..=8usize {
        let f = turbojpeg::ScalingFactor::new(k, 8);
        if f.scale(long as usize) as u32 >= min_long_side.min(long) {
            scale = f;
            break;
        }
    }
    d.set_scaling_factor(scale)
        .map_err(|e| bad(format!("JPEG scaling: {e}")))?;
    let scaled = header.scaled(scale);
    let cmyk = matches!(
        header.colorspace,
        turbojpeg::Colorspace::CMYK | turbojpeg::Colorspace::YCCK
    );
    let format = if cmyk {
        turbojpeg::PixelFormat::CMYK
    } else {
        turbojpeg::PixelFormat::RGB
    };
    let pitch = scaled.width * format.size();
    let mut pixels = vec![0u8; pitch * scaled.height];
    let image = turbojpeg::Image {
        pixels: pixels.as_mut_slice(),
        width: scaled.width,
        pitch,
        height: scaled.height,
        format,
    };
    d.decompress(bytes, image)
        .map_err(|e| bad(format!("corrupt JPEG: {e}")))?;
    let rgb = if cmyk {
        // Adobe CMYK JPEGs store inverted values: R = C·K / 255 with C, K as read.
        pixels
            .chunks_exact(4)
            .flat_map(|p| {
                let k = u16::from(p[3]);
                [
                    (u16::from(p[0]) * k / 255) as u8,
                    (u16::from(p[1]) * k / 255) as u8,
                    (u16::from(p[2]) * k / 255) as u8,
                ]
            })
            .collect()
    } else {
        pixels
    };
    Ok(Decoded {
        rgb,
        width: scaled.width as u32,
        height: scaled.height as u32,
        full_width: fw,
        full_height: fh,
    })
}

fn decode_png(bytes: &[u8]) -> Result<Decoded> {
    let mut dec = image::codecs::png::PngDecoder::new(Cursor::new(bytes))
        .map_err(|e| bad(format!("not a readable PNG: {e}")))?;
    let (w, h) = dec.dimensions();
    check_size(u64::from(w), u64::from(h))?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 4);
    dec.set_limits(limits)
        .map_err(|e| bad(format!("PNG: {e}")))?;
    let ct = dec.color_type();
    if ct.bytes_per_pixel() / ct.channel_count() != 1 {
        return Err(bad(format!(
            "{}-bit PNG is not supported; photos must be 8-bit",
            8 * ct.bytes_per_pixel() / ct.channel_count()
        )));
    }
    // The png crate panics on some malformed palettes (found by fuzzing, png 0.18.1): a bad photo
    // must be an error, never a crash of the app.
    let dynamic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        image::DynamicImage::from_decoder(dec)
    }))
    .map_err(|_| bad("corrupt PNG (the decoder failed on it)"))?
    .map_err(|e| bad(format!("corrupt PNG: {e}")))?;
    // Transparent areas become white, as on paper.
    let rgba = dynamic.into_rgba8();
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for p in rgba.pixels() {
        let a = u16::from(p[3]);
        for c in &p.0[..3] {
            rgb.push(((u16::from(*c) * a + 255 * (255 - a)) / 255) as u8);
        }
    }
    Ok(Decoded {
        rgb,
        width: w,
        height: h,
        full_width: w,
        full_height: h,
    })
}

fn fit(w: u32, h: u32, long: u32) -> (u32, u32) {
    let l = w.max(h);
    if l <= long {
        return (w, h);
    }
    let s = f64::from(long) / f64::from(l);
    (
        ((f64::from(w) * s).round() as u32).max(1),
        ((f64::from(h) * s).round() as u32).max(1),
    )
}

fn resize(rgb: Vec<u8>, w: u32, h: u32, tw: u32, th: u32) -> Result<Vec<u8>> {
    if (w, h) == (tw, th) {
        return Ok(rgb);
    }
    let src = fr::images::Image::from_vec_u8(w, h, rgb, fr::PixelType::U8x3)
        .map_err(|e| bad(format!("resize: {e}")))?;
    let mut dst = fr::images::Image::new(tw, th, fr::PixelType::U8x3);
    let opts =
        fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3));
    fr::Resizer::new()
        .resize(&src, &mut dst, &opts)
        .map_err(|e| bad(format!("resize: {e}")))?;
    Ok(dst.into_vec())
}

/// Applies an EXIF orientation (1–8) to an RGB image.
pub fn orient(img: RgbImage, orientation: u16) -> RgbImage {
    use image::imageops::{flip_horizontal, flip_vertical, rotate90, rotate180, rotate270};
    match orientation {
        2 => flip_horizontal(&img),
        3 => rotate180(&img),
        4 => flip_vertical(&img),
        5 => flip_horizontal(&rotate90(&img)),
        6 => rotate90(&img),
        7 => flip_horizontal(&rotate270(&img)),
        8 => rotate270(&img),
        _ => img,
    }
}

/// Burns ASCII lines into the bottom-left corner over a darkened band, with the public-domain
/// 8×8 bitmap font scaled to stay legible at any size.
pub fn watermark(img: &mut RgbImage, lines: &[String]) {
    let (w, h) = img.dimensions();
    let scale = (w.max(h) / 800).clamp(1, 4);
    let glyph = 8 * scale;
    let pad = 4 * scale;
    let band_h = lines.len() as u32 * (glyph + 2 * scale) + 2 * pad;
    let longest = lines.iter().map(|l| l.len() as u32).max().unwrap_or(0);
    let band_w = (longest * glyph + 2 * pad).min(w);
    let top = h.saturating_sub(band_h);
    for y in top..h {
        for x in 0..band_w {
            let p = img.get_pixel_mut(x, y);
            for c in &mut p.0 {
                *c /= 3;
            }
        }
    }
    for (n, line) in lines.iter().enumerate() {
        let y0 = top + pad + n as u32 * (glyph + 2 * scale);
        for (i, ch) in line.chars().enumerate() {
            let Some(bitmap) = font8x8::legacy::BASIC_LEGACY.get(ch as usize) else {
                continue;
            };
            let x0 = pad + i as u32 * glyph;
            for (row, bits) in bitmap.iter().enumerate() {
                for col in 0..8u32 {
                    if bits >> col & 1 == 1 {
                        for dy in 0..scale {
                            for dx in 0..scale {
                                let (x, y) = (x0 + col * scale + dx, y0 + row as u32 * scale + dy);
                                if x < w && y < h {
                                    img.put_pixel(x, y, image::Rgb([255, 255, 255]));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn encode(img: &RgbImage) -> Result<Vec<u8>> {
    let mut c = turbojpeg::Compressor::new().map_err(|e| bad(format!("JPEG encoder: {e}")))?;
    c.set_quality(JPEG_QUALITY)
        .map_err(|e| bad(format!("JPEG encoder: {e}")))?;
    c.set_subsamp(turbojpeg::Subsamp::Sub2x2)
        .map_err(|e| bad(format!("JPEG encoder: {e}")))?;
    // Optimised Huffman tables: a few per cent smaller uploads for a millisecond or two.
    c.set_optimize(true)
        .map_err(|e| bad(format!("JPEG encoder: {e}")))?;
    let (w, h) = img.dimensions();
    let image = turbojpeg::Image {
        pixels: img.as_raw().as_slice(),
        width: w as usize,
        pitch: w as usize * 3,
        height: h as usize,
        format: turbojpeg::PixelFormat::RGB,
    };
    c.compress_to_vec(image)
        .map_err(|e| bad(format!("JPEG encoder: {e}")))
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

fn answer_hash(a: &crate::records::AnswerRecord) -> String {
    sha256_hex(&serde_json::to_vec(a).unwrap_or_default())
}

fn photo_entry(p: &crate::records::PhotoRef) -> String {
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

fn root_of(
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
