// session.js: the user's token. Where it comes from (a login form, or an
// external login page handing it over in the URL fragment), where it is kept
// (localStorage, never a URL query string), and keeping it fresh.
import { jwtClaims, tokenFromFragment } from './format.js';
import { APIError, decode } from './api.js';
import { handoffDecision } from './handoff.js';

const KEY = 'natter.session';
const REDIRECTED = 'natter.redirected';

export class Session {
  constructor({ storage = globalThis.localStorage, fetch = globalThis.fetch.bind(globalThis) } = {}) {
    this.storage = storage;
    this.fetch = fetch;
    this.token = null;
    this.user = null;
    this.exp = 0; // ms
    this.iat = 0; // ms
    this.config = { accounts: false, login_url: '', token_ttl: 0 };
    this._refreshTimer = null;
    // handoff is a #token= link not taken at once (see handoff.js): the
    // app asks about it ('ask') or says why it was ignored ('refuse').
    this.handoff = null;
  }

  /** load takes a token handed over in the URL fragment (#token=…), which
   * it removes from the address bar at once, if handoffDecision allows,
   * or else the stored one. It returns whether a usable session exists. */
  load() {
    const { token, rest } = tokenFromFragment(location.hash);
    let saved = null;
    try {
      saved = JSON.parse(this.storage.getItem(KEY) || 'null');
    } catch (e) {
      saved = null;
    }
    const current = saved && saved.token && jwtClaims(saved.token);
    if (token) {
      history.replaceState(null, '', location.pathname + location.search + rest);
      const claims = jwtClaims(token);
      const valid = !!(current && typeof current.exp === 'number' && current.exp * 1000 > Date.now() + 5000);
      const decision = handoffDecision(claims, current ? { user: current.sub, valid } : null, this._redirectedAt(), Date.now());
      if (decision === 'adopt' && this.set(token)) {
        sessionStorage.removeItem(REDIRECTED);
        return true;
      }
      if (decision === 'ask' || decision === 'refuse') this.handoff = { decision, user: claims.sub, token };
    }
    return !!(saved && saved.token && this.set(saved.token) && !this.expired());
  }

  /** set adopts token if it names a user and has not expired. */
  set(token) {
    const c = jwtClaims(token);
    if (!c || typeof c.sub !== 'string' || !c.sub || typeof c.exp !== 'number') return false;
    if (c.exp * 1000 <= Date.now()) return false;
    this.token = token;
    this.user = c.sub;
    this.exp = c.exp * 1000;
    this.iat = typeof c.iat === 'number' ? c.iat * 1000 : Date.now();
    this.storage.setItem(KEY, JSON.stringify({ token }));
    return true;
  }

  clear() {
    this.token = null;
    this.user = null;
    this.exp = 0;
    if (this._refreshTimer) clearTimeout(this._refreshTimer);
    this._refreshTimer = null;
    this.storage.removeItem(KEY);
  }

  expired() {
    return !this.token || Date.now() >= this.exp - 5000;
  }

  /** validToken is the token, or null once it has expired. */
  validToken() {
    return this.expired() ? null : this.token;
  }

  async loadConfig() {
    try {
      const r = await this.fetch('/api/auth/config', { cache: 'no-store' });
      if (r.ok) this.config = { ...this.config, ...(await r.json()) };
    } catch (e) {
      /* offline: the defaults (no accounts) let a stored session go on */
    }
    return this.config;
  }

  /** _call posts body (JSON) to path with bearer, if given, and returns
   * the decoded reply (null for 204). */
  async _call(path, body, bearer) {
    const headers = { 'Content-Type': 'application/json' };
    if (bearer) headers.Authorization = 'Bearer ' + bearer;
    let r;
    try {
      r = await this.fetch(path, { method: 'POST', headers, body: body ? JSON.stringify(body) : undefined, cache: 'no-store' });
    } catch (e) {
      throw new APIError(0, 'network', 'Cannot reach the server. Check your connection.');
    }
    if (r.status === 204) return null;
    return decode(r);
  }

  /** _post is _call for the endpoints that answer with a new session. */
  async _post(path, body, bearer) {
    const data = await this._call(path, body, bearer);
    if (!data || !this.set(data.token)) throw new APIError(200, 'internal', 'The server sent an unusable token.');
    return data;
  }

  /** logout ends this session (this token and its refreshes) on the
   * server. The caller clears what the browser keeps. */
  logout() {
    return this._call('/api/auth/logout', null, this.token);
  }

  /** logoutAll ends every session of the user, this one included. */
  logoutAll() {
    return this._call('/api/auth/logout-all', null, this.token);
  }

  /** changePassword sets a new password; the server ends every other
   * session and this one continues with the token it returns. */
  changePassword(current, next) {
    return this._post('/api/auth/password', { current, new: next }, this.token);
  }

  login(username, password) {
    return this._post('/api/auth/login', { username, password });
  }

  register(username, password) {
    return this._post('/api/auth/register', { username, password });
  }

  /** refresh trades the current, still valid token for a new one. Only
   * built-in accounts can; tokens from elsewhere are renewed there. */
  async refresh() {
    if (!this.config.accounts || this.expired()) throw new APIError(401, 'unauthorized', 'Session expired');
    return this._post('/api/auth/refresh', null, this.token);
  }

  /** keepFresh refreshes the token when half its life has passed, calls
   * onRefreshed after each refresh, and onExpired if it cannot be kept (the
   * user must log in again). */
  keepFresh(onExpired, onRefreshed) {
    if (this._refreshTimer) clearTimeout(this._refreshTimer);
    this._refreshTimer = null;
    if (!this.token) return;
    const life = Math.max(60000, this.exp - this.iat);
    const at = this.config.accounts ? this.iat + life / 2 : this.exp;
    const wait = Math.min(Math.max(1000, at - Date.now()), 2 ** 31 - 1);
    this._refreshTimer = setTimeout(async () => {
      this._refreshTimer = null;
      if (!this.config.accounts) {
        onExpired();
        return;
      }
      try {
        await this.refresh();
        if (onRefreshed) onRefreshed();
        this.keepFresh(onExpired, onRefreshed);
      } catch (err) {
        if (err.status === 401 || this.expired()) {
          onExpired();
        } else {
          // Offline or the server is restarting: try again soon.
          this._refreshTimer = setTimeout(() => this.keepFresh(onExpired, onRefreshed), 30000);
        }
      }
    }, wait);
  }

  /** loginRedirect sends the browser to the external login page, which
   * must come back to return_to with #token=<jwt>. */
  loginRedirect() {
    const url = this.config.login_url;
    const back = location.origin + location.pathname;
    sessionStorage.setItem(REDIRECTED, String(Date.now()));
    location.assign(url + (url.includes('?') ? '&' : '?') + 'return_to=' + encodeURIComponent(back));
  }

  /** recentlyRedirected guards against a redirect loop when the external
   * login page comes back without a token. */
  recentlyRedirected() {
    return Date.now() - this._redirectedAt() < 30000;
  }

  _redirectedAt() {
    return Number(sessionStorage.getItem(REDIRECTED) || 0);
  }
}
