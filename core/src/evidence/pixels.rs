//! Pixel work on photos: JPEG and PNG decoding within a pixel budget, resizing, orientation,
//! the burned-in watermark and JPEG encoding.

use super::*;
use crate::error::Result;
use fast_image_resize as fr;
use image::{ImageDecoder, RgbImage};
use std::io::Cursor;

/// Decoded pixels in the sensor's orientation, RGB.
pub(crate) struct Decoded {
    pub(crate) rgb: Vec<u8>,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) full_width: u32,
    pub(crate) full_height: u32,
}

pub(crate) fn check_size(w: u64, h: u64) -> Result<()> {
    if w == 0 || h == 0 {
        return Err(bad("image has no pixels"));
    }
    if w > u64::from(MAX_SIDE) || h > u64::from(MAX_SIDE) || w * h > MAX_PIXELS {
        return Err(Error::TooLarge(format!(
            "image is {w}×{h} ({:.0} MP), above the limit of {} MP or {MAX_SIDE} px a side; refused before decoding",
            (w * h) as f64 / 1e6,
            MAX_PIXELS / 1_000_000
        )));
    }
    Ok(())
}

/// Refuses a decode whose estimated memory is above [`MAX_DECODE_BYTES`], before allocating.
fn check_memory(what: &str, w: u64, h: u64, bytes: u64) -> Result<()> {
    if bytes > MAX_DECODE_BYTES {
        return Err(Error::TooLarge(format!(
            "{what} of {w}×{h} would need {} MiB to decode, above the limit of {} MiB; refused before decoding",
            bytes.div_ceil(1024 * 1024),
            MAX_DECODE_BYTES / (1024 * 1024)
        )));
    }
    Ok(())
}

/// Whether a JPEG is progressive (an SOF2 frame): libjpeg-turbo then keeps the whole image's
/// coefficients in memory, whatever the output scale.
fn is_progressive(bytes: &[u8]) -> bool {
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return false;
        }
        let marker = bytes[i + 1];
        match marker {
            0xC2 | 0xC6 | 0xCA | 0xCE => return true,
            0xC0 | 0xC1 | 0xC3 | 0xC5 | 0xC7 | 0xC9 | 0xCB | 0xCD | 0xCF | 0xDA => return false,
            0xD0..=0xD9 | 0x01 => i += 2,
            _ => {
                let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
                i += 2 + len;
            }
        }
    }
    false
}

pub(crate) fn decode_jpeg(bytes: &[u8], min_long_side: u32) -> Result<Decoded> {
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
    let (w, h) = (u64::from(fw), u64::from(fh));
    let output = scaled.width as u64 * scaled.height as u64 * 4;
    // Progressive: 2 bytes per coefficient, up to 3 components at full resolution.
    let coefficients = if is_progressive(bytes) { w * h * 6 } else { 0 };
    check_memory("a JPEG", w, h, output + coefficients)?;
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

pub(crate) fn decode_png(bytes: &[u8]) -> Result<Decoded> {
    let mut dec = image::codecs::png::PngDecoder::new(Cursor::new(bytes))
        .map_err(|e| bad(format!("not a readable PNG: {e}")))?;
    let (w, h) = dec.dimensions();
    check_size(u64::from(w), u64::from(h))?;
    let px = u64::from(w) * u64::from(h);
    // The decoded RGBA (8 bytes a pixel if 16-bit, refused below) and the RGB copy.
    check_memory("a PNG", u64::from(w), u64::from(h), px * 4 + px * 3)?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
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

pub(crate) fn fit(w: u32, h: u32, long: u32) -> (u32, u32) {
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

pub(crate) fn resize(rgb: Vec<u8>, w: u32, h: u32, tw: u32, th: u32) -> Result<Vec<u8>> {
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

pub(crate) fn encode(img: &RgbImage) -> Result<Vec<u8>> {
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
