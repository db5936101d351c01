//! The only place in the recorder that touches FFmpeg through raw pointers: codec
//! parameters that ffmpeg-next has no setter for, extradata allocation, muxer flush and
//! the AVIO error flag.
//!
//! Owns nothing; every function takes a live ffmpeg-next object by `&mut` so the
//! pointer it dereferences is valid and not aliased for the call. It must never keep a
//! pointer beyond the call, and never free what FFmpeg owns.
#![allow(unsafe_code)]

use ffmpeg::ffi;
use ffmpeg_next as ffmpeg;

/// Video stream parameters: codec id, media type and frame size.
pub(crate) fn set_video_params(
    stream: &mut ffmpeg::format::stream::StreamMut<'_>,
    codec: ffmpeg::codec::Id,
    width: u16,
    height: u16,
) {
    // SAFETY: `stream` is a live stream of a live output context borrowed mutably, so
    // `codecpar` points to the stream's own AVCodecParameters (allocated by
    // avformat_new_stream) and nobody else accesses it during this call.
    unsafe {
        let par = (*stream.as_mut_ptr()).codecpar;
        if par.is_null() {
            return;
        }
        (*par).codec_type = ffi::AVMediaType::AVMEDIA_TYPE_VIDEO;
        (*par).codec_id = codec.into();
        (*par).width = i32::from(width);
        (*par).height = i32::from(height);
    }
}

/// Audio stream parameters: codec id, media type, sample rate and default layout.
pub(crate) fn set_audio_params(
    stream: &mut ffmpeg::format::stream::StreamMut<'_>,
    codec: ffmpeg::codec::Id,
    sample_rate: u32,
    channels: u16,
) {
    // SAFETY: as in `set_video_params`; `ch_layout` is a field of that struct and
    // av_channel_layout_default only writes into it (an unset layout owns no memory).
    unsafe {
        let par = (*stream.as_mut_ptr()).codecpar;
        if par.is_null() {
            return;
        }
        (*par).codec_type = ffi::AVMediaType::AVMEDIA_TYPE_AUDIO;
        (*par).codec_id = codec.into();
        (*par).sample_rate = i32::try_from(sample_rate).unwrap_or(48_000);
        ffi::av_channel_layout_default(&mut (*par).ch_layout, i32::from(channels.max(1)));
    }
}

/// Copies `data` into freshly `av_mallocz`'d extradata (with the zeroed padding FFmpeg
/// requires). Returns false if the allocation failed or `data` is too large.
pub(crate) fn set_extradata(
    stream: &mut ffmpeg::format::stream::StreamMut<'_>,
    data: &[u8],
) -> bool {
    let Ok(size) = i32::try_from(data.len()) else {
        return false;
    };
    let padding = usize::try_from(ffi::AV_INPUT_BUFFER_PADDING_SIZE).unwrap_or(64);
    // SAFETY: `codecpar` is the stream's own parameters (see `set_video_params`). The
    // buffer is allocated with av_mallocz for len + padding bytes (zeroed), and exactly
    // `data.len()` bytes are copied into it; any previous extradata is freed with
    // av_freep first, which is how avcodec_parameters_free releases it too.
    unsafe {
        let par = (*stream.as_mut_ptr()).codecpar;
        if par.is_null() {
            return false;
        }
        let buf = ffi::av_mallocz(data.len() + padding).cast::<u8>();
        if buf.is_null() {
            return false;
        }
        std::ptr::copy_nonoverlapping(data.as_ptr(), buf, data.len());
        if !(*par).extradata.is_null() {
            ffi::av_freep(std::ptr::addr_of_mut!((*par).extradata).cast());
        }
        (*par).extradata = buf;
        (*par).extradata_size = size;
    }
    true
}

/// Ends the muxer's open cluster (`av_write_frame(ctx, NULL)`) and pushes AVIO's
/// buffer to the OS. Returns the AVIO error code (0 when healthy).
pub(crate) fn flush_to_os(octx: &mut ffmpeg::format::context::Output) -> i32 {
    // SAFETY: `octx` is a live output context whose header was written (callers only
    // flush after write_header succeeded); a NULL packet is the documented way to
    // flush a muxer with AVFMT_ALLOW_FLUSH (Matroska/WebM) and is ignored by others.
    // `pb` is checked for NULL before use and belongs to `octx`.
    unsafe {
        let ctx = octx.as_mut_ptr();
        let ret = ffi::av_write_frame(ctx, std::ptr::null_mut());
        let pb = (*ctx).pb;
        if pb.is_null() {
            return ret.min(0);
        }
        ffi::avio_flush(pb);
        if (*pb).error != 0 {
            (*pb).error
        } else {
            ret.min(0)
        }
    }
}

/// The AVIO error flag of `octx` (0 when healthy).
pub(crate) fn io_error(octx: &mut ffmpeg::format::context::Output) -> i32 {
    // SAFETY: `octx` is live and borrowed mutably; `pb` is checked for NULL.
    unsafe {
        let pb = (*octx.as_mut_ptr()).pb;
        if pb.is_null() { 0 } else { (*pb).error }
    }
}
