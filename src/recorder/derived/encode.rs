//! The composite's output: an MP4 (faststart) with one x264 (veryfast) video stream and
//! one AAC audio stream, fed with the filter graph's frames, and the pulling of those
//! frames (with progress by video time).
//!
//! Writes only the output file it created; must never touch an input.

use std::path::Path;

use ffmpeg_next as ffmpeg;

use super::DerivedError;
use super::scan::ff;

/// One encoder and the output stream it feeds.
struct Lane<E> {
    enc: E,
    stream: usize,
    enc_tb: ffmpeg::Rational,
}

/// The open MP4 output.
pub(crate) struct Mp4Out {
    octx: ffmpeg::format::context::Output,
    video: Lane<ffmpeg::encoder::Video>,
    audio: Option<Lane<ffmpeg::encoder::Audio>>,
    /// Stream time bases after the header.
    stream_tb: Vec<ffmpeg::Rational>,
}

impl Mp4Out {
    /// Creates `out` with a `width`x`height` video stream in time base `video_tb` and,
    /// if `audio_rate` is given, a stereo AAC stream.
    pub(crate) fn create(
        out: &Path,
        width: u32,
        height: u32,
        video_tb: ffmpeg::Rational,
        fps: u32,
        audio_rate: Option<u32>,
    ) -> Result<Self, DerivedError> {
        let mut octx = ffmpeg::format::output_as(&out, "mp4").map_err(ff("open output"))?;
        let global = octx
            .format()
            .flags()
            .contains(ffmpeg::format::Flags::GLOBAL_HEADER);

        let x264 =
            ffmpeg::encoder::find_by_name("libx264").ok_or(DerivedError::Missing("libx264"))?;
        let mut v = ffmpeg::codec::context::Context::new_with_codec(x264)
            .encoder()
            .video()
            .map_err(ff("video encoder"))?;
        v.set_width(width);
        v.set_height(height);
        v.set_format(ffmpeg::format::Pixel::YUV420P);
        v.set_time_base(video_tb);
        v.set_frame_rate(Some(ffmpeg::Rational::new(
            i32::try_from(fps).unwrap_or(25),
            1,
        )));
        if global {
            v.set_flags(ffmpeg::codec::Flags::GLOBAL_HEADER);
        }
        let mut vopts = ffmpeg::Dictionary::new();
        vopts.set("preset", "veryfast");
        vopts.set("crf", "23");
        let venc = v.open_with(vopts).map_err(ff("open video encoder"))?;
        let vstream = {
            let mut st = octx.add_stream(x264).map_err(ff("add video stream"))?;
            st.set_parameters(&venc);
            st.set_time_base(video_tb);
            st.index()
        };

        let audio = match audio_rate {
            None => None,
            Some(rate) => {
                let aac =
                    ffmpeg::encoder::find_by_name("aac").ok_or(DerivedError::Missing("aac"))?;
                let mut a = ffmpeg::codec::context::Context::new_with_codec(aac)
                    .encoder()
                    .audio()
                    .map_err(ff("audio encoder"))?;
                a.set_rate(i32::try_from(rate).unwrap_or(48_000));
                a.set_channel_layout(ffmpeg::ChannelLayout::STEREO);
                a.set_format(ffmpeg::format::Sample::F32(
                    ffmpeg::format::sample::Type::Planar,
                ));
                a.set_bit_rate(128_000);
                let tb = ffmpeg::Rational::new(1, i32::try_from(rate).unwrap_or(48_000));
                a.set_time_base(tb);
                if global {
                    a.set_flags(ffmpeg::codec::Flags::GLOBAL_HEADER);
                }
                let aenc = a.open().map_err(ff("open audio encoder"))?;
                let mut st = octx.add_stream(aac).map_err(ff("add audio stream"))?;
                st.set_parameters(&aenc);
                st.set_time_base(tb);
                Some(Lane {
                    enc: aenc,
                    stream: st.index(),
                    enc_tb: tb,
                })
            }
        };

        let mut opts = ffmpeg::Dictionary::new();
        opts.set("movflags", "+faststart");
        octx.write_header_with(opts).map_err(ff("write header"))?;
        let stream_tb = octx.streams().map(|s| s.time_base()).collect();
        Ok(Self {
            octx,
            video: Lane {
                enc: venc,
                stream: vstream,
                enc_tb: video_tb,
            },
            audio,
            stream_tb,
        })
    }

    /// AAC frame size (samples per frame), if there is audio.
    pub(crate) fn audio_frame_size(&self) -> Option<u32> {
        self.audio.as_ref().map(|a| a.enc.frame_size())
    }

    /// Encodes one video frame (None flushes the encoder).
    pub(crate) fn video(
        &mut self,
        frame: Option<&ffmpeg::frame::Video>,
    ) -> Result<(), DerivedError> {
        match frame {
            Some(f) => self.video.enc.send_frame(f).map_err(ff("encode video"))?,
            None => self.video.enc.send_eof().map_err(ff("flush video"))?,
        }
        let (stream, tb) = (self.video.stream, self.video.enc_tb);
        loop {
            let mut pkt = ffmpeg::Packet::empty();
            if self.video.enc.receive_packet(&mut pkt).is_err() {
                break;
            }
            self.write(pkt, stream, tb)?;
        }
        Ok(())
    }

    /// Encodes one audio frame (None flushes the encoder).
    pub(crate) fn audio(
        &mut self,
        frame: Option<&ffmpeg::frame::Audio>,
    ) -> Result<(), DerivedError> {
        let Some(lane) = self.audio.as_mut() else {
            return Ok(());
        };
        match frame {
            Some(f) => lane.enc.send_frame(f).map_err(ff("encode audio"))?,
            None => lane.enc.send_eof().map_err(ff("flush audio"))?,
        }
        let (stream, tb) = (lane.stream, lane.enc_tb);
        let mut pkts = Vec::new();
        loop {
            let mut pkt = ffmpeg::Packet::empty();
            if lane.enc.receive_packet(&mut pkt).is_err() {
                break;
            }
            pkts.push(pkt);
        }
        for pkt in pkts {
            self.write(pkt, stream, tb)?;
        }
        Ok(())
    }

    fn write(
        &mut self,
        mut pkt: ffmpeg::Packet,
        stream: usize,
        enc_tb: ffmpeg::Rational,
    ) -> Result<(), DerivedError> {
        let tb = self.stream_tb.get(stream).copied().unwrap_or(enc_tb);
        pkt.set_stream(stream);
        pkt.rescale_ts(enc_tb, tb);
        pkt.write_interleaved(&mut self.octx)
            .map_err(ff("write packet"))
    }

    /// Flushes both encoders and writes the trailer (faststart moves the index).
    pub(crate) fn finish(mut self) -> Result<(), DerivedError> {
        self.video(None)?;
        self.audio(None)?;
        self.octx.write_trailer().map_err(ff("write trailer"))
    }
}

/// Encoder side: pulls the graph's output frames into the MP4 and reports progress.
pub(crate) struct Mp4Sink {
    pub(crate) out: Mp4Out,
    pub(crate) vtb: ffmpeg::Rational,
    pub(crate) total_ms: i64,
    pub(crate) reported: f32,
}

fn again(e: &ffmpeg::Error) -> bool {
    matches!(e, ffmpeg::Error::Eof)
        || matches!(e, ffmpeg::Error::Other { errno } if *errno == ffmpeg::util::error::EAGAIN)
}

impl Mp4Sink {
    /// Encodes every frame the graph has ready; reports progress by video time.
    pub(crate) fn pull(
        &mut self,
        graph: &mut ffmpeg::filter::Graph,
        progress: &mut dyn FnMut(f32),
    ) -> Result<(), DerivedError> {
        loop {
            let mut f = ffmpeg::frame::Video::empty();
            let r = match graph.get("vout") {
                Some(mut c) => c.sink().frame(&mut f),
                None => return Err(DerivedError::Missing("video sink")),
            };
            match r {
                Ok(()) => {}
                Err(e) if again(&e) => break,
                Err(e) => return Err(ff("filter video")(e)),
            }
            f.set_kind(ffmpeg::picture::Type::None);
            self.out.video(Some(&f))?;
            if let Some(ms) = f.pts().and_then(|v| super::scan::to_ms(v, self.vtb)) {
                #[allow(clippy::cast_precision_loss)] // a fraction for display
                let frac = (ms as f32 / self.total_ms as f32).clamp(0.0, 1.0);
                if frac >= self.reported + 0.01 {
                    self.reported = frac;
                    progress(frac);
                }
            }
        }
        if graph.get("aout").is_none() {
            return Ok(());
        }
        loop {
            let mut f = ffmpeg::frame::Audio::empty();
            let r = match graph.get("aout") {
                Some(mut c) => c.sink().frame(&mut f),
                None => break,
            };
            match r {
                Ok(()) => self.out.audio(Some(&f))?,
                Err(e) if again(&e) => break,
                Err(e) => return Err(ff("filter audio")(e)),
            }
        }
        Ok(())
    }
}
