//! The photo pipeline benchmark (`evidence`): each camera photo through the evidence pipeline in a
//! fresh process, beside ImageMagick doing the same work.

use super::*;

/// One photo through the GridSafe pipeline, as its own process (so it is timed like the CLIs).
pub(crate) fn evidence_one(input: &Path, out: &Path) {
    let bytes = std::fs::read(input).expect("read photo");
    let ctx = gridsafe_core::evidence::IngestContext {
        venue_short: "01a22b58".into(),
        inspector: "wang".into(),
        app_gps: None,
        now_ms: gridsafe_core::clock::now_ms(),
    };
    let e = gridsafe_core::evidence::ingest(&bytes, &ctx).expect("ingest");
    drop(bytes);
    std::fs::write(out.join("ev.jpg"), &e.evidence).expect("write");
    std::fs::write(out.join("th.jpg"), &e.thumbnail).expect("write");
    println!(
        "{} {} {}",
        e.original_sha256, e.evidence_sha256, e.thumbnail_sha256
    );
}

pub(crate) struct Run {
    secs: f64,
    rss_mb: f64,
    ev_bytes: u64,
}

/// Runs a shell command under GNU time; wall seconds and the largest process's peak RSS.
pub(crate) fn timed(cmd: &str, out: &Path) -> Run {
    let _ = std::fs::remove_file(out.join("ev.jpg"));
    // Wall time measured here (GNU time's %e has only 10 ms resolution); RSS from GNU time.
    let t = Instant::now();
    let o = Command::new("/usr/bin/time")
        .args(["-f", "%e %M", "sh", "-c", cmd])
        .output()
        .expect("/usr/bin/time (apt-get install time)");
    let wall = t.elapsed().as_secs_f64();
    assert!(
        o.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    let last = err.lines().last().unwrap_or_default().to_owned();
    let mut it = last.split_whitespace();
    let _gnu_secs: f64 = it.next().and_then(|x| x.parse().ok()).expect("time output");
    let secs = wall;
    let kb: f64 = it.next().and_then(|x| x.parse().ok()).expect("time output");
    let ev_bytes = std::fs::metadata(out.join("ev.jpg"))
        .map(|m| m.len())
        .unwrap_or(0);
    Run {
        secs,
        rss_mb: kb / 1024.0,
        ev_bytes,
    }
}

pub(crate) fn bench_evidence(photos: &Path, rounds: usize) {
    let me = std::env::current_exe().expect("exe");
    let out = std::env::temp_dir().join(format!("gridsafe-evidence-bench-{}", std::process::id()));
    std::fs::create_dir_all(&out).expect("out dir");
    let mut files: Vec<PathBuf> = std::fs::read_dir(photos)
        .expect("photo dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no photos in {}", photos.display());
    let o = out.display();
    println!(
        "{:<34} {:>9} {:>9} {:>9} {:>7} {:>7} {:>7} {:>8} {:>8}",
        "photo", "vips ms", "IM ms", "ours ms", "ours/v", "IM/v", "RSS MB", "vipsMB", "bytes/v"
    );
    let (mut ratios, mut im_ratios, mut byte_ratios, mut peak, mut vips_peak) =
        (Vec::new(), Vec::new(), Vec::new(), 0f64, 0f64);
    let (mut sum_ours, mut sum_vips) = (0.0, 0.0);
    for f in &files {
        let i = f.display();
        let vips = format!(
            "vipsthumbnail '{i}' -s 1600 -o '{o}/ev.jpg[Q=80,strip]' && vipsthumbnail '{i}' -s 320 -o '{o}/th.jpg[Q=80,strip]' && sha256sum '{i}' '{o}/ev.jpg' '{o}/th.jpg' >/dev/null"
        );
        let im = format!(
            "/usr/bin/convert -define jpeg:size=3200x3200 '{i}' -auto-orient -strip -resize 1600x1600 -quality 80 -sampling-factor 4:2:0 -write '{o}/ev.jpg' -resize 320x320 '{o}/th.jpg' && sha256sum '{i}' '{o}/ev.jpg' '{o}/th.jpg' >/dev/null"
        );
        let ours = format!("'{}' evidence-one '{i}' '{o}' >/dev/null", me.display());
        let (mut v, mut m, mut g) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            // Interleaved so that machine noise hits all three alike.
            v.push(timed(&vips, &out));
            m.push(timed(&im, &out));
            g.push(timed(&ours, &out));
        }
        let med = |r: &[Run]| median(r.iter().map(|x| x.secs * 1000.0).collect());
        let (vm, mm, gm) = (med(&v), med(&m), med(&g));
        let rss = g.iter().map(|x| x.rss_mb).fold(0.0, f64::max);
        let vrss = v.iter().map(|x| x.rss_mb).fold(0.0, f64::max);
        let bytes = g[0].ev_bytes as f64 / v[0].ev_bytes.max(1) as f64;
        peak = peak.max(rss);
        vips_peak = vips_peak.max(vrss);
        ratios.push(gm / vm);
        im_ratios.push(mm / vm);
        byte_ratios.push(bytes);
        sum_ours += gm;
        sum_vips += vm;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!(
            "{name:<34} {vm:>9.0} {mm:>9.0} {gm:>9.0} {:>7.2} {:>7.2} {rss:>7.1} {vrss:>8.1} {bytes:>8.3}",
            gm / vm,
            mm / vm
        );
    }
    let _ = std::fs::remove_dir_all(&out);
    let ratio = median(ratios.clone());
    println!(
        "\nmedian ratio vs vips: ours {ratio:.2}×, ImageMagick {:.2}×; total time ratio {:.2}×; evidence bytes vs vips {:.3}× (median); peak RSS ours {peak:.1} MB, vips {vips_peak:.1} MB",
        median(im_ratios.clone()),
        sum_ours / sum_vips,
        median(byte_ratios.clone())
    );
    println!(
        "{}",
        json!({"bench": "evidence", "ratio_vs_vips": round2(ratio), "ratio_imagemagick_vs_vips": round2(median(im_ratios)),
               "total_ratio_vs_vips": round2(sum_ours / sum_vips), "bytes_ratio_vs_vips": (median(byte_ratios) * 1000.0).round() / 1000.0,
               "peak_rss_mb": round2(peak), "vips_peak_rss_mb": round2(vips_peak), "photos": files.len(), "rounds": rounds})
    );
}
