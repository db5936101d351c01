// signalling.js — the WebSocket client for /ws/join/<token> and /ws/hearings/<id>.
// Owns: the socket, a send queue that holds messages until the socket is open (ICE
// candidates may be produced before that), keepalive pings, and reconnection with
// back-off after an unexpected drop. Terminal close codes (protocol.md) end it for good.
// Must never log message bodies (SDP holds addresses) and never parse media.

/** Close codes after which reconnecting is pointless (protocol.md). */
export const TERMINAL_CLOSE = {
  4000: 'bad_message',
  4001: 'invite_invalid',
  4003: 'invite_revoked',
  4004: 'removed',
  4009: 'replaced',
  4010: 'hearing_closed',
  4011: 'denied',
  4014: 'device_refused',
  4015: 'hearing_locked',
  1009: 'too_large',
};

const MAX_MESSAGE = 64 * 1024;
const PING_EVERY_MS = 15000;

export function wsUrl(path) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}${path}`;
}

export class Signalling {
  /**
   * @param {string} path e.g. `/ws/join/<token>`
   * @param {{onMessage: (msg: object) => void, onOpen?: (n: number) => void,
   *          onClose?: (info: {code: number, reason: string|null, retrying: boolean}) => void}} handlers
   */
  constructor(path, handlers) {
    this.url = wsUrl(path);
    this.handlers = handlers;
    this.queue = [];
    this.ws = null;
    this.stopped = false;
    this.attempt = 0;
    this.opens = 0;
    this.pingTimer = null;
    this.retryTimer = null;
  }

  start() {
    this.stopped = false;
    this.open();
  }

  open() {
    if (this.stopped) return;
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (_e) {
      this.scheduleRetry(1006);
      return;
    }
    this.ws = ws;
    ws.addEventListener('open', () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      this.opens += 1;
      if (this.handlers.onOpen) this.handlers.onOpen(this.opens);
      this.flush();
      this.pingTimer = setInterval(() => this.send({ type: 'ping' }), PING_EVERY_MS);
    });
    ws.addEventListener('message', (ev) => {
      if (this.ws !== ws || typeof ev.data !== 'string' || ev.data.length > MAX_MESSAGE) return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (_e) {
        return;
      }
      if (msg && typeof msg.type === 'string') this.handlers.onMessage(msg);
    });
    ws.addEventListener('close', (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pingTimer);
      this.pingTimer = null;
      const reason = TERMINAL_CLOSE[ev.code] || null;
      if (reason || this.stopped) {
        this.stopped = true;
        if (this.handlers.onClose) this.handlers.onClose({ code: ev.code, reason, retrying: false });
        return;
      }
      if (this.handlers.onClose) this.handlers.onClose({ code: ev.code, reason: null, retrying: true });
      this.scheduleRetry(ev.code);
    });
  }

  scheduleRetry(_code) {
    if (this.stopped) return;
    this.attempt += 1;
    const delay = Math.min(8000, 500 * 2 ** Math.min(this.attempt - 1, 4));
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Send now if open, else keep in order until the socket opens. */
  send(msg) {
    if (this.isOpen) {
      this.ws.send(JSON.stringify(msg));
    } else if (msg.type !== 'ping') {
      this.queue.push(msg);
    }
  }

  /** Drop queued messages that belong to an old connection (e.g. stale candidates). */
  clearQueue() {
    this.queue = [];
  }

  flush() {
    while (this.queue.length > 0 && this.isOpen) {
      this.ws.send(JSON.stringify(this.queue.shift()));
    }
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    if (this.ws) {
      try {
        this.ws.close(1000);
      } catch (_e) {
        // already closing
      }
    }
  }
}
