//! One WebRTC API object and one UDP port (ICE UDP mux) for every peer of the server.

use super::RtcError;
use super::session::{PeerSession, SessionEvent};
use super::udp_mux::BatchUdpMux;
use crate::config::MediaConfig;
use std::sync::Arc;
use tokio::sync::mpsc;
use webrtc::api::interceptor_registry::register_default_interceptors;
use webrtc::api::media_engine::MediaEngine;
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::{API, APIBuilder};
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::ice::udp_network::UDPNetwork;
use webrtc::ice_transport::ice_candidate_type::RTCIceCandidateType;
use webrtc::interceptor::registry::Registry;

/// Shared by all sessions; cheap to clone.
#[derive(Clone)]
pub struct RtcEngine {
    api: Arc<API>,
    udp_port: u16,
}

impl RtcEngine {
    /// Binds the media UDP port and builds the API (VP8/VP9/H264/Opus, NACK, RTCP
    /// reports, TWCC).
    pub async fn start(cfg: &MediaConfig) -> Result<RtcEngine, RtcError> {
        let socket =
            std::net::UdpSocket::bind((cfg.bind_ip, cfg.udp_port)).map_err(RtcError::Bind)?;
        let udp_port = socket.local_addr().map_err(RtcError::Bind)?.port();
        let mux = BatchUdpMux::start(socket, cfg.rx_batch).map_err(RtcError::Bind)?;

        let mut se = SettingEngine::default();
        se.set_udp_network(UDPNetwork::Muxed(mux));
        se.set_network_types(vec![NetworkType::Udp4]);
        se.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
        if cfg.loopback_only {
            se.set_include_loopback_candidate(true);
            se.set_ip_filter(Box::new(|ip| ip.is_loopback()));
        }
        if !cfg.public_ips.is_empty() {
            se.set_nat_1to1_ips(
                cfg.public_ips.iter().map(|ip| ip.to_string()).collect(),
                RTCIceCandidateType::Host,
            );
        }

        let mut media = MediaEngine::default();
        media
            .register_default_codecs()
            .map_err(|e| RtcError::Setup(e.to_string()))?;
        let registry = register_default_interceptors(Registry::new(), &mut media)
            .map_err(|e| RtcError::Setup(e.to_string()))?;
        let api = APIBuilder::new()
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .with_setting_engine(se)
            .build();
        Ok(RtcEngine {
            api: Arc::new(api),
            udp_port,
        })
    }

    /// The UDP port all media uses.
    pub fn udp_port(&self) -> u16 {
        self.udp_port
    }

    /// A new peer connection; its events arrive on `events` tagged with `tag`; the
    /// tracks it publishes are offered to others under `stream_id`.
    pub async fn session(
        &self,
        tag: u64,
        stream_id: String,
        events: mpsc::UnboundedSender<SessionEvent>,
        outlets: super::Outlets,
        forwarding_initially: bool,
    ) -> Result<PeerSession, RtcError> {
        PeerSession::new(
            &self.api,
            tag,
            stream_id,
            events,
            outlets,
            forwarding_initially,
        )
        .await
    }
}
