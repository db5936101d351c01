// device-check.js — the join page's device check on record (#13 point 5): the speaker
// test tone, and the `device_check` message built from what the page saw (camera,
// microphone, speaker) and what its connection measured (round trip, bitrate).
// The server bounds every field again; this module must never send names or device ids.

const MAX_RTT_MS = 60000;
const MAX_BITRATE_KBPS = 10000000;

/** Plays a short 440 Hz tone on the default output (the speaker test). */
export async function playTestTone(seconds = 1) {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return false;
  const ctx = new Ctx();
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  gain.gain.value = 0.2;
  osc.frequency.value = 440;
  osc.connect(gain).connect(ctx.destination);
  osc.start();
  osc.stop(ctx.currentTime + seconds);
  osc.onended = () => ctx.close();
  return true;
}

const bound = (v, max) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.min(max, Math.round(v)) : undefined);

/**
 * The `device_check` message. `seen`: {camera: bool, microphone: bool, micHeard: bool,
 * speakerHeard: bool}; `metrics`: {rtt (seconds), bitrate (bit/s)} or null.
 */
export function deviceCheckMessage(seen, metrics) {
  const msg = {
    type: 'device_check',
    camera: seen.camera ? 'ok' : 'failed',
    microphone: !seen.microphone ? 'failed' : seen.micHeard ? 'ok' : 'not_tested',
    speaker: seen.speakerHeard ? 'ok' : 'not_tested',
  };
  const rtt = bound(metrics && metrics.rtt !== null ? metrics.rtt * 1000 : undefined, MAX_RTT_MS);
  const kbps = bound(metrics && metrics.bitrate !== null ? metrics.bitrate / 1000 : undefined, MAX_BITRATE_KBPS);
  if (rtt !== undefined) msg.rtt_ms = rtt;
  if (kbps !== undefined) msg.bitrate_kbps = kbps;
  return msg;
}
