// people.js — the judge's waiting room and participant list with their actions
// (admit, deny, mute, unmute, remove, revoke link, new link). Renders from the
// participant objects of protocol.md; every action is one POST to the API.
// Must never show an invite link (hearing.js shows a new link once) and never
// render names as HTML.

import { el } from './dom.js';
import { t, LANGUAGES } from './i18n.js';

export function roleLabel(role) {
  return role ? t(`role.${role}`) : '';
}

export function connectionLabel(c) {
  return c ? t(`connection.${c}`) : '';
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
    el('div', { class: 'meta' }, connectionLabel(p.connection)),
    el('div', { class: 'actions' },
      actionButton(t('people.admit', { name: p.display_name || '' }).trim(), () => ui.act(p, 'admit'), 'small'),
      actionButton(t('people.deny'), () => ui.act(p, 'deny'))))));
  // Another device asking to take over an invitation (a leaked or reopened link): the
  // participant is not disturbed; the court accepts or refuses the device.
  const waiting = participants.filter((p) => p.other_device);
  ui.lobby.append(...waiting.map((p) => el('li', { dataset: { participant: p.id }, class: 'other-device' },
    el('div', { class: 'who' }, el('span', { class: 'name' }, t('people.other_device', { name: p.display_name || '' }))),
    el('div', { class: 'actions' },
      actionButton(t('people.approve_device'), () => ui.act(p, 'approve-device'), 'small'),
      actionButton(t('people.refuse_device'), () => ui.act(p, 'refuse-device'))))));
  ui.lobbyEmpty.hidden = lobby.length + waiting.length > 0;

  const others = participants.filter((p) => p.id !== ui.selfId());
  ui.list.replaceChildren(...others.map((p) => {
    const meta = [t(`presence.${p.presence}`)];
    if (p.presence === 'admitted' || p.presence === 'lobby') meta.push(connectionLabel(p.connection));
    if (p.invite_state) meta.push(t(`invite.${p.invite_state}`));
    if (p.muted_by_court) meta.push(t('people.muted_by_court'));
    else if (p.audio_muted) meta.push(t('people.mic_off'));
    if (p.video_muted) meta.push(t('people.camera_off'));
    if (p.video_stopped_by_court) meta.push(t('people.video_stopped'));
    if (p.in_consultation) meta.push(t('people.in_consultation'));
    if (p.language && Object.hasOwn(LANGUAGES, p.language)) meta.push(LANGUAGES[p.language]);
    const buttons = [];
    if (p.role !== 'judge') {
      if (p.presence === 'admitted') {
        buttons.push(p.muted_by_court
          ? actionButton(t('people.unmute'), () => ui.act(p, 'unmute'))
          : actionButton(t('people.mute'), () => ui.act(p, 'mute')));
        if (ui.court) {
          buttons.push(p.video_stopped_by_court
            ? actionButton(t('people.allow_video'), () => ui.court(p, 'allow_video'))
            : actionButton(t('people.stop_video'), () => ui.court(p, 'stop_video')));
          if (p.role === 'clerk') buttons.push(actionButton(t('people.delegate'), () => ui.court(p, 'delegate')));
        }
      }
      if (p.presence === 'admitted' || p.presence === 'lobby') {
        buttons.push(confirmButton(t('people.remove'), t('people.remove_confirm'), () => ui.act(p, 'remove')));
      }
      if (p.invite_state === 'active') {
        buttons.push(confirmButton(t('people.revoke'), t('people.revoke_confirm'), () => ui.act(p, 'revoke')));
      }
      buttons.push(actionButton(t('people.new_link'), () => ui.act(p, 'invite')));
    }
    return el('li', { dataset: { participant: p.id } },
      who(p),
      el('div', { class: 'meta' }, meta.filter(Boolean).join(' · ')),
      el('div', { class: 'actions', role: 'group', 'aria-label': t('people.actions_for', { name: p.display_name || '' }) }, ...buttons));
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
