// rights.js — the witness's rights panel (docs/protocol.md "Witness's rights"), on the
// judge's console and on every participant's page: the statement of rights as the court
// read it, the claims of privilege and objections awaiting a ruling, and the rulings.
// The judge reads the rights and rules (upheld / overruled, with a reason); the witness
// and their counsel claim a privilege, the prosecution and the defence object, each with
// the ground in their words. Owns the #rights-* nodes of console and join pages. The
// server decides who may (src/domain/rights.rs); this only offers each role its part.
// Never builds markup from server or participant text (textContent only).

import { $, el, setStatus } from './dom.js';
import { t, LANGUAGES } from './i18n.js';

const RAISES = { witness: 'claim', counsel: 'claim', prosecutor: 'object', defence: 'object' };
// The statement of rights exists in every page language (src/hearing/rights_text.rs).
const LANGS = Object.keys(LANGUAGES);
// Refusals a rights request can get (docs/protocol.md).
const CODES = new Set(['forbidden', 'bad_text', 'unknown_matter', 'too_many_pending', 'not_admitted', 'not_recording', 'bad_request']);

export class RightsPanel {
  /**
   * @param {{send: (msg: object) => void, role: string, nameOf: (id: string) => string,
   *          language?: string}} opts
   */
  constructor(opts) {
    this.opts = opts;
    this.state = { explained: null, pending: [], rulings: [] };
    this.busy = false;
    this.judge = opts.role === 'judge';
    this.raise = RAISES[opts.role] || null;
    const form = $('#rights-form');
    if (form) form.hidden = !this.raise;
    if (this.raise) {
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        const ground = $('#rights-ground').value.trim();
        if (!ground) {
          setStatus($('#rights-status'), t('rights.ground_needed'), 'error');
          $('#rights-ground').focus();
          return;
        }
        this.ask(this.raise, { text: ground });
      });
    }
    const explain = $('#rights-explain');
    if (explain) {
      $('#rights-explain-row').hidden = !this.judge;
      const lang = $('#rights-lang');
      lang.replaceChildren(...LANGS.map((l) => el('option', { value: l, lang: l }, LANGUAGES[l])));
      const primary = String(opts.language || 'en').split('-')[0].toLowerCase();
      lang.value = LANGS.includes(primary) ? primary : 'en';
      this.langChosen = false;
      lang.addEventListener('change', () => { this.langChosen = true; });
      explain.addEventListener('click', () => this.ask('explain', { language: lang.value }));
    }
    this.render();
  }

  /** The witness's language (their page's): the rights are read in it unless the judge
   * chose another. */
  suggestLanguage(language) {
    const lang = $('#rights-lang');
    if (lang && !this.langChosen && LANGS.includes(language)) lang.value = language;
  }

  ask(act, extra = {}) {
    this.busy = true;
    setStatus($('#rights-status'), '');
    this.opts.send({ type: 'rights', act, ...extra });
  }

  /** Handles a socket event; true if it was the panel's. */
  onEvent(type, data) {
    if (type === 'rights') {
      this.state = {
        explained: data.explained || null,
        pending: Array.isArray(data.pending) ? data.pending : [],
        rulings: Array.isArray(data.rulings) ? data.rulings : [],
      };
      $('#rights-section').hidden = false;
      this.render();
      return true;
    }
    if (type === 'rights_done') {
      this.busy = false;
      const n = { number: String(data.number ?? '') };
      const done = { explain: 'rights.explained_done', claim: 'rights.claimed', object: 'rights.objected', rule: 'rights.ruled_done' };
      if (data.act === 'claim' || data.act === 'object') $('#rights-ground').value = '';
      if (done[data.act]) setStatus($('#rights-status'), t(done[data.act], n), 'ok');
      return true;
    }
    if (type === 'error' && this.busy && CODES.has(data.code)) {
      this.busy = false;
      setStatus($('#rights-status'), t('rights.refused', { reason: String(data.message || data.code || '') }), 'error');
      return true;
    }
    return false;
  }

  matterText(m) {
    return t('rights.matter', {
      number: String(m.number),
      kind: t(m.kind === 'objection' ? 'rights.kind_objection' : 'rights.kind_privilege'),
      name: this.opts.nameOf(m.by),
      ground: String(m.ground || ''),
    });
  }

  render() {
    const s = this.state;
    $('#rights-text').textContent = s.explained ? s.explained.text : t('rights.not_read');
    $('#rights-text').classList.toggle('empty', !s.explained);
    if (s.explained) $('#rights-text').setAttribute('lang', s.explained.language);
    const pending = s.pending.map((m) => {
      const li = el('li', { dataset: { number: String(m.number), kind: m.kind } }, el('p', {}, this.matterText(m)));
      if (this.judge) {
        const id = `rights-reason-${m.number}`;
        const reason = el('input', { id, maxlength: '1000', autocomplete: 'off' });
        const rule = (upheld) => {
          const text = reason.value.trim();
          if (!text) {
            setStatus($('#rights-status'), t('rights.reason_needed'), 'error');
            reason.focus();
            return;
          }
          this.ask('rule', { number: m.number, upheld, text });
        };
        li.append(
          el('div', { class: 'field' }, el('label', { for: id }, t('rights.reason')), reason),
          el('div', { class: 'actions' },
            el('button', { type: 'button', class: 'small', dataset: { rule: 'upheld' }, onclick: () => rule(true) }, t('rights.uphold')),
            el('button', { type: 'button', class: 'small secondary', dataset: { rule: 'overruled' }, onclick: () => rule(false) }, t('rights.overrule'))),
        );
      }
      return li;
    });
    // Keep what the judge is typing in a reason when the list is redrawn.
    const typed = new Map([...document.querySelectorAll('#rights-pending input')].map((i) => [i.id, i.value]));
    $('#rights-pending').replaceChildren(...pending);
    for (const [id, v] of typed) if ($(`#${id}`)) $(`#${id}`).value = v;
    $('#rights-pending-empty').hidden = pending.length > 0;
    const rulings = s.rulings.slice().reverse().map((r) => el('li', {
      dataset: { number: String(r.number), ruling: r.upheld ? 'upheld' : 'overruled' },
    },
    el('p', {}, this.matterText(r)),
    el('p', { class: r.upheld ? 'ok' : 'error' }, t(r.upheld ? 'rights.ruled_upheld' : 'rights.ruled_overruled', {
      number: String(r.number), reason: String(r.reason || ''),
    }))));
    $('#rights-rulings').replaceChildren(...rulings);
    $('#rights-rulings-empty').hidden = rulings.length > 0;
    if (this.raise) {
      const claim = this.raise === 'claim';
      $('#rights-form-title').textContent = t(claim ? 'rights.claim_title' : 'rights.object_title');
      $('#rights-form-hint').textContent = t(claim ? 'rights.claim_hint' : 'rights.object_hint');
      $('#rights-submit').textContent = t(claim ? 'rights.claim_submit' : 'rights.object_submit');
    }
  }
}
