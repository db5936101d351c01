// setup.js — the one-time first-account page /setup/<token>: POST /api/setup and go to
// the console. Must never put the token or password anywhere but the request body.

import { api, messageFor } from './api.js';
import { $, setStatus } from './dom.js';
import { initPageLanguage, t } from './i18n.js';

function tokenFromPath() {
  const parts = location.pathname.split('/').filter(Boolean);
  return parts.length === 2 && parts[0] === 'setup' ? decodeURIComponent(parts[1]) : '';
}

async function main() {
  await initPageLanguage();
  const form = $('#setup-form');
  const status = $('#setup-status');
  const token = tokenFromPath();
  if (!token) setStatus(status, t('setup.incomplete'), 'error');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const username = $('#username').value.trim();
    const password = $('#password').value;
    if (!username) return setStatus(status, t('setup.need_username'), 'error');
    if (password.length < 12) return setStatus(status, t('setup.too_short'), 'error');
    if (password !== $('#password2').value) return setStatus(status, t('setup.mismatch'), 'error');
    const button = $('#setup-submit');
    button.disabled = true;
    setStatus(status, t('setup.progress'));
    try {
      await api.post('/api/setup', { token, username, password });
      setStatus(status, t('setup.done'), 'ok');
      location.assign('/console');
    } catch (e) {
      setStatus(status, e.code === 'not_found' || e.code === 'forbidden'
        ? t('setup.used')
        : messageFor(e), 'error');
      button.disabled = false;
    }
  });
}

main();
