//! Property tests: no byte string, and no mutation of a real token or reply, makes the
//! time-stamp verifier or the reply parser panic; mutated tokens never verify with a
//! different report.
#![cfg(feature = "evidence")]

use std::sync::OnceLock;
use std::time::SystemTime;

use proptest::prelude::*;
use sworn::evidence::tsa::TsaIdentity;
use sworn::verify::timestamp::{inspect_token, parse_response, verify_token};

const MESSAGE: &[u8] = b"fuzzed checkpoint";

struct Fixture {
    _dir: tempfile::TempDir,
    chain: String,
    token: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let id = TsaIdentity::load_or_create(dir.path()).unwrap();
        let token = id.stamp(MESSAGE, SystemTime::now()).unwrap();
        Fixture {
            chain: id.chain_pem(),
            token,
            _dir: dir,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, rng_seed: proptest::test_runner::RngSeed::Fixed(0x5302_2026), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let f = fixture();
        prop_assert!(verify_token(&bytes, MESSAGE, f.chain.as_bytes()).is_err());
        let _ = inspect_token(&bytes);
        let _ = parse_response(&bytes);
        let _ = verify_token(&f.token, MESSAGE, &bytes);
    }

    #[test]
    fn spliced_tokens_never_panic_nor_change_the_report(
        at in 0usize..2000,
        cut in 0usize..40,
        insert in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let f = fixture();
        let good = verify_token(&f.token, MESSAGE, f.chain.as_bytes()).unwrap();
        let at = at % f.token.len();
        let end = (at + cut).min(f.token.len());
        let mut t = f.token[..at].to_vec();
        t.extend_from_slice(&insert);
        t.extend_from_slice(&f.token[end..]);
        if let Ok(info) = verify_token(&t, MESSAGE, f.chain.as_bytes()) {
            prop_assert_eq!(info, good);
        }
    }
}
