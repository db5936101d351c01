// join.js — the page behind an invite link (/join/<token>) for the witness and every
// invited participant: device check, name, attestation key, lobby, the hearing itself,
// and clear end states (denied, removed, revoked, ended, replaced). All text goes
// through i18n.js. Must never log or display the token, and never send media before
// the court admits the participant (the server enforces it too).

import { api, ApiError } from './api.js';
import { $, setStatus } from './dom.js';
import { pickLanguage, setLanguage, bindLanguageSelect, language, t, tSigned } from './i18n.js';
import { LocalMedia, LevelMeter, listDevices, fillDeviceSelect, deviceIdOf } from './media.js';
import { participantKey, deviceProof, helloKey } from './keys.js';
import { Call } from './call.js';
import { VideoGrid } from './video-grid.js';
import { QualityMonitor } from './quality.js';
import { Attestor } from './attest.js';
import { OathDialog, IdentityPanel } from './join-evidence.js';
import { ConsultPanel } from './consult.js';
import { RightsPanel } from './rights.js';
import { Exhibits } from './exhibit.js';
import { Interpretation } from './interpret.js';
import { stateName, requestLine } from './request.js';
import { playTestTone, deviceCheckMessage } from './device-check.js';
import { CourtControls } from './court-controls.js';

const token = decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] || '');
const SECTIONS = ['s-loading', 's-check', 's-lobby', 's-hearing', 's-end'];
const local = new LocalMedia();
let info = null;
let consult = null;
let exhibits = null;
let interp = null;
let court = null;
let call = null;
let key = null;
let quality = null;
let mutedByCourt = false;
let current = 's-loading';
let meter = null;
let endState = null;
let joining = false;
let attestor = null;
let oath = null;
let identity = null;
let rights = null;
let leaving = false;
let micHeard = false;
/** What the device check saw (set when joining) and whether this socket reported it. */
let checkSeen = null;
let checkSent = false;
let checkSamples = 0;
const people = new Map();

function show(id) {
  current = id;
  for (const s of SECTIONS) $(`#${s}`).hidden = s !== id;
  $('#reconnecting').hidden = true;
  const h = $(`#${id} h1`);
  if (h && id !== 's-hearing') {
    h.setAttribute('tabindex', '-1');
    h.focus();
  }
}

const grid = new VideoGrid($('#grid'), {
  role: (r) => t(`role.${r}`),
  connection: (c) => t(`connection.${c}`),
  muted: () => t('hearing.muted'),
  waitingVideo: () => t('hearing.waiting_video'),
  you: () => t('hearing.you'),
  onAudioBlocked: () => { $('#audio-blocked').hidden = false; },
});

/** End states: each has a title, a text and maybe an action. */
const END = {
  invite_invalid: { action: null },
  invite_expired: { action: null },
  invite_revoked: { action: null },
  denied: { action: null },
  device_refused: { action: null },
  hearing_locked: { action: 'rejoin' },
  removed: { action: null },
  hearing_closed: { action: null },
  replaced: { action: 'rejoin' },
  left: { action: 'rejoin' },
  error: { action: 'rejoin' },
  not_supported: { action: null },
};

function end(kind) {
  endState = END[kind] ? kind : 'error';
  if (interp) interp.stop(false);
  if (call) {
    call.stop();
    call = null;
  }
  if (quality) quality.stop();
  if (meter) meter.detach();
  local.stop();
  renderEnd();
  show('s-end');
}

function renderEnd() {
  if (!endState) return;
  $('#end-title').textContent = t(`end.${endState}.title`);
  $('#end-text').textContent = t(`end.${endState}.text`);
  const action = END[endState].action;
  const b = $('#end-action');
  b.hidden = !action;
  if (action) b.textContent = t(`end.action.${action}`);
}

function renderIntro() {
  if (!info) return;
  const h = info.hearing;
  $('#case-ref').textContent = h.case_ref || '';
  $('#check-intro').textContent = t('check.intro', {
    role: t(`role.${info.participant.role}`),
    court: stateName(h, 'requesting'),
    case: h.case_ref || '',
  });
  $('#check-request').textContent = requestLine(h, t);
  grid.relabel();
  for (const p of people.values()) grid.update(p);
  renderEnd();
  updateToggleLabels();
  if (rights) rights.render();
}

async function startPreview() {
  const st = $('#media-status');
  setStatus(st, t('check.opening'));
  try {
    const camId = $('#cam-select').value || undefined;
    const micId = $('#mic-select').value || undefined;
    await local.open(micId, camId);
    $('#preview').srcObject = local.stream;
    const parts = [];
    if (!local.has('video')) parts.push(t('check.no_camera'));
    if (!local.has('audio')) parts.push(t('check.no_microphone'));
    setStatus(st, parts.length ? parts.join(' ') : t('check.ready'), parts.length ? 'error' : 'ok');
    meter.attach(local.stream);
    const d = await listDevices();
    fillDeviceSelect($('#cam-select'), d.video, deviceIdOf(local.stream, 'video'), (i) => t('check.camera_n', { n: i }));
    fillDeviceSelect($('#mic-select'), d.audio, deviceIdOf(local.stream, 'audio'), (i) => t('check.microphone_n', { n: i }));
  } catch (e) {
    const denied = e && (e.name === 'NotAllowedError' || e.name === 'SecurityError');
    setStatus(st, t(denied ? 'check.denied' : 'check.failed'), 'error');
  }
}

function bindCheck() {
  meter = new LevelMeter($('#meter-bar'), (level) => {
    if (!micHeard && level > 0.05) {
      micHeard = true;
      setStatus($('#meter-status'), t('check.heard'), 'ok');
    }
  });
  $('#cam-select').addEventListener('change', () => startPreview());
  $('#mic-select').addEventListener('change', () => startPreview());
  $('#retry-media').addEventListener('click', () => startPreview());
  $('#speaker-test').addEventListener('click', () => { playTestTone().catch(() => {}); });
  $('#join-button').addEventListener('click', () => join());
  $('#display-name').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') join();
  });
}

async function join() {
  if (joining) return;
  const name = $('#display-name').value.trim();
  const st = $('#check-status');
  if (!name) {
    setStatus(st, t('check.name_missing'), 'error');
    $('#display-name').focus();
    return;
  }
  if (!local.has('audio') && !local.has('video')) {
    setStatus(st, t('check.need_media'), 'error');
    return;
  }
  joining = true;
  checkSeen = {
    camera: local.has('video'),
    microphone: local.has('audio'),
    micHeard,
    speakerHeard: $('#speaker-heard').checked,
  };
  $('#join-button').disabled = true;
  setStatus(st, t('check.joining'));
  key = await participantKey(info.participant.id);
  meter.detach();
  $('#lobby-preview').srcObject = local.stream;
  $('#self-video').srcObject = local.stream;
  if (info.participant.role === 'clerk') {
    $('#court-section').hidden = false;
    court = new CourtControls({
      send: (m) => { if (call) call.send(m); },
      nameOf: (id) => (people.get(id) || {}).display_name || id,
      selfId: () => info.participant.id,
      isJudge: false,
    });
  }
  // What the exhibit and interpretation modules (second, send-only connections) share.
  const extra = {
    role: () => info.participant.role,
    selfId: () => info.participant.id,
    send: (m) => { if (call) call.send(m); },
    iceServers: () => (call ? call.iceServers : []),
    grid,
    nameOf: (id) => (people.get(id) || {}).display_name || '',
  };
  exhibits = new Exhibits(extra);
  interp = new Interpretation({
    ...extra,
    micTrack: () => (local.stream ? local.stream.getAudioTracks()[0] || null : null),
    floorMic: (on) => {
      if (on && mutedByCourt) return;
      local.setAudio(on);
      updateToggleLabels();
      if (call) call.mediaState(local.audioOn, local.videoOn);
    },
  });
  consult = new ConsultPanel({
    selfId: () => info.participant.id,
    selfRole: () => info.participant.role,
    send: (m) => { if (call) call.send(m); },
  });
  call = new Call({
    path: `/ws/join/${encodeURIComponent(token)}`,
    hello: async (challenge) => {
      const proof = await deviceProof(key, challenge);
      return { type: 'hello', display_name: name, ...helloKey(key), ...(proof ? { proof } : {}) };
    },
    localStream: () => local.stream,
    iceServers: info.ice_servers,
    onEvent,
  });
  attestor = new Attestor({
    hearingId: info.hearing.id,
    participantId: () => info.participant.id,
    key,
    send: (m) => { if (call) call.send(m); },
    cosignText: (n) => tSigned('attest.cosign_text', { n }),
  });
  oath = new OathDialog({ attestor, status: attestStatus });
  rights = new RightsPanel({
    send: (m) => { if (call) call.send(m); },
    role: info.participant.role,
    nameOf: (id) => (id === info.participant.id ? name : (people.get(id) || {}).display_name || id),
  });
  if (info.participant.role === 'official') identity = new IdentityPanel({ attestor, status: attestStatus, selfId: info.participant.id });
  call.start();
  quality = new QualityMonitor(() => call ? call.stats() : Promise.resolve(null), (level, m) => {
    reportDeviceCheck(m);
    const q = $('#quality');
    q.className = `badge ${level}`;
    q.textContent = t(`quality.${level}`);
  });
}

/** Once per connection, in the hearing: the device check with the first measured round
 * trip (or without one after a few samples) goes on record (`device_check`). */
function reportDeviceCheck(m) {
  if (checkSent || !checkSeen || !call) return;
  checkSamples += 1;
  if ((!m || m.rtt === null) && checkSamples < 4) return;
  checkSent = true;
  call.send(deviceCheckMessage(checkSeen, m));
}

function enterHearing() {
  if (current !== 's-hearing') show('s-hearing');
  call.mediaState(local.audioOn, local.videoOn);
  $('#quality').className = 'badge';
  $('#quality').textContent = t('quality.connecting');
  quality.start();
}

function onEvent(type, data) {
  if (rights && rights.onEvent(type, data)) return;
  if (exhibits && exhibits.onEvent(type, data)) return;
  if (interp && interp.onEvent(type, data)) return;
  // A clerk's page: the court panel (markers; the conduct while delegated).
  if (court && type !== 'court' && court.onEvent(type, data)) return;
  if (court && type === 'court') court.onEvent(type, data);
  switch (type) {
    case 'open':
      break;
    case 'welcome':
      tellLanguage();
      checkSent = false;
      checkSamples = 0;
      $('#reconnecting').hidden = true;
      $('#lobby-other-device').hidden = true;
      if (data.hearing && data.hearing.state === 'closed') return end('hearing_closed');
      if (data.participant && data.participant.presence === 'admitted') enterHearing();
      break;
    case 'lobby':
      show('s-lobby');
      break;
    case 'device_unrecognized':
      // Another device holds this invitation: wait for the court to decide.
      $('#lobby-other-device').hidden = false;
      show('s-lobby');
      break;
    case 'admitted':
      $('#lobby-other-device').hidden = true;
      enterHearing();
      break;
    case 'denied':
      end('denied');
      break;
    case 'roster':
      if (Array.isArray(data.participants)) onRoster(data.participants);
      break;
    case 'audio_only':
      // The server stopped the video sent to us: our downlink cannot carry it.
      $('#audio-only').hidden = !data.active;
      break;
    case 'stream':
      if (interp && interp.attach(data.id, data.stream)) break;
      grid.attach(data.id, data.stream);
      if (interp) interp.apply(); // the floor's volume for a new tile
      break;
    case 'stream_gone':
      if (interp && interp.detach(data.id)) break;
      grid.detach(data.id);
      break;
    case 'muted':
      setCourtMuted(true);
      break;
    case 'court':
      showCourtState(data);
      if (consult) consult.court(data);
      break;
    case 'video':
      $('#court-video').hidden = !data.stopped_by_court;
      break;
    case 'unmuted':
      setCourtMuted(false);
      break;
    case 'hearing_state':
      if (data.state === 'closed') end('hearing_closed');
      break;
    case 'reconnecting': {
      // 1001: the server is stopping (a restart); what was recorded is sealed.
      const key = data.code === 1001 ? 'join.server_restarting' : 'join.reconnecting';
      $('#reconnecting-text').dataset.i18n = key;
      $('#reconnecting-text').textContent = t(key);
      if (current !== 's-end') $('#reconnecting').hidden = false;
      $('#quality').className = 'badge poor';
      $('#quality').textContent = t('quality.reconnecting');
      break;
    }
    case 'closed':
      // Our own stop() after an end state (denied, left…) closes the socket too: keep that state.
      if (current === 's-end') break;
      end(data.reason || 'error');
      break;
    case 'peer_state':
      if (data === 'failed' || data === 'disconnected') {
        $('#quality').className = 'badge poor';
        $('#quality').textContent = t('quality.reconnecting');
      }
      break;
    case 'checkpoint':
      if (attestor) attestor.onCheckpoint(data.checkpoint);
      break;
    case 'oath_request':
      if (oath) oath.open(data);
      break;
    case 'attested':
      onAttested(data.kind);
      break;
    case 'error':
      if (data.code === 'bad_attestation' || data.code === 'forbidden' || data.code === 'not_recording') {
        attestStatus(t('attest.refused', { reason: String(data.message || data.code) }), 'error');
        for (const b of ['#id-sign', '#oath-sign']) if ($(b)) $(b).disabled = false;
      }
      if (data.code === 'invite_revoked' || data.code === 'invite_expired' || data.code === 'invite_invalid') end(data.code);
      break;
    default:
      break;
  }
}

/** The court state: a recess is shown with its reason (recording goes on). */
function showCourtState(data) {
  const r = data && data.recess;
  $('#recess').hidden = !r;
  if (r) $('#recess-text').textContent = t('hearing.recess', { reason: String(r.reason || '') });
}

function onRoster(list) {
  const present = new Set();
  const selfId = info.participant.id;
  for (const p of list) {
    if (!p || typeof p.id !== 'string') continue;
    if (p.id === selfId) {
      if (typeof p.muted_by_court === 'boolean') setCourtMuted(p.muted_by_court);
      if (p.presence === 'removed') return end('removed');
      continue;
    }
    if (p.presence !== 'admitted') continue;
    present.add(p.id);
    people.set(p.id, p);
    if (identity) identity.offer(p);
    grid.update(p);
  }
  for (const id of [...people.keys()]) if (!present.has(id)) people.delete(id);
  if (exhibits) for (const id of exhibits.ids()) present.add(id);
  grid.retain(present);
  if (consult) consult.roster(list);
}

/** A quiet line under the controls about the record ("co-signed", "oath recorded"). */
function attestStatus(text, kind = '') {
  setStatus($('#attest-status'), text, kind);
}

const closingWaiters = [];

function onAttested(kind) {
  if (kind === 'cosign') setStatus($('#cosign-status'), t('attest.cosigned'), 'ok');
  else if (kind === 'oath') {
    if (oath) oath.recorded();
    attestStatus(t('oath.recorded'), 'ok');
  } else if (kind === 'identity') {
    if (identity) identity.recorded();
    attestStatus(t('identity.recorded'), 'ok');
  } else if (kind === 'closing') {
    for (const w of closingWaiters.splice(0)) w();
  }
}

/** Leave: sign the closing statement (waiting briefly for the server), then go. */
async function leave() {
  if (leaving) return;
  leaving = true;
  $('#leave').disabled = true;
  if (attestor && attestor.canSign && attestor.latest) {
    attestStatus(t('attest.closing'));
    const place = info.hearing.requested_state || '—';
    const done = new Promise((resolve) => {
      closingWaiters.push(resolve);
      setTimeout(resolve, 4000);
    });
    try {
      await attestor.sign('closing', tSigned('attest.closing_text', { place }));
      await done;
    } catch (_e) {
      // no key or no checkpoint: leave anyway, the log records the departure
    }
  }
  leaving = false;
  $('#leave').disabled = false;
  end('left');
}

function setCourtMuted(on) {
  mutedByCourt = on;
  $('#court-muted').hidden = !on;
  if (on) local.setAudio(false);
  $('#toggle-mic').disabled = on;
  updateToggleLabels();
}

function updateToggleLabels() {
  const mic = $('#toggle-mic');
  mic.setAttribute('aria-pressed', String(!local.audioOn));
  mic.textContent = t(local.audioOn ? 'hearing.mute_mic' : 'hearing.unmute_mic');
  const cam = $('#toggle-cam');
  cam.setAttribute('aria-pressed', String(!local.videoOn));
  cam.textContent = t(local.videoOn ? 'hearing.camera_off' : 'hearing.camera_on');
}

function bindHearing() {
  $('#toggle-mic').addEventListener('click', () => {
    if (mutedByCourt) return;
    local.setAudio(!local.audioOn);
    updateToggleLabels();
    if (call) call.mediaState(local.audioOn, local.videoOn);
  });
  $('#toggle-cam').addEventListener('click', () => {
    local.setVideo(!local.videoOn);
    updateToggleLabels();
    if (call) call.mediaState(local.audioOn, local.videoOn);
  });
  $('#leave').addEventListener('click', () => leave());
  $('#enable-audio').addEventListener('click', () => {
    grid.resumeAudio();
    if (interp) interp.resume();
    $('#audio-blocked').hidden = true;
  });
}

/** Tells the court which language this page shows: the oath comes in it. */
function tellLanguage() {
  if (call) call.send({ type: 'language', language: language() });
}

async function main() {
  await setLanguage(pickLanguage(null));
  bindLanguageSelect($('#lang-select'), () => {
    renderIntro();
    tellLanguage();
  });
  $('#end-action').addEventListener('click', () => location.reload());
  if (!token) return end('invite_invalid');
  if (!window.RTCPeerConnection || !navigator.mediaDevices) return end('not_supported');
  try {
    info = await api.get(`/api/join/${encodeURIComponent(token)}`);
  } catch (e) {
    const code = e instanceof ApiError ? e.code : 'error';
    return end(END[code] ? code : code === 'not_found' ? 'invite_invalid' : 'error');
  }
  if (!info || !info.hearing || !info.participant) return end('error');
  // The invitation's language (the court's choice for this participant), else the hearing's.
  await setLanguage(pickLanguage(info.participant.language || info.hearing.language));
  $('#lang-select').value = document.documentElement.lang;
  $('#display-name').value = info.participant.display_name || '';
  $('#recorded-notice').hidden = !!info.hearing.rehearsal;
  $('#rehearsal-notice').hidden = !info.hearing.rehearsal;
  if (info.hearing.state === 'closed') return end('hearing_closed');
  bindCheck();
  bindHearing();
  renderIntro();
  show('s-check');
  await startPreview();
}

main();
