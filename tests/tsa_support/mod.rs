//! Helpers shared by the `tsa_*` integration tests: running the real `openssl` binary
//! and making an OpenSSL-operated TSA (critical EKU, ESS cert id v2) in a temp dir, with
//! P-256 keys by default or the root/TSA keys and digest of a [`TsaKind`].
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

pub const P256: &[&str] = &["ecparam", "-name", "prime256v1", "-genkey", "-noout"];
pub const P384: &[&str] = &["ecparam", "-name", "secp384r1", "-genkey", "-noout"];
pub const RSA2048: &[&str] = &[
    "genpkey",
    "-algorithm",
    "RSA",
    "-pkeyopt",
    "rsa_keygen_bits:2048",
];
pub const RSA1024: &[&str] = &[
    "genpkey",
    "-algorithm",
    "RSA",
    "-pkeyopt",
    "rsa_keygen_bits:1024",
];

/// The keys and digest of a TSA: root key, TSA key (openssl key generation arguments),
/// the digest of both certificate signatures and of the token signature, and whether
/// RSA signatures (the TSA certificate's and, by [`OpensslTsa::pss_token`], the
/// token's) use RSASSA-PSS.
#[derive(Clone, Copy, Debug)]
pub struct TsaKind {
    pub name: &'static str,
    pub root_key: &'static [&'static str],
    pub tsa_key: &'static [&'static str],
    pub digest: &'static str,
    pub pss: bool,
}

/// One TSA of each kind that issue #15 names.
pub const KINDS: &[TsaKind] = &[
    TsaKind {
        name: "rsa-pkcs1-sha256",
        root_key: RSA2048,
        tsa_key: RSA2048,
        digest: "sha256",
        pss: false,
    },
    TsaKind {
        name: "rsa-pkcs1-sha384",
        root_key: RSA2048,
        tsa_key: RSA2048,
        digest: "sha384",
        pss: false,
    },
    TsaKind {
        name: "rsa-pkcs1-sha512",
        root_key: RSA2048,
        tsa_key: RSA2048,
        digest: "sha512",
        pss: false,
    },
    TsaKind {
        name: "rsa-pss-sha256",
        root_key: RSA2048,
        tsa_key: RSA2048,
        digest: "sha256",
        pss: true,
    },
    TsaKind {
        name: "ecdsa-p256-sha256",
        root_key: P256,
        tsa_key: P256,
        digest: "sha256",
        pss: false,
    },
    TsaKind {
        name: "ecdsa-p384-sha384",
        root_key: P384,
        tsa_key: P384,
        digest: "sha384",
        pss: false,
    },
    TsaKind {
        name: "ecdsa-p384-under-rsa-root",
        root_key: RSA2048,
        tsa_key: P384,
        digest: "sha512",
        pss: false,
    },
];

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
        Self::of_kind(
            dir,
            &TsaKind {
                name: "custom",
                root_key: P256,
                tsa_key: &[],
                digest: "sha256",
                pss: false,
            },
            tsa_keygen,
        )
    }

    /// A TSA of `kind` (`tsa_keygen` replaces `kind.tsa_key` when not empty).
    pub fn of_kind(dir: &Path, kind: &TsaKind, tsa_keygen: &[&str]) -> Self {
        let tsa_keygen = if tsa_keygen.is_empty() {
            kind.tsa_key
        } else {
            tsa_keygen
        };
        let digest = format!("-{}", kind.digest);
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
        let mut ca_keygen = kind.root_key.to_vec();
        ca_keygen.extend(["-out", "ca.key"]);
        openssl_ok(&d, &ca_keygen);
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
                &digest,
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
        let mut sign_tsa = vec![
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
            &digest,
            "-extfile",
            "ext.cnf",
            "-extensions",
            "tsa_ext",
            "-out",
            "tsa.pem",
        ];
        if kind.pss {
            sign_tsa.extend([
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:digest",
            ]);
        }
        openssl_ok(&d, &sign_tsa);
        std::fs::write(d.join("tsaserial"), "01\n").unwrap();
        std::fs::write(
            d.join("tsa.cnf"),
            format!(
                "[tsa]\ndefault_tsa = tsa_config1\n\
                 [tsa_config1]\ndir = {dir}\nserial = $dir/tsaserial\n\
                 crypto_device = builtin\nsigner_cert = $dir/tsa.pem\n\
                 certs = $dir/ca.pem\nsigner_key = $dir/tsa.key\n\
                 signer_digest = {digest}\ndefault_policy = 1.2.3.4.1\n\
                 other_policies = 1.2.3.4.5.6\ndigests = sha256, sha384, sha512\n\
                 accuracy = secs:1, millisecs:500, microsecs:100\n\
                 clock_precision_digits = 6\nordering = yes\ntsa_name = yes\n\
                 ess_cert_id_chain = no\ness_cert_id_alg = sha256\n",
                dir = d.display(),
                digest = kind.digest,
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

    /// Stamps `message` (SHA-256 imprint) and returns the TimeStampToken DER; with
    /// `pss`, the token's TSTInfo re-signed by [`OpensslTsa::pss_token`].
    pub fn token(&self, message: &[u8], name: &str, pss: bool) -> Vec<u8> {
        let d = &self.dir;
        let (bin, tsq, tsr, tok) = (
            format!("{name}.bin"),
            format!("{name}.tsq"),
            format!("{name}.tsr"),
            format!("{name}.tok"),
        );
        std::fs::write(d.join(&bin), message).unwrap();
        openssl_ok(
            d,
            &[
                "ts", "-query", "-data", &bin, "-sha256", "-cert", "-out", &tsq,
            ],
        );
        self.reply(&tsq, &tsr);
        openssl_ok(
            d,
            &["ts", "-reply", "-in", &tsr, "-token_out", "-out", &tok],
        );
        if pss {
            return self.pss_token(&tok, name);
        }
        std::fs::read(d.join(&tok)).unwrap()
    }

    /// OpenSSL 3.0's `ts` signs with PKCS#7, which has no RSASSA-PSS: this takes the
    /// TSTInfo of the `openssl ts` token in file `tok` and signs it again as the same
    /// TSA with `openssl cms -sign -cades` (signingCertificateV2) and PSS padding
    /// (salt = digest length). Returns the new token DER.
    pub fn pss_token(&self, tok: &str, name: &str) -> Vec<u8> {
        let d = &self.dir;
        let (tst, out) = (format!("{name}.tstinfo"), format!("{name}.pss.tok"));
        openssl_ok(
            d,
            &[
                "cms",
                "-verify",
                "-noverify",
                "-inform",
                "DER",
                "-in",
                tok,
                "-out",
                &tst,
            ],
        );
        let cnf = std::fs::read_to_string(d.join("tsa.cnf")).unwrap();
        let md = if cnf.contains("signer_digest = sha512") {
            "sha512"
        } else if cnf.contains("signer_digest = sha384") {
            "sha384"
        } else {
            "sha256"
        };
        openssl_ok(
            d,
            &[
                "cms",
                "-sign",
                "-binary",
                "-nodetach",
                "-cades",
                "-md",
                md,
                "-econtent_type",
                "1.2.840.113549.1.9.16.1.4",
                "-signer",
                "tsa.pem",
                "-inkey",
                "tsa.key",
                "-keyopt",
                "rsa_padding_mode:pss",
                "-keyopt",
                "rsa_pss_saltlen:digest",
                "-certfile",
                "ca.pem",
                "-in",
                &tst,
                "-outform",
                "DER",
                "-out",
                &out,
            ],
        );
        std::fs::read(d.join(out)).unwrap()
    }

    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("ca.pem")).unwrap()
    }

    /// The TSA certificate followed by its root, PEM (what a client pins).
    pub fn chain_pem(&self) -> Vec<u8> {
        let mut pem = std::fs::read(self.dir.join("tsa.pem")).unwrap();
        pem.extend(self.ca_pem());
        pem
    }

    /// Stamps a digest the caller made (`alg`: `sha256`, `sha384`, `sha512`) with
    /// `openssl ts -query -digest`; returns the TimeStampToken DER.
    pub fn digest_token(&self, alg: &str, digest: &[u8], name: &str) -> Vec<u8> {
        let d = &self.dir;
        let (tsq, tsr, tok) = (
            format!("{name}.tsq"),
            format!("{name}.tsr"),
            format!("{name}.tok"),
        );
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        openssl_ok(
            d,
            &[
                "ts",
                "-query",
                "-digest",
                &hex,
                &format!("-{alg}"),
                "-cert",
                "-out",
                &tsq,
            ],
        );
        self.reply(&tsq, &tsr);
        openssl_ok(
            d,
            &["ts", "-reply", "-in", &tsr, "-token_out", "-out", &tok],
        );
        std::fs::read(d.join(&tok)).unwrap()
    }
}

/// Serves `tsa` over HTTP/1.1 on 127.0.0.1 (every POST answered by `openssl ts
/// -reply`, one connection at a time) for as long as the test runs; returns its URL.
pub fn serve_http(tsa: std::sync::Arc<OpensslTsa>) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for (i, conn) in listener.incoming().enumerate() {
            let Ok(conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 {
                    break;
                }
                let h = h.trim_end().to_ascii_lowercase();
                if h.is_empty() {
                    break;
                }
                if let Some(v) = h.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut query = vec![0u8; length];
            if reader.read_exact(&mut query).is_err() {
                continue;
            }
            let (q, r) = (format!("http{i}.tsq"), format!("http{i}.tsr"));
            std::fs::write(tsa.dir.join(&q), &query).unwrap();
            tsa.reply(&q, &r);
            let body = std::fs::read(tsa.dir.join(&r)).unwrap();
            let mut out = conn;
            let _ = write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = out.write_all(&body);
        }
    });
    format!("http://{addr}/tsa")
}
