// peer.js — one RTCPeerConnection to the sworn server (the SFU).
// Owns: the client's first offer (sent after `admitted`, carrying the local tracks),
// answers to server offers (renegotiation when others join), the queue of remote ICE
// candidates that arrive before a remote description, mapping incoming streams to
// participants (a remote MediaStream's id is the participant id, protocol.md), and the
// ICE restart when the path breaks (a phone moving from Wi-Fi to mobile data): after
// RESTART_AFTER_MS disconnected, a new offer with new ICE credentials gathers the new
// network's candidates on the same connection — the hearing goes on, nothing is
// renegotiated but the path.
// Must never send SDP anywhere but the signalling socket it was given, nor log SDP.

/** How long ICE may stay disconnected before the page restarts it. */
const RESTART_AFTER_MS = 2000;

/** The camera goes out in three layers (simulcast, RFC 8853): the server forwards each
 * receiver the layer its downlink holds and records the best one the page sends. The
 * browser drops the top layers itself when the uplink or the camera cannot carry them. */
export const SIMULCAST_LAYERS = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', maxBitrate: 1_500_000 },
];

export class Peer {
  /**
   * @param {{iceServers: object[], send: (msg: object) => void,
   *          onStream: (participantId: string, stream: MediaStream) => void,
   *          onStreamGone?: (participantId: string) => void,
   *          onState?: (state: string) => void, onIceRestart?: () => void}} opts
   */
  constructor(opts) {
    this.opts = opts;
    this.pendingCandidates = [];
    this.closed = false;
    this.senders = {};
    this.iceRestarts = 0;
    this.restartTimer = null;
    this.pc = new RTCPeerConnection({ iceServers: sanitizeIceServers(opts.iceServers) });
    this.pc.addEventListener('icecandidate', (ev) => {
      if (ev.candidate && ev.candidate.candidate) {
        opts.send({ type: 'candidate', candidate: ev.candidate.toJSON() });
      }
    });
    this.pc.addEventListener('track', (ev) => {
      for (const stream of ev.streams) {
        stream.addEventListener('removetrack', () => {
          if (stream.getTracks().length === 0 && opts.onStreamGone) opts.onStreamGone(stream.id);
        });
        opts.onStream(stream.id, stream);
      }
    });
    this.pc.addEventListener('connectionstatechange', () => {
      if (opts.onState) opts.onState(this.pc.connectionState);
    });
    this.pc.addEventListener('iceconnectionstatechange', () => {
      const s = this.pc.iceConnectionState;
      clearTimeout(this.restartTimer);
      if (s === 'disconnected') this.restartTimer = setTimeout(() => this.restartIce(), RESTART_AFTER_MS);
      else if (s === 'failed') this.restartIce();
    });
  }

  /** A new offer with new ICE credentials on this connection (RFC 8445 §2.4). Skipped
   * mid-negotiation: the ICE state is checked again when it settles. */
  async restartIce() {
    if (this.closed || this.pc.signalingState !== 'stable' || !this.pc.remoteDescription) return;
    this.iceRestarts += 1;
    if (this.opts.onIceRestart) this.opts.onIceRestart();
    try {
      const offer = await this.pc.createOffer({ iceRestart: true });
      await this.pc.setLocalDescription(offer);
      this.opts.send({ type: 'offer', sdp: this.pc.localDescription.sdp });
    } catch (_e) {
      // The connection closed meanwhile, or a server offer came first: the page's
      // reconnect (call.js) takes over if the path stays broken.
    }
  }

  /** Add the local tracks (or receive-only transceivers) and send the first offer. */
  async start(localStream) {
    const tracks = localStream ? localStream.getTracks() : [];
    const kinds = new Set(tracks.map((t) => t.kind));
    for (const track of tracks) {
      if (track.kind === 'video') {
        const t = this.pc.addTransceiver(track, {
          direction: 'sendrecv',
          streams: [localStream],
          sendEncodings: SIMULCAST_LAYERS.map((l) => ({ ...l })),
        });
        this.senders.video = t.sender;
      } else {
        this.senders[track.kind] = this.pc.addTrack(track, localStream);
      }
    }
    for (const kind of ['audio', 'video']) {
      if (!kinds.has(kind)) this.pc.addTransceiver(kind, { direction: 'recvonly' });
    }
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    this.opts.send({ type: 'offer', sdp: this.pc.localDescription.sdp });
  }

  /** Feed a signalling message of type answer, offer or candidate. */
  async handle(msg) {
    if (this.closed) return;
    if (msg.type === 'answer' && typeof msg.sdp === 'string') {
      if (this.pc.signalingState !== 'have-local-offer') return;
      await this.pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
      await this.drainCandidates();
    } else if (msg.type === 'offer' && typeof msg.sdp === 'string') {
      // A server offer during our own pending offer rolls ours back (we are the polite side).
      await this.pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
      await this.drainCandidates();
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
      this.opts.send({ type: 'answer', sdp: this.pc.localDescription.sdp });
    } else if (msg.type === 'candidate' && msg.candidate && typeof msg.candidate === 'object') {
      if (this.pc.remoteDescription) {
        await this.addCandidate(msg.candidate);
      } else {
        this.pendingCandidates.push(msg.candidate);
      }
    }
  }

  async drainCandidates() {
    const queued = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const c of queued) await this.addCandidate(c);
  }

  async addCandidate(c) {
    try {
      await this.pc.addIceCandidate(c);
    } catch (_e) {
      // A candidate for a rolled-back or unknown section: harmless, ICE uses the others.
    }
  }

  /** Swap the outgoing camera or microphone track without renegotiating. */
  async replaceTrack(kind, track) {
    const sender = this.senders[kind];
    if (sender && !this.closed) await sender.replaceTrack(track);
  }

  async stats() {
    return this.closed ? null : this.pc.getStats();
  }

  close() {
    this.closed = true;
    clearTimeout(this.restartTimer);
    try {
      this.pc.close();
    } catch (_e) {
      // already closed
    }
  }
}

/** Keep only well-formed ICE server entries from the server's list. */
function sanitizeIceServers(list) {
  if (!Array.isArray(list)) return [];
  return list.filter((s) => s && (typeof s.urls === 'string' || Array.isArray(s.urls)));
}
