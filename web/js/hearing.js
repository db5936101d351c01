// hearing.js — the judge's hearing room (/console/hearings/<id>): hearing state,
// open / end, participants and their invite links, the waiting room, the video grid,
// and the judge's own camera + microphone over /ws/hearings/<id>.
// Must never keep an invite link after the judge closes the reveal panel, and never
// log names, links or SDP.

import { api, ApiError, messageFor, requireUser, logout } from './api.js';
import { $, setStatus, formatTime, copyText } from './dom.js';
import { Call } from './call.js';
import { VideoGrid } from './video-grid.js';
import { LocalMedia, listDevices, fillDeviceSelect, deviceIdOf } from './media.js';
import { QualityMonitor } from './quality.js';
import { renderPeople, roleLabel, CONNECTION_LABEL } from './people.js';

const STATE_LABEL = { scheduled: 'Scheduled', open: 'Open', closed: 'Closed' };
const QUALITY_LABEL = { good: 'Connection good', fair: 'Connection fair', poor: 'Connection poor', unknown: 'Connected' };

const hearingId = decodeURIComponent(location.pathname.split('/').filter(Boolean)[2] || '');
const base = `/api/hearings/${encodeURIComponent(hearingId)}`;
const people = new Map();
let hearing = null;
let selfId = null;
let user = null;
let call = null;
let lastRender = '';
const local = new LocalMedia();
const status = () => $('#room-status');

const grid = new VideoGrid($('#grid'), {
  role: roleLabel,
  connection: (c) => CONNECTION_LABEL[c] || c,
  muted: () => 'Muted',
  waitingVideo: () => 'Waiting for video…',
  you: () => 'you',
  onAudioBlocked: () => { $('#audio-blocked').hidden = false; },
});

function renderHeader() {
  if (!hearing) return;
  $('#title').textContent = hearing.case_ref || 'Hearing';
  document.title = `${hearing.case_ref || 'Hearing'} — sworn`;
  const badge = $('#state-badge');
  badge.className = `badge state-${hearing.state}`;
  badge.textContent = STATE_LABEL[hearing.state] || hearing.state;
  $('#recording').hidden = hearing.state !== 'open';
  $('#open-hearing').hidden = hearing.state !== 'scheduled';
  $('#close-hearing').hidden = hearing.state !== 'open';
  $('#add-form').hidden = hearing.state === 'closed';
  document.body.classList.toggle('hearing-closed', hearing.state === 'closed');
  if (hearing.state === 'closed' && call) {
    call.stop();
    call = null;
    local.stop();
    grid.detach('self');
    setMyConnection('Hearing ended', '');
  }
  $('#meta').textContent = [
    hearing.mla_ref ? `MLA request ${hearing.mla_ref}` : '',
    `${hearing.requesting_state || ''} → ${hearing.requested_state || ''}`,
    hearing.scheduled_at ? `scheduled ${formatTime(hearing.scheduled_at)}` : '',
    hearing.language ? `language ${hearing.language}` : '',
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
  grid.retain(present);
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
  $('#invite-for').textContent = `${participant.display_name} (${roleLabel(participant.role)})`;
  $('#invite-url').value = absoluteUrl(url);
  setStatus($('#invite-status'), '');
  $('#invite-reveal').hidden = false;
  $('#invite-copy').focus();
}

function bindInviteReveal() {
  $('#invite-copy').addEventListener('click', async () => {
    const ok = await copyText($('#invite-url').value, $('#invite-url'));
    setStatus($('#invite-status'), ok ? 'Link copied.' : 'Select the link and copy it (Ctrl+C).', ok ? 'ok' : 'error');
  });
  $('#invite-done').addEventListener('click', () => {
    $('#invite-url').value = '';
    $('#invite-reveal').hidden = true;
    $('#p-name').focus();
  });
}

const ACTION_DONE = {
  admit: 'admitted', deny: 'denied', mute: 'muted', unmute: 'unmuted',
  remove: 'removed', revoke: 'link revoked', invite: 'new link created',
};

async function act(p, action) {
  setStatus(status(), '');
  try {
    const res = await api.post(`${base}/participants/${encodeURIComponent(p.id)}/${action}`);
    if (action === 'invite' && res && res.invite_url) revealInvite(res.participant || p, res.invite_url);
    setStatus(status(), `${p.display_name}: ${ACTION_DONE[action]}.`, 'ok');
  } catch (e) {
    setStatus(status(), `${p.display_name}: ${messageFor(e)}`, 'error');
  }
  await refresh();
}

function bindAddForm() {
  $('#add-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const st = $('#add-status');
    const display_name = $('#p-name').value.trim();
    const role = $('#p-role').value;
    if (!display_name) {
      setStatus(st, 'Enter the participant\'s name.', 'error');
      $('#p-name').focus();
      return;
    }
    const button = $('#add-submit');
    button.disabled = true;
    try {
      const res = await api.post(`${base}/participants`, { display_name, role });
      setStatus(st, `${display_name} added.`, 'ok');
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
      setStatus(status(), 'The hearing is open and being recorded.', 'ok');
    } catch (e) {
      setStatus(status(), messageFor(e), 'error');
    }
    await refresh();
  });
  const close = $('#close-hearing');
  close.addEventListener('click', async () => {
    if (!close.classList.contains('confirming')) {
      close.classList.add('confirming');
      close.textContent = 'Confirm: end the hearing';
      setTimeout(() => {
        close.classList.remove('confirming');
        close.textContent = 'End hearing';
      }, 6000);
      return;
    }
    close.classList.remove('confirming');
    close.textContent = 'End hearing';
    try {
      hearing = await api.post(`${base}/close`);
      renderHeader();
      setStatus(status(), 'The hearing has ended. The record is being sealed.', 'ok');
    } catch (e) {
      setStatus(status(), messageFor(e), 'error');
    }
    await refresh();
  });
}

function setMyConnection(text, cls) {
  const b = $('#my-connection');
  b.className = `badge ${cls || ''}`;
  b.textContent = text;
}

async function setupDevices() {
  const cam = $('#cam-select');
  const mic = $('#mic-select');
  const fill = async () => {
    const d = await listDevices();
    fillDeviceSelect(cam, d.video, deviceIdOf(local.stream, 'video'), (i) => `Camera ${i}`);
    fillDeviceSelect(mic, d.audio, deviceIdOf(local.stream, 'audio'), (i) => `Microphone ${i}`);
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
    micBtn.setAttribute('aria-pressed', String(!local.audioOn));
    micBtn.textContent = local.audioOn ? 'Mute my microphone' : 'Unmute my microphone';
    if (call) call.mediaState(local.audioOn, local.videoOn);
  });
  const camBtn = $('#toggle-cam');
  camBtn.addEventListener('click', () => {
    local.setVideo(!local.videoOn);
    camBtn.setAttribute('aria-pressed', String(!local.videoOn));
    camBtn.textContent = local.videoOn ? 'Turn off my camera' : 'Turn on my camera';
    if (call) call.mediaState(local.audioOn, local.videoOn);
  });
}

function onCallEvent(type, data) {
  switch (type) {
    case 'welcome':
      if (data.participant && data.participant.id) {
        selfId = data.participant.id;
        mergeParticipants([data.participant], false);
      }
      setMyConnection('Connecting…', '');
      break;
    case 'roster':
      mergeParticipants(data.participants, false);
      break;
    case 'stream':
      if (data.id !== selfId) grid.attach(data.id, data.stream);
      break;
    case 'stream_gone':
      grid.detach(data.id);
      break;
    case 'hearing_state':
      if (hearing && typeof data.state === 'string') {
        hearing.state = data.state;
        renderHeader();
      }
      break;
    case 'peer_state':
      if (data === 'connected') setMyConnection('Connected', 'good');
      else if (data === 'failed') setMyConnection('Connection failed', 'poor');
      else if (data === 'disconnected') setMyConnection('Reconnecting…', 'fair');
      break;
    case 'reconnecting':
      setMyConnection('Reconnecting…', 'fair');
      break;
    case 'closed':
      setMyConnection('Disconnected', 'poor');
      if (data.reason === 'hearing_closed') setStatus(status(), 'The hearing has ended.', 'ok');
      else if (data.reason === 'replaced') setStatus(status(), 'This hearing room was opened in another window; this one is disconnected.', 'error');
      else setStatus(status(), 'The video connection was closed. Reload the page to reconnect.', 'error');
      break;
    case 'error':
      setStatus(status(), messageFor(new ApiError(String(data.code), String(data.message || ''), 0)), 'error');
      break;
    default:
      break;
  }
}

async function main() {
  if (!hearingId) {
    setStatus(status(), 'No hearing selected.', 'error');
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
    $('#audio-blocked').hidden = true;
  });
  await refresh();
  if (!hearing || hearing.state === 'closed') return;

  const selfTile = grid.update({ id: 'self', display_name: user.username, role: 'judge' }, true);
  try {
    await local.open();
    grid.attach('self', local.stream, true);
    await setupDevices();
  } catch (e) {
    selfTile.placeholder.textContent = 'Camera and microphone unavailable';
    setStatus(status(), `Your camera or microphone could not be opened (${e.name || 'error'}). You can still run the hearing.`, 'error');
  }
  call = new Call({
    path: `/ws/hearings/${encodeURIComponent(hearingId)}`,
    hello: () => ({ type: 'hello' }),
    localStream: () => local.stream,
    onEvent: onCallEvent,
  });
  call.start();
  const quality = new QualityMonitor(() => (call ? call.stats() : Promise.resolve(null)), (level) => {
    if (call && call.peer && call.peer.pc.connectionState === 'connected') setMyConnection(QUALITY_LABEL[level], level);
  });
  quality.start();
  setInterval(() => refresh(), 15000);
}

main();
