// interpret.js — interpretation channels (docs/protocol.md `interpretation_offer`).
//
// Every page: a "Listen to" choice between the floor (what is said in the hearing) and
// each language a channel is published in; by default the participant's own language
// when a channel exists in it. Every channel arrives at every page as a remote audio
// stream `<interpreter>-i<N>`; the page plays the one on air for the chosen language and
// turns the floor down (the original stays faintly audible, as in a booth). A handover
// between two interpreters changes only which received stream plays: no gap.
//
// An interpreter's page also publishes: a language, "Interpret" (a second, send-only
// connection carrying a copy of their microphone; their floor microphone is muted while
// they interpret), "Take over" when a colleague is on air, and the relay: they listen to
// another channel like anyone else.

import { $, el } from './dom.js';
import { t, language, languageName, LANGUAGES } from './i18n.js';

/** The volume of the floor under a chosen interpretation. */
const FLOOR_UNDER = 0.15;
const CHANNEL_ID = /-i\d+$/;

export class Interpretation {
  /**
   * @param {{role: () => string, send: (m: object) => void, iceServers: () => object[],
   *          selfId: () => string, grid: object, nameOf: (id: string) => string,
   *          micTrack: () => MediaStreamTrack|null,
   *          floorMic: (on: boolean) => void}} opts
   */
  constructor(opts) {
    this.opts = opts;
    this.floor = null;
    this.channels = [];
    this.choice = null; // null: the default (own language if it has a channel, else floor)
    this.pc = null;
    this.track = null;
    this.mine = null; // my channel's stream id, once the server lists it
    this.floorWasOn = false;
    this.audio = new Map(); // stream id -> <audio>
    this.build();
  }

  /** True for the stream id of an interpretation channel. */
  static isChannel(id) {
    return CHANNEL_ID.test(String(id));
  }

  build() {
    const box = $('#interp');
    if (!box) return;
    const langs = Object.keys(LANGUAGES);
    this.listen = el('select', { id: 'listen-select' });
    this.langSelect = el('select', { id: 'interp-lang' },
      ...langs.map((l) => el('option', { value: l, lang: l }, LANGUAGES[l])));
    this.toggle = el('button', { id: 'interp-toggle', type: 'button', class: 'secondary', 'aria-pressed': 'false' });
    this.take = el('button', { id: 'interp-take', type: 'button', hidden: true, 'data-i18n': 'interp.take' }, t('interp.take'));
    this.status = el('p', { id: 'interp-status', class: 'status', role: 'status', 'aria-live': 'polite' });
    this.sounds = el('div', { id: 'interp-audio', hidden: true });
    this.listenField = el('div', { class: 'field', id: 'listen-field', hidden: true },
      el('label', { for: 'listen-select', 'data-i18n': 'interp.listen' }, t('interp.listen')), this.listen);
    const mayInterpret = this.opts.role() === 'interpreter';
    this.booth = el('div', { class: 'field interp-booth', hidden: !mayInterpret },
      el('label', { for: 'interp-lang', 'data-i18n': 'interp.into' }, t('interp.into')),
      this.langSelect, this.toggle, this.take);
    box.replaceChildren(this.listenField, this.booth, this.status, this.sounds);
    box.hidden = false;
    if (Object.hasOwn(LANGUAGES, language())) this.langSelect.value = language();
    this.listen.addEventListener('change', () => { this.choice = this.listen.value; this.apply(); });
    this.toggle.addEventListener('click', () => (this.pc ? this.stop() : this.start()));
    this.take.addEventListener('click', () => this.opts.send({ type: 'interpretation_take' }));
    this.render();
  }

  /** A remote stream: an interpretation channel plays through its own element. */
  attach(id, stream) {
    if (!Interpretation.isChannel(id)) return false;
    let a = this.audio.get(id);
    if (!a) {
      a = el('audio', { autoplay: true, dataset: { channel: id } });
      this.audio.set(id, a);
      if (this.sounds) this.sounds.append(a);
    }
    if (a.srcObject !== stream) a.srcObject = stream;
    a.play().catch(() => {});
    this.apply();
    return true;
  }

  detach(id) {
    const a = this.audio.get(id);
    if (!a) return false;
    a.srcObject = null;
    a.remove();
    this.audio.delete(id);
    return true;
  }

  /** Retry playing after a user gesture (autoplay policy). */
  resume() {
    for (const a of this.audio.values()) if (a.srcObject) a.play().catch(() => {});
  }

  async start() {
    const mic = this.opts.micTrack();
    if (!mic) {
      this.status.textContent = t('interp.no_mic');
      return;
    }
    this.track = mic.clone();
    this.track.enabled = true;
    this.pc = new RTCPeerConnection({ iceServers: this.opts.iceServers() });
    this.pc.addTransceiver(this.track, { direction: 'sendonly', streams: [new MediaStream([this.track])] });
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    this.opts.send({ type: 'interpretation_offer', sdp: this.pc.localDescription.sdp, language: this.langSelect.value });
    this.floorWasOn = true;
    this.opts.floorMic(false);
    this.render();
  }

  stop(tell = true) {
    if (!this.pc) return;
    if (tell) this.opts.send({ type: 'interpretation_stop' });
    this.pc.close();
    this.pc = null;
    if (this.track) this.track.stop();
    this.track = null;
    this.mine = null;
    if (this.floorWasOn) this.opts.floorMic(true);
    this.floorWasOn = false;
    this.render();
  }

  /** Handles a socket event; true if it was this module's. */
  onEvent(type, data) {
    if (type === 'interpretation_answer') {
      if (this.pc) this.pc.setRemoteDescription({ type: 'answer', sdp: data.sdp }).catch(() => this.stop());
      return true;
    }
    if (type === 'interpretation') {
      this.floor = typeof data.floor === 'string' ? data.floor : null;
      this.channels = Array.isArray(data.channels) ? data.channels.filter((c) => c && typeof c.stream === 'string') : [];
      const mine = this.pc ? this.channels.find((c) => c.participant === this.opts.selfId()) : null;
      this.mine = mine ? mine.stream : null;
      for (const id of [...this.audio.keys()]) if (!this.channels.some((c) => c.stream === id)) this.detach(id);
      this.render();
      return true;
    }
    if (type === 'error' && (data.code === 'too_many_channels' || data.code === 'bad_language')) {
      this.stop(false);
      this.status.textContent = String(data.message || '');
      return true;
    }
    return false;
  }

  /** Languages with a channel on air, in the order of the page's language list. */
  languages() {
    return Object.keys(LANGUAGES).filter((l) => this.channels.some((c) => c.language === l && c.on_air));
  }

  /** The language listened to, or 'floor'. */
  listening() {
    const langs = this.languages();
    if (this.choice && (this.choice === 'floor' || langs.includes(this.choice))) return this.choice;
    return langs.includes(language()) ? language() : 'floor';
  }

  render() {
    if (!this.listen) return;
    const langs = this.languages();
    const floorName = this.floor ? languageName(this.floor) : null;
    this.listen.replaceChildren(
      el('option', { value: 'floor' }, floorName ? t('interp.floor_in', { language: floorName }) : t('interp.floor')),
      ...langs.map((l) => el('option', { value: l, lang: l }, LANGUAGES[l])));
    this.listen.value = this.listening();
    this.listenField.hidden = langs.length === 0;
    this.toggle.textContent = t(this.pc ? 'interp.stop' : 'interp.start');
    this.toggle.dataset.i18n = this.pc ? 'interp.stop' : 'interp.start';
    this.toggle.setAttribute('aria-pressed', String(Boolean(this.pc)));
    this.langSelect.disabled = Boolean(this.pc);
    const mine = this.channels.find((c) => c.stream === this.mine);
    this.take.hidden = !mine || mine.on_air;
    if (mine) {
      const onAir = this.channels.find((c) => c.language === mine.language && c.on_air);
      this.status.textContent = mine.on_air
        ? t('interp.on_air', { language: languageName(mine.language) })
        : t('interp.standing_by', { name: onAir ? this.opts.nameOf(onAir.participant) : '' });
      this.status.dataset.state = mine.on_air ? 'on_air' : 'standing_by';
    } else if (!this.pc) {
      delete this.status.dataset.state;
    }
    this.apply();
  }

  /** Plays the chosen language's channel on air, or the floor alone. */
  apply() {
    const chosen = this.listening();
    const playing = this.channels.find((c) => c.language === chosen && c.on_air);
    for (const [id, a] of this.audio) a.muted = !playing || playing.stream !== id;
    const floor = playing ? FLOOR_UNDER : 1;
    for (const tile of this.opts.grid.tiles.values()) if (tile.audio) tile.audio.volume = floor;
    if (this.sounds) this.sounds.dataset.listening = chosen;
  }
}
