// hearing.js — the judge's hearing room (/console/hearings/<id>): hearing state,
// open / end, participants and their invite links, the waiting room, the video grid,
// and the judge's own camera + microphone over /ws/hearings/<id>.
// Must never keep an invite link after the judge closes the reveal panel, and never
// log names, links or SDP.

import { api, ApiError, messageFor, requireUser, logout } from './api.js';
import { $, el, setStatus, formatTime, copyText } from './dom.js';
import { Call } from './call.js';
import { VideoGrid } from './video-grid.js';
import { LocalMedia, listDevices, fillDeviceSelect, deviceIdOf } from './media.js';
import { QualityMonitor } from './quality.js';
import { stateName, requestLine } from './request.js';
import { renderPeople, roleLabel, connectionLabel } from './people.js';
import { initPageLanguage, isolate, t, tSigned, LANGUAGES } from './i18n.js';
import { participantKey, helloKey } from './keys.js';
import { Attestor } from './attest.js';
import { RecordPanel } from './hearing-record.js';
import { CourtControls } from './court-controls.js';
import { Exhibits } from './exhibit.js';
import { Interpretation } from './interpret.js';
import { RightsPanel } from './rights.js';


const hearingId = decodeURIComponent(location.pathname.split('/').filter(Boolean)[2] || '');
const base = `/api/hearings/${encodeURIComponent(hearingId)}`;
const people = new Map();
let hearing = null;
let selfId = null;
let user = null;
let call = null;
let lastRender = '';
let record = null;
let court = null;
let exhibits = null;
let interp = null;
let rights = null;
let key = null;
const local = new LocalMedia();
const status = () => $('#room-status');
/** The socket closed with 1001 (server stopping) and has not reopened yet. */
let serverRestarting = false;

const grid = new VideoGrid($('#grid'), {
  role: roleLabel,
  connection: connectionLabel,
  muted: () => t('hearing.muted'),
  waitingVideo: () => t('hearing.waiting_video'),
  you: () => t('hearing.you'),
  onAudioBlocked: () => { $('#audio-blocked').hidden = false; },
});

function renderHeader() {
  if (!hearing) return;
  // The case reference is data, not a text to translate: unmark it for applyTranslations.
  if (hearing.case_ref) $('#title').removeAttribute('data-i18n');
  $('#title').textContent = hearing.case_ref || t('room.title');
  document.title = `${hearing.case_ref || t('room.title')} — sworn`;
  const badge = $('#state-badge');
  badge.className = `badge state-${hearing.state}`;
  badge.textContent = t(`state.${hearing.state}`);
  $('#recording').hidden = hearing.state !== 'open' || !!hearing.rehearsal;
  $('#rehearsal-banner').hidden = !hearing.rehearsal;
  document.body.classList.toggle('rehearsal', !!hearing.rehearsal);
  $('#request').textContent = requestLine(hearing, t);
  $('#open-hearing').hidden = hearing.state !== 'scheduled';
  $('#close-hearing').hidden = hearing.state !== 'open';
  $('#add-form').hidden = hearing.state === 'closed';
  $('#oath-admin').hidden = hearing.state !== 'open';
  $('#court-section').hidden = hearing.state !== 'open';
  if (hearing.state !== 'open') $('#rights-section').hidden = true;
  document.body.classList.toggle('hearing-closed', hearing.state === 'closed');
  if (hearing.state === 'closed' && call) {
    call.stop();
    call = null;
    local.stop();
    grid.detach('self');
    setMyConnection('room.conn_ended', '');
  }
  $('#meta').textContent = [
    hearing.mla_ref ? t('room.meta_mla', { ref: hearing.mla_ref }) : '',
    `${stateName(hearing, 'requesting')} → ${stateName(hearing, 'requested')}`,
    hearing.scheduled_at ? t('room.meta_scheduled', { time: formatTime(hearing.scheduled_at) }) : '',
    hearing.language ? t('room.meta_language', { lang: hearing.language }) : '',
  ].filter(Boolean).join(' · ');
}

function renderPeopleAndGrid() {
  const list = [...people.values()];
  const key = JSON.stringify(list);
  if (key === lastRender) return;
  lastRender = key;
  renderPeople({
    lobby: $('#lobby-list'),
    lobbyEmpty: $('#lobby-empty'),
    list: $('#people-list'),
    listEmpty: $('#people-empty'),
    act,
    court: (p, control) => { if (call) call.send({ type: 'court', control, participant: p.id }); },
    selfId: () => selfId,
  }, list);
  const present = new Set();
  for (const p of list) {
    if (p.id === selfId) {
      grid.update({ ...p, id: 'self', display_name: p.display_name || user.username }, true);
    } else if (p.presence === 'admitted') {
      present.add(p.id);
      grid.update(p);
    }
  }
  if (exhibits) for (const id of exhibits.ids()) present.add(id);
  grid.retain(present);
  if (record) record.render();
}

function mergeParticipants(list, replace) {
  if (!Array.isArray(list)) return;
  if (replace) people.clear();
  for (const p of list) {
    if (p && typeof p.id === 'string') people.set(p.id, { ...(people.get(p.id) || {}), ...p });
  }
  renderPeopleAndGrid();
}

async function refresh() {
  try {
    hearing = await api.get(base);
    renderHeader();
    mergeParticipants(hearing.participants, true);
  } catch (e) {
    setStatus(status(), messageFor(e), 'error');
  }
}

function absoluteUrl(u) {
  try {
    return new URL(u, location.origin).href;
  } catch (_e) {
    return String(u);
  }
}

function revealInvite(participant, url) {
  $('#invite-for').textContent = `${isolate(participant.display_name)} (${roleLabel(participant.role)})`;
  $('#invite-url').value = absoluteUrl(url);
  setStatus($('#invite-status'), '');
  $('#invite-reveal').hidden = false;
  $('#invite-copy').focus();
}

function bindInviteReveal() {
  $('#invite-copy').addEventListener('click', async () => {
    const ok = await copyText($('#invite-url').value, $('#invite-url'));
    setStatus($('#invite-status'), t(ok ? 'room.copied' : 'room.copy_manually'), ok ? 'ok' : 'error');
  });
  $('#invite-done').addEventListener('click', () => {
    $('#invite-url').value = '';
    $('#invite-reveal').hidden = true;
    $('#p-name').focus();
  });
}

async function act(p, action) {
  setStatus(status(), '');
  try {
    const res = await api.post(`${base}/participants/${encodeURIComponent(p.id)}/${action}`);
    if (action === 'invite' && res && res.invite_url) revealInvite(res.participant || p, res.invite_url);
    setStatus(status(), t(`room.done_${action}`, { name: p.display_name }), 'ok');
  } catch (e) {
    setStatus(status(), `${p.display_name}: ${messageFor(e)}`, 'error');
  }
  await refresh();
}

function bindAddForm() {
  // The languages of the pages, each named in itself (i18n.js LANGUAGES).
  $('#p-lang').append(...Object.entries(LANGUAGES).map(([code, name]) => el('option', { value: code, lang: code }, name)));
  $('#add-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const st = $('#add-status');
    const display_name = $('#p-name').value.trim();
    const role = $('#p-role').value;
    const language = $('#p-lang').value;
    if (!display_name) {
      setStatus(st, t('room.need_name'), 'error');
      $('#p-name').focus();
      return;
    }
    const button = $('#add-submit');
    button.disabled = true;
    try {
      const res = await api.post(`${base}/participants`, language ? { display_name, role, language } : { display_name, role });
      setStatus(st, t('room.added', { name: display_name }), 'ok');
      $('#p-name').value = '';
      revealInvite(res.participant || { display_name, role }, res.invite_url);
      await refresh();
    } catch (e) {
      setStatus(st, messageFor(e), 'error');
    } finally {
      button.disabled = false;
    }
  });
}

function bindStateButtons() {
  $('#open-hearing').addEventListener('click', async () => {
    try {
      hearing = await api.post(`${base}/open`);
      renderHeader();
      setStatus(status(), t('room.opened'), 'ok');
    } catch (e) {
      setStatus(status(), messageFor(e), 'error');
    }
    await refresh();
  });
  const close = $('#close-hearing');
  close.addEventListener('click', async () => {
    if (!close.classList.contains('confirming')) {
      close.classList.add('confirming');
      close.textContent = t('room.end_confirm');
      setTimeout(() => {
        close.classList.remove('confirming');
        close.textContent = t('room.end');
      }, 6000);
      return;
    }
    close.classList.remove('confirming');
    close.textContent = t('room.end');
    if (record && record.opts.attestor.canSign && call) {
      record.requestMinutes();
      return;
    }
    try {
      hearing = await api.post(`${base}/close`);
      renderHeader();
      setStatus(status(), t('room.ended'), 'ok');
    } catch (e) {
      setStatus(status(), messageFor(e), 'error');
    }
    await refresh();
  });
}

/** The badge keeps its catalogue key in `data-i18n`, so a change of language
 * re-translates the state shown rather than resetting it to "Not connected". */
function setMyConnection(key, cls) {
  const b = $('#my-connection');
  b.className = `badge ${cls || ''}`;
  b.dataset.i18n = key;
  b.textContent = t(key);
}

async function setupDevices() {
  const cam = $('#cam-select');
  const mic = $('#mic-select');
  const fill = async () => {
    const d = await listDevices();
    fillDeviceSelect(cam, d.video, deviceIdOf(local.stream, 'video'), (i) => t('room.camera_n', { n: i }));
    fillDeviceSelect(mic, d.audio, deviceIdOf(local.stream, 'audio'), (i) => t('room.microphone_n', { n: i }));
  };
  await fill();
  navigator.mediaDevices.addEventListener('devicechange', () => fill().catch(() => {}));
  const replace = (kind, track) => (call ? call.replaceTrack(kind, track) : Promise.resolve());
  cam.addEventListener('change', () => local.switchDevice('video', cam.value, replace)
    .catch((e) => setStatus(status(), `Camera: ${e.message}`, 'error')));
  mic.addEventListener('change', () => local.switchDevice('audio', mic.value, replace)
    .catch((e) => setStatus(status(), `Microphone: ${e.message}`, 'error')));

  const micBtn = $('#toggle-mic');
  micBtn.addEventListener('click', () => {
    local.setAudio(!local.audioOn);
    labelToggles();
    if (call) call.mediaState(local.audioOn, local.videoOn);
  });
  const camBtn = $('#toggle-cam');
  camBtn.addEventListener('click', () => {
    local.setVideo(!local.videoOn);
    labelToggles();
    if (call) call.mediaState(local.audioOn, local.videoOn);
  });
}

function labelToggles() {
  const mic = $('#toggle-mic');
  mic.setAttribute('aria-pressed', String(!local.audioOn));
  mic.textContent = t(local.audioOn ? 'room.mute_mic' : 'room.unmute_mic');
  const cam = $('#toggle-cam');
  cam.setAttribute('aria-pressed', String(!local.videoOn));
  cam.textContent = t(local.videoOn ? 'room.camera_off' : 'room.camera_on');
}

function onCallEvent(type, data) {
  if (type === 'welcome' && !rights && data.participant) {
    rights = new RightsPanel({
      send: (m) => { if (call) call.send(m); },
      role: data.participant.role,
      language: hearing && hearing.language,
      nameOf: (id) => (people.get(id) || {}).display_name || id,
    });
  }
  if (rights && rights.onEvent(type, data)) return;
  if (record && record.onEvent(type, data)) return;
  if (court && court.onEvent(type, data)) return;
  if (exhibits && exhibits.onEvent(type, data)) return;
  if (interp && interp.onEvent(type, data)) return;
  switch (type) {
    case 'welcome':
      if (data.participant && data.participant.id) {
        selfId = data.participant.id;
        mergeParticipants([data.participant], false);
      }
      setMyConnection('room.conn_connecting', '');
      if (serverRestarting) {
        serverRestarting = false;
        setStatus(status(), t('room.server_back'), 'ok');
      }
      break;
    case 'roster': {
      mergeParticipants(data.participants, false);
      const witness = (data.participants || []).find((p) => p.role === 'witness' && p.presence === 'admitted');
      if (rights && witness && witness.language) rights.suggestLanguage(witness.language);
      break;
    }
    case 'device_alert': {
      const p = people.get(data.participant);
      setStatus(status(), t('room.device_alert', { name: p ? p.display_name : '' }), 'error');
      break;
    }
    case 'audio_only':
      $('#audio-only').hidden = !data.active;
      break;
    case 'audio_only_of':
      grid.setAudioOnly(data.participant, data.active, t('room.audio_only_of'));
      break;
    case 'link_quality': {
      // Round trip, the worse loss and what the participant sends, as the server measures.
      const loss = Math.max(data.loss_in_permille ?? 0, data.loss_out_permille ?? 0);
      // And their camera's simulcast layers, and the pictures their downlink gets reduced.
      const parts = [t('room.link', {
        level: t(`room.link_${data.level}`),
        rtt: data.rtt_ms ?? '–',
        loss: (loss / 10).toFixed(1),
        kbps: data.kbps_in,
      })];
      if (data.height_sent) parts.push(t('room.link_camera', { height: data.height_sent, layers: data.layers_sent ?? 1 }));
      if (data.reduced) parts.push(t('room.link_reduced', { n: data.reduced }));
      grid.setLink(data.participant, data.level, parts.join(' · '));
      break;
    }
    case 'stream':
      if (interp && interp.attach(data.id, data.stream)) break;
      if (data.id !== selfId) grid.attach(data.id, data.stream);
      if (interp) interp.apply(); // the floor's volume for a new tile
      break;
    case 'stream_gone':
      if (interp && interp.detach(data.id)) break;
      grid.detach(data.id);
      break;
    case 'hearing_state':
      if (hearing && typeof data.state === 'string') {
        hearing.state = data.state;
        renderHeader();
      }
      break;
    case 'peer_state':
      if (data === 'connected') setMyConnection('room.conn_connected', 'good');
      else if (data === 'failed') setMyConnection('room.conn_failed', 'poor');
      else if (data === 'disconnected') setMyConnection('room.conn_reconnecting', 'fair');
      break;
    case 'reconnecting':
      if (data.code === 1001) {
        // The server is stopping (a restart): the recordings so far are sealed and the
        // log says why; the console reconnects by itself when the server is back.
        setMyConnection('room.conn_server_restarting', 'fair');
        setStatus(status(), t('room.server_restarting'), 'error');
        serverRestarting = true;
      } else {
        setMyConnection('room.conn_reconnecting', 'fair');
      }
      break;
    case 'closed':
      setMyConnection('room.conn_disconnected', 'poor');
      if (data.reason === 'hearing_closed') setStatus(status(), t('room.ended_short'), 'ok');
      else if (data.reason === 'replaced') setStatus(status(), t('room.replaced'), 'error');
      else setStatus(status(), t('room.ws_closed'), 'error');
      break;
    case 'error':
      if (record && record.failed(String(data.message || data.code))) break;
      setStatus(status(), messageFor(new ApiError(String(data.code), String(data.message || ''), 0)), 'error');
      break;
    default:
      break;
  }
}

async function main() {
  await initPageLanguage(() => {
    lastRender = '';
    if (court) court.render();
    if (rights) rights.render();
    renderHeader();
    renderPeopleAndGrid();
    grid.relabel();
    labelToggles();
  });
  labelToggles();
  if (!hearingId) {
    setStatus(status(), t('room.no_hearing'), 'error');
    return;
  }
  user = await requireUser();
  $('#who').textContent = user.username;
  $('#logout').addEventListener('click', () => logout());
  bindInviteReveal();
  bindAddForm();
  bindStateButtons();
  $('#enable-audio').addEventListener('click', () => {
    grid.resumeAudio();
    if (interp) interp.resume();
    $('#audio-blocked').hidden = true;
  });
  await refresh();
  const attestor = new Attestor({
    hearingId,
    participantId: () => selfId,
    key: null,
    send: (m) => { if (call) call.send(m); },
    cosignText: (n) => tSigned('attest.cosign_text', { n }),
  });
  record = new RecordPanel({
    base,
    hearingId,
    people,
    send: (m) => { if (call) call.send(m); },
    attestor,
    status: (text, kind) => setStatus(status(), text, kind),
    onClosed: (h) => {
      hearing = { ...hearing, ...h };
      renderHeader();
      setStatus(status(), t('room.ended'), 'ok');
    },
  });
  record.render();
  if (hearing && hearing.state === 'closed') record.pollSeal();
  if (!hearing || hearing.state === 'closed') return;
  // The judge's attestation key (minutes, co-signatures), one per hearing and account.
  key = await participantKey(`judge:${hearingId}:${user.id}`);
  attestor.opts.key = key;

  const selfTile = grid.update({ id: 'self', display_name: user.username, role: 'judge' }, true);
  try {
    await local.open();
    grid.attach('self', local.stream, true);
    await setupDevices();
  } catch (e) {
    selfTile.placeholder.textContent = t('room.media_unavailable');
    setStatus(status(), t('room.media_failed', { error: e.name || 'error' }), 'error');
  }
  // What the exhibit and interpretation modules (second, send-only connections) share.
  const extra = {
    role: () => 'judge',
    selfId: () => selfId,
    send: (m) => { if (call) call.send(m); },
    iceServers: () => (call ? call.iceServers : []),
    grid,
    nameOf: (id) => (people.get(id) || {}).display_name || '',
  };
  exhibits = new Exhibits(extra);
  interp = new Interpretation({
    ...extra,
    micTrack: () => null,
    floorMic: () => {},
  });
  court = new CourtControls({
    send: (m) => { if (call) call.send(m); },
    nameOf: (id) => (people.get(id) || {}).display_name || id,
    selfId: () => selfId,
    isJudge: true,
  });
  call = new Call({
    path: `/ws/hearings/${encodeURIComponent(hearingId)}`,
    hello: () => ({ type: 'hello', ...helloKey(key) }),
    localStream: () => local.stream,
    onEvent: onCallEvent,
  });
  call.start();
  const quality = new QualityMonitor(() => (call ? call.stats() : Promise.resolve(null)), (level) => {
    if (call && call.peer && call.peer.pc.connectionState === 'connected') setMyConnection(level === 'unknown' ? 'room.conn_connected' : `room.quality_${level}`, level);
  });
  quality.start();
  setInterval(() => refresh(), 15000);
}

main();
