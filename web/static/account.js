// account.js: the account menu: log out, log out everywhere, change
// password (docs/HTTP-API.md, /api/auth/logout, logout-all, password), and
// what to do with a #token= link that was not taken at once (handoff.js).
// app.js hands it the session and a few hooks; it owns #account-dialog.

import { $, showError } from './dom.js';

/** resolveHandoff settles a #token= link that session.load() did not take:
 * it asks before logging in as the link's user when nobody is logged in,
 * and says why the link was ignored when someone else is. It returns
 * whether a session exists now. */
export function resolveHandoff(session, hasSession, toast) {
  const h = session.handoff;
  session.handoff = null;
  if (!h) return hasSession;
  if (h.decision === 'refuse') {
    toast(`A login link for ${h.user} was ignored: you are logged in as ${session.user}. Log out first to switch.`);
    return hasSession;
  }
  // 'ask': nobody is logged in and this browser did not ask to log in.
  if (window.confirm(`This link logs you in as "${h.user}". Continue only if you just asked to log in. Log in as ${h.user}?`)) {
    return session.set(h.token);
  }
  return hasSession;
}

/**
 * wireAccount wires the log out button and the account dialog.
 * @param {object} hooks
 * @param {import('./session.js').Session} hooks.session
 * @param {() => void} hooks.signedOut clears what the browser keeps for the
 *   user and leaves the app (after the server ended the session)
 * @param {(busy: boolean) => void} hooks.tokenChanging holds the app's
 *   reaction to a refused token while the password changes (the server
 *   ends the old token's connections), then hands it the new token
 * @param {(d: HTMLDialogElement) => void} hooks.openDialog
 * @param {(err: Error) => string} hooks.human
 * @param {(text: string) => void} hooks.toast
 */
export function wireAccount({ session, signedOut, tokenChanging, openDialog, human, toast }) {
  const d = $('#account-dialog');
  const err = d.querySelector('.error');
  for (const b of d.querySelectorAll('.cancel')) b.addEventListener('click', () => d.close());

  $('#logout').addEventListener('click', async () => {
    try {
      await session.logout();
    } catch (e) {
      // Offline or already ended: the browser forgets the token anyway;
      // the server refuses it when it expires.
    }
    signedOut();
  });

  $('#account-button').addEventListener('click', () => {
    $('#account-user').textContent = session.user;
    // Only built-in accounts have a password here.
    $('#password-form').hidden = !session.config.accounts;
    $('#password-form').reset();
    openDialog(d);
  });

  $('#logout-all').addEventListener('click', async () => {
    showError(err, '');
    try {
      await session.logoutAll();
    } catch (e) {
      showError(err, human(e));
      return;
    }
    signedOut();
  });

  $('#password-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const current = $('#password-current').value;
    const next = $('#password-new').value;
    showError(err, '');
    if (next.length < 8) {
      showError(err, 'Choose a new password of at least 8 characters.');
      $('#password-new').focus();
      return;
    }
    if (next !== $('#password-repeat').value) {
      showError(err, 'The new passwords differ.');
      $('#password-repeat').focus();
      return;
    }
    const button = $('#password-submit');
    button.disabled = true;
    tokenChanging(true);
    try {
      await session.changePassword(current, next);
    } catch (ex) {
      tokenChanging(false);
      button.disabled = false;
      showError(err, ex.code === 'forbidden' ? 'The current password is wrong.' : human(ex));
      return;
    }
    tokenChanging(false);
    button.disabled = false;
    $('#password-form').reset();
    d.close();
    toast('Password changed. Every other browser and device has been logged out.');
  });
}
