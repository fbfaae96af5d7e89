// handoff.js: what to do with a token handed over in the URL fragment
// (#token=…). A link can carry anyone's token, so opening one must never
// silently swap the person's session for someone else's (login CSRF).
// Pure logic, no DOM: tested by web/test/handoff.test.mjs.

/** SOLICITED_MS is how long after the UI sent the browser to the external
 * login page a token coming back counts as the answer to that request. */
export const SOLICITED_MS = 10 * 60 * 1000;

/**
 * handoffDecision decides about a token from the fragment.
 * @param {object|null} claims the token's claims (null: malformed)
 * @param {{user: string, valid: boolean}|null} current the stored session
 * @param {number} redirectedAt when the UI last sent the browser to the
 *   login page (ms, 0: never), now the time (ms)
 * @returns {'adopt'|'ask'|'refuse'|'ignore'}
 *   adopt: take it (the login the UI asked for, or a fresher token of the
 *   person already logged in); ask: nobody is logged in and nobody asked
 *   for this login, so ask before logging in as claims.sub; refuse:
 *   someone else is logged in here, keep that session; ignore: unusable.
 */
export function handoffDecision(claims, current, redirectedAt, now) {
  if (!claims || typeof claims.sub !== 'string' || !claims.sub || typeof claims.exp !== 'number' || claims.exp * 1000 <= now) {
    return 'ignore';
  }
  if (current && current.valid) return current.user === claims.sub ? 'adopt' : 'refuse';
  if (redirectedAt > 0 && now - redirectedAt >= 0 && now - redirectedAt < SOLICITED_MS) return 'adopt';
  return 'ask';
}
