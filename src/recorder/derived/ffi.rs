//! The only raw-pointer access of the derived copies: clearing a copied stream's codec
//! tag (ffmpeg-next has no setter) so the output muxer picks its own.
//!
//! Owns nothing; takes live ffmpeg-next objects by `&mut`, never keeps a pointer past
//! the call and never frees what FFmpeg owns.
#![allow(unsafe_code)]

use ffmpeg_next as ffmpeg;

/// Sets the stream's `codecpar->codec_tag` to 0 (the muxer chooses the tag).
pub(crate) fn clear_codec_tag(stream: &mut ffmpeg::format::stream::StreamMut<'_>) {
    // SAFETY: `stream` is a live stream of a live output context borrowed mutably, so
    // `codecpar` is the stream's own AVCodecParameters (checked for NULL) and nobody
    // else accesses it during this call; codec_tag is a plain integer field.
    unsafe {
        let par = (*stream.as_mut_ptr()).codecpar;
        if !par.is_null() {
            (*par).codec_tag = 0;
        }
    }
}
