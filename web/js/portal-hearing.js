// portal-hearing.js — one granted hearing for a prosecutor or defence account: case data,
// participants, the server's verification report, the signing key to compare with the
// court's published one, minutes, recordings, the bundle download with its SHA-256, and
// the custody entries. Owns this page only. Must never build markup from server text
// (textContent only), never preload recordings (each fetch is a custody entry), and
// never follow a file path the summary did not list.

import { api, ApiError, messageFor, requireUser, logout } from './api.js';
import { $, el, setStatus, copyText } from './dom.js';
import { initPageLanguage, isolate, languageName, t } from './i18n.js';
import { stateName, requestLine } from './request.js';
import { tValue, when, custodyTable } from './grants.js';

let data = null;
let published = null;

/** The hearing id from /portal/hearings/<id>, or null. */
function hearingId() {
  const m = location.pathname.match(/^\/portal\/hearings\/([0-9a-fA-F-]{1,64})\/?$/);
  return m ? m[1] : null;
}

function apiBase(id) {
  return `/api/portal/hearings/${encodeURIComponent(id)}`;
}

/** A bundle path (media/… or derived/…) as a URL path, each segment encoded. */
function fileUrl(id, path) {
  return `${apiBase(id)}/files/${String(path).split('/').map(encodeURIComponent).join('/')}`;
}

function normFp(fp) {
  return String(fp || '').trim().toLowerCase().replace(/^sha256:/, '');
}

function bytes(n) {
  const v = Number(n);
  if (!Number.isFinite(v)) return '';
  if (v < 1024) return `${v} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let x = v / 1024;
  let i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i += 1;
  }
  return `${x.toFixed(1)} ${units[i]}`;
}

function fact(dt, dd) {
  return [el('dt', {}, dt), el('dd', {}, dd)];
}

function renderVerdict(report) {
  const valid = Boolean(report && report.valid === true);
  const box = $('#verdict');
  box.classList.toggle('ok-box', valid);
  box.classList.toggle('error', !valid);
  box.dataset.valid = String(valid);
  const size = report && Number.isFinite(Number(report.log_size)) ? Number(report.log_size) : null;
  box.replaceChildren(
    el('strong', { class: 'verdict-word', id: 'verdict-word' }, valid ? t('portal.valid') : t('portal.invalid')),
    ' ',
    el('span', {}, valid
      ? t('portal.valid_text')
      : t('portal.invalid_text')),
    size !== null ? el('span', { class: 'block' }, t('portal.log_size', { n: size })) : null);

  const checks = report && Array.isArray(report.checks) ? report.checks : [];
  $('#check-rows').replaceChildren(...checks.map((c) => {
    const st = ['pass', 'fail', 'skip'].includes(c.status) ? c.status : 'fail';
    return el('tr', { dataset: { check: String(c.name ?? ''), status: st } },
      el('th', { scope: 'row' }, el('code', {}, String(c.name ?? ''))),
      el('td', {}, el('span', { class: `badge check-${st}` }, tValue('portal.check_', st))),
      el('td', { class: 'detail' }, String(c.detail ?? '')));
  }));

  const ints = report && Array.isArray(report.interruptions) ? report.interruptions : [];
  $('#interruptions').replaceChildren(...(ints.length === 0 ? [] : [
    el('div', { class: 'notice warn' },
      el('strong', {}, t('portal.interrupted_title')),
      el('ul', {}, ...ints.map((i) => el('li', {}, Number(i.from_seq) < Number(i.to_seq)
        ? t('portal.interruption_span', { a: i.from_seq, b: Number(i.to_seq) - 1, seq: i.seq })
        : t('portal.interruption_none', { seq: i.seq })))))]));
}

function renderKey() {
  const bundleFp = (data.report && data.report.key_fingerprint) || data.server_key_fingerprint || '';
  $('#key-fp').textContent = bundleFp || t('portal.unknown');
  $('#key-published').textContent = published || t('portal.unavailable');
  const box = $('#key-compare');
  box.classList.remove('ok-box', 'error', 'warn');
  if (!published) {
    box.classList.add('warn');
    box.textContent = t('portal.key_unchecked');
  } else if (bundleFp && normFp(bundleFp) === normFp(published)) {
    box.classList.add('ok-box');
    box.textContent = t('portal.key_match');
  } else {
    box.classList.add('error');
    box.textContent = t('portal.key_mismatch');
  }
  box.dataset.match = String(Boolean(published && bundleFp && normFp(bundleFp) === normFp(published)));
}

function renderCase(id) {
  const h = data.hearing || {};
  // Built from data on every render: unmark it for applyTranslations.
  $('#title').removeAttribute('data-i18n');
  $('#title').textContent = t('portal.record_of', { ref: h.case_ref || id });
  document.title = `${h.case_ref || id} — sworn`;
  $('#case-facts').replaceChildren(
    ...fact(t('portal.case_ref'), String(h.case_ref ?? '')),
    ...fact(t('portal.mla_ref'), String(h.mla_ref ?? '')),
    ...fact(t('portal.requesting'), stateName(h, 'requesting')),
    ...fact(t('portal.requested'), stateName(h, 'requested')),
    ...(h.requesting_authority ? fact(t('request.title'), requestLine(h, t)) : []),
    ...fact(t('portal.scheduled'), when(h.scheduled_at)),
    ...fact(t('portal.language'), String(h.language ?? '')),
    ...fact(t('portal.hearing_id'), el('code', {}, String(h.id ?? id))));
  const people = Array.isArray(data.participants) ? data.participants : [];
  $('#participant-rows').replaceChildren(...(people.length === 0
    ? [el('tr', {}, el('td', { colspan: '2', class: 'empty' }, t('portal.no_participants')))]
    : people.map((p) => el('tr', {},
      el('td', {}, String(p.display_name ?? '')),
      el('td', {}, tValue('role.', p.role))))));
  $('#minutes-link').href = `${apiBase(id)}/minutes`;
  // The report's "minutes" check is skipped exactly when the bundle holds no minutes.
  const checks = data.report && Array.isArray(data.report.checks) ? data.report.checks : [];
  const minutes = checks.find((c) => c.name === 'minutes');
  const none = Boolean(minutes && minutes.status === 'skip');
  $('#minutes-open').hidden = none;
  $('#minutes-none').hidden = !none;
  // The links' timeline (an SVG the server draws from the sealed log; viewing it is logged).
  $('#quality').hidden = !data.link_quality;
  if (data.link_quality && !$('#quality-img').getAttribute('src')) $('#quality-img').src = `${apiBase(id)}/quality.svg`;
}

/** The label of an exhibit's or an interpretation channel's recording (its file is
 * named after its stream, `<participant>-x<N>` / `-i<N>`), or null. */
function extraLabel(path, people) {
  const file = String(path).replace(/^(media|derived)\//, '');
  const streams = Array.isArray(data.streams) ? data.streams : [];
  const s = streams.find((x) => typeof x.stream === 'string' && (file.startsWith(`${x.stream}-`) || file.startsWith(`${x.stream}.`)));
  if (!s) return null;
  const by = people.find((x) => x.id === s.participant);
  const name = by ? String(by.display_name ?? '') : String(s.participant ?? '');
  return s.kind === 'interpretation'
    ? t('portal.channel_of', { language: languageName(String(s.language)), n: s.number, name })
    : t('exhibit.tile', { n: s.number, name });
}

/** A label for a recording: whose it is (the participant id in its path) and whether it
 * is the original evidence (media/) or a copy derived from it (derived/). */
function recordingLabel(path) {
  const people = Array.isArray(data.participants) ? data.participants : [];
  const p = people.find((x) => x.id && String(path).includes(String(x.id)));
  const who = extraLabel(path, people) ?? (p ? `${isolate(p.display_name)} · ${tValue('role.', p.role)}` : null);
  if (String(path).startsWith('derived/')) {
    return who
      ? t('portal.derived_of', { who })
      : t('portal.derived');
  }
  return who ? t('portal.original_of', { who }) : t('portal.recording');
}

function renderRecordings(id) {
  const media = (Array.isArray(data.media) ? data.media : [])
    .filter((m) => typeof m.path === 'string' && /^(media|derived)\//.test(m.path))
    .sort((a, b) => Number(b.path.startsWith('media/')) - Number(a.path.startsWith('media/')) || a.path.localeCompare(b.path));
  const box = $('#recordings');
  if (media.length === 0) {
    box.replaceChildren(el('p', { class: 'empty' }, t('portal.no_recordings')));
    return;
  }
  box.replaceChildren(...media.map((m, i) => {
    const capId = `rec-${i}`;
    const playable = /\.(webm|mkv|mp4)$/i.test(m.path);
    return el('figure', { class: 'recording-item' },
      playable
        ? el('video', { controls: true, preload: 'none', src: fileUrl(id, m.path), 'aria-labelledby': capId, dataset: { path: m.path } })
        : el('p', { class: 'hint' }, t('portal.not_playable')),
      el('figcaption', { id: capId },
        el('span', { class: 'name' }, recordingLabel(m.path)),
        el('span', { class: 'block' }, el('code', {}, m.path), ` · ${bytes(m.length)}`),
        el('span', { class: 'block fp-line' }, 'SHA-256 ', el('code', { class: 'fp' }, String(m.sha256 ?? '')))));
  }));
}

function renderDownload(id) {
  const name = `sworn-bundle-${id}.zip`;
  const a = $('#download');
  a.href = `${apiBase(id)}/bundle.zip`;
  a.setAttribute('download', name);
  // Each download is its own export (the sealed files plus the custody entries about
  // them), so the zips differ; the fingerprint is that of the sealed manifest.json,
  // the same in every export.
  const sha = String(data.bundle_fingerprint || '');
  $('#bundle-sha256').textContent = sha || t('portal.unknown');
  $('#sha-cmd').textContent = `$ unzip -p ${name} manifest.json | sha256sum\n${sha || '…'}  -`;
  $('#copy-sha').disabled = !sha;
}

function render(id) {
  renderCase(id);
  renderVerdict(data.report);
  renderKey();
  renderRecordings(id);
  renderDownload(id);
  $('#custody').replaceChildren(custodyTable(data.custody));
  $('#record').hidden = false;
}

async function fetchPublishedKey() {
  try {
    const k = await api.get('/.well-known/sworn/server-key');
    return k && typeof k.fingerprint === 'string' ? k.fingerprint : null;
  } catch (_e) {
    return null;
  }
}

function explain(e) {
  if (e instanceof ApiError && e.status === 403) {
    return t('portal.forbidden');
  }
  if (e instanceof ApiError && e.status === 409) {
    return t('portal.not_sealed_long');
  }
  if (e instanceof ApiError && e.status === 404) {
    return t('portal.not_found');
  }
  return messageFor(e);
}

async function main() {
  const id = hearingId();
  await initPageLanguage(() => {
    if (data && id) render(id);
  });
  const user = await requireUser();
  $('#who').textContent = user.username;
  $('#logout').addEventListener('click', () => logout());
  $('#copy-sha').addEventListener('click', async () => {
    const ok = data && data.bundle_fingerprint ? await copyText(String(data.bundle_fingerprint)) : false;
    setStatus($('#copy-status'), ok ? t('portal.copied') : t('portal.copy_failed'), ok ? 'ok' : 'error');
  });
  const status = $('#page-status');
  if (!id) {
    setStatus(status, t('portal.not_found'), 'error');
    return;
  }
  setStatus(status, t('portal.verifying'));
  try {
    const [summary, key] = await Promise.all([api.get(apiBase(id)), fetchPublishedKey()]);
    data = summary || {};
    published = key;
    render(id);
    setStatus(status, '');
    $('#title').focus();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      location.assign(`/signin?next=${encodeURIComponent(location.pathname)}`);
      return;
    }
    setStatus(status, explain(e), 'error');
  }
}

main();
