//! sworn: court hearings by video link with a verifiable evidence record.
//!
//! `verify` is pure and always built (it is what a defence expert compiles with
//! `--no-default-features`). `evidence` (producing side of the record) needs the
//! `evidence` feature, `recorder` the `media` feature, the rest the `server` feature.
#![deny(unsafe_code)]

pub mod verify;
pub mod verify_cli;

#[cfg(feature = "evidence")]
pub mod archive_cli;
#[cfg(feature = "evidence")]
pub mod custody_extract;
#[cfg(feature = "evidence")]
pub mod evidence;
#[cfg(feature = "media")]
pub mod recorder;

#[cfg(feature = "server")]
pub mod app;
#[cfg(feature = "server")]
pub mod blobs;
#[cfg(feature = "server")]
pub mod cluster;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod custody;
#[cfg(feature = "server")]
pub mod data_lock;
#[cfg(feature = "server")]
pub mod domain;
#[cfg(feature = "server")]
pub mod hearing;
#[cfg(feature = "server")]
pub mod http;
#[cfg(feature = "server")]
pub mod paths;
#[cfg(feature = "server")]
pub mod rtc;
#[cfg(feature = "server")]
pub mod secrets;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "server")]
pub mod turn_credentials;
