//! The composite's filter graph: one black background per tile with the participant's
//! video overlaid on it (so a gap or an absent participant is a black tile), the
//! participant's label on every tile, the tiles stacked in a grid (`xstack`), a UTC
//! clock burnt in from the hearing start (`drawtext` `pts:gmtime`), and all audio mixed
//! without normalization (`amix normalize=0`); a caption under the clock when the caller
//! gives one (the interpretation channels recorded beside the composite).
//!
//! Builds text only from escaped values; a label can never inject filter syntax.

use ffmpeg_next as ffmpeg;

use super::DerivedError;
use super::scan::ff;

/// Font used for labels and clock (Debian fonts-dejavu-core): Latin, Greek, Cyrillic,
/// Arabic, Hebrew. `drawtext` shapes with FriBidi (Arabic joining, right-to-left runs in
/// their visual order).
pub(crate) const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
/// Font for a label with Chinese, Japanese or Korean characters (Debian
/// fonts-wqy-zenhei; it also covers Latin and Cyrillic). `drawtext` draws with one font,
/// without fallback: a name in Han characters with DejaVu would be empty boxes.
pub(crate) const CJK_FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc";

/// True for a character of the CJK scripts (Han, kana, Hangul, CJK punctuation,
/// full-width forms).
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FDF | 0x3000..=0x30FF | 0x3100..=0x31FF | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF
        | 0x20000..=0x2FA1F)
}

/// The font to draw `text` with: the CJK font when it holds CJK characters and that
/// font is installed, else [`FONT`].
pub(crate) fn font_for(text: &str) -> &'static str {
    if text.chars().any(is_cjk) && std::path::Path::new(CJK_FONT).is_file() {
        CJK_FONT
    } else {
        FONT
    }
}
/// Tile size in pixels.
pub(crate) const TILE_W: u32 = 640;
/// Tile height in pixels.
pub(crate) const TILE_H: u32 = 360;
/// Output frame rate.
pub(crate) const FPS: u32 = 25;
/// Output audio rate.
pub(crate) const AUDIO_RATE: u32 = 48_000;

/// What the graph needs to know about one tile.
pub(crate) struct TileSpec {
    pub label: String,
    /// Declared size of the video source (the first frames' size).
    pub video_size: (u32, u32),
    /// Audio source (rate, channels), None if the participant has no audio.
    pub audio: Option<(u32, u16)>,
}

/// Grid columns and rows for `n` tiles.
pub(crate) fn grid(n: usize) -> (usize, usize) {
    match n {
        0 | 1 => (1, 1),
        2 => (2, 1),
        3 | 4 => (2, 2),
        5 | 6 => (3, 2),
        _ => (3, 3),
    }
}

/// Escapes a value for a filter option inside a filtergraph description (two levels:
/// the option parser, then the graph parser).
pub(crate) fn escape(value: &str) -> String {
    let mut opt = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        if matches!(c, '\\' | '\'' | ':') {
            opt.push('\\');
        }
        opt.push(c);
    }
    let mut out = String::with_capacity(opt.len() + 8);
    for c in opt.chars() {
        if matches!(c, '\\' | '\'' | '[' | ']' | ',' | ';') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A label made safe to show: no control characters, at most 80 characters.
pub(crate) fn clean_label(label: &str) -> String {
    label.chars().filter(|c| !c.is_control()).take(80).collect()
}

/// A caption made safe to show: no control characters, at most 160 characters.
pub(crate) fn clean_caption(caption: &str) -> String {
    caption
        .chars()
        .filter(|c| !c.is_control())
        .take(160)
        .collect()
}

/// The clock offset for `pts:gmtime`: seconds of the origin since the epoch with ms.
pub(crate) fn clock_text(origin_ms: i64) -> String {
    let secs = origin_ms.div_euclid(1000);
    let ms = origin_ms.rem_euclid(1000);
    format!("%{{pts:gmtime:{secs}.{ms:03}}} UTC")
}

/// The filtergraph description. Sources are `v{i}` / `a{i}`, sinks `vout` / `aout`.
pub(crate) fn describe(
    tiles: &[TileSpec],
    duration_ms: i64,
    origin_ms: i64,
    caption: &str,
) -> String {
    let n = tiles.len();
    let (cols, rows) = grid(n);
    let dur = format!("{}.{:03}", duration_ms / 1000, duration_ms % 1000);
    let font = escape(FONT);
    let mut g = String::new();
    let cells = cols * rows;
    for i in 0..cells {
        g.push_str(&format!(
            "color=c=black:s={TILE_W}x{TILE_H}:r={FPS}:d={dur},format=yuv420p[bg{i}];"
        ));
    }
    for (i, t) in tiles.iter().enumerate() {
        let clean = clean_label(&t.label);
        let label = escape(&clean);
        let font = escape(font_for(&clean));
        g.push_str(&format!(
            "[v{i}]scale={TILE_W}:{TILE_H}:force_original_aspect_ratio=decrease,\
             pad={TILE_W}:{TILE_H}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p[sv{i}];\
             [bg{i}][sv{i}]overlay=eof_action=pass:repeatlast=0,\
             drawtext=fontfile={font}:text_shaping=1:expansion=none:text={label}:fontcolor=white:\
             fontsize=22:box=1:boxcolor=black@0.6:boxborderw=6:x=10:y=h-th-14[t{i}];"
        ));
    }
    let mut inputs = String::new();
    let mut layout = Vec::with_capacity(cells);
    for i in 0..cells {
        if i < n {
            inputs.push_str(&format!("[t{i}]"));
        } else {
            inputs.push_str(&format!("[bg{i}]"));
        }
        let (c, r) = (i % cols, i / cols);
        layout.push(format!("{}_{}", c as u32 * TILE_W, r as u32 * TILE_H));
    }
    let clock = escape(&clock_text(origin_ms));
    let stack = if cells == 1 {
        format!("{inputs}null")
    } else {
        format!("{inputs}xstack=inputs={cells}:layout={}", layout.join("|"))
    };
    let caption = clean_caption(caption);
    let under = if caption.is_empty() {
        String::new()
    } else {
        format!(
            ",drawtext=fontfile={}:text_shaping=1:expansion=none:text={}:fontcolor=white:fontsize=20:\
             box=1:boxcolor=black@0.6:boxborderw=5:x=(w-tw)/2:y=50",
            escape(font_for(&caption)),
            escape(&caption)
        )
    };
    g.push_str(&format!(
        "{stack},drawtext=fontfile={font}:text={clock}:fontcolor=white:fontsize=26:\
         box=1:boxcolor=black@0.6:boxborderw=6:x=(w-tw)/2:y=8{under},format=yuv420p[vout]"
    ));
    let audio: Vec<usize> = (0..n)
        .filter(|&i| tiles.get(i).is_some_and(|t| t.audio.is_some()))
        .collect();
    if !audio.is_empty() {
        g.push(';');
        for &i in &audio {
            g.push_str(&format!("[a{i}]aresample=async=1:first_pts=0[ra{i}];"));
        }
        for &i in &audio {
            g.push_str(&format!("[ra{i}]"));
        }
        g.push_str(&format!(
            "amix=inputs={}:normalize=0:duration=longest,\
             aformat=sample_fmts=fltp:sample_rates={AUDIO_RATE}:channel_layouts=stereo[aout]",
            audio.len()
        ));
    }
    g
}

/// Builds and configures the graph for `tiles`.
pub(crate) fn build(
    tiles: &[TileSpec],
    duration_ms: i64,
    origin_ms: i64,
    caption: &str,
) -> Result<ffmpeg::filter::Graph, DerivedError> {
    let find = |name: &'static str| ffmpeg::filter::find(name).ok_or(DerivedError::Missing(name));
    let mut graph = ffmpeg::filter::Graph::new();
    let has_audio = tiles.iter().any(|t| t.audio.is_some());
    for (i, t) in tiles.iter().enumerate() {
        let (w, h) = t.video_size;
        graph
            .add(
                &find("buffer")?,
                &format!("v{i}"),
                &format!("video_size={w}x{h}:pix_fmt=yuv420p:time_base=1/1000:pixel_aspect=1/1"),
            )
            .map_err(ff("add video source"))?;
        if let Some((rate, channels)) = t.audio {
            let layout = if channels >= 2 { "stereo" } else { "mono" };
            graph
                .add(
                    &find("abuffer")?,
                    &format!("a{i}"),
                    &format!("time_base=1/{rate}:sample_rate={rate}:sample_fmt=fltp:channel_layout={layout}"),
                )
                .map_err(ff("add audio source"))?;
        }
    }
    graph
        .add(&find("buffersink")?, "vout", "")
        .map_err(ff("add video sink"))?;
    if has_audio {
        graph
            .add(&find("abuffersink")?, "aout", "")
            .map_err(ff("add audio sink"))?;
    }
    let spec = describe(tiles, duration_ms, origin_ms, caption);
    // Link every named source/sink to the labels of the description.
    let mut names: Vec<String> = Vec::new();
    for (i, t) in tiles.iter().enumerate() {
        names.push(format!("v{i}"));
        if t.audio.is_some() {
            names.push(format!("a{i}"));
        }
    }
    {
        let mut parser = graph
            .output(names.first().map_or("v0", String::as_str), 0)
            .map_err(ff("link sources"))?;
        for name in names.iter().skip(1) {
            parser = parser.output(name, 0).map_err(ff("link sources"))?;
        }
        parser = parser.input("vout", 0).map_err(ff("link video sink"))?;
        if has_audio {
            parser = parser.input("aout", 0).map_err(ff("link audio sink"))?;
        }
        parser.parse(&spec).map_err(ff("parse filter graph"))?;
    }
    graph.validate().map_err(ff("configure filter graph"))?;
    Ok(graph)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_fits_every_count() {
        for n in 1..=9 {
            let (c, r) = grid(n);
            assert!(c * r >= n, "{n} tiles fit");
            assert!(c * r < n + c, "no empty row for {n}");
        }
    }

    #[test]
    fn escape_protects_both_levels() {
        assert_eq!(escape("a:b"), "a\\\\:b");
        assert_eq!(escape("x,y;[z]"), "x\\,y\\;\\[z\\]");
        assert_eq!(escape("it's"), "it\\\\\\'s");
        assert_eq!(escape("plain name"), "plain name");
    }

    #[test]
    fn clock_offset_keeps_milliseconds() {
        assert_eq!(
            clock_text(1_800_000_000_250),
            "%{pts:gmtime:1800000000.250} UTC"
        );
        assert_eq!(clock_text(5), "%{pts:gmtime:0.005} UTC");
    }

    #[test]
    fn labels_lose_control_characters_and_length() {
        assert_eq!(clean_label("a\nb\tc"), "abc");
        assert_eq!(clean_label(&"x".repeat(200)).len(), 80);
    }
}
