//! Property tests of what a peer's signalling reaches (stable Rust, proptest):
//! `ClientMsg::parse` over the committed seed corpus `tests/corpus/signalling/` (real
//! client messages) mutated byte-wise (bit flips, truncation, splicing…) and
//! structure-wise (types swapped, fields dropped, added, duplicated, nested 10k deep,
//! huge strings), and the SDP path the server applies to a peer's description and
//! candidates (media-section cap, publish-only rewrite, str0m's parser, the candidate
//! filter), driven through a real `RtcEngine` on 127.0.0.1 with mutated browser SDPs
//! and candidate lines. Proves: Ok or a typed error, never a panic (a panic inside the
//! media loop shows as `RtcError::Closed`), never a hang, and a parse error's text is
//! one of a fixed set of phrases (it never echoes the input).
#![cfg(feature = "server")]

mod fuzz_support;

use fuzz_support::{corpus, mutated, timed};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value, json};
use sworn::hearing::protocol::{ClientMsg, MAX_MESSAGE_BYTES, PARSE_REASONS, ParseError};
use sworn::rtc::{Outlets, RtcEngine, RtcError};

fn check_parse(text: &str) {
    match timed("ClientMsg::parse", || ClientMsg::parse(text)) {
        Ok(_) => {}
        Err(ParseError::TooLarge) => assert!(text.len() > MAX_MESSAGE_BYTES),
        Err(ParseError::Invalid(reason)) => {
            assert!(PARSE_REASONS.contains(&reason), "{reason}");
        }
    }
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::from),
        Just(json!("admit")),
        Just(json!("v=0\r\n")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A change to a message's JSON structure.
#[derive(Debug, Clone)]
enum JsonMutation {
    SetType(String),
    Replace(Index, Value),
    Remove(Index),
    Add(String, Value),
    /// A key written twice in the text (serde's duplicate-key path).
    DuplicateKey(Index),
    /// A field's value wrapped in `depth` arrays or objects.
    Nest(Index, usize, bool),
    HugeString(Index, usize),
}

fn json_mutation() -> impl Strategy<Value = JsonMutation> {
    let types = prop_oneof![
        Just("offer".to_owned()),
        Just("hello".to_owned()),
        Just("attest".to_owned()),
        Just("action".to_owned()),
        Just("media_state".to_owned()),
        Just("Ping".to_owned()),
        ".{0,20}",
    ];
    prop_oneof![
        types.prop_map(JsonMutation::SetType),
        (any::<Index>(), any_json()).prop_map(|(i, v)| JsonMutation::Replace(i, v)),
        any::<Index>().prop_map(JsonMutation::Remove),
        ("[a-z_]{1,12}", any_json()).prop_map(|(k, v)| JsonMutation::Add(k, v)),
        any::<Index>().prop_map(JsonMutation::DuplicateKey),
        (any::<Index>(), 1usize..10_000, any::<bool>())
            .prop_map(|(i, d, a)| JsonMutation::Nest(i, d, a)),
        (any::<Index>(), 1usize..(MAX_MESSAGE_BYTES + 64))
            .prop_map(|(i, n)| JsonMutation::HugeString(i, n)),
    ]
}

/// The message text after `m` (an object's keys are picked by index).
fn apply_json(seed: &[u8], m: &JsonMutation) -> String {
    let mut v: Value = serde_json::from_slice(seed).unwrap();
    let obj = v.as_object_mut().unwrap();
    let mut keys: Vec<String> = obj.keys().cloned().collect();
    if keys.is_empty() {
        keys.push("type".into());
    }
    let key = |i: &Index| keys[i.index(keys.len())].clone();
    match m {
        JsonMutation::SetType(t) => {
            obj.insert("type".into(), json!(t));
        }
        JsonMutation::Replace(i, x) => {
            obj.insert(key(i), x.clone());
        }
        JsonMutation::Remove(i) => {
            obj.remove(&key(i));
        }
        JsonMutation::Add(k, x) => {
            obj.insert(k.clone(), x.clone());
        }
        JsonMutation::DuplicateKey(i) => {
            let k = key(i);
            let text = v.to_string();
            return text.replacen('{', &format!("{{{}:{},", json!(k), obj_value(&v, &k)), 1);
        }
        JsonMutation::Nest(i, depth, arrays) => {
            let k = key(i);
            let (open, close) = if *arrays {
                ("[", "]")
            } else {
                ("{\"a\":", "}")
            };
            let text = v.to_string();
            let nested = format!(
                "{}{}{}",
                open.repeat(*depth),
                obj_value(&v, &k),
                close.repeat(*depth)
            );
            return text.replacen(
                &format!("{}:{}", json!(k), obj_value(&v, &k)),
                &format!("{}:{nested}", json!(k)),
                1,
            );
        }
        JsonMutation::HugeString(i, n) => {
            obj.insert(key(i), json!("x".repeat(*n)));
        }
    }
    v.to_string()
}

fn obj_value(v: &Value, k: &str) -> String {
    v.get(k).map(Value::to_string).unwrap_or_default()
}

/// A seed message (JSON) and one to three structural changes.
fn structured() -> impl Strategy<Value = String> {
    let seeds = corpus("signalling", ".json");
    (
        any::<Index>(),
        proptest::collection::vec(json_mutation(), 1..4),
    )
        .prop_map(move |(s, ms)| {
            let mut text = s.get(seeds).clone();
            for m in &ms {
                // A mutation may leave text that is no longer an object: stop there.
                if serde_json::from_slice::<serde_json::Map<String, Value>>(&text).is_err() {
                    break;
                }
                text = apply_json(&text, m).into_bytes();
            }
            String::from_utf8(text).unwrap()
        })
}

#[test]
fn every_seed_parses() {
    for seed in corpus("signalling", ".json") {
        let text = std::str::from_utf8(seed).unwrap();
        assert!(ClientMsg::parse(text).is_ok(), "{text}");
    }
}

#[test]
fn ten_thousand_levels_of_nesting_are_refused() {
    for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
        let deep = format!("{}1{}", open.repeat(10_000), close.repeat(10_000));
        check_parse(&deep);
        check_parse(&format!(r#"{{"type":"candidate","candidate":{deep}}}"#));
        check_parse(&format!(r#"{{"type":"ping","x":{deep}}}"#));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, failure_persistence: None, rng_seed: proptest::test_runner::RngSeed::Fixed(0x5302_2026), ..ProptestConfig::default() })]

    #[test]
    fn mutated_messages_parse_or_are_refused(b in mutated(corpus("signalling", ".json"))) {
        // A WebSocket text frame is UTF-8: invalid bytes never reach the parser.
        check_parse(&String::from_utf8_lossy(&b));
    }

    #[test]
    fn restructured_messages_parse_or_are_refused(text in structured()) {
        check_parse(&text);
    }
}

/// SDP and candidate seeds (`tests/corpus/signalling/sdp/`).
fn sdp_seeds() -> &'static [Vec<u8>] {
    corpus("signalling/sdp", ".sdp")
}

/// `chrome-offer.sdp`.
fn browser_offer() -> String {
    String::from_utf8_lossy(&corpus("signalling/sdp", "offer.sdp")[0]).into_owned()
}

fn candidate_seeds() -> Vec<String> {
    let lines = &corpus("signalling/sdp", ".txt")[0];
    String::from_utf8_lossy(lines)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A change to an SDP's lines.
#[derive(Debug, Clone)]
enum LineMutation {
    Remove(Index),
    Duplicate(Index, usize),
    Swap(Index, Index),
    Garble(Index, String),
    Insert(Index, Index),
}

/// Lines a hostile peer might slip in.
const ODD_LINES: &[&str] = &[
    "m=video 0 RTP/AVP 96",
    "m=audio 9 UDP/TLS/RTP/SAVPF",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "a=rtpmap:999999 VP8/0",
    "a=rtpmap:96 VP8",
    "a=fmtp:96 apt=96",
    "a=ssrc:0 cname:",
    "a=ssrc-group:FID 1",
    "a=extmap:0 x",
    "a=extmap:99999999999 urn:x",
    "a=fingerprint:sha-256 ZZ",
    "a=fingerprint:",
    "a=mid:",
    "a=mid:0",
    "a=group:BUNDLE",
    "a=group:BUNDLE 0 0 0 7",
    "a=ice-ufrag:",
    "a=ice-pwd:",
    "a=setup:bogus",
    "a=msid:",
    "a=rid:h send",
    "a=simulcast:send h;m;l",
    "a=candidate:1 1 udp 1 169.254.169.254 80 typ host",
    "c=IN IP6 ::",
    "v=1",
    "o=",
    "",
];

fn line_mutation() -> impl Strategy<Value = LineMutation> {
    prop_oneof![
        any::<Index>().prop_map(LineMutation::Remove),
        (any::<Index>(), 1usize..120).prop_map(|(i, n)| LineMutation::Duplicate(i, n)),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| LineMutation::Swap(a, b)),
        (any::<Index>(), ".{0,40}").prop_map(|(i, s)| LineMutation::Garble(i, s)),
        (any::<Index>(), any::<Index>()).prop_map(|(i, l)| LineMutation::Insert(i, l)),
    ]
}

fn apply_lines(sdp: &str, ms: &[LineMutation]) -> String {
    let mut lines: Vec<String> = sdp.split("\r\n").map(str::to_owned).collect();
    for m in ms {
        if lines.is_empty() {
            break;
        }
        let n = lines.len();
        match m {
            LineMutation::Remove(i) => {
                lines.remove(i.index(n));
            }
            LineMutation::Duplicate(i, k) => {
                let l = lines[i.index(n)].clone();
                let at = i.index(n);
                lines.splice(at..at, std::iter::repeat_n(l, *k));
            }
            LineMutation::Swap(a, b) => lines.swap(a.index(n), b.index(n)),
            LineMutation::Garble(i, s) => {
                let l = &mut lines[i.index(n)];
                let mut keep = l.find(':').map_or(2.min(l.len()), |p| p + 1);
                while !l.is_char_boundary(keep) {
                    keep -= 1;
                }
                l.truncate(keep);
                l.push_str(s);
            }
            LineMutation::Insert(i, l) => {
                lines.insert(i.index(n + 1), l.get(ODD_LINES).to_string())
            }
        }
    }
    lines.join("\r\n")
}

/// A browser SDP changed line-wise or byte-wise (as a text frame: lossy UTF-8).
fn mutated_sdp() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            any::<Index>(),
            proptest::collection::vec(line_mutation(), 1..5)
        )
            .prop_map(|(s, ms)| {
                let seed: &Vec<u8> = s.get(sdp_seeds());
                apply_lines(&String::from_utf8_lossy(seed), &ms)
            }),
        mutated(sdp_seeds()).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

fn mutated_candidate() -> impl Strategy<Value = Value> {
    let lines = candidate_seeds();
    let seeds: &'static [Vec<u8>] = Box::leak(
        lines
            .iter()
            .map(|l| l.clone().into_bytes())
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    prop_oneof![
        mutated(seeds)
            .prop_map(|b| json!({"candidate": String::from_utf8_lossy(&b), "sdpMid": "0"})),
        any_json(),
        ".{0,600}".prop_map(|s| json!({"candidate": s})),
    ]
}

/// One media loop for the whole test binary (its thread lives as long as the process).
fn engine() -> (&'static tokio::runtime::Runtime, &'static RtcEngine) {
    static E: std::sync::OnceLock<(tokio::runtime::Runtime, RtcEngine)> =
        std::sync::OnceLock::new();
    let (rt, e) = E.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let mut cfg = sworn::config::Config::for_tests("/nonexistent".into()).media;
        cfg.tcp_port = None;
        let e = rt.block_on(RtcEngine::start(&cfg)).unwrap();
        (rt, e)
    });
    (rt, e)
}

/// A connection tag not used before (tests run in parallel on the one engine).
fn next_tag() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Applies `sdp` as a peer's offer then `candidates` on a fresh session; a panic inside
/// the media loop (caught there, the connection dropped) shows as `Closed`.
fn apply_offer(sdp: String, candidates: Vec<Value>) -> Result<String, RtcError> {
    let (rt, engine) = engine();
    rt.block_on(async {
        let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
        let mut s = engine
            .session(next_tag(), "p".into(), events, Outlets::new(), true)
            .await
            .unwrap();
        let t = std::time::Instant::now();
        let answer = s.accept_offer(sdp).await;
        assert!(
            t.elapsed() < fuzz_support::SLOW,
            "accept_offer took {:?}",
            t.elapsed()
        );
        assert!(
            !matches!(answer, Err(RtcError::Closed)),
            "the offer crashed its connection"
        );
        for c in candidates {
            let r = s.add_remote_candidate(c).await;
            assert!(
                !matches!(r, Err(RtcError::Closed)),
                "a candidate crashed its connection"
            );
        }
        s.close().await;
        answer
    })
}

#[test]
fn the_browser_offer_is_answered_and_a_thousand_media_sections_are_refused() {
    let offer = browser_offer();
    let cands = candidate_seeds()
        .into_iter()
        .map(|c| json!({"candidate": c}))
        .collect();
    assert!(
        apply_offer(offer.clone(), cands)
            .unwrap()
            .starts_with("v=0")
    );
    let video = offer.find("m=video").unwrap();
    let many = format!("{}{}", &offer[..video], offer[video..].repeat(1000));
    assert!(matches!(
        apply_offer(many, vec![]),
        Err(RtcError::BadSdp(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, failure_persistence: None, rng_seed: proptest::test_runner::RngSeed::Fixed(0x5302_2026), ..ProptestConfig::default() })]

    #[test]
    fn mutated_offers_and_candidates_are_answered_or_refused(
        sdp in mutated_sdp(),
        candidates in proptest::collection::vec(mutated_candidate(), 0..4),
    ) {
        let _ = apply_offer(sdp, candidates);
    }
}
