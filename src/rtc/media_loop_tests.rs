//! Unit tests of the media loop on real loopback sockets.
use super::*;
use crate::config::MediaConfig;
use tokio::sync::mpsc;

fn test_loop() -> MediaLoop {
    MediaLoop::bind(&MediaConfig {
        udp_port: 0,
        bind_ip: std::net::IpAddr::from([127, 0, 0, 1]),
        public_ips: vec![],
        loopback_only: true,
        private_candidates: false,
        rx_batch: Duration::from_millis(5),
        tcp_port: None,
    })
    .unwrap()
}

fn open(
    m: &mut MediaLoop,
    tag: u64,
    hearing: super::super::Outlets,
) -> mpsc::UnboundedReceiver<super::super::SessionEvent> {
    let (events, rx) = mpsc::unbounded_channel();
    let (reply, _r) = tokio::sync::oneshot::channel();
    m.command(Command::Open {
        tag,
        hearing,
        stream_id: Arc::from(format!("p{tag}")),
        events,
        forwarding_initially: true,
        reply,
    });
    rx
}

#[test]
fn a_panic_in_one_connection_drops_only_that_connection() {
    let mut m = test_loop();
    let hearing = super::super::Outlets::new();
    let mut bad_events = open(&mut m, 1, hearing);
    let _good_events = open(&mut m, 2, hearing);
    let r: Result<(), RtcError> = m.with_conn(1, |_, _| panic!("a bug inside the stack"));
    assert!(matches!(r, Err(RtcError::Closed)));
    assert!(
        !m.conns.contains_key(&1),
        "the panicking connection is dropped"
    );
    match bad_events.try_recv() {
        Ok(ev) => assert!(matches!(
            ev.kind,
            SessionEventKind::State(PeerState::Failed)
        )),
        Err(e) => panic!("no failure reported: {e:?}"),
    }
    // The other connection still negotiates.
    let offer = m.with_conn(2, |c, _| {
        let mut api = c.rtc.sdp_api();
        api.add_media(
            str0m::media::MediaKind::Audio,
            str0m::media::Direction::SendOnly,
            None,
            None,
            None,
        );
        Ok(api.apply().map(|(o, _)| o.to_sdp_string()))
    });
    assert!(offer.unwrap().unwrap().starts_with("v=0"));
}

#[test]
fn junk_from_unknown_addresses_is_dropped_and_counted() {
    let mut m = test_loop();
    let _events = open(&mut m, 1, super::super::Outlets::new());
    let port = m.sockets[0].advertised.port();
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..200u32 {
        let mut junk = vec![0u8; 40 + (i as usize % 100)];
        junk[0] = (i % 256) as u8;
        sender.send_to(&junk, ("127.0.0.1", port)).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut got = 0;
    while got < 200 && Instant::now() < deadline {
        got += m.read_sockets();
    }
    assert_eq!(got, 200);
    assert_eq!(m.dropped, 200);
    assert!(m.conns.contains_key(&1));
}
