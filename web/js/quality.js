// quality.js — connection quality from RTCPeerConnection.getStats(): round-trip time
// of the selected candidate pair and packet loss of incoming and outgoing RTP, turned
// into good / fair / poor. Reads statistics only; must never change the connection.

const EVERY_MS = 2000;

/** Pure: classify an RTT in seconds and a loss fraction 0..1. */
export function classify(rtt, loss) {
  if (rtt === null && loss === null) return 'unknown';
  const r = rtt === null ? 0 : rtt;
  const l = loss === null ? 0 : loss;
  if (r < 0.3 && l < 0.02) return 'good';
  if (r < 0.6 && l < 0.08) return 'fair';
  return 'poor';
}

export class QualityMonitor {
  /** @param {() => Promise<RTCStatsReport|null>} getStats @param {(level: string, m: object) => void} onUpdate */
  constructor(getStats, onUpdate) {
    this.getStats = getStats;
    this.onUpdate = onUpdate;
    this.prev = { received: 0, lost: 0 };
    this.timer = null;
  }

  start() {
    this.stop();
    this.timer = setInterval(() => this.sample().catch(() => {}), EVERY_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }

  async sample() {
    const report = await this.getStats();
    if (!report) return;
    let rtt = null;
    let bitrate = null;
    let received = 0;
    let lost = 0;
    let remoteLoss = null;
    report.forEach((s) => {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded' && typeof s.currentRoundTripTime === 'number') {
        rtt = s.currentRoundTripTime;
        if (typeof s.availableOutgoingBitrate === 'number') bitrate = s.availableOutgoingBitrate;
      } else if (s.type === 'inbound-rtp') {
        received += s.packetsReceived || 0;
        lost += Math.max(0, s.packetsLost || 0);
      } else if (s.type === 'remote-inbound-rtp' && typeof s.fractionLost === 'number') {
        remoteLoss = Math.max(remoteLoss || 0, s.fractionLost);
      }
    });
    const dRecv = received - this.prev.received;
    const dLost = lost - this.prev.lost;
    this.prev = { received, lost };
    let loss = dRecv + dLost > 0 ? dLost / (dRecv + dLost) : null;
    if (remoteLoss !== null) loss = Math.max(loss || 0, remoteLoss);
    this.onUpdate(classify(rtt, loss), { rtt, loss, bitrate });
  }
}
