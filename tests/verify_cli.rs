//! `sworn-verify` transcripts: exit 0 valid (pinned key), 1 invalid, 2 usage or I/O,
//! 3 valid but key not pinned; text and JSON.
#![cfg(feature = "evidence")]

#[path = "vectors/hearing.rs"]
mod hearing;

use std::path::Path;
use std::process::{Command, Output};

fn sworn_verify(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sworn-verify"));
    for a in args {
        c.arg(a);
    }
    c.output().unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dst = to.join(p.file_name().unwrap());
        if p.is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
            copy_dir(&p, &dst);
        } else {
            std::fs::copy(&p, &dst).unwrap();
        }
    }
}

#[test]
fn exit_codes_and_transcripts() {
    let b = hearing::build("h-cli");
    let tmp = tempfile::tempdir().unwrap();
    let pem = b.bundle.join("keys/server.pub.pem");
    let vkey = b.bundle.join("keys/server.vkey");

    // 0: valid, dir and zip, pinned by PEM or by verifier key.
    for (target, trust) in [(&b.bundle, &pem), (&b.zip, &vkey)] {
        let out = sworn_verify(&[target, &"--trust", trust]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert!(text.starts_with("hearing   h-cli\n"), "{text}");
        assert!(text.contains("(pinned)"), "{text}");
        assert!(text.contains("PASS  checkpoints.final: final checkpoint covers all"));
        assert!(text.ends_with("RESULT    VALID\n"), "{text}");
    }
    // 3 without --trust: valid against the bundle's own key only, a verdict of its own;
    // the fingerprint is printed for comparison and a hint says what to do.
    let out = sworn_verify(&[&b.bundle]);
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "key       {} (NOT pinned",
            hearing::server_key().fingerprint()
        )),
        "{text}"
    );
    assert!(
        text.ends_with("RESULT    VALID, KEY NOT PINNED\n"),
        "{text}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("hint: no key was pinned"), "{err}");

    // --json: `valid` (every check passed) and the verdict, pinned or not.
    let out = sworn_verify(&[&b.zip, &"--json"]);
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["verdict"], "valid_key_not_pinned");
    assert_eq!(v["hearing"], "h-cli");
    assert!(v["checks"].as_array().unwrap().len() > 10);
    let out = sworn_verify(&[&b.zip, &"--json", &"--trust", &vkey]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "valid");
    assert!(String::from_utf8_lossy(&out.stderr).is_empty());

    // 1: a tampered copy; the named failure is printed (text and JSON).
    let bad = tmp.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    copy_dir(&b.bundle, &bad);
    let f = bad.join("media/p-witness/audio.webm");
    let mut bytes = std::fs::read(&f).unwrap();
    bytes[200] ^= 0x20;
    std::fs::write(&f, bytes).unwrap();
    let out = sworn_verify(&[&bad, &"--trust", &pem]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FAIL  media [ChunkHashMismatch]"), "{text}");
    assert!(text.ends_with("RESULT    INVALID\n"), "{text}");
    let out = sworn_verify(&[&bad, &"--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["verdict"], "invalid");
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["error"]["code"] == "ChunkHashMismatch")
    );

    // 1: a valid bundle against another pinned key.
    let other = tmp.path().join("other.pem");
    std::fs::write(&other, hearing::other_server_key().public_pem()).unwrap();
    let out = sworn_verify(&[&b.bundle, &"--trust", &other]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("[UnknownKey]"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hint: the bundle is signed by sha256:"));

    // 2: usage and I/O errors.
    let junk = tmp.path().join("junk.zip");
    std::fs::write(&junk, b"not a zip").unwrap();
    let garbage_key = tmp.path().join("garbage.pem");
    std::fs::write(
        &garbage_key,
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    )
    .unwrap();
    let missing = tmp.path().join("missing");
    let cases: Vec<(Vec<&dyn AsRef<std::ffi::OsStr>>, &str)> = vec![
        (vec![], "Usage"),
        (vec![&b.bundle, &"--frobnicate"], "unexpected argument"),
        (vec![&missing], "cannot open bundle"),
        (vec![&junk], "cannot open bundle: zip"),
        (vec![&b.bundle, &"--trust", &garbage_key], "--trust"),
        (vec![&b.bundle, &"--trust", &missing], "--trust"),
    ];
    for (args, msg) in cases {
        let out = sworn_verify(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(msg), "expected {msg:?} in {err}");
        assert!(out.stdout.is_empty());
    }
    // --help is not an error.
    let out = sworn_verify(&[&"--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--trust <KEYFILE>"));
    assert!(help.contains("3 valid but key not pinned"), "{help}");
}

#[test]
fn symlink_in_bundle_is_an_error_not_a_pass() {
    let b = hearing::build("h-cli-link");
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("b");
    std::fs::create_dir_all(&copy).unwrap();
    copy_dir(&b.bundle, &copy);
    std::os::unix::fs::symlink("/etc/hostname", copy.join("link")).unwrap();
    let out = sworn_verify(&[&copy]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("symlinks are refused"));
}

#[test]
fn compressed_or_hostile_zips_are_refused() {
    let b = hearing::build("h-cli-zip");
    let tmp = tempfile::tempdir().unwrap();
    let make = |name: &str, script: &str| {
        let out = tmp.path().join(name);
        let st = Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(&b.bundle)
            .arg(&out)
            .status()
            .unwrap();
        assert!(st.success());
        out
    };
    let deflated = make(
        "deflated.zip",
        "import os,sys,zipfile\n\
         r,o=sys.argv[1],sys.argv[2]\n\
         with zipfile.ZipFile(o,'w',zipfile.ZIP_DEFLATED) as z:\n\
         \x20for d,_,fs in os.walk(r):\n\
         \x20 for f in fs:\n\
         \x20  p=os.path.join(d,f); z.write(p,os.path.relpath(p,r))\n",
    );
    let out = sworn_verify(&[&deflated]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("compressed"));
    let evil = make(
        "evil.zip",
        "import sys,zipfile\n\
         with zipfile.ZipFile(sys.argv[2],'w') as z:\n\
         \x20z.writestr('../../etc/x','x')\n",
    );
    let out = sworn_verify(&[&evil]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsafe entry name"));
    // A stored zip re-made by another tool (Python) still verifies: only paths and
    // bytes matter.
    let restored = make(
        "stored.zip",
        "import os,sys,zipfile\n\
         r,o=sys.argv[1],sys.argv[2]\n\
         with zipfile.ZipFile(o,'w',zipfile.ZIP_STORED) as z:\n\
         \x20for d,_,fs in sorted(os.walk(r)):\n\
         \x20 for f in sorted(fs):\n\
         \x20  p=os.path.join(d,f); z.write(p,os.path.relpath(p,r))\n",
    );
    let out = sworn_verify(&[&restored]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
