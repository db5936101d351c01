// portal.js — the prosecutor/defence portal: the hearings the court granted to the
// signed-in account (GET /api/portal/hearings), with their status. Owns only this list;
// the hearing itself is portal-hearing.js. Must never fetch a hearing's summary here
// (each summary view is a custody entry: only opening a hearing records one).

import { api, ApiError, messageFor, requireUser, logout } from './api.js';
import { $, el, setStatus } from './dom.js';
import { initPageLanguage } from './i18n.js';
import { tr, translateTr, when } from './grants.js';

/** Status badges: sealed or not yet, interrupted, and the verdict being on the page. */
function statusCell(h) {
  const badges = [];
  if (h.sealed) {
    badges.push(el('span', { class: 'badge sealed' }, tr('portal.sealed', 'sealed')));
  } else {
    badges.push(el('span', { class: 'badge pending' }, tr('portal.not_sealed', 'not sealed yet')));
  }
  if (h.interrupted) {
    badges.push(el('span', { class: 'badge interrupted', title: tr('portal.interrupted_hint', 'The server restarted during the hearing; the verification report shows which entries were committed after the restart.') },
      tr('portal.interrupted', 'interrupted')));
  }
  return el('td', {}, el('span', { class: 'badges' }, ...badges),
    h.sealed ? el('span', { class: 'hint block' }, tr('portal.verify_on_open', 'verified when you open it')) : null);
}

function row(h) {
  const ref = h.case_ref || tr('portal.no_ref', '(no reference)');
  const link = h.sealed
    ? el('a', { href: `/portal/hearings/${encodeURIComponent(h.id)}` }, ref)
    : el('span', {}, ref);
  return el('tr', { dataset: { hearing: h.id } },
    el('th', { scope: 'row' }, link),
    el('td', {}, h.mla_ref || ''),
    el('td', {}, when(h.scheduled_at)),
    statusCell(h),
    el('td', {}, h.expires_at ? when(h.expires_at) : tr('portal.until_revoked', 'until revoked')));
}

async function loadList() {
  const status = $('#list-status');
  setStatus(status, tr('portal.loading', 'Loading…'));
  try {
    const data = await api.get('/api/portal/hearings');
    const list = (data && Array.isArray(data.hearings) ? data.hearings : []).slice()
      .sort((a, b) => String(b.scheduled_at).localeCompare(String(a.scheduled_at)));
    $('#hearing-rows').replaceChildren(...list.map(row));
    $('#hearings').hidden = list.length === 0;
    $('#no-hearings').hidden = list.length !== 0;
    setStatus(status, list.length === 0 ? '' : tr('portal.count', '{n} hearing(s).', { n: list.length }));
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) {
      setStatus(status, tr('portal.not_party', 'This portal is for prosecutor and defence accounts. Court staff grant access from the hearing page.'), 'error');
    } else {
      setStatus(status, messageFor(e), 'error');
    }
  }
}

async function main() {
  await initPageLanguage(() => {
    translateTr();
    loadList();
  });
  translateTr();
  const user = await requireUser();
  $('#who').textContent = user.username;
  $('#logout').addEventListener('click', () => logout());
  await loadList();
}

main();
