// video-grid.js — the grid of participant tiles: video, name, role, connection state
// and mute badges. Owns the <video>/<audio> elements it creates; remote audio plays
// through a separate <audio> element so that videos can always autoplay muted.
// Must never render names as HTML and never touch the peer connection.

import { el } from './dom.js';

export class VideoGrid {
  /**
   * @param {HTMLElement} container
   * @param {{role: (r: string) => string, connection: (c: string) => string,
   *          muted: () => string, waitingVideo: () => string, you: () => string,
   *          onAudioBlocked?: () => void}} labels
   */
  constructor(container, labels) {
    this.container = container;
    this.labels = labels;
    this.tiles = new Map();
  }

  tile(id, self = false) {
    let t = this.tiles.get(id);
    if (t) return t;
    const video = el('video', { autoplay: true, playsinline: true, dataset: { participant: id } });
    video.muted = true;
    const placeholder = el('div', { class: 'placeholder' }, this.labels.waitingVideo());
    const name = el('span', { class: 'name' });
    const role = el('span', { class: 'role' });
    const muted = el('span', { class: 'badge muted', hidden: true }, this.labels.muted());
    const conn = el('span', { class: 'badge conn', hidden: true });
    // Their link as the server measures it (court consoles: `link_quality`).
    const link = el('span', { class: 'badge link', hidden: true });
    // Their downlink cannot carry video: they receive audio only (`audio_only_of`).
    const audioOnly = el('span', { class: 'badge audio-only poor', hidden: true });
    const caption = el('div', { class: 'caption' }, name, role, muted, conn, link, audioOnly);
    const node = el('figure', { class: self ? 'tile self' : 'tile', dataset: { participant: id }, role: 'group' }, video, placeholder, caption);
    const audio = self ? null : el('audio', { autoplay: true, dataset: { participant: id } });
    if (audio) node.append(audio);
    t = { id, self, node, video, audio, placeholder, name, role, muted, conn, link, audioOnly, stream: null };
    this.tiles.set(id, t);
    this.container.append(node);
    return t;
  }

  /** Create or refresh the tile of a participant (protocol.md `participant`). */
  update(p, self = false) {
    const t = this.tile(p.id, self);
    const name = self ? `${p.display_name || ''} (${this.labels.you()})` : p.display_name || '';
    t.name.textContent = name;
    t.role.textContent = this.labels.role(p.role);
    t.node.setAttribute('aria-label', `${name}, ${this.labels.role(p.role)}`);
    t.muted.hidden = !(p.audio_muted || p.muted_by_court);
    const showConn = !self && p.connection && p.connection !== 'connected';
    t.conn.hidden = !showConn;
    if (showConn) t.conn.textContent = this.labels.connection(p.connection);
    return t;
  }

  /** Shows a participant's link quality (`level` good/fair/poor/unknown) on their tile. */
  setLink(id, level, text) {
    const t = this.tiles.get(id);
    if (!t || !t.link) return;
    t.link.hidden = false;
    t.link.className = `badge link ${level}`;
    t.link.dataset.level = level;
    t.link.textContent = text;
  }

  /** Marks a participant who receives audio only (their downlink cannot carry video). */
  setAudioOnly(id, on, text) {
    const t = this.tiles.get(id);
    if (!t || !t.audioOnly) return;
    t.audioOnly.hidden = !on;
    t.audioOnly.textContent = text;
  }

  attach(id, stream, self = false) {
    const t = this.tile(id, self);
    if (t.stream === stream && t.video.srcObject === stream) return;
    t.stream = stream;
    t.video.srcObject = stream;
    t.video.play().catch(() => {});
    const hasVideo = () => stream.getVideoTracks().some((tr) => tr.readyState === 'live');
    t.placeholder.hidden = hasVideo();
    t.video.addEventListener('loadeddata', () => { t.placeholder.hidden = true; }, { once: true });
    if (t.audio) {
      t.audio.srcObject = stream;
      t.audio.play().catch((e) => {
        if (e && e.name === 'NotAllowedError' && this.labels.onAudioBlocked) this.labels.onAudioBlocked();
      });
    }
  }

  /** Retry playing remote audio after a user gesture (autoplay policy). */
  resumeAudio() {
    for (const t of this.tiles.values()) if (t.audio && t.audio.srcObject) t.audio.play().catch(() => {});
  }

  detach(id) {
    const t = this.tiles.get(id);
    if (!t) return;
    t.video.srcObject = null;
    if (t.audio) t.audio.srcObject = null;
    t.placeholder.hidden = false;
  }

  remove(id) {
    const t = this.tiles.get(id);
    if (!t) return;
    this.detach(id);
    t.node.remove();
    this.tiles.delete(id);
  }

  /** Keep only these ids (plus self tiles). */
  retain(ids) {
    for (const [id, t] of this.tiles) if (!t.self && !ids.has(id)) this.remove(id);
  }

  /** Refresh label text after a language change. */
  relabel() {
    for (const t of this.tiles.values()) {
      t.placeholder.textContent = this.labels.waitingVideo();
      t.muted.textContent = this.labels.muted();
    }
  }
}
