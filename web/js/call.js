// call.js — one participant's live session: signalling socket + peer connection.
// Owns the order of the protocol (hello on every (re)open, the first offer once
// admitted, a fresh peer connection after a reconnect) and turns server messages
// into events for the page. Must never decide policy (who may see whom): the server
// does; and never log SDP, tokens or names.

import { Signalling } from './signalling.js';
import { Peer } from './peer.js';

/** How long a failed connection's ICE restart may take before a full reconnect. */
const FAILED_GRACE_MS = 8000;

export class Call {
  /**
   * @param {{path: string, hello: (challenge?: object) => Promise<object>|object,
   *          localStream: () => MediaStream|null,
   *          iceServers?: object[], onEvent: (type: string, data?: any) => void}} opts
   */
  constructor(opts) {
    this.opts = opts;
    this.iceServers = opts.iceServers || [];
    this.peer = null;
    this.startedOnThisSocket = false;
    this.helloSent = false;
    this.chain = Promise.resolve();
    this.signalling = new Signalling(opts.path, {
      onOpen: (n) => this.onOpen(n),
      onMessage: (m) => this.onMessage(m),
      onClose: (info) => this.onClose(info),
    });
  }

  start() {
    this.signalling.start();
  }

  send(msg) {
    this.signalling.send(msg);
  }

  onOpen(n) {
    this.startedOnThisSocket = false;
    this.helloSent = false;
    this.opts.onEvent('open', { reconnected: n > 1 });
  }

  /** hello goes after the server's first message: a challenge (the invitation is bound
   * to this device: hello carries the proof) or the welcome. */
  async sendHello(challenge) {
    if (this.helloSent) return;
    this.helloSent = true;
    this.signalling.send(await this.opts.hello(challenge));
  }

  onClose(info) {
    this.signalling.clearQueue();
    this.closePeer();
    this.opts.onEvent(info.retrying ? 'reconnecting' : 'closed', info);
  }

  closePeer() {
    if (this.peer) {
      this.peer.close();
      this.peer = null;
      this.opts.onEvent('peer_closed');
    }
  }

  async startPeer() {
    if (this.startedOnThisSocket) return;
    this.startedOnThisSocket = true;
    this.closePeer();
    const peer = new Peer({
      iceServers: this.iceServers,
      send: (m) => this.signalling.send(m),
      onStream: (id, stream) => this.opts.onEvent('stream', { id, stream }),
      onStreamGone: (id) => this.opts.onEvent('stream_gone', { id }),
      onState: (state) => {
        this.opts.onEvent('peer_state', state);
        clearTimeout(this.failedTimer);
        // The peer restarts ICE first (a new network); only if the path is still broken
        // after that does the page reconnect from scratch.
        if (state === 'failed' && this.peer === peer) {
          this.failedTimer = setTimeout(() => {
            if (this.peer === peer && peer.pc.connectionState === 'failed') this.restart();
          }, FAILED_GRACE_MS);
        }
      },
      onIceRestart: () => this.opts.onEvent('ice_restart'),
    });
    this.peer = peer;
    try {
      await peer.start(this.opts.localStream());
    } catch (_e) {
      this.opts.onEvent('peer_failed');
    }
  }

  onMessage(msg) {
    switch (msg.type) {
      case 'challenge':
        this.sendHello(msg);
        break;
      case 'welcome':
        this.sendHello(null);
        if (Array.isArray(msg.ice_servers) && msg.ice_servers.length) this.iceServers = msg.ice_servers;
        this.opts.onEvent('welcome', msg);
        if (msg.participant && msg.participant.presence === 'admitted') this.startPeer();
        break;
      case 'admitted':
        this.opts.onEvent('admitted');
        this.startPeer();
        break;
      case 'offer':
      case 'answer':
      case 'candidate':
        if (this.peer) {
          // Serialise SDP and candidates so an offer is never applied mid-answer.
          const peer = this.peer;
          this.chain = this.chain.then(() => peer.handle(msg)).catch((e) => {
            console.warn(`signalling ${msg.type} failed: ${e && e.name}: ${e && e.message}`);
            if (this.peer === peer) this.opts.onEvent('peer_failed');
          });
        }
        break;
      case 'pong':
        break;
      default:
        this.opts.onEvent(msg.type, msg);
    }
  }

  /** Media path failed while signalling lives: reconnect the socket, which makes the
   * server send welcome + admitted again, and a fresh peer connection follows. */
  restart() {
    const ws = this.signalling.ws;
    if (ws && ws.readyState === WebSocket.OPEN) ws.close(1000, 'media failed');
  }

  /** Tell the court whether our own mic / camera are on. */
  mediaState(audio, video) {
    this.signalling.send({ type: 'media_state', audio: !!audio, video: !!video });
  }

  async replaceTrack(kind, track) {
    if (this.peer) await this.peer.replaceTrack(kind, track);
  }

  stats() {
    return this.peer ? this.peer.stats() : Promise.resolve(null);
  }

  stop() {
    clearTimeout(this.failedTimer);
    this.signalling.stop();
    this.closePeer();
  }
}
