//! Server-side recording of RTP media into append-only files without transcoding.
