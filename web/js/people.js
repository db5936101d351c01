// people.js — the judge's waiting room and participant list with their actions
// (admit, deny, mute, unmute, remove, revoke link, new link). Renders from the
// participant objects of protocol.md; every action is one POST to the API.
// Must never show an invite link (hearing.js shows a new link once) and never
// render names as HTML.

import { el } from './dom.js';

export const ROLE_LABEL = {
  judge: 'Judge',
  witness: 'Witness',
  official: 'Requested-State official',
  interpreter: 'Interpreter',
  prosecutor: 'Prosecutor',
  defence: 'Defence counsel',
  clerk: 'Clerk',
};
export const PRESENCE_LABEL = {
  absent: 'Not joined',
  lobby: 'In the waiting room',
  admitted: 'In the hearing',
  denied: 'Denied',
  removed: 'Removed',
};
export const CONNECTION_LABEL = {
  none: 'Offline',
  connecting: 'Connecting',
  connected: 'Connected',
  reconnecting: 'Reconnecting',
  failed: 'Connection failed',
};
const INVITE_LABEL = { active: 'Link active', revoked: 'Link revoked', expired: 'Link expired' };

export function roleLabel(role) {
  return ROLE_LABEL[role] || role || '';
}

/** A button that asks for a second click before a destructive action. */
function confirmButton(label, confirmLabel, run) {
  const b = el('button', { type: 'button', class: 'small danger' }, label);
  let timer = null;
  b.addEventListener('click', () => {
    if (!b.classList.contains('confirming')) {
      b.classList.add('confirming');
      b.textContent = confirmLabel;
      timer = setTimeout(() => {
        b.classList.remove('confirming');
        b.textContent = label;
      }, 5000);
      return;
    }
    clearTimeout(timer);
    run();
  });
  return b;
}

function actionButton(label, run, cls = 'small secondary') {
  return el('button', { type: 'button', class: cls, onclick: run }, label);
}

function who(p) {
  return el('div', { class: 'who' },
    el('span', { class: 'name' }, p.display_name || ''),
    el('span', { class: 'badge' }, roleLabel(p.role)));
}

/**
 * @param {{lobby: HTMLElement, lobbyEmpty: HTMLElement, list: HTMLElement, listEmpty: HTMLElement,
 *          act: (p: object, action: string) => void, selfId: () => string|null}} ui
 */
export function renderPeople(ui, participants) {
  const focus = rememberFocus(ui);
  const lobby = participants.filter((p) => p.presence === 'lobby');
  ui.lobby.replaceChildren(...lobby.map((p) => el('li', { dataset: { participant: p.id } },
    who(p),
    el('div', { class: 'meta' }, CONNECTION_LABEL[p.connection] || ''),
    el('div', { class: 'actions' },
      actionButton(`Admit ${p.display_name || ''}`.trim(), () => ui.act(p, 'admit'), 'small'),
      actionButton('Deny', () => ui.act(p, 'deny'))))));
  ui.lobbyEmpty.hidden = lobby.length > 0;

  const others = participants.filter((p) => p.id !== ui.selfId());
  ui.list.replaceChildren(...others.map((p) => {
    const meta = [PRESENCE_LABEL[p.presence] || p.presence];
    if (p.presence === 'admitted' || p.presence === 'lobby') meta.push(CONNECTION_LABEL[p.connection] || p.connection);
    meta.push(INVITE_LABEL[p.invite_state] || p.invite_state);
    if (p.muted_by_court) meta.push('Muted by the court');
    else if (p.audio_muted) meta.push('Microphone off');
    if (p.video_muted) meta.push('Camera off');
    const buttons = [];
    if (p.role !== 'judge') {
      if (p.presence === 'admitted') {
        buttons.push(p.muted_by_court
          ? actionButton('Unmute', () => ui.act(p, 'unmute'))
          : actionButton('Mute', () => ui.act(p, 'mute')));
      }
      if (p.presence === 'admitted' || p.presence === 'lobby') {
        buttons.push(confirmButton('Remove', 'Confirm remove', () => ui.act(p, 'remove')));
      }
      if (p.invite_state === 'active') {
        buttons.push(confirmButton('Revoke link', 'Confirm revoke', () => ui.act(p, 'revoke')));
      }
      buttons.push(actionButton('New link', () => ui.act(p, 'invite')));
    }
    return el('li', { dataset: { participant: p.id } },
      who(p),
      el('div', { class: 'meta' }, meta.filter(Boolean).join(' · ')),
      el('div', { class: 'actions', role: 'group', 'aria-label': `Actions for ${p.display_name || ''}` }, ...buttons));
  }));
  ui.listEmpty.hidden = others.length > 0;
  restoreFocus(ui, focus);
}

/** Re-rendering replaces the buttons: keep keyboard focus on the same one. */
function rememberFocus(ui) {
  const a = document.activeElement;
  if (!a || a.tagName !== 'BUTTON') return null;
  const li = a.closest('li[data-participant]');
  if (!li || !(ui.lobby.contains(li) || ui.list.contains(li))) return null;
  const buttons = [...li.querySelectorAll('button')];
  return { inLobby: ui.lobby.contains(li), id: li.dataset.participant, index: buttons.indexOf(a) };
}

function restoreFocus(ui, f) {
  if (!f) return;
  const root = f.inLobby ? ui.lobby : ui.list;
  const li = [...root.querySelectorAll('li[data-participant]')].find((n) => n.dataset.participant === f.id);
  const buttons = li ? [...li.querySelectorAll('button')] : [];
  const target = buttons[Math.min(f.index, buttons.length - 1)];
  if (target) target.focus();
}
