// signin.js — the staff sign-in form: POST /api/login, then on to the console (or the
// page that sent the user here). Must never store the password or show it in a URL.

import { api, messageFor, currentUser } from './api.js';
import { $, setStatus } from './dom.js';
import { initPageLanguage, t } from './i18n.js';

/** Only same-site paths are followed after sign-in. */
function nextPath() {
  const next = new URLSearchParams(location.search).get('next');
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/console';
}

async function main() {
  await initPageLanguage();
  const form = $('#signin-form');
  const status = $('#signin-status');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const username = $('#username').value.trim();
    const password = $('#password').value;
    if (!username || !password) {
      setStatus(status, t('signin.missing'), 'error');
      return;
    }
    const button = $('#signin-submit');
    button.disabled = true;
    setStatus(status, t('signin.progress'));
    try {
      await api.post('/api/login', { username, password });
      setStatus(status, t('signin.done'), 'ok');
      location.assign(nextPath());
    } catch (e) {
      setStatus(status, messageFor(e), 'error');
      $('#password').select();
      button.disabled = false;
    }
  });
  try {
    if (await currentUser()) location.assign(nextPath());
  } catch (_e) {
    // not signed in or server unreachable: the form stays
  }
}

main();
