// console.js — the judge's hearing list and the "schedule a hearing" form.
// Owns only this page; the hearing room is hearing.js. Must never show another
// court's data beyond what GET /api/hearings returns.

import { api, messageFor, requireUser, logout } from './api.js';
import { $, el, setStatus, formatTime } from './dom.js';
import { initPageLanguage, t } from './i18n.js';
import { stateName } from './request.js';


function row(h) {
  const link = el('a', { href: `/console/hearings/${encodeURIComponent(h.id)}` }, h.case_ref || t('console.no_ref'));
  return el('tr', { class: h.rehearsal ? 'rehearsal' : '' },
    el('td', {}, link, h.rehearsal ? el('span', { class: 'badge rehearsal' }, t('rehearsal.badge')) : ''),
    el('td', {}, h.mla_ref || ''),
    el('td', {}, `${stateName(h, 'requesting')} → ${stateName(h, 'requested')}`),
    el('td', {}, el('time', { datetime: h.scheduled_at, title: h.scheduled_at }, formatTime(h.scheduled_at))),
    el('td', {}, h.language || ''),
    el('td', {}, el('span', { class: `badge state-${h.state}` }, t(`state.${h.state}`))));
}

async function loadList() {
  const status = $('#list-status');
  setStatus(status, t('console.loading'));
  try {
    const data = await api.get('/api/hearings');
    const list = (data && Array.isArray(data.hearings) ? data.hearings : [])
      .slice()
      .sort((a, b) => String(b.scheduled_at).localeCompare(String(a.scheduled_at)));
    $('#hearing-rows').replaceChildren(...list.map(row));
    $('#hearings').hidden = list.length === 0;
    $('#no-hearings').hidden = list.length !== 0;
    setStatus(status, list.length === 0 ? '' : t('console.count', { n: list.length }));
  } catch (e) {
    setStatus(status, messageFor(e), 'error');
  }
}

/** datetime-local value (local time) -> RFC 3339 UTC in whole seconds. */
function toUtc(local) {
  const d = new Date(local);
  if (Number.isNaN(d.getTime())) return null;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function defaultTime() {
  const d = new Date(Date.now() + 60 * 60 * 1000);
  d.setMinutes(0, 0, 0);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Fills the two State lists from GET /api/countries (ISO 3166-1, by English name). */
async function loadCountries() {
  const data = await api.get('/api/countries');
  const list = (data && Array.isArray(data.countries) ? data.countries : [])
    .slice()
    .sort((a, b) => a.name.localeCompare(b.name, 'en'));
  for (const id of ['#requesting_state', '#requested_state']) {
    const sel = $(id);
    sel.replaceChildren(el('option', { value: '' }, t('console.choose_state')),
      ...list.map((c) => el('option', { value: c.code }, `${c.name} (${c.code})`)));
  }
}

function bindForm() {
  const form = $('#schedule-form');
  const status = $('#schedule-status');
  $('#scheduled_at').value = defaultTime();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = {};
    for (const name of ['case_ref', 'mla_ref', 'requesting_state', 'requested_state',
      'requesting_authority', 'requested_authority', 'request_date']) {
      body[name] = $(`#${name}`).value.trim();
      if (!body[name]) {
        setStatus(status, t('console.fill_all'), 'error');
        $(`#${name}`).focus();
        return;
      }
    }
    body.scheduled_at = toUtc($('#scheduled_at').value);
    if (!body.scheduled_at) {
      setStatus(status, t('console.need_time'), 'error');
      $('#scheduled_at').focus();
      return;
    }
    for (const name of ['requesting_reference', 'requested_reference']) {
      const v = $(`#${name}`).value.trim();
      if (v) body[name] = v;
    }
    body.language = $('#language').value;
    body.rehearsal = $('#rehearsal').checked;
    const button = $('#schedule-submit');
    button.disabled = true;
    setStatus(status, t('console.scheduling'));
    try {
      const h = await api.post('/api/hearings', body);
      setStatus(status, t('console.scheduled'), 'ok');
      location.assign(`/console/hearings/${encodeURIComponent(h.id)}`);
    } catch (e) {
      setStatus(status, messageFor(e), 'error');
      button.disabled = false;
    }
  });
}

async function main() {
  await initPageLanguage(() => loadList());
  const user = await requireUser();
  $('#who').textContent = user.username;
  $('#logout').addEventListener('click', () => logout());
  bindForm();
  await Promise.all([loadList(), loadCountries().catch((e) => setStatus($('#schedule-status'), messageFor(e), 'error'))]);
}

main();
