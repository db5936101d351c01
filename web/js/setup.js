// setup.js — the one-time first-account page /setup/<token>: POST /api/setup and go to
// the console. Must never put the token or password anywhere but the request body.

import { api, messageFor } from './api.js';
import { $, setStatus } from './dom.js';

function tokenFromPath() {
  const parts = location.pathname.split('/').filter(Boolean);
  return parts.length === 2 && parts[0] === 'setup' ? decodeURIComponent(parts[1]) : '';
}

function main() {
  const form = $('#setup-form');
  const status = $('#setup-status');
  const token = tokenFromPath();
  if (!token) setStatus(status, 'This set-up link is incomplete. Use the exact link printed by the server.', 'error');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const username = $('#username').value.trim();
    const password = $('#password').value;
    if (!username) return setStatus(status, 'Choose a username.', 'error');
    if (password.length < 12) return setStatus(status, 'The password must have at least 12 characters.', 'error');
    if (password !== $('#password2').value) return setStatus(status, 'The two passwords differ.', 'error');
    const button = $('#setup-submit');
    button.disabled = true;
    setStatus(status, 'Creating the account…');
    try {
      await api.post('/api/setup', { token, username, password });
      setStatus(status, 'Account created.', 'ok');
      location.assign('/console');
    } catch (e) {
      setStatus(status, e.code === 'not_found' || e.code === 'forbidden'
        ? 'This set-up link has already been used or is not valid.'
        : messageFor(e), 'error');
      button.disabled = false;
    }
  });
}

main();
