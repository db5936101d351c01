// The verifier page (web/verify.html): takes a dropped or chosen bundle zip and optional
// pinned keys, runs the verifier with progress, and shows the verdict, the summary and
// every named check. Everything stays in this browser.
// It must never upload or send anything, never build markup from bundle text (textContent
// only), and never show VALID unless the report is valid.

import { openZip, ZipOpenError } from './zip.js';
import { verifyBundle, ioFailed } from './bundle.js';
import { describeInterruption } from './log.js';
import { parsePublicKeyPem, parseVkey } from './keys.js';
import { hints } from './hints.js';

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
    const what = p.phase === 'hashing' ? 'Hashing every file' : 'Checking media chunks against the log';
    text.textContent = `${what}: ${mb(p.done)} of ${mb(p.total)} MB — ${p.file} (${secs} s)`;
  } else {
    bar.removeAttribute('value');
    text.textContent = `Checking ${p.phase} (${secs} s)`;
  }
}

function trustedKey() {
  const t = $('trust').value.trim();
  if (!t) return null;
  return t.includes('-----BEGIN') ? parsePublicKeyPem(t) : parseVkey(t).key;
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

function render(report, file, ms) {
  const tbody = $('checks').tBodies[0];
  tbody.replaceChildren();
  const io = ioFailed(report);
  if (io) setVerdict('error', 'ERROR — a file of the bundle could not be read');
  else if (report.valid) setVerdict('valid', 'VALID — every check passed');
  else setVerdict('invalid', 'INVALID — see the failed checks below');
  const dl = $('summary');
  dl.replaceChildren();
  const row = (k, v) => { dl.append(el('dt', k), el('dd', v)); };
  row('Bundle', `${file.name} (${mb(file.size)} MB)`);
  if (report.hearing !== null) row('Hearing', report.hearing);
  if (report.log_size !== null) row('Log entries', String(report.log_size));
  if (report.key_fingerprint) {
    row('Server key', `${report.key_fingerprint} (${report.key_pinned ? 'pinned' : "NOT pinned: compare it with the court's published key"})`);
  }
  const notes = $('notes');
  notes.replaceChildren();
  for (const i of report.interruptions) {
    notes.append(el('p', `Recording was interrupted: ${describeInterruption(i)}`, 'notice warn'));
  }
  if (!report.valid) {
    for (const h of hints(report)) notes.append(el('p', `Hint: ${h}`, 'notice hint'));
  }
  for (const c of report.checks) {
    const tr = el('tr', undefined, c.status);
    tr.dataset.name = c.name;
    tr.dataset.status = c.status;
    tr.dataset.code = c.error ? c.error.code : '';
    const tag = el('span', c.status.toUpperCase(), `tag ${c.status}`);
    const td = el('td');
    td.append(tag);
    tr.append(td, el('td', c.name), el('td', c.error ? c.error.code : ''), el('td', c.detail, 'detail'));
    tbody.append(tr);
  }
  $('timing').textContent = `Verified in ${(ms / 1000).toFixed(2)} s in this browser.`;
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
    const opts = { trustedKey: trustedKey(), trustedTsaChain: await trustedChain(), onProgress };
    const src = await openZip(file);
    const report = await verifyBundle(src, opts);
    render(report, file, performance.now() - started);
  } catch (e) {
    const tbody = $('checks').tBodies[0];
    tbody.replaceChildren();
    $('summary').replaceChildren();
    $('notes').replaceChildren();
    const why = e instanceof ZipOpenError ? `cannot open bundle: ${e.message}` : `error: ${e.message}`;
    setVerdict('error', `ERROR — ${why}`);
    $('timing').textContent = '';
    $('result').hidden = false;
  } finally {
    $('progress-card').hidden = true;
    running = false;
    document.documentElement.dataset.state = 'done';
  }
}

function init() {
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
