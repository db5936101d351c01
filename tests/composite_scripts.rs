//! Names in any script on the composite (#14 point 5): tiles labelled in Arabic, Chinese
//! and Cyrillic, and the caption naming the interpretation channels, are compared with a
//! rendering of the expected text by an independent shaper and rasteriser (`pango-view`:
//! HarfBuzz, cairo), at the same pixel size. Each label's ink, cropped to its bounding box
//! and scaled to a common size, must overlap the expected rendering far better than a
//! wrong one: the Arabic unjoined and left to right (what drawing without shaping gives),
//! another Chinese name (what empty boxes or a wrong font resemble more), the Cyrillic
//! name transliterated. The frame is taken before anyone joined, so tiles are black and
//! only text is bright.
#![cfg(feature = "media")]

mod derived_support;

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use derived_support::*;
use sworn::recorder::derived::{PlacedFile, PlacedInput, composite_placed};

const W: usize = 1280;
const H: usize = 720;
/// Normalised size the ink is scaled to before comparing.
const NW: usize = 240;
const NH: usize = 32;

/// Bright pixels (text) of `img` (`w` wide) inside the box, as a set of points scaled
/// from their bounding box to NW x NH and dilated by one (renderers differ by a pixel).
fn ink(
    img: &[u8],
    w: usize,
    (x0, y0, x1, y1): (usize, usize, usize, usize),
) -> HashSet<(i64, i64)> {
    let pts: Vec<(usize, usize)> = (y0..y1)
        .flat_map(|y| (x0..x1).map(move |x| (x, y)))
        .filter(|&(x, y)| img[y * w + x] > 160)
        .collect();
    assert!(!pts.is_empty(), "no text in {:?}", (x0, y0, x1, y1));
    let bx0 = pts.iter().map(|p| p.0).min().unwrap();
    let bx1 = pts.iter().map(|p| p.0).max().unwrap() + 1;
    let by0 = pts.iter().map(|p| p.1).min().unwrap();
    let by1 = pts.iter().map(|p| p.1).max().unwrap() + 1;
    let mut out = HashSet::new();
    for (x, y) in pts {
        let nx = ((x - bx0) * NW / (bx1 - bx0)) as i64;
        let ny = ((y - by0) * NH / (by1 - by0)) as i64;
        for dx in -1..=1 {
            for dy in -1..=1 {
                out.insert((nx + dx, ny + dy));
            }
        }
    }
    out
}

fn overlap(a: &HashSet<(i64, i64)>, b: &HashSet<(i64, i64)>) -> f64 {
    a.intersection(b).count() as f64 / a.union(b).count().max(1) as f64
}

/// `text` rendered white on black by pango-view with `font` at `px` pixels, as ink. A
/// left-to-right mark first: the composite's labels are left-to-right paragraphs.
fn reference(dir: &Path, text: &str, font: &str, px: u32) -> HashSet<(i64, i64)> {
    let png = dir.join("ref.png");
    let status = Command::new("pango-view")
        .args(["--no-display", "-q", "--dpi=72", "--margin=10"])
        .args(["--background=black", "--foreground=white"])
        .arg(format!("--font={font} {px}"))
        .arg("-o")
        .arg(&png)
        .arg(format!("--text=\u{200e}{text}"))
        .status()
        .expect("pango-view (pango1.0-tools) is installed by scripts/install-deps --test");
    assert!(status.success());
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(&png)
        .output()
        .unwrap();
    let dims = String::from_utf8(probe.stdout).unwrap();
    let mut it = dims.trim().split(',').map(|v| v.parse::<usize>().unwrap());
    let (w, h) = (it.next().unwrap(), it.next().unwrap());
    let raw = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(&png)
        .args(["-f", "rawvideo", "-pix_fmt", "gray", "-"])
        .output()
        .unwrap()
        .stdout;
    assert_eq!(raw.len(), w * h);
    ink(&raw, w, (0, 0, w, h))
}

/// Label strip of 2x2 grid cell `i` (the label sits 14 px above the tile's bottom).
fn label(i: usize) -> (usize, usize, usize, usize) {
    let (x, y) = ((i % 2) * 640, (i / 2) * 360);
    (x + 4, y + 300, x + 636, y + 356)
}

/// The caption under the clock.
const CAPTION: (usize, usize, usize, usize) = (0, 46, W, 78);

#[test]
fn arabic_chinese_and_cyrillic_names_are_shaped_and_drawn() {
    let dir = tempfile::tempdir().unwrap();
    let rec = record(dir.path(), Kind::Vp8Opus, Duration::from_secs(3600));
    let names = [
        "سارة الأحمد (witness)",
        "王小明 (interpreter)",
        "Иван Петров (defence)",
    ];
    // Everyone joins 2 s after the hearing starts: at 1 s the tiles are black.
    let inputs: Vec<PlacedInput> = names
        .iter()
        .map(|n| PlacedInput {
            files: vec![PlacedFile {
                path: rec.files[0].clone(),
                start: rec.start + Duration::from_secs(2),
            }],
            label: (*n).into(),
        })
        .collect();
    let caption = "Floor audio. Interpretation recorded separately: French (channel 1)";
    let out = dir.path().join("composite.mp4");
    composite_placed(&inputs, rec.start, caption, &out, &mut |_| {}).unwrap();
    let frame = grab_gray(&out, 1.0, W, H);

    let dejavu = "DejaVu Sans";
    let wqy = "WenQuanYi Zen Hei";
    // Unshaped Arabic: every letter apart (zero-width non-joiners), forced left to right.
    let unshaped: String = {
        let mut s = String::from("\u{202d}");
        for c in "سارة الأحمد".chars() {
            s.push(c);
            s.push('\u{200c}');
        }
        s.push('\u{202c}');
        s.push_str(" (witness)");
        s
    };
    let cases = [
        (0, names[0], dejavu, unshaped.as_str(), dejavu),
        (1, names[1], wqy, "李华强 (interpreter)", wqy),
        (2, names[2], dejavu, "Ivan Petrov (defence)", dejavu),
    ];
    for (i, name, font, wrong, wrong_font) in cases {
        let drawn = ink(&frame, W, label(i));
        let right = overlap(&drawn, &reference(dir.path(), name, font, 22));
        let other = overlap(&drawn, &reference(dir.path(), wrong, wrong_font, 22));
        eprintln!("{name}: overlap {right:.3} with its rendering, {other:.3} with a wrong one");
        assert!(right > 0.6, "{name}: drawn unlike its text ({right:.3})");
        assert!(
            right > other + 0.2,
            "{name}: as close to a wrong rendering ({other:.3}) as to its own ({right:.3})"
        );
    }
    let drawn = ink(&frame, W, CAPTION);
    let right = overlap(&drawn, &reference(dir.path(), caption, dejavu, 20));
    let other = overlap(
        &drawn,
        &reference(dir.path(), "Floor audio only", dejavu, 20),
    );
    eprintln!("caption: overlap {right:.3}, {other:.3} with another text");
    assert!(
        right > 0.7 && right > other + 0.2,
        "caption {right:.3} / {other:.3}"
    );
}
