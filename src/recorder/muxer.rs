//! One append-only recording file: WebM (VP8/Opus) or Matroska (H.264), written with
//! ffmpeg-next stream copy (`Packet::write`, no interleaver, `live=1`,
//! `flush_packets=1`, short clusters), and the tiling of its bytes into hashed chunks.
//!
//! Chunks are hashed from the bytes re-read from the file on disk, so a reported hash is
//! the hash of what is stored. It must never seek back over reported bytes, never
//! transcode, and never report a range twice.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use ffmpeg_next as ffmpeg;
use sha2::{Digest, Sha256};

use super::ffi;
use super::types::{Codec, RecorderError, TrackSpec};

/// Cluster length in ms; with `flush_packets=1` a crash loses at most about this much.
const CLUSTER_MS: &str = "500";

/// What the header needs to know about one track.
#[derive(Debug, Clone)]
pub(crate) struct StreamSetup {
    pub spec: TrackSpec,
    /// VP8 frame size.
    pub size: Option<(u16, u16)>,
    /// Codec private data (OpusHead, avcC).
    pub extradata: Option<Vec<u8>>,
}

/// A newly stored byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByteRange {
    pub offset: u64,
    pub length: u64,
    pub sha256: [u8; 32],
}

/// An open recording file.
pub(crate) struct MuxFile {
    rel: PathBuf,
    octx: ffmpeg::format::context::Output,
    /// Per track: stream index and stream time base (num, den) read after the header.
    streams: Vec<Option<(usize, i32, i32)>>,
    tail: Reader,
    /// The trailer was written (or attempted).
    finished: bool,
}

/// Re-reads what the muxer stored and hashes it in order.
struct Reader {
    path: PathBuf,
    reported: u64,
    whole: Sha256,
}

fn mux_err(context: &'static str, e: ffmpeg::Error) -> RecorderError {
    RecorderError::Mux {
        context,
        message: e.to_string(),
    }
}

fn io_err(context: &'static str, source: std::io::Error) -> RecorderError {
    RecorderError::Io { context, source }
}

/// Container for a track set: Matroska when any track is H.264, else WebM.
pub(crate) fn container_for(specs: &[TrackSpec]) -> (&'static str, &'static str) {
    if specs.iter().any(|s| s.codec == Codec::H264) {
        ("matroska", "mkv")
    } else {
        ("webm", "webm")
    }
}

impl MuxFile {
    /// Creates `dir/rel`, declares the streams (one per `Some` entry, in track order)
    /// and writes the header. Fails if the file already exists.
    pub(crate) fn create(
        dir: &Path,
        rel: PathBuf,
        container: &'static str,
        setups: &[Option<StreamSetup>],
    ) -> Result<Self, RecorderError> {
        let path = dir.join(&rel);
        // Refuse to overwrite evidence: create_new fails on an existing file.
        File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| io_err("create recording file", e))?;
        Self::start(rel, path.clone(), container, setups).inspect_err(|_| {
            // Nothing of this file was reported: remove our own empty/partial file so a
            // failed start leaves no stray file (the name is not reused either way).
            let _ = std::fs::remove_file(&path);
        })
    }

    fn start(
        rel: PathBuf,
        path: PathBuf,
        container: &'static str,
        setups: &[Option<StreamSetup>],
    ) -> Result<Self, RecorderError> {
        let mut octx =
            ffmpeg::format::output_as(&path, container).map_err(|e| mux_err("open output", e))?;
        let mut indices = Vec::with_capacity(setups.len());
        for setup in setups {
            let Some(setup) = setup else {
                indices.push(None);
                continue;
            };
            let mut st = octx
                .add_stream(Option::<ffmpeg::Codec>::None)
                .map_err(|e| mux_err("add stream", e))?;
            let index = st.index();
            st.set_time_base(ffmpeg::Rational::new(1, 1000));
            match setup.spec.codec {
                Codec::Vp8 | Codec::H264 => {
                    let id = if setup.spec.codec == Codec::Vp8 {
                        ffmpeg::codec::Id::VP8
                    } else {
                        ffmpeg::codec::Id::H264
                    };
                    let (w, h) = setup.size.unwrap_or((0, 0));
                    ffi::set_video_params(&mut st, id, w, h);
                }
                Codec::Opus => {
                    ffi::set_audio_params(
                        &mut st,
                        ffmpeg::codec::Id::OPUS,
                        setup.spec.clock_rate,
                        setup.spec.channels,
                    );
                }
            }
            if let Some(extra) = &setup.extradata {
                if !ffi::set_extradata(&mut st, extra) {
                    return Err(RecorderError::Mux {
                        context: "set extradata",
                        message: "allocation failed".into(),
                    });
                }
            }
            indices.push(Some(index));
        }
        let mut opts = ffmpeg::Dictionary::new();
        opts.set("live", "1");
        opts.set("flush_packets", "1");
        opts.set("cluster_time_limit", CLUSTER_MS);
        let unused: Vec<String> = octx
            .write_header_with(opts)
            .map_err(|e| mux_err("write header", e))?
            .iter()
            .map(|(k, _)| k.to_string())
            .collect();
        if !unused.is_empty() {
            return Err(RecorderError::Mux {
                context: "muxer options",
                message: format!("not accepted: {}", unused.join(",")),
            });
        }
        let mut streams = Vec::with_capacity(indices.len());
        for idx in indices {
            streams.push(idx.and_then(|i| {
                let tb = octx.stream(i)?.time_base();
                (tb.numerator() > 0 && tb.denominator() > 0).then_some((
                    i,
                    tb.numerator(),
                    tb.denominator(),
                ))
            }));
        }
        let mut file = Self {
            rel,
            octx,
            streams,
            tail: Reader {
                path,
                reported: 0,
                whole: Sha256::new(),
            },
            finished: false,
        };
        file.flush()?;
        Ok(file)
    }

    /// File name relative to the recording directory.
    pub(crate) fn rel(&self) -> &Path {
        &self.rel
    }

    /// True if `track` has a stream in this file.
    pub(crate) fn has_track(&self, track: usize) -> bool {
        self.streams.get(track).is_some_and(Option::is_some)
    }

    /// Writes one frame at `pts_ms` (file time, ms).
    pub(crate) fn write(
        &mut self,
        track: usize,
        data: &[u8],
        pts_ms: i64,
        duration_ms: i64,
        key: bool,
    ) -> Result<(), RecorderError> {
        if self.finished {
            return Err(RecorderError::Mux {
                context: "write packet",
                message: "file already finished".into(),
            });
        }
        let Some(Some((index, num, den))) = self.streams.get(track).copied() else {
            return Ok(());
        };
        // ms -> stream time base (1/1000 for Matroska, but read back, not assumed).
        let scale = |ms: i64| ms.saturating_mul(i64::from(den)) / (1000 * i64::from(num));
        let mut pkt = ffmpeg::Packet::copy(data);
        pkt.set_stream(index);
        pkt.set_pts(Some(scale(pts_ms)));
        pkt.set_dts(Some(scale(pts_ms)));
        if duration_ms > 0 {
            pkt.set_duration(scale(duration_ms));
        }
        if key {
            pkt.set_flags(ffmpeg::codec::packet::Flags::KEY);
        }
        pkt.write(&mut self.octx)
            .map_err(|e| mux_err("write packet", e))?;
        let err = ffi::io_error(&mut self.octx);
        if err != 0 {
            return Err(mux_err("write packet", ffmpeg::Error::from(err)));
        }
        Ok(())
    }

    /// Closes the open cluster and hands everything to the OS.
    pub(crate) fn flush(&mut self) -> Result<(), RecorderError> {
        // After the trailer the muxer must not see another (flush) packet; the trailer
        // already flushed AVIO.
        let err = if self.finished {
            ffi::io_error(&mut self.octx)
        } else {
            ffi::flush_to_os(&mut self.octx)
        };
        if err != 0 {
            return Err(mux_err("flush", ffmpeg::Error::from(err)));
        }
        Ok(())
    }

    /// The bytes stored since the last report, hashed as re-read from disk.
    pub(crate) fn take_range(&mut self) -> Result<Option<ByteRange>, RecorderError> {
        self.tail.take_range()
    }

    /// fdatasync of the file.
    pub(crate) fn sync(&mut self) -> Result<(), RecorderError> {
        self.flush()?;
        File::open(&self.tail.path)
            .and_then(|f| f.sync_data())
            .map_err(|e| io_err("fsync", e))
    }

    /// Writes the trailer (live mode: appends only) and flushes.
    /// Writes the trailer (live mode: appends only). Afterwards the muxer is
    /// deinitialised: `write` refuses and `flush` only checks the AVIO error flag.
    pub(crate) fn write_trailer(&mut self) -> Result<(), RecorderError> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        self.octx
            .write_trailer()
            .map_err(|e| mux_err("write trailer", e))?;
        self.flush()
    }

    /// Closes the file (dropping the context closes AVIO, which may still append its
    /// buffer), then reports the bytes not yet reported. Returns that last range, the
    /// total length reported and the SHA-256 of the whole file, all as read from disk.
    pub(crate) fn close(self) -> (Result<Option<ByteRange>, RecorderError>, u64, [u8; 32]) {
        let Self { octx, mut tail, .. } = self;
        drop(octx);
        let last = tail.take_range();
        (last, tail.reported, tail.whole.finalize().into())
    }

    /// Closes a file whose write failed: drops the muxer (its last writes may be torn
    /// mid-cluster) and cuts the file back to the last reported byte, a cluster boundary
    /// (reports follow a flush) whose bytes the evidence log already holds. So the sealed
    /// file is a clean, playable prefix, and nothing reported is touched. Returns the
    /// outcome of the cut, the length and the SHA-256 of the whole (cut) file.
    pub(crate) fn close_at_reported(self) -> (Result<(), RecorderError>, u64, [u8; 32]) {
        let Self { octx, tail, .. } = self;
        drop(octx);
        let cut = std::fs::OpenOptions::new()
            .write(true)
            .open(&tail.path)
            .and_then(|f| {
                f.set_len(tail.reported)?;
                f.sync_all()
            })
            .map_err(|e| io_err("cut a failed file to its reported length", e));
        (cut, tail.reported, tail.whole.finalize().into())
    }
}

impl Reader {
    /// The bytes stored since the last report, hashed as re-read from disk.
    pub(crate) fn take_range(&mut self) -> Result<Option<ByteRange>, RecorderError> {
        let mut f = File::open(&self.path).map_err(|e| io_err("reopen for hashing", e))?;
        let len = f.metadata().map_err(|e| io_err("stat", e))?.len();
        if len <= self.reported {
            return Ok(None);
        }
        f.seek(SeekFrom::Start(self.reported))
            .map_err(|e| io_err("seek for hashing", e))?;
        let mut chunk = Sha256::new();
        let mut left = len - self.reported;
        let mut buf = vec![0u8; 64 * 1024];
        while left > 0 {
            let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
            let Some(dst) = buf.get_mut(..want) else {
                break;
            };
            let n = f.read(dst).map_err(|e| io_err("read for hashing", e))?;
            if n == 0 {
                break;
            }
            let bytes = dst.get(..n).unwrap_or_default();
            chunk.update(bytes);
            self.whole.update(bytes);
            left -= n as u64;
        }
        let length = len - self.reported - left;
        let range = ByteRange {
            offset: self.reported,
            length,
            sha256: chunk.finalize().into(),
        };
        self.reported += length;
        Ok(Some(range))
    }
}
