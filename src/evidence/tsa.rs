//! RFC 3161 time-stamping: built-in TSA and external TSA client.
