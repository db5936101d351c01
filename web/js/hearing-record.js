// hearing-record.js — the judge's side of the evidence record in the hearing room:
// administering the oath, the record panel (who attested what), the judge's
// confirmation of identity attestations (hearing-identity.js), recording-degraded
// warnings, the minutes (draft shown in a sandboxed frame, signed, then the hearing
// closed) and the sealing progress, after which the grants panel is mounted. What it
// shows of the record is rebuilt from the log's `attestations` message on every
// (re)connection, so a reload loses nothing.
// Owns hearing.html #record-*, #degraded, #minutes-panel, #seal-panel. Must never
// run the minutes HTML as a script (sandboxed frame without allow-scripts), never
// sign minutes other than the exact bytes received, and never put names or server
// text into markup (textContent only).

import { api, messageFor } from './api.js';
import { $, el, setStatus } from './dom.js';
import { t, tSigned } from './i18n.js';
import { IdentityConfirmations } from './hearing-identity.js';

const OATH_ROLES = new Set(['witness', 'interpreter']);

export class RecordPanel {
  /**
   * @param {{base: string, hearingId: string, people: Map<string, object>,
   *          send: (msg: object) => void, attestor: import('./attest.js').Attestor,
   *          status: (text: string, kind?: string) => void, onClosed: (hearing: object) => void}} opts
   */
  constructor(opts) {
    this.opts = opts;
    this.events = [];
    this.cosigns = 0;
    this.degraded = new Set();
    this.draft = null;
    this.polling = false;
    this.granted = false;
    this.identity = new IdentityConfirmations({ people: opts.people, attestor: opts.attestor, nameOf: (id) => this.nameOf(id) });
    $('#minutes-sign').addEventListener('click', () => this.signMinutes());
    $('#minutes-cancel').addEventListener('click', () => this.hideMinutes());
  }

  nameOf(id) {
    const p = this.opts.people.get(id);
    return (p && p.display_name) || t('record.someone');
  }

  /** Signalling events the record cares about; returns true when handled. */
  onEvent(type, data) {
    switch (type) {
      case 'welcome':
        // Also handled by hearing.js: only note our role here.
        if (data.participant) this.identity.setRole(data.participant.role);
        return false;
      case 'checkpoint':
        this.opts.attestor.onCheckpoint(data.checkpoint);
        return true;
      case 'attested_by':
        if (typeof data.kind === 'string' && typeof data.participant === 'string') {
          if (data.kind === 'cosign') this.cosigns += 1;
          else this.events.push({ kind: data.kind, participant: data.participant, at: new Date() });
          this.identity.onAttestedBy(data);
          this.render();
        }
        return true;
      case 'attestations':
        this.onReplay(data);
        return true;
      case 'recording':
        if (typeof data.participant === 'string') {
          if (data.state === 'degraded') this.degraded.add(data.participant);
          else this.degraded.delete(data.participant);
          this.render();
        }
        return true;
      case 'minutes_draft':
        this.showMinutes(data);
        return true;
      case 'attested':
        if (!this.identity.onAttested(data.kind)) this.onAttested(data.kind);
        return true;
      default:
        return false;
    }
  }

  /**
   * An `attestations` message (on every (re)connection): the record as the log holds
   * it replaces ours. Our own identity statements are confirmations, shown in the
   * identity list rather than here (as when they are made live).
   */
  onReplay(data) {
    if (!Array.isArray(data.statements)) return;
    const self = this.opts.attestor.opts.participantId();
    this.events = data.statements
      .filter((s) => s && typeof s.kind === 'string' && typeof s.participant === 'string')
      .filter((s) => !(s.kind === 'identity' && s.participant === self))
      .map((s) => {
        const at = new Date(s.time);
        return { kind: s.kind, participant: s.participant, at: Number.isNaN(at.getTime()) ? new Date() : at };
      });
    this.cosigns = Number.isSafeInteger(data.cosigns) && data.cosigns >= 0 ? data.cosigns : 0;
    this.identity.onReplay(data.identities);
    this.render();
  }

  render() {
    const list = $('#record-list');
    const known = ['identity', 'oath', 'closing', 'minutes', 'minutes_html'];
    list.replaceChildren(...this.events.filter((e) => known.includes(e.kind)).map((e) => el('li', { 'data-kind': e.kind, 'data-participant': e.participant },
      el('time', { datetime: e.at.toISOString() }, e.at.toLocaleTimeString(document.documentElement.lang || undefined)), ' ',
      t(`record.attested_${e.kind}`, { name: this.nameOf(e.participant) }))));
    $('#record-empty').hidden = list.children.length > 0;
    $('#record-cosigns').textContent = t('record.cosigns', { n: this.cosigns });
    const warn = $('#degraded');
    warn.hidden = this.degraded.size === 0;
    warn.replaceChildren(...[...this.degraded].map((id) => el('p', {}, t('record.degraded', { name: this.nameOf(id) }))));
    this.renderOath();
    this.identity.render();
  }

  /** One row per admitted witness / interpreter: form select + Administer. */
  renderOath() {
    const list = $('#oath-list');
    const takers = [...this.opts.people.values()].filter((p) => OATH_ROLES.has(p.role) && p.presence === 'admitted');
    const sig = JSON.stringify(takers.map((p) => [p.id, p.display_name, p.role, document.documentElement.lang]));
    if (sig === this.oathSig) return;
    this.oathSig = sig;
    list.replaceChildren(...takers.map((p) => {
      const selectId = `oath-form-${p.id}`;
      const select = el('select', { id: selectId },
        el('option', { value: 'oath' }, t('record.form_oath')),
        el('option', { value: 'affirmation' }, t('record.form_affirmation')));
      const button = el('button', { type: 'button', class: 'small', onclick: () => this.administer(p, select.value) }, t('record.administer'));
      return el('li', { 'data-participant': p.id },
        el('span', { class: 'name' }, p.display_name || ''), ' ',
        el('label', { for: selectId, class: 'visually-hidden' }, t('record.form')), select, ' ', button);
    }));
    $('#oath-empty').hidden = takers.length > 0;
  }

  administer(p, form) {
    this.opts.send({ type: 'start_oath', participant: p.id, form });
    this.opts.status(t('record.oath_sent', { name: p.display_name || '' }), 'ok');
  }

  /** End hearing: ask the server for the minutes drafted from the log. */
  requestMinutes() {
    setStatus($('#minutes-status'), t('minutes.requesting'));
    this.opts.send({ type: 'request_minutes' });
  }

  showMinutes(msg) {
    if (typeof msg.html !== 'string' || typeof msg.sha256 !== 'string') return;
    this.draft = { html: msg.html, sha256: msg.sha256, checkpoint: msg.checkpoint };
    const frame = $('#minutes-frame');
    frame.setAttribute('sandbox', '');
    frame.srcdoc = msg.html;
    $('#minutes-panel').hidden = false;
    const can = this.opts.attestor.canSign;
    $('#minutes-sign').disabled = !can;
    setStatus($('#minutes-status'), can ? '' : t('minutes.no_key'), can ? '' : 'error');
    $('#minutes-title').focus();
  }

  hideMinutes() {
    $('#minutes-panel').hidden = true;
    this.draft = null;
  }

  async signMinutes() {
    const d = this.draft;
    if (!d) return;
    $('#minutes-sign').disabled = true;
    setStatus($('#minutes-status'), t('minutes.signing'));
    try {
      await this.opts.attestor.sign('minutes', tSigned('minutes.statement'), { minutes_sha256: d.sha256 }, d.checkpoint);
    } catch (e) {
      $('#minutes-sign').disabled = false;
      setStatus($('#minutes-status'), t('attest.failed'), 'error');
    }
  }

  /** The minutes statement / the signed HTML were accepted: continue the close flow. */
  async onAttested(kind) {
    const d = this.draft;
    if (kind === 'cosign') {
      // Our own co-signature counts too (the log's count, as `attestations` gives it).
      this.cosigns += 1;
      this.render();
    } else if (kind === 'minutes' && d) {
      const self = this.opts.attestor.opts.participantId();
      if (self) this.events.push({ kind: 'minutes', participant: self, at: new Date() });
      this.render();
      const signature = await this.opts.attestor.signText(d.html);
      this.opts.send({ type: 'minutes_signature', signature });
    } else if (kind === 'minutes_html' && d) {
      setStatus($('#minutes-status'), t('minutes.closing'));
      try {
        const hearing = await api.post(`${this.opts.base}/close`);
        this.hideMinutes();
        this.opts.onClosed(hearing);
        this.pollSeal();
      } catch (e) {
        $('#minutes-sign').disabled = false;
        setStatus($('#minutes-status'), messageFor(e), 'error');
      }
    }
  }

  /** A server error while the minutes are being signed. */
  failed(text) {
    if (this.identity.failed(text)) return true;
    if ($('#minutes-panel').hidden) return false;
    $('#minutes-sign').disabled = !this.opts.attestor.canSign;
    setStatus($('#minutes-status'), text, 'error');
    return true;
  }

  /** Poll the hearing until its record is sealed, then offer the grants panel. */
  async pollSeal() {
    if (this.polling) return;
    this.polling = true;
    $('#seal-panel').hidden = false;
    for (;;) {
      let h = null;
      try {
        h = await api.get(this.opts.base);
      } catch (_e) {
        // transient: try again
      }
      const rec = h && h.record;
      if (rec && typeof rec.stage === 'string') {
        const p = Math.min(1, Math.max(0, Number(rec.progress) || 0));
        const bar = $('#seal-progress');
        bar.value = rec.stage === 'sealed' ? 1 : p;
        bar.dataset.stage = rec.stage;
        $('#seal-stage').textContent = t(`seal.stage_${rec.stage}`);
        if (rec.stage === 'sealed') break;
        // A rehearsal keeps nothing: no bundle, no grants to offer.
        if (rec.stage === 'discarded') { this.polling = false; return; }
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    this.polling = false;
    await this.mountGrants();
  }

  async mountGrants() {
    if (this.granted) return;
    this.granted = true;
    try {
      const { mountGrants } = await import('./grants.js');
      $('#grants-section').hidden = false;
      mountGrants($('#grants'), this.opts.hearingId);
    } catch (_e) {
      this.granted = false;
    }
  }
}
