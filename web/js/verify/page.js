// The verifier page (web/verify.html): takes a dropped or chosen bundle zip and optional
// pinned keys, runs the verifier with progress, and shows the verdict, the summary and
// every named check, and the custody entries an exported bundle carries (who had it and
// when). Everything stays in this browser; the page's own words are translated
// (web/i18n), the checks' details are sworn-verify's words.
// It must never upload or send anything, never build markup from bundle text (textContent
// only), and never show VALID unless the report is valid against a pinned key.

import { openZip, ZipOpenError } from './zip.js';
import { verifyBundle, ioFailed } from './bundle.js';
import { parsePublicKeyPem, parseVkey } from './keys.js';
import { looksLikeHistory, parseHistoryText } from './keyhistory.js';
import { hints } from './hints.js';
import { initPageLanguage, t, hasKey } from '../i18n.js';

const $ = (id) => document.getElementById(id);
let running = false;

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

const mb = (n) => (n / 1048576).toFixed(1);

function showProgress(p, started) {
  const bar = $('progress');
  const text = $('progress-text');
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  if (p.total) {
    bar.value = Math.round((p.done / Math.max(1, p.total)) * 1000);
    const what = t(p.phase === 'hashing' ? 'verify.phase_hashing' : 'verify.phase_media');
    text.textContent = t('verify.progress_bytes', { what, done: mb(p.done), total: mb(p.total), file: p.file, secs });
  } else {
    bar.removeAttribute('value');
    text.textContent = t('verify.progress_phase', { phase: p.phase, secs });
  }
}

/** The pinned key or key history: {trustedKey} | {trustedHistory} | {}. Throws if unreadable. */
async function trusted() {
  const t = $('trust').value.trim();
  if (!t) return {};
  if (looksLikeHistory(t)) return { trustedHistory: await parseHistoryText(t) };
  return { trustedKey: t.includes('-----BEGIN') ? parsePublicKeyPem(t) : parseVkey(t).key };
}

async function trustedChain() {
  const f = $('tsa').files[0];
  return f ? new Uint8Array(await f.arrayBuffer()) : null;
}

function setVerdict(kind, text) {
  const v = $('verdict');
  v.className = `verdict ${kind}`;
  v.textContent = text;
  document.documentElement.dataset.verdict = kind;
}

/** The custody entries of an exported bundle: who had it and when (seq, time, user, what, result). */
function renderCustody(report) {
  const section = $('custody');
  const tbody = $('custody-table').tBodies[0];
  tbody.replaceChildren();
  const present = report.checks.some((c) => c.name === 'custody' && !(c.status === 'pass' && c.detail.startsWith('not present')));
  section.hidden = report.hearing === null;
  $('custody-none').hidden = present;
  $('custody-wrap').hidden = !report.custody.length;
  // The entries are listed as the extract states them; if its checks failed they are not
  // proven, and the page says so next to them.
  const failed = report.checks.some((c) => c.name.startsWith('custody') && c.status === 'fail');
  $('custody-unproven').hidden = !(present && failed);
  $('custody-intro').hidden = !present || failed;
  for (const r of report.custody) {
    const tr = el('tr');
    tr.dataset.seq = String(r.seq);
    tr.append(el('td', String(r.seq)), el('td', r.time), el('td', r.user), el('td', r.what, 'detail'), el('td', r.result));
    tbody.append(tr);
  }
}

let shown = null;

/** The catalogue key describing check `name` (`log.entries` -> `verify.check_log_entries`,
 * else its first part's, `custody.checkpoints` -> `verify.check_custody`). */
function checkKey(name) {
  const whole = `verify.check_${String(name).replace(/\./g, '_')}`;
  return hasKey(whole) ? whole : `verify.check_${String(name).split('.')[0]}`;
}

function render(report, file, ms) {
  shown = { report, file, ms };
  const tbody = $('checks').tBodies[0];
  tbody.replaceChildren();
  const io = ioFailed(report);
  // Green "valid" only with the court's key pinned: a bundle forged with its own key
  // passes every check against that key ("valid, key not pinned", amber).
  if (io) setVerdict('error', t('verify.verdict_io'));
  else if (report.verdict === 'valid') setVerdict('valid', t('verify.verdict_valid'));
  else if (report.verdict === 'valid_key_not_pinned') setVerdict('unpinned', t('verify.verdict_unpinned'));
  else setVerdict('invalid', t('verify.verdict_invalid'));
  const dl = $('summary');
  dl.replaceChildren();
  const row = (k, v) => { dl.append(el('dt', k), el('dd', v)); };
  row(t('verify.sum_bundle'), t('verify.sum_bundle_value', { name: file.name, size: mb(file.size) }));
  if (report.hearing !== null) row(t('verify.sum_hearing'), report.hearing);
  if (report.log_size !== null) row(t('verify.sum_log'), String(report.log_size));
  if (report.key_fingerprint) {
    const pin = t(report.key_pinned ? 'verify.key_pinned' : 'verify.key_not_pinned');
    row(t('verify.sum_key'), `${report.key_fingerprint} (${pin})`);
  }
  if (report.hearing !== null) {
    row(t('verify.sum_custody'), report.custody.length
      ? t('verify.sum_custody_n', { n: report.custody.length })
      : t('verify.sum_custody_none'));
  }
  const notes = $('notes');
  notes.replaceChildren();
  for (const i of report.interruptions) {
    const what = i.from_seq < i.to_seq
      ? t('verify.interrupted_committed', { from: String(i.from_seq), to: String(i.to_seq - 1n), seq: String(i.seq) })
      : t('verify.interrupted_pending', { seq: String(i.seq) });
    notes.append(el('p', t('verify.interrupted', { what }), 'notice warn'));
  }
  for (const h of hints(report)) notes.append(el('p', t('verify.hint', { hint: t(h.key, h.vars) }), 'notice hint'));
  renderCustody(report);
  for (const c of report.checks) {
    const tr = el('tr', undefined, c.status);
    tr.dataset.name = c.name;
    tr.dataset.status = c.status;
    tr.dataset.code = c.error ? c.error.code : '';
    const tag = el('span', t(`verify.status_${c.status}`), `tag ${c.status}`);
    const td = el('td');
    td.append(tag);
    // What the check is, in the page's language, with its name as sworn-verify prints it.
    const what = el('td', `${t(checkKey(c.name))} `);
    what.append(el('code', c.name));
    // The detail is sworn-verify's own words (English), to compare with its output.
    const detail = el('td', c.detail, 'detail');
    detail.lang = 'en';
    detail.dir = 'ltr';
    tr.append(td, what, el('td', c.error ? c.error.code : ''), detail);
    tbody.append(tr);
  }
  $('timing').textContent = t('verify.timing', { secs: (ms / 1000).toFixed(2) });
  $('result').hidden = false;
}

async function run(file) {
  if (running || !file) return;
  running = true;
  document.documentElement.dataset.state = 'verifying';
  delete document.documentElement.dataset.verdict;
  $('result').hidden = true;
  $('progress-card').hidden = false;
  const started = performance.now();
  let last = 0;
  const onProgress = (p) => {
    const now = performance.now();
    if (now - last > 100 || !p.total) { last = now; showProgress(p, started); }
  };
  try {
    const opts = { ...(await trusted()), trustedTsaChain: await trustedChain(), onProgress };
    const src = await openZip(file);
    const report = await verifyBundle(src, opts);
    render(report, file, performance.now() - started);
  } catch (e) {
    const tbody = $('checks').tBodies[0];
    tbody.replaceChildren();
    $('summary').replaceChildren();
    $('notes').replaceChildren();
    $('custody').hidden = true;
    shown = null;
    const why = t(e instanceof ZipOpenError ? 'verify.cannot_open' : 'verify.error', { reason: e.message });
    setVerdict('error', t('verify.verdict_error', { why }));
    $('timing').textContent = '';
    $('result').hidden = false;
  } finally {
    $('progress-card').hidden = true;
    running = false;
    document.documentElement.dataset.state = 'done';
  }
}

async function init() {
  try {
    // A change of language redraws the result shown (the checks' details stay sworn-verify's).
    await initPageLanguage(() => { if (shown && !running) render(shown.report, shown.file, shown.ms); });
  } catch {
    // No translations reachable: the page keeps its English text.
  }
  const input = $('bundle');
  const drop = $('drop');
  input.addEventListener('change', () => run(input.files[0]));
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f) run(f);
  });
  document.documentElement.dataset.state = 'ready';
}

init();
