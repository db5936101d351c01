// hearing-identity.js — the judge confirms identity attestations in the hearing room.
// When a requested-State official's identity attestation is recorded, the court's
// console gets `attested_by` {kind: "identity", participant, subject, method, seq}
// (docs/protocol.md). For the presiding judge this lists "Identity of <witness> attested
// by <official> (<method>)" with a "Confirm identity" button that signs an `identity`
// statement {subject, confirms: seq} with the judge's key (attest.js); the server logs
// it as `identity_attested` by the judge, method "confirmed". On every (re)connection the
// `attestations` message lists them again from the log, confirmed or not, so a reload
// before or after confirming shows the same list.
// Owns hearing.html #identity-confirm, #identity-list, #identity-status. Must never
// offer a confirmation to a role that may not confirm (only the judge), never confirm
// a confirmation, and never put names or server text into markup (textContent only).

import { $, el, setStatus } from './dom.js';
import { t, tSigned } from './i18n.js';

/** What the judge's console knows of one official's identity attestation. */
function attestationOf(data) {
  if (data.kind !== 'identity' || typeof data.participant !== 'string') return null;
  if (typeof data.subject !== 'string' || typeof data.method !== 'string') return null;
  if (!Number.isSafeInteger(data.seq) || data.seq < 0 || data.method === 'confirmed') return null;
  return { official: data.participant, subject: data.subject, method: data.method, seq: data.seq };
}

export class IdentityConfirmations {
  /**
   * @param {{people: Map<string, object>, attestor: import('./attest.js').Attestor,
   *          nameOf: (id: string) => string}} opts
   */
  constructor(opts) {
    this.opts = opts;
    /** @type {Map<number, {official: string, subject: string, method: string, seq: number, state: string}>} */
    this.items = new Map();
    this.role = null;
    this.pending = null;
  }

  /** Our own role, from the `welcome` message. Only the judge confirms. */
  setRole(role) {
    this.role = typeof role === 'string' ? role : null;
    this.render();
  }

  get canConfirm() {
    return this.role === 'judge';
  }

  /** An `attested_by` message: an official's identity attestation to confirm. */
  onAttestedBy(data) {
    const a = attestationOf(data);
    if (!a || this.items.has(a.seq)) return;
    this.items.set(a.seq, { ...a, state: 'open' });
    this.render();
  }

  /**
   * An `attestations` message (on every (re)connection): every official's attestation
   * as the log holds it, confirmed or not. Replaces what we had; a confirmation being
   * signed on the old socket is either in it (confirmed) or was lost (open again).
   */
  onReplay(list) {
    if (!Array.isArray(list)) return;
    this.items = new Map();
    for (const data of list) {
      const a = data && attestationOf({ ...data, kind: 'identity' });
      if (!a) continue;
      const confirmed = data.confirmed !== null && typeof data.confirmed === 'object';
      this.items.set(a.seq, { ...a, state: confirmed ? 'confirmed' : 'open' });
    }
    this.pending = null;
    this.render();
  }

  methodLabel(method) {
    const key = `identity.method_${method}`;
    const label = t(key);
    return label === key ? method : label;
  }

  statementText(item) {
    return tSigned('record.identity_confirm_statement', {
      name: this.opts.nameOf(item.subject),
      official: this.opts.nameOf(item.official),
      method: this.methodLabel(item.method),
    });
  }

  async confirm(item) {
    if (this.pending !== null || item.state !== 'open') return;
    const status = $('#identity-status');
    if (!this.opts.attestor.canSign) {
      setStatus(status, t('attest.no_key'), 'error');
      return;
    }
    this.pending = item.seq;
    item.state = 'signing';
    this.render();
    setStatus(status, t('identity.signing'));
    try {
      await this.opts.attestor.sign('identity', this.statementText(item), { subject: item.subject, confirms: item.seq });
    } catch (_e) {
      this.failed(t('attest.failed'));
    }
  }

  /** The server recorded our `identity` statement. */
  onAttested(kind) {
    if (kind !== 'identity' || this.pending === null) return false;
    const item = this.items.get(this.pending);
    this.pending = null;
    if (item) item.state = 'confirmed';
    this.render();
    setStatus($('#identity-status'), t('record.identity_confirmed_status', { name: item ? this.opts.nameOf(item.subject) : '' }), 'ok');
    const next = $('#identity-list button:not([disabled])');
    if (next) next.focus();
    return true;
  }

  /** A server error while a confirmation is being signed; true when it was ours. */
  failed(text) {
    if (this.pending === null) return false;
    const item = this.items.get(this.pending);
    this.pending = null;
    if (item) item.state = 'open';
    this.render();
    setStatus($('#identity-status'), t('record.identity_confirm_failed', { reason: text }), 'error');
    return true;
  }

  render() {
    const box = $('#identity-confirm');
    if (!box) return;
    const items = [...this.items.values()];
    box.hidden = !this.canConfirm || items.length === 0;
    $('#identity-list').replaceChildren(...items.map((item) => {
      const name = this.opts.nameOf(item.subject);
      const text = t('record.identity_attested_by', {
        name,
        official: this.opts.nameOf(item.official),
        method: this.methodLabel(item.method),
      });
      const li = el('li', { 'data-seq': String(item.seq), 'data-subject': item.subject, 'data-state': item.state },
        el('span', {}, text));
      if (item.state === 'confirmed') {
        li.append(' — ', el('strong', {}, t('record.identity_confirmed')));
      } else {
        li.append(' ', el('button', {
          type: 'button',
          class: 'small',
          'aria-label': t('record.identity_confirm_label', { name }),
          disabled: item.state === 'signing' || this.pending !== null,
          onclick: () => this.confirm(item),
        }, t('record.identity_confirm')));
      }
      return li;
    }));
  }
}
