//! Helpers shared by the `tsa_*` integration tests: running the real `openssl` binary
//! and making an OpenSSL-operated TSA (P-256, critical EKU, ESS cert id v2) in a temp dir.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `openssl` with `args` in `dir`; returns the output whatever the exit status.
pub fn openssl(dir: &Path, args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed")
}

/// Runs `openssl` and panics with its stderr unless it exits 0; returns stdout.
pub fn openssl_ok(dir: &Path, args: &[&str]) -> String {
    let out = openssl(dir, args);
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A TSA run by OpenSSL: root CA `ca.pem`, TSA cert `tsa.pem`, config `tsa.cnf`.
pub struct OpensslTsa {
    pub dir: PathBuf,
}

impl OpensslTsa {
    /// Makes a P-256 root and TSA certificate and a `[tsa]` config whose genTime has
    /// microsecond precision (`clock_precision_digits = 6`).
    pub fn new(dir: &Path) -> Self {
        Self::with_tsa_key(
            dir,
            &["ecparam", "-name", "prime256v1", "-genkey", "-noout"],
        )
    }

    /// Like [`OpensslTsa::new`], but the TSA key (not the root's) is made by
    /// `openssl <tsa_keygen> -out tsa.key`.
    pub fn with_tsa_key(dir: &Path, tsa_keygen: &[&str]) -> Self {
        let d = dir.to_path_buf();
        std::fs::write(
            d.join("ext.cnf"),
            "[req]\ndistinguished_name = dn\n[dn]\n\
             [ca_ext]\nbasicConstraints = critical,CA:TRUE\n\
             keyUsage = critical,keyCertSign,cRLSign\n\
             subjectKeyIdentifier = hash\n\
             [tsa_ext]\nbasicConstraints = CA:FALSE\n\
             keyUsage = critical,digitalSignature,nonRepudiation\n\
             extendedKeyUsage = critical,timeStamping\n\
             subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n",
        )
        .unwrap();
        openssl_ok(
            &d,
            &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                "ca.key",
            ],
        );
        let mut keygen = tsa_keygen.to_vec();
        keygen.extend(["-out", "tsa.key"]);
        openssl_ok(&d, &keygen);
        openssl_ok(
            &d,
            &[
                "req",
                "-config",
                "ext.cnf",
                "-x509",
                "-new",
                "-key",
                "ca.key",
                "-sha256",
                "-subj",
                "/CN=Interop Test Root",
                "-days",
                "3650",
                "-extensions",
                "ca_ext",
                "-out",
                "ca.pem",
            ],
        );
        openssl_ok(
            &d,
            &[
                "req",
                "-config",
                "ext.cnf",
                "-new",
                "-key",
                "tsa.key",
                "-subj",
                "/CN=Interop Test TSA",
                "-out",
                "tsa.csr",
            ],
        );
        openssl_ok(
            &d,
            &[
                "x509",
                "-req",
                "-in",
                "tsa.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-set_serial",
                "4242",
                "-days",
                "365",
                "-sha256",
                "-extfile",
                "ext.cnf",
                "-extensions",
                "tsa_ext",
                "-out",
                "tsa.pem",
            ],
        );
        std::fs::write(d.join("tsaserial"), "01\n").unwrap();
        std::fs::write(
            d.join("tsa.cnf"),
            format!(
                "[tsa]\ndefault_tsa = tsa_config1\n\
                 [tsa_config1]\ndir = {dir}\nserial = $dir/tsaserial\n\
                 crypto_device = builtin\nsigner_cert = $dir/tsa.pem\n\
                 certs = $dir/ca.pem\nsigner_key = $dir/tsa.key\n\
                 signer_digest = sha256\ndefault_policy = 1.2.3.4.1\n\
                 other_policies = 1.2.3.4.5.6\ndigests = sha256\n\
                 accuracy = secs:1, millisecs:500, microsecs:100\n\
                 clock_precision_digits = 6\nordering = yes\ntsa_name = yes\n\
                 ess_cert_id_chain = no\ness_cert_id_alg = sha256\n",
                dir = d.display()
            ),
        )
        .unwrap();
        Self { dir: d }
    }

    /// Answers the DER query in file `query` with a DER TimeStampResp in file `out`.
    pub fn reply(&self, query: &str, out: &str) {
        openssl_ok(
            &self.dir,
            &[
                "ts",
                "-reply",
                "-config",
                "tsa.cnf",
                "-queryfile",
                query,
                "-out",
                out,
            ],
        );
    }

    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("ca.pem")).unwrap()
    }
}
