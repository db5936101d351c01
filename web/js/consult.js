// consult.js — private consultation on a participant's page: the witness asks the court
// for a private word with their counsel (or counsel with their witness); while the court
// has them in a consultation the page says so: only the other member hears and sees
// them, and nothing is recorded (docs/protocol.md `court`, consultation).

import { $, el } from './dom.js';
import { t } from './i18n.js';

/** Roles a participant may ask to consult, by their own role. */
const PARTNERS = {
  witness: ['counsel', 'defence'],
  counsel: ['witness'],
  defence: ['witness'],
};

export class ConsultPanel {
  /** @param {{selfId: () => string, selfRole: () => string, send: (m: object) => void}} opts */
  constructor(opts) {
    this.opts = opts;
    this.people = new Map();
    this.members = null;
    this.asked = new Set();
  }

  /** The admitted participants changed (roster). */
  roster(list) {
    this.people = new Map(list.filter((p) => p && p.presence === 'admitted').map((p) => [p.id, p]));
    this.render();
  }

  /** The court state changed. */
  court(data) {
    this.members = Array.isArray(data.consultation) ? data.consultation : null;
    if (!this.members) this.asked.clear();
    this.render();
  }

  render() {
    const self = this.opts.selfId();
    const inside = !!(this.members && this.members.includes(self));
    const banner = $('#consultation');
    banner.hidden = !inside;
    if (inside) {
      const others = this.members.filter((id) => id !== self).map((id) => (this.people.get(id) || {}).display_name || '');
      $('#consultation-text').textContent = t('consult.inside', { names: others.join(', ') });
    }
    const wanted = PARTNERS[this.opts.selfRole()] || [];
    const partners = [...this.people.values()].filter((p) => p.id !== self && wanted.includes(p.role));
    const box = $('#consult-actions');
    box.hidden = inside || partners.length === 0;
    box.replaceChildren(...partners.map((p) => {
      const asked = this.asked.has(p.id);
      return el('button', {
        type: 'button',
        class: 'secondary',
        disabled: asked,
        onclick: () => {
          this.asked.add(p.id);
          this.opts.send({ type: 'court', control: 'request_consultation', participant: p.id });
          this.render();
        },
      }, t(asked ? 'consult.asked' : 'consult.ask', { name: p.display_name || '' }));
    }));
  }
}
