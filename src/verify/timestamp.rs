//! RFC 3161 time-stamp token verification (pure).
