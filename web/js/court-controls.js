// court-controls.js — the judge's controls of the hearing (docs/protocol.md `court`):
// lock the waiting room, mute everyone, declare a recess and resume (with reasons),
// mark a moment. Each is one `court` message on the console's socket; the server decides
// (src/domain/court.rs), logs it and tells everyone the new state, which this panel shows.

import { $, el, setStatus } from './dom.js';
import { t } from './i18n.js';

/** The panel's controls, built once into `#court-section` (hearing.html and join.html
 * both hold the empty section). Texts come from the catalogue and follow the language. */
function buildPanel(section) {
  const tr = (tag, key, attrs = {}) => el(tag, { ...attrs, 'data-i18n': key }, t(key));
  const button = (id, attrs = {}) => el('button', { id, type: 'button', class: 'secondary', ...attrs });
  const field = (id, key) => el('div', { class: 'field' },
    tr('label', key, { for: id }), el('input', { id, maxlength: 500, autocomplete: 'off' }));
  section.replaceChildren(
    tr('h2', 'court.title', { id: 'court-title' }),
    el('p', {}, el('span', { id: 'court-state', class: 'badge', role: 'status', 'aria-live': 'polite' })),
    el('div', { id: 'court-conduct' },
      el('div', { class: 'actions' },
        button('court-lock', { 'aria-pressed': 'false' }),
        tr('button', 'court.mute_all', { id: 'court-mute-all', type: 'button', class: 'secondary' })),
      field('court-reason', 'court.reason'),
      button('court-recess'),
      el('div', { id: 'consult-requests', class: 'consult' }),
      el('p', { id: 'consult-state', hidden: true }),
      tr('button', 'consult.end', { id: 'consult-end', type: 'button', class: 'secondary', hidden: true })),
    el('p', { id: 'court-delegation', hidden: true }),
    tr('button', 'court.end_delegation', { id: 'court-end-delegation', type: 'button', class: 'secondary', hidden: true }),
    field('court-label', 'court.label'),
    tr('button', 'court.mark', { id: 'court-mark', type: 'button', class: 'secondary' }),
    el('p', { id: 'court-status', class: 'status', role: 'status', 'aria-live': 'polite' }));
}

export class CourtControls {
  /**
   * @param {{send: (msg: object) => void, nameOf: (id: string) => string,
   *          selfId: () => string|null, isJudge: boolean}} opts
   * The judge conducts always; a clerk marks always and conducts while the judge has
   * delegated the conduct to them (src/domain/court.rs).
   */
  constructor(opts) {
    this.send = opts.send;
    this.nameOf = opts.nameOf;
    this.selfId = opts.selfId;
    this.isJudge = opts.isJudge;
    buildPanel($('#court-section'));
    $('#court-end-delegation').addEventListener('click', () => this.control('end_delegation'));
    this.state = { locked: false, recess: null, delegate: null, consultation: null };
    /** Pending requests: key `by|with`. */
    this.requests = new Map();
    $('#consult-end').addEventListener('click', () => this.control('end_consultation'));
    $('#court-lock').addEventListener('click', () => this.control(this.state.locked ? 'unlock' : 'lock'));
    $('#court-mute-all').addEventListener('click', () => this.control('mute_all'));
    $('#court-recess').addEventListener('click', () => {
      const reason = $('#court-reason').value.trim();
      if (!reason) {
        setStatus($('#court-status'), t('court.reason_needed'), 'error');
        $('#court-reason').focus();
        return;
      }
      this.control(this.state.recess ? 'resume' : 'recess', { text: reason });
    });
    $('#court-mark').addEventListener('click', () => {
      const label = $('#court-label').value.trim();
      if (!label) {
        setStatus($('#court-status'), t('court.label_needed'), 'error');
        $('#court-label').focus();
        return;
      }
      this.control('mark', { text: label });
    });
    this.render();
  }

  control(control, extra = {}) {
    this.send({ type: 'court', control, ...extra });
  }

  /** Handles a socket event; true if it was the panel's. */
  onEvent(type, data) {
    if (type === 'court') {
      this.state = {
        locked: !!data.locked,
        recess: data.recess || null,
        delegate: data.delegate || null,
        consultation: Array.isArray(data.consultation) ? data.consultation : null,
      };
      if (this.state.consultation) this.requests.clear();
      this.render();
      return true;
    }
    if (type === 'consultation_requested') {
      this.requests.set(`${data.by}|${data.with}`, { by: data.by, with: data.with });
      setStatus($('#court-status'), t('consult.requested', { by: this.nameOf(data.by), with: this.nameOf(data.with) }), 'ok');
      this.render();
      return true;
    }
    if (type === 'court_done') {
      const done = {
        recess: 'court.recess_done', resume: 'court.resumed', lock: 'court.locked_done', unlock: 'court.unlocked_done',
        delegate: 'court.delegated_done', end_delegation: 'court.delegation_ended',
      };
      if (data.control === 'recess' || data.control === 'resume') $('#court-reason').value = '';
      if (done[data.control]) setStatus($('#court-status'), t(done[data.control]), 'ok');
      if (data.control === 'mark') {
        $('#court-label').value = '';
        setStatus($('#court-status'), t('court.marked'), 'ok');
      } else if (data.control === 'mute_all') {
        setStatus($('#court-status'), t('court.muted_all'), 'ok');
      }
      return true;
    }
    return false;
  }

  render() {
    const s = this.state;
    $('#court-lock').textContent = t(s.locked ? 'court.unlock' : 'court.lock');
    $('#court-lock').setAttribute('aria-pressed', String(s.locked));
    $('#court-recess').textContent = t(s.recess ? 'court.resume' : 'court.recess');
    const badges = [];
    if (s.locked) badges.push(t('court.is_locked'));
    if (s.recess) badges.push(t('court.in_recess', { reason: s.recess.reason }));
    $('#court-state').textContent = badges.join(' · ') || t('court.in_session');
    $('#court-state').className = `badge ${s.recess ? 'fair' : s.locked ? 'poor' : 'good'}`;
    const conducts = this.isJudge || (!!s.delegate && s.delegate === this.selfId());
    $('#court-conduct').hidden = !conducts;
    $('#court-delegation').hidden = !s.delegate;
    if (s.delegate) {
      $('#court-delegation').textContent = s.delegate === this.selfId()
        ? t('court.delegated_to_you')
        : t('court.delegated_to', { name: this.nameOf(s.delegate) });
    }
    $('#court-end-delegation').hidden = !(this.isJudge && s.delegate);
    const c = s.consultation;
    $('#consult-state').hidden = !c;
    $('#consult-end').hidden = !c;
    if (c) $('#consult-state').textContent = t('consult.court_state', { names: c.map((id) => this.nameOf(id)).join(', ') });
    $('#consult-requests').replaceChildren(...(c ? [] : [...this.requests.values()].map((r) => el('p', {},
      t('consult.requested', { by: this.nameOf(r.by), with: this.nameOf(r.with) }), ' ',
      el('button', {
        type: 'button',
        class: 'small',
        onclick: () => this.control('consult', { participants: [r.by, r.with], participant: r.by }),
      }, t('consult.open'))))));
  }
}
