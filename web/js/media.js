// media.js — local camera and microphone: device lists, opening the chosen devices,
// and a live audio level meter. Must never send media anywhere (peer.js does that)
// and never keep a device open after the caller stopped the stream.

/** Open camera + microphone; falls back to audio-only, then video-only. */
export async function openMedia({ audioId, videoId } = {}) {
  const audio = audioId ? { deviceId: { exact: audioId } } : true;
  const video = {
    width: { ideal: 1280 },
    height: { ideal: 720 },
    frameRate: { ideal: 25, max: 30 },
    ...(videoId ? { deviceId: { exact: videoId } } : {}),
  };
  try {
    return await navigator.mediaDevices.getUserMedia({ audio, video });
  } catch (e) {
    if (e && (e.name === 'NotAllowedError' || e.name === 'SecurityError')) throw e;
    try {
      return await navigator.mediaDevices.getUserMedia({ audio, video: false });
    } catch (_e2) {
      return navigator.mediaDevices.getUserMedia({ audio: false, video });
    }
  }
}

/** Open only one kind (used to switch a device during the hearing). */
export async function openTrack(kind, deviceId) {
  const constraints = kind === 'audio'
    ? { audio: deviceId ? { deviceId: { exact: deviceId } } : true }
    : { video: { width: { ideal: 1280 }, height: { ideal: 720 }, ...(deviceId ? { deviceId: { exact: deviceId } } : {}) } };
  const s = await navigator.mediaDevices.getUserMedia(constraints);
  return s.getTracks()[0];
}

export function stopStream(stream) {
  if (stream) for (const t of stream.getTracks()) t.stop();
}

export async function listDevices() {
  const all = await navigator.mediaDevices.enumerateDevices();
  return {
    audio: all.filter((d) => d.kind === 'audioinput'),
    video: all.filter((d) => d.kind === 'videoinput'),
  };
}

/** Fill a <select> with devices; `label(i)` names a device the browser hides. */
export function fillDeviceSelect(select, devices, selectedId, label) {
  select.replaceChildren();
  devices.forEach((d, i) => {
    const opt = document.createElement('option');
    opt.value = d.deviceId;
    opt.textContent = d.label || label(i + 1);
    select.append(opt);
  });
  if (selectedId && devices.some((d) => d.deviceId === selectedId)) select.value = selectedId;
  select.disabled = devices.length === 0;
}

/** The id of the device a live stream uses for one kind. */
export function deviceIdOf(stream, kind) {
  const track = stream && stream.getTracks().find((t) => t.kind === kind);
  return track ? track.getSettings().deviceId || '' : '';
}

let sharedContext = null;
function audioContext() {
  if (!sharedContext) {
    sharedContext = new AudioContext();
    const resume = () => {
      if (sharedContext.state === 'suspended') sharedContext.resume();
    };
    document.addEventListener('pointerdown', resume, { capture: true });
    document.addEventListener('keydown', resume, { capture: true });
  }
  if (sharedContext.state === 'suspended') sharedContext.resume().catch(() => {});
  return sharedContext;
}

/** Live microphone level drawn as the width of `bar`; calls onLevel(0..1) ~10x/s. */
export class LevelMeter {
  constructor(bar, onLevel) {
    this.bar = bar;
    this.onLevel = onLevel;
    this.source = null;
    this.frame = 0;
    this.lastReport = 0;
  }

  attach(stream) {
    this.detach();
    const track = stream && stream.getAudioTracks()[0];
    if (!track) return;
    const ctx = audioContext();
    this.source = ctx.createMediaStreamSource(new MediaStream([track]));
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    this.source.connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    const tick = (now) => {
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      const rms = Math.sqrt(sum / buf.length);
      const level = Math.min(1, rms * 4);
      this.bar.style.transform = `scaleX(${level.toFixed(3)})`;
      if (this.onLevel && now - this.lastReport > 100) {
        this.lastReport = now;
        this.onLevel(level);
      }
      this.frame = requestAnimationFrame(tick);
    };
    this.frame = requestAnimationFrame(tick);
  }

  detach() {
    cancelAnimationFrame(this.frame);
    if (this.source) this.source.disconnect();
    this.source = null;
    this.bar.style.transform = 'scaleX(0)';
  }
}

/** The local stream with on/off state per kind and device switching. */
export class LocalMedia {
  constructor() {
    this.stream = null;
    this.audioOn = true;
    this.videoOn = true;
  }

  async open(audioId, videoId) {
    stopStream(this.stream);
    this.stream = null;
    const s = await openMedia({ audioId, videoId });
    this.stream = s;
    this.apply();
    return s;
  }

  has(kind) {
    return !!this.stream && this.stream.getTracks().some((t) => t.kind === kind);
  }

  apply() {
    if (!this.stream) return;
    for (const t of this.stream.getAudioTracks()) t.enabled = this.audioOn;
    for (const t of this.stream.getVideoTracks()) t.enabled = this.videoOn;
  }

  setAudio(on) {
    this.audioOn = on;
    this.apply();
  }

  setVideo(on) {
    this.videoOn = on;
    this.apply();
  }

  /** Switch one device; `replace(kind, track)` updates a live peer connection. */
  async switchDevice(kind, deviceId, replace) {
    if (!this.stream) return;
    const track = await openTrack(kind, deviceId);
    for (const old of this.stream.getTracks().filter((t) => t.kind === kind)) {
      this.stream.removeTrack(old);
      old.stop();
    }
    this.stream.addTrack(track);
    this.apply();
    if (replace) await replace(kind, track);
  }

  stop() {
    stopStream(this.stream);
    this.stream = null;
  }
}
