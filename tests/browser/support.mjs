// Helpers shared by the browser tests (not a test file itself): Chromium's flags for a
// loopback-only namespace, watching a participant's video play, and bringing a new
// participant into a hearing the way a court does.

import assert from 'node:assert/strict';

/** Debian Chromium in a namespace that holds only `lo` (shared/notes/webrtc-testing.md). */
export const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Decoded frames of the <video> showing one participant (0 if none yet). */
export function framesOf(page, participantId) {
  return page.evaluate((id) => {
    const v = [...document.querySelectorAll('video[data-participant]')].find((n) => n.dataset.participant === id);
    if (!v || !v.srcObject || v.videoWidth === 0) return 0;
    return v.getVideoPlaybackQuality().totalVideoFrames;
  }, participantId);
}

/** Wait (up to `timeout` ms) until that participant's video is playing: decoded frames
 * keep rising. Returns the frame count. */
export async function expectVideoPlaying(page, participantId, who, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  let first = 0;
  let last = 0;
  while (Date.now() < deadline) {
    last = await framesOf(page, participantId);
    if (first === 0) first = last;
    else if (last >= first + 10) return last;
    await sleep(500);
  }
  const videos = await page.evaluate(() => [...document.querySelectorAll('video[data-participant]')].map((v) => ({
    participant: v.dataset.participant,
    tracks: v.srcObject ? v.srcObject.getTracks().map((t) => `${t.kind}:${t.readyState}:${t.muted ? 'muted' : 'unmuted'}`) : null,
    width: v.videoWidth,
    frames: v.getVideoPlaybackQuality().totalVideoFrames,
  })));
  return assert.fail(`${who}: video of ${participantId} did not play (frames ${first} -> ${last}); videos: ${JSON.stringify(videos)}`);
}

/** A page in a fresh browser context (own cookies and storage) with `permissions` for
 * `origin`; its page errors and console errors are pushed to `problems` (4xx answers the
 * pages expect, e.g. /api/me before sign-in, are logged by the browser as "Failed to load
 * resource": not errors). `initScript` runs in every document before the page's own. */
export async function newContextPage(browser, name, { origin, problems, contextOptions = {}, permissions = ['camera', 'microphone'], initScript = null, timeout = 30_000 }) {
  const context = await browser.newContext(contextOptions);
  await context.grantPermissions(permissions, { origin });
  if (initScript) await context.addInitScript(initScript);
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on('pageerror', (err) => problems.push(`${name}: page error: ${err.message}`));
  page.on('console', (msg) => {
    if (process.env.SWORN_DEBUG) process.stderr.write(`[${name}] ${msg.type()}: ${msg.text()}\n`);
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
      problems.push(`${name}: console error: ${msg.text()}`);
    }
  });
  return page;
}

/** The judge (on a hearing's console page) adds someone; `openPage()` gives the page that
 * opens their link, passes the device check and joins the lobby. Returns {page, id}. */
export async function inviteToLobby(judge, name, role, openPage) {
  await judge.fill('#p-name', name);
  await judge.selectOption('#p-role', role);
  await judge.click('#add-submit');
  await judge.waitForFunction(() => document.querySelector('#invite-url').value.includes('/join/'));
  const link = await judge.inputValue('#invite-url');
  await judge.click('#invite-done');
  const page = await openPage();
  await page.goto(link, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#s-check:not([hidden])');
  await page.waitForFunction(() => document.querySelector('#preview').videoWidth > 0);
  await page.click('#join-button');
  await page.waitForSelector('#s-lobby:not([hidden])');
  const entry = await judge.waitForSelector(`#lobby-list li:has-text("${name}")`);
  return { page, id: await entry.getAttribute('data-participant') };
}

/** As `inviteToLobby`, then the judge admits them and their page enters the hearing. */
export async function inviteJoinAdmit(judge, name, role, openPage) {
  const { page, id } = await inviteToLobby(judge, name, role, openPage);
  await judge.$eval(`#lobby-list li[data-participant="${id}"] button`, (b) => b.click());
  await page.waitForSelector('#s-hearing:not([hidden])');
  return { page, id };
}
