// exhibit.js — showing an exhibit (docs/protocol.md `exhibit_offer`): a participant the
// policy allows shares a screen or a window; the page sends it on a second, send-only
// peer connection; the server forwards it to everyone and records it as its own file,
// logged as exhibit N. Every page shows the exhibits being shown as extra tiles
// ("Exhibit N, shown by …").

import { $ } from './dom.js';
import { t } from './i18n.js';

/** Roles the policy lets show exhibits (src/domain/policy.rs ShowExhibit). */
const MAY_SHOW = ['judge', 'clerk', 'prosecutor', 'defence', 'counsel'];

export class Exhibits {
  /**
   * @param {{role: () => string, selfId: () => string|null, send: (m: object) => void,
   *          iceServers: () => object[], grid: object, nameOf: (id: string) => string}} opts
   */
  constructor(opts) {
    this.opts = opts;
    this.pc = null;
    this.stream = null;
    this.shown = [];
    const b = $('#exhibit-toggle');
    if (b) b.addEventListener('click', () => (this.pc ? this.stop() : this.start()));
    this.render();
  }

  /** Stream ids of the exhibits being shown (kept in the grid with the participants). */
  ids() {
    return new Set(this.shown.map((e) => e.stream));
  }

  async start() {
    const status = $('#exhibit-status');
    status.textContent = '';
    try {
      this.stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch (e) {
      status.textContent = t('exhibit.cancelled');
      return;
    }
    const track = this.stream.getVideoTracks()[0];
    if (!track) return;
    track.addEventListener('ended', () => this.stop());
    this.pc = new RTCPeerConnection({ iceServers: this.opts.iceServers() });
    this.pc.addTransceiver(track, { direction: 'sendonly', streams: [this.stream] });
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    this.opts.send({ type: 'exhibit_offer', sdp: this.pc.localDescription.sdp });
    this.render();
  }

  stop() {
    if (!this.pc) return;
    this.opts.send({ type: 'exhibit_stop' });
    this.pc.close();
    this.pc = null;
    if (this.stream) for (const tr of this.stream.getTracks()) tr.stop();
    this.stream = null;
    this.render();
  }

  /** Handles a socket event; true if it was this module's. */
  onEvent(type, data) {
    if (type === 'exhibit_answer') {
      if (this.pc) this.pc.setRemoteDescription({ type: 'answer', sdp: data.sdp }).catch(() => this.stop());
      return true;
    }
    if (type === 'exhibits') {
      this.shown = Array.isArray(data.exhibits) ? data.exhibits : [];
      const ids = this.ids();
      for (const e of this.shown) {
        if (e.participant === this.opts.selfId()) continue; // one's own screen is on one's screen
        const tile = this.opts.grid.update({ id: e.stream, display_name: t('exhibit.tile', { n: e.number, name: this.opts.nameOf(e.participant) }), role: 'exhibit' });
        tile.node.classList.add('exhibit'); // a document is shown whole, never cropped
      }
      for (const id of [...this.opts.grid.tiles.keys()]) {
        if (/-x\d+$/.test(id) && !ids.has(id)) this.opts.grid.remove(id);
      }
      return true;
    }
    if (type === 'error' && data.code === 'too_many_exhibits') {
      $('#exhibit-status').textContent = String(data.message || '');
      this.stop();
      return true;
    }
    return false;
  }

  render() {
    const b = $('#exhibit-toggle');
    if (!b) return;
    b.hidden = !MAY_SHOW.includes(this.opts.role());
    b.textContent = t(this.pc ? 'exhibit.stop' : 'exhibit.show');
    b.setAttribute('aria-pressed', String(!!this.pc));
  }
}
