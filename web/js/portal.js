// portal.js — the prosecutor/defence portal: the hearings the court granted to the
// signed-in account (GET /api/portal/hearings), with their status. Owns only this list;
// the hearing itself is portal-hearing.js. Must never fetch a hearing's summary here
// (each summary view is a custody entry: only opening a hearing records one).

import { api, ApiError, messageFor, requireUser, logout } from './api.js';
import { $, el, setStatus } from './dom.js';
import { initPageLanguage, t } from './i18n.js';
import { when } from './grants.js';

/** Status badges: sealed or not yet, interrupted, and the verdict being on the page. */
function statusCell(h) {
  const badges = [];
  if (h.sealed) {
    badges.push(el('span', { class: 'badge sealed' }, t('portal.sealed')));
  } else {
    badges.push(el('span', { class: 'badge pending' }, t('portal.not_sealed')));
  }
  if (h.interrupted) {
    badges.push(el('span', { class: 'badge interrupted', title: t('portal.interrupted_hint') },
      t('portal.interrupted')));
  }
  return el('td', {}, el('span', { class: 'badges' }, ...badges),
    h.sealed ? el('span', { class: 'hint block' }, t('portal.verify_on_open')) : null);
}

function row(h) {
  const ref = h.case_ref || t('portal.no_ref');
  const link = h.sealed
    ? el('a', { href: `/portal/hearings/${encodeURIComponent(h.id)}` }, ref)
    : el('span', {}, ref);
  return el('tr', { dataset: { hearing: h.id } },
    el('th', { scope: 'row' }, link),
    el('td', {}, h.mla_ref || ''),
    el('td', {}, when(h.scheduled_at)),
    statusCell(h),
    el('td', {}, h.expires_at ? when(h.expires_at) : t('portal.until_revoked')));
}

async function loadList() {
  const status = $('#list-status');
  setStatus(status, t('portal.loading'));
  try {
    const data = await api.get('/api/portal/hearings');
    const list = (data && Array.isArray(data.hearings) ? data.hearings : []).slice()
      .sort((a, b) => String(b.scheduled_at).localeCompare(String(a.scheduled_at)));
    $('#hearing-rows').replaceChildren(...list.map(row));
    $('#hearings').hidden = list.length === 0;
    $('#no-hearings').hidden = list.length !== 0;
    setStatus(status, list.length === 0 ? '' : t('portal.count', { n: list.length }));
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) {
      setStatus(status, t('portal.not_party'), 'error');
    } else {
      setStatus(status, messageFor(e), 'error');
    }
  }
}

async function main() {
  await initPageLanguage(() => {
    loadList();
  });
  const user = await requireUser();
  $('#who').textContent = user.username;
  $('#logout').addEventListener('click', () => logout());
  await loadList();
}

main();
