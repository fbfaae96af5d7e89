// human.js: errors put into words for people (the composer, toasts, the
// dialogs). Pure: unit-tested in web/test/human.test.mjs.

const BY_CODE = {
  offline: 'You are offline; try again when the connection is back.',
  disconnected: 'The connection dropped; try again.',
  timeout: 'The server did not answer in time; try again.',
  rate_limited: 'Too many attempts. Wait a minute and try again.',
  unavailable: 'The server is busy or restarting; try again in a moment.',
  internal: 'Something went wrong on the server.',
};

/** human turns an error into a sentence for people. */
export function human(err) {
  if (err && BY_CODE[err.code]) return BY_CODE[err.code];
  let m = String((err && err.message) || err || 'Something went wrong');
  m = m.charAt(0).toUpperCase() + m.slice(1);
  return /[.!?…]$/.test(m) ? m : m + '.';
}

/** sendFailure is the short reason shown in "Not sent (…)" under a message
 * the server refused. */
export function sendFailure(err) {
  if (err.code === 'too_large') return 'too long';
  if (err.code === 'forbidden') return 'not allowed here';
  if (err.code === 'timeout') return 'no answer';
  return human(err).replace(/\.$/, '');
}
