// join-evidence.js — the evidence steps on the participant's page: the oath dialog
// (witness, interpreter) and the "Attest identity" panel (requested-State official).
// Owns their DOM (join.html #oath-dialog, #identity-panel) and what they sign through
// attest.js. Must never change the oath text the court sent (it is signed exactly as
// shown), and never put names or server text into markup (textContent only).

import { $, el, setStatus } from './dom.js';
import { t, tSigned } from './i18n.js';

/** The modal oath / affirmation dialog: shows the exact text, signs it on consent. */
export class OathDialog {
  /** @param {{attestor: import('./attest.js').Attestor, status: (text: string, kind?: string) => void}} opts */
  constructor(opts) {
    this.opts = opts;
    this.request = null;
    this.dialog = $('#oath-dialog');
    $('#oath-sign').addEventListener('click', () => this.sign());
    $('#oath-later').addEventListener('click', () => this.close());
    this.dialog.addEventListener('cancel', () => {
      this.request = null;
    });
    // Keep Tab inside the dialog (showModal makes the page inert; this also keeps
    // focus off the browser chrome between the first and last control).
    this.dialog.addEventListener('keydown', (ev) => {
      if (ev.key !== 'Tab') return;
      const items = [...this.dialog.querySelectorAll('button:not([disabled]), [tabindex="0"]')];
      if (items.length === 0) return;
      const first = items[0];
      const last = items[items.length - 1];
      if (ev.shiftKey && document.activeElement === first) {
        ev.preventDefault();
        last.focus();
      } else if (!ev.shiftKey && document.activeElement === last) {
        ev.preventDefault();
        first.focus();
      }
    });
  }

  /** An `oath_request` message: {form, text, language, checkpoint}. */
  open(msg) {
    if (!msg || (msg.form !== 'oath' && msg.form !== 'affirmation') || typeof msg.text !== 'string') return;
    this.request = { form: msg.form, text: msg.text, language: msg.language, checkpoint: msg.checkpoint };
    if (typeof msg.language === 'string') $('#oath-text').lang = msg.language;
    $('#oath-title').dataset.i18n = `oath.title_${msg.form}`;
    $('#oath-title').textContent = t(`oath.title_${msg.form}`);
    $('#oath-text').textContent = msg.text;
    $('#oath-sign').dataset.i18n = `oath.sign_${msg.form}`;
    $('#oath-sign').textContent = t(`oath.sign_${msg.form}`);
    $('#oath-sign').disabled = !this.opts.attestor.canSign;
    setStatus($('#oath-status'), this.opts.attestor.canSign ? '' : t('attest.no_key'), this.opts.attestor.canSign ? '' : 'error');
    if (!this.dialog.open) this.dialog.showModal();
    $('#oath-text').focus();
  }

  async sign() {
    const r = this.request;
    if (!r) return;
    $('#oath-sign').disabled = true;
    setStatus($('#oath-status'), t('oath.signing'));
    try {
      // The statement says in which language the signed text is (the court's choice of
      // text follows the language this page shows).
      const extra = typeof r.language === 'string' ? { form: r.form, language: r.language } : { form: r.form };
      await this.opts.attestor.sign('oath', r.text, extra, r.checkpoint);
    } catch (_e) {
      $('#oath-sign').disabled = false;
      setStatus($('#oath-status'), t('attest.failed'), 'error');
    }
  }

  /** The server confirmed: `attested` oath. */
  recorded() {
    this.request = null;
    this.close();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }
}

const METHODS = ['passport', 'id_card', 'other'];

/** The official's panel: which witness, which document, who is present; then sign. */
export class IdentityPanel {
  /** @param {{attestor: import('./attest.js').Attestor, status: (text: string, kind?: string) => void, selfId: string}} opts */
  constructor(opts) {
    this.opts = opts;
    this.witnesses = new Map();
    $('#identity-panel').hidden = false;
    const method = $('#id-method');
    method.replaceChildren(...METHODS.map((m) => el('option', { value: m, 'data-i18n': `identity.method_${m}` }, t(`identity.method_${m}`))));
    $('#identity-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.sign();
    });
  }

  /** A roster entry: witnesses become choices. */
  offer(p) {
    if (!p || p.role !== 'witness' || p.id === this.opts.selfId) return;
    const name = p.display_name || p.id;
    if (this.witnesses.get(p.id) === name) return;
    this.witnesses.set(p.id, name);
    const select = $('#id-subject');
    const keep = select.value;
    select.replaceChildren(...[...this.witnesses].map(([id, n]) => el('option', { value: id }, n)));
    if (keep && this.witnesses.has(keep)) select.value = keep;
  }

  async sign() {
    const st = $('#identity-status');
    const subject = $('#id-subject').value;
    const method = $('#id-method').value;
    const present = $('#id-present').value.trim();
    if (!subject || !this.witnesses.has(subject)) return setStatus(st, t('identity.need_witness'), 'error');
    if (!METHODS.includes(method)) return setStatus(st, t('identity.need_method'), 'error');
    if (!present) {
      $('#id-present').focus();
      return setStatus(st, t('identity.need_present'), 'error');
    }
    const text = tSigned('identity.statement', {
      name: this.witnesses.get(subject),
      document: t(`identity.doc_${method}`),
      present,
    });
    $('#id-sign').disabled = true;
    setStatus(st, t('identity.signing'));
    try {
      await this.opts.attestor.sign('identity', text, { subject, method });
    } catch (_e) {
      $('#id-sign').disabled = false;
      setStatus(st, t('attest.failed'), 'error');
    }
  }

  recorded() {
    $('#id-sign').disabled = false;
    setStatus($('#identity-status'), t('identity.recorded'), 'ok');
  }
}
