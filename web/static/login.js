// login.js: the login card: log in or create an account (built-in
// accounts), the external login button, a pasted token; and logging in
// again over the conversation when the session expired, which keeps the
// app's state (and the composer's text) underneath.
import * as fmt from './format.js';
import { $, showError } from './dom.js';
import { human } from './human.js';

export function login(app) {
  const { session } = app;
  let mode = 'login';

  function show({ overlay = false, note = '' } = {}) {
    const auth = $('#auth');
    auth.hidden = false;
    auth.classList.toggle('overlay', overlay);
    // Over the app, the app underneath is out of reach (keyboard and
    // screen readers) until the login is done.
    $('#app').inert = overlay;
    const cfg = session.config;
    $('#auth-tabs').hidden = !cfg.accounts || overlay;
    $('#auth-form').hidden = !cfg.accounts;
    $('#sso').hidden = !cfg.login_url;
    $('#sso-button').textContent = cfg.login_name ? `Log in with ${cfg.login_name}` : 'Continue to sign in';
    $('#auth-disabled').hidden = cfg.accounts || !!cfg.login_url;
    showError($('#auth-note'), '');
    $('#auth-note').hidden = !note;
    $('#auth-note').textContent = note;
    $('#auth-note').classList.remove('error');
    setMode(overlay ? 'login' : mode);
    if (overlay && session.user) $('#auth-username').value = session.user;
    setTimeout(() => (cfg.accounts ? ($('#auth-username').value ? $('#auth-password') : $('#auth-username')) : $('#sso-button')).focus(), 0);
  }

  function setMode(m) {
    mode = m;
    const reg = m === 'register';
    $('#tab-login').setAttribute('aria-selected', String(!reg));
    $('#tab-register').setAttribute('aria-selected', String(reg));
    $('#auth-title').textContent = reg ? 'Create your account' : 'Log in';
    $('#auth-submit').textContent = reg ? 'Create account' : 'Log in';
    $('#auth-password').autocomplete = reg ? 'new-password' : 'current-password';
    $('#auth-username-hint').hidden = !reg;
    $('#auth-password-hint').hidden = !reg;
    showError($('#auth-error'), '');
  }

  function wire() {
    $('#tab-login').addEventListener('click', () => setMode('login'));
    $('#tab-register').addEventListener('click', () => setMode('register'));
    $('#sso-button').addEventListener('click', () => session.loginRedirect());
    $('#auth-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const username = $('#auth-username').value.trim();
      const password = $('#auth-password').value;
      const err = $('#auth-error');
      if (!fmt.validID(username)) {
        $('#auth-username').setAttribute('aria-invalid', 'true');
        showError(err, 'A username is 1 to 64 letters, digits, _ or -.');
        $('#auth-username').focus();
        return;
      }
      $('#auth-username').removeAttribute('aria-invalid');
      if (mode === 'register' && password.length < 8) {
        showError(err, 'Choose a password of at least 8 characters.');
        $('#auth-password').focus();
        return;
      }
      const previous = session.user;
      const button = $('#auth-submit');
      button.disabled = true;
      showError(err, '');
      try {
        if (mode === 'register') await session.register(username, password);
        else await session.login(username, password);
      } catch (ex) {
        showError(err, ex.code === 'unauthorized' ? 'Wrong username or password.' : ex.code === 'conflict' ? 'That username is taken; pick another one.' : human(ex));
        button.disabled = false;
        // The button had focus and was disabled: put focus where the
        // fix goes, not on <body>.
        const fix = ex.code === 'conflict' ? $('#auth-username') : $('#auth-password');
        fix.focus();
        fix.select();
        return;
      }
      button.disabled = false;
      $('#auth-password').value = '';
      signedIn(previous, mode === 'register');
    });
    $('#token-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const previous = session.user;
      if (!session.set($('#token-input').value.trim())) {
        showError($('#auth-error'), 'That token is malformed or expired.');
        $('#auth-error').hidden = false;
        $('#auth-form').hidden = false;
        return;
      }
      $('#token-input').value = '';
      signedIn(previous, false);
    });
  }

  // signedIn continues after a login: into the app, or back into it after
  // a session expired (same user: nothing is lost; another user: start
  // over).
  function signedIn(previous, fresh) {
    $('#auth').hidden = true;
    $('#auth').classList.remove('overlay');
    $('#app').inert = false;
    if (app.reauthing && app.client) {
      app.reauthing = false;
      if (previous && previous !== session.user) {
        location.reload();
        return;
      }
      app.keepFresh();
      app.client.connect();
      app.conn.update();
      app.joined.refresh();
      return;
    }
    app.start({ fresh });
  }

  // expired: the token cannot be renewed. Log in again over the app.
  function expired() {
    if (app.reauthing || !app.client) return;
    app.reauthing = true;
    app.conn.update();
    if (!session.config.accounts && session.config.login_url) {
      app.composer.saveAllDrafts();
      session.loginRedirect();
      return;
    }
    show({ overlay: true, note: 'Your session has expired. Log in again to carry on; your drafts are kept.' });
  }

  return { show, wire, signedIn, expired };
}
