// connection.js: the connection state next to the user's name (Connected,
// Reconnecting…, Offline · retrying in N s, with "Retry now") and the
// banner over the conversation while disconnected. connStatus is pure
// (unit-tested in web/test/connection.test.mjs); showConnection puts it in
// the page.
import { State } from './natter.js';
import { $ } from './dom.js';

/**
 * connStatus says what to show for the client's state.
 * @returns {{state: string, text: string, offline: boolean, retry: boolean, banner: string|false|null}}
 *   banner: its text, false to hide it, null to leave it as it is
 */
export function connStatus({ state, reauthing = false, onLine = true, attempts = 0, retryIn = 0 }) {
  let text = 'Connected';
  let offline = false;
  if (reauthing || state === State.UNAUTHORIZED) {
    state = 'unauthorized';
    text = 'Signed out';
  } else if (state === State.CONNECTING || state === State.IDLE) {
    text = 'Connecting…';
  } else if (state === State.RECONNECTING) {
    offline = onLine === false || attempts >= 4;
    const wait = Math.ceil(retryIn / 1000);
    text = offline ? (onLine === false ? 'Offline' : wait > 0 ? `Offline · retrying in ${wait} s` : 'Offline · retrying…') : 'Reconnecting…';
  }
  const retry = state === State.RECONNECTING && offline && onLine !== false;
  let banner = null;
  if (state === State.CONNECTED) banner = false;
  else if (state !== 'unauthorized' && state !== State.CONNECTING) {
    banner = `${offline ? 'You are offline' : 'Reconnecting'}. Messages you send will go out when the connection is back.`;
  }
  return { state, text, offline, retry, banner };
}

/** connection returns update, which shows app.client's state; the
 * countdown of "retrying in N s" moves on its own. */
export function connection(app) {
  const update = () => {
    const conn = $('#conn');
    const client = app.client;
    if (!conn || !client) return;
    const s = connStatus({ state: client.state, reauthing: app.reauthing, onLine: navigator.onLine, attempts: client.attempts, retryIn: client.retryIn() });
    conn.dataset.state = s.state;
    conn.dataset.offline = String(s.offline);
    $('#conn-text').textContent = s.text;
    $('#conn-retry').hidden = !s.retry;
    const banner = $('#banner');
    if (s.banner === false) banner.hidden = true;
    else if (s.banner !== null) {
      banner.hidden = false;
      banner.textContent = s.banner;
    }
  };
  setInterval(() => app.client && app.client.state === State.RECONNECTING && update(), 1000);
  return { update };
}
