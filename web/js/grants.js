// grants.js — the court's retrieval grants for one hearing, and the custody log view.
// Owns: listing grants (active / expired / revoked), granting a prosecutor or defence
// account with an optional expiry, revoking (two-step confirm), and rendering custody
// entries (also used by the portal pages). Must never build markup from server or user
// text (textContent only) and never retry a POST by itself.
//
// Use: `mountGrants(container, hearingId)` in a judge or clerk page (the CSRF token must
// already be known to api.js, e.g. through requireUser()).

import { api, messageFor } from './api.js';
import { el, setStatus } from './dom.js';
import { t } from './i18n.js';

/** A translated word for a value from the server (a grant state, a check status, a
 * role), or the value itself when the catalogue has no such word. */
export function tValue(prefix, value) {
  const key = `${prefix}${value}`;
  const text = t(key);
  return text === key ? String(value ?? '') : text;
}

/** A Date from unix seconds or an RFC 3339 string; null when absent or unreadable. */
export function toDate(v) {
  if (v === null || v === undefined || v === '') return null;
  const d = typeof v === 'number' ? new Date(v * 1000) : new Date(String(v));
  return Number.isNaN(d.getTime()) ? null : d;
}

/** A <time> element in local time with the UTC time as title, or a dash. */
export function when(v) {
  const d = toDate(v);
  if (!d) return el('span', { class: 'muted-text' }, '—');
  const utc = d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return el('time', { datetime: utc, title: utc },
    d.toLocaleString(document.documentElement.lang || undefined, { dateStyle: 'medium', timeStyle: 'medium' }));
}

/** A grant's state: 'revoked', 'expired' or 'active'. */
export function grantState(g, nowMs = Date.now()) {
  if (g.revoked_at !== null && g.revoked_at !== undefined) return 'revoked';
  if (g.active === true) return 'active';
  if (g.active === false) return 'expired';
  const exp = toDate(g.expires_at);
  return exp && exp.getTime() <= nowMs ? 'expired' : 'active';
}

/** The custody entries (who retrieved what, when) as a table, newest first. */
export function custodyTable(entries, captionText) {
  const list = (Array.isArray(entries) ? entries : []).slice()
    .sort((a, b) => Number(b.seq) - Number(a.seq));
  if (list.length === 0) {
    return el('p', { class: 'empty' }, t('custody.none'));
  }
  const rows = list.map((e) => el('tr', {},
    el('td', { class: 'num' }, String(e.seq ?? '')),
    el('td', { class: 'time' }, when(e.time)),
    el('td', { 'data-label': t('custody.user') }, String(e.user ?? '')),
    el('td', { class: 'what', 'data-label': t('custody.what') }, String(e.what ?? '')),
    el('td', { 'data-label': t('custody.result') }, String(e.result ?? ''))));
  return el('div', { class: 'table-wrap' },
    el('table', { class: 'custody-table stack' },
      el('caption', { class: 'visually-hidden' }, captionText || t('custody.caption')),
      el('thead', {}, el('tr', {},
        el('th', { scope: 'col' }, '#'),
        el('th', { scope: 'col' }, t('custody.time')),
        el('th', { scope: 'col' }, t('custody.user')),
        el('th', { scope: 'col' }, t('custody.what')),
        el('th', { scope: 'col' }, t('custody.result')))),
      el('tbody', {}, ...rows)));
}

/** datetime-local value (local time) -> RFC 3339 UTC in whole seconds, or null. */
function toUtc(local) {
  const d = new Date(local);
  if (Number.isNaN(d.getTime())) return null;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

let mounted = 0;

/**
 * Mount the grant manager for `hearingId` into `container` (its children are replaced).
 * Returns `{ refresh }`; refresh() reloads grants and custody entries.
 */
export function mountGrants(container, hearingId) {
  const n = ++mounted;
  const id = (s) => `grants-${n}-${s}`;
  const base = `/api/hearings/${encodeURIComponent(hearingId)}/grants`;

  const status = el('p', { class: 'status', role: 'status', 'aria-live': 'polite', id: id('status') });
  const user = el('input', { id: id('username'), name: 'username', required: true, maxlength: '200', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': id('username-hint') });
  const expiry = el('input', { id: id('expires'), name: 'expires_at', type: 'datetime-local', 'aria-describedby': id('expires-hint') });
  const submit = el('button', { type: 'submit' }, t('grants.grant'));
  const form = el('form', { class: 'grant-form', novalidate: true, 'aria-labelledby': id('form-title') },
    el('h3', { id: id('form-title') }, t('grants.form_title')),
    el('div', { class: 'grid-2' },
      el('div', { class: 'field' },
        el('label', { for: id('username') }, t('grants.username')),
        user,
        el('span', { class: 'hint', id: id('username-hint') }, t('grants.username_hint'))),
      el('div', { class: 'field' },
        el('label', { for: id('expires') }, t('grants.expires')),
        expiry,
        el('span', { class: 'hint', id: id('expires-hint') }, t('grants.expires_hint')))),
    el('div', { class: 'actions' }, submit));

  const listTitle = el('h3', { id: id('list-title'), tabindex: '-1' }, t('grants.list_title'));
  const listBox = el('div', { 'aria-live': 'polite' });
  const custodyTitle = el('h3', { id: id('custody-title') }, t('grants.custody_title'));
  const custodyBox = el('div', {});
  const section = el('section', { class: 'card grants', 'aria-labelledby': id('title') },
    el('h2', { id: id('title') }, t('grants.title')),
    form, status,
    el('div', { 'aria-labelledby': id('list-title'), role: 'region' }, listTitle, listBox),
    el('div', { 'aria-labelledby': id('custody-title'), role: 'region' }, custodyTitle, custodyBox));
  container.replaceChildren(section);

  function revokeButton(g) {
    const b = el('button', { type: 'button', class: 'small danger', dataset: { grant: g.id } },
      t('grants.revoke'));
    b.setAttribute('aria-label', t('grants.revoke_label', { name: g.username }));
    let armed = false;
    let timer = null;
    b.addEventListener('click', async () => {
      if (!armed) {
        armed = true;
        b.classList.add('confirming');
        b.textContent = t('grants.revoke_confirm');
        setStatus(status, t('grants.revoke_ask', { name: g.username }));
        timer = setTimeout(() => {
          armed = false;
          b.classList.remove('confirming');
          b.textContent = t('grants.revoke');
        }, 6000);
        return;
      }
      clearTimeout(timer);
      b.disabled = true;
      try {
        await api.post(`${base}/${encodeURIComponent(g.id)}/revoke`);
        setStatus(status, t('grants.revoked', { name: g.username }), 'ok');
        await refresh();
        // The button is gone with the old table: keep keyboard focus near the list.
        listTitle.focus();
      } catch (e) {
        setStatus(status, messageFor(e), 'error');
        b.disabled = false;
      }
    });
    return b;
  }

  function grantsTable(grants) {
    if (grants.length === 0) {
      return el('p', { class: 'empty' }, t('grants.none'));
    }
    const rows = grants.map((g) => {
      const state = grantState(g);
      return el('tr', { dataset: { state } },
        el('td', {}, el('span', { class: 'name' }, String(g.username ?? ''))),
        el('td', { 'data-label': t('grants.col_role') }, String(g.role ?? '')),
        el('td', { 'data-label': t('grants.col_granted') }, when(g.created_at)),
        el('td', { 'data-label': t('grants.col_expires') }, g.expires_at ? when(g.expires_at) : t('grants.no_expiry')),
        el('td', {}, el('span', { class: `badge grant-${state}` }, tValue('grants.state_', state))),
        el('td', {}, state === 'active' ? revokeButton(g) : (state === 'revoked' ? when(g.revoked_at) : '')));
    });
    return el('div', { class: 'table-wrap' },
      el('table', { class: 'grants-table stack' },
        el('thead', {}, el('tr', {},
          el('th', { scope: 'col' }, t('grants.col_user')),
          el('th', { scope: 'col' }, t('grants.col_role')),
          el('th', { scope: 'col' }, t('grants.col_granted')),
          el('th', { scope: 'col' }, t('grants.col_expires')),
          el('th', { scope: 'col' }, t('grants.col_state')),
          el('th', { scope: 'col' }, t('grants.col_action')))),
        el('tbody', {}, ...rows)));
  }

  async function refresh() {
    try {
      const data = await api.get(base);
      const grants = (data && Array.isArray(data.grants) ? data.grants : []).slice()
        .sort((a, b) => Number(b.created_at) - Number(a.created_at));
      listBox.replaceChildren(grantsTable(grants));
      custodyBox.replaceChildren(custodyTable(data && data.custody));
    } catch (e) {
      setStatus(status, messageFor(e), 'error');
    }
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const username = user.value.trim();
    if (!username) {
      setStatus(status, t('grants.need_user'), 'error');
      user.focus();
      return;
    }
    const body = { username };
    if (expiry.value) {
      const at = toUtc(expiry.value);
      if (!at || new Date(at).getTime() <= Date.now()) {
        setStatus(status, t('grants.bad_expiry'), 'error');
        expiry.focus();
        return;
      }
      body.expires_at = at;
    }
    submit.disabled = true;
    setStatus(status, t('grants.granting'));
    try {
      await api.post(base, body);
      setStatus(status, t('grants.granted', { name: username }), 'ok');
      user.value = '';
      expiry.value = '';
      await refresh();
    } catch (e) {
      setStatus(status, messageFor(e), 'error');
      user.focus();
    } finally {
      submit.disabled = false;
    }
  });

  refresh();
  return { refresh };
}
