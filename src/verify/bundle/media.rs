//! Media and derived files: `media_chunk` byte ranges must tile each file exactly (no
//! hole, no overlap, nothing past the end, nothing uncommitted), each chunk's bytes must
//! hash as logged, and one `file_sealed` must match the whole file; `derived_file`
//! entries must match `derived/` files.
//!
//! It must never accept a media or derived byte that no signed entry commits.

use std::collections::BTreeMap;

use super::Ctx;
use super::log::LogView;
use crate::verify::entry::{EntryBody, is_safe_relative_path};
use crate::verify::error::VerifyError;

struct Chunk {
    seq: u64,
    offset: u64,
    length: u64,
    sha256: String,
}

struct Seal {
    seq: u64,
    length: u64,
    sha256: String,
}

pub(crate) fn check_media(ctx: &mut Ctx<'_>, log: &LogView) {
    let mut errs = Vec::new();
    let mut chunks: BTreeMap<String, Vec<Chunk>> = BTreeMap::new();
    let mut seals: BTreeMap<String, Vec<Seal>> = BTreeMap::new();
    for (seq, e) in log.iter() {
        match &e.body {
            EntryBody::MediaChunk {
                file,
                offset,
                length,
                sha256,
                ..
            } => chunks.entry(file.clone()).or_default().push(Chunk {
                seq,
                offset: *offset,
                length: *length,
                sha256: sha256.clone(),
            }),
            EntryBody::FileSealed {
                file,
                length,
                sha256,
            } => seals.entry(file.clone()).or_default().push(Seal {
                seq,
                length: *length,
                sha256: sha256.clone(),
            }),
            _ => {}
        }
    }
    let mut total = 0u64;
    for (file, list) in &chunks {
        let path = format!("media/{file}");
        if !is_safe_relative_path(file) {
            errs.push(VerifyError::EntryMalformed {
                line: list.first().map(|c| c.seq).unwrap_or(0),
                reason: format!("unsafe media path {file:?}"),
            });
            continue;
        }
        let Some(len) = ctx.file_len(&path, &mut errs) else {
            continue;
        };
        let mut pos = 0u64;
        for c in list {
            if c.offset > pos {
                errs.push(VerifyError::ChunkGap {
                    file: file.clone(),
                    seq: c.seq,
                    expected: pos,
                    found: c.offset,
                });
            } else if c.offset < pos {
                errs.push(VerifyError::ChunkOverlap {
                    file: file.clone(),
                    seq: c.seq,
                    expected: pos,
                    found: c.offset,
                });
            }
            let end = c.offset.saturating_add(c.length);
            if end > len {
                errs.push(VerifyError::ChunkPastEnd {
                    file: file.clone(),
                    seq: c.seq,
                    end,
                    file_length: len,
                });
            } else if ctx
                .hash_range(&path, c.offset, c.length, &mut errs)
                .is_some_and(|h| h != c.sha256)
            {
                errs.push(VerifyError::ChunkHashMismatch {
                    file: file.clone(),
                    seq: c.seq,
                });
            }
            pos = pos.max(end);
        }
        if pos < len {
            errs.push(VerifyError::MediaTrailingBytes {
                file: file.clone(),
                committed: pos,
                length: len,
            });
        }
        let last_chunk = list.last().map(|c| c.seq).unwrap_or(0);
        match seals.get(file).map(Vec::as_slice) {
            Some([seal]) => {
                if seal.seq < last_chunk {
                    errs.push(VerifyError::FileNotSealed {
                        file: file.clone(),
                        reason: format!("chunk at seq {last_chunk} after the seal"),
                    });
                } else if seal.length != len
                    || ctx.digests.get(&path).map(|(h, _)| h) != Some(&seal.sha256)
                {
                    errs.push(VerifyError::FileNotSealed {
                        file: file.clone(),
                        reason: "file_sealed length or sha256 differs from the file".into(),
                    });
                }
            }
            Some(_) => errs.push(VerifyError::FileNotSealed {
                file: file.clone(),
                reason: "sealed more than once".into(),
            }),
            None => errs.push(VerifyError::FileNotSealed {
                file: file.clone(),
                reason: "no file_sealed entry".into(),
            }),
        }
        total = total.saturating_add(len);
    }
    for (file, list) in &seals {
        if !chunks.contains_key(file) {
            errs.push(VerifyError::FileNotSealed {
                file: file.clone(),
                reason: format!(
                    "sealed at seq {} without any chunk",
                    list.first().map(|s| s.seq).unwrap_or(0)
                ),
            });
        }
    }
    for p in ctx.paths.iter() {
        if let Some(file) = p.strip_prefix("media/") {
            if !chunks.contains_key(file) {
                errs.push(VerifyError::UncommittedFile { path: p.clone() });
            }
        }
    }
    let n = chunks.len();
    ctx.record(
        "media",
        errs,
        format!("{n} media files ({total} bytes) exactly tiled by committed chunks and sealed"),
    );
}

pub(crate) fn check_derived(ctx: &mut Ctx<'_>, log: &LogView) {
    let mut errs = Vec::new();
    let mut committed = BTreeMap::new();
    for (_, e) in log.iter() {
        if let EntryBody::DerivedFile {
            file,
            length,
            sha256,
            ..
        } = &e.body
        {
            committed.insert(format!("derived/{file}"), (*length, sha256.clone()));
        }
    }
    for (path, (length, sha)) in &committed {
        if !ctx.paths.contains(path) {
            errs.push(VerifyError::MissingFile { path: path.clone() });
            continue;
        }
        match ctx.digests.get(path) {
            Some((s, l)) if s == sha && l == length => {}
            _ => errs.push(VerifyError::DerivedFileMismatch { path: path.clone() }),
        }
    }
    for p in ctx.paths.iter().filter(|p| p.starts_with("derived/")) {
        if !committed.contains_key(p) {
            errs.push(VerifyError::UncommittedFile { path: p.clone() });
        }
    }
    if committed.is_empty() && errs.is_empty() {
        ctx.skip("derived", "no derived files".into());
    } else {
        let n = committed.len();
        ctx.record(
            "derived",
            errs,
            format!("{n} derived files match their entries"),
        );
    }
}
