// api.js: the HTTP API the UI reads (docs/HTTP-API.md): rooms, history
// pages, members' cursors, public rooms. The token goes in the
// Authorization header, never in the URL.

/** APIError is a failed request: status 0 means the server was not reached. */
export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** decode returns a response's JSON body, or throws its error as an
 * APIError ({"error":{"code","message"}}, the shape of every Natter error). */
export async function decode(r) {
  let data = null;
  try {
    data = await r.json();
  } catch (e) {
    data = null;
  }
  if (!r.ok) {
    const err = data && data.error ? data.error : { code: 'internal', message: `HTTP ${r.status}` };
    throw new APIError(r.status, err.code, err.message);
  }
  return data;
}

export class API {
  /**
   * @param {() => string|null} token
   * @param {() => void} onUnauthorized called on a 401
   */
  constructor(token, onUnauthorized, fetchFn = globalThis.fetch.bind(globalThis)) {
    this.token = token;
    this.onUnauthorized = onUnauthorized;
    this.fetch = fetchFn;
  }

  async get(path, params = {}) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    const url = path + (q.toString() ? '?' + q : '');
    const token = this.token();
    if (!token) {
      this.onUnauthorized();
      throw new APIError(401, 'unauthorized', 'not logged in');
    }
    let r;
    try {
      r = await this.fetch(url, { headers: { Authorization: 'Bearer ' + token }, cache: 'no-store' });
    } catch (e) {
      throw new APIError(0, 'network', 'Cannot reach the server.');
    }
    if (r.status === 401) this.onUnauthorized();
    return decode(r);
  }

  rooms() {
    return this.get('/api/rooms').then((d) => d.rooms || []);
  }

  /** messages returns a page: {messages (ascending seq), has_more}. */
  messages(room, { before, after, limit = 50 } = {}) {
    return this.get(`/api/rooms/${encodeURIComponent(room)}/messages`, { before, after, limit });
  }

  /** message returns one message in its current state, with `history`
   * (its earlier texts). */
  message(room, seq) {
    return this.get(`/api/rooms/${encodeURIComponent(room)}/messages/${seq}`).then((d) => d.message || d);
  }

  /** thread returns a page of a thread: {root, messages (its replies,
   * ascending seq), has_more}. */
  thread(room, seq, { before, after, limit = 100 } = {}) {
    return this.get(`/api/rooms/${encodeURIComponent(room)}/threads/${seq}`, { before, after, limit }).then((d) => ({
      root: d.root || null,
      messages: d.messages || d.replies || [],
      has_more: !!d.has_more,
    }));
  }

  /** search returns a page of message search: {hits (newest first), next,
   * has_more}; q is the query, cursor the previous page's next. */
  search(q, { cursor, limit = 20 } = {}) {
    return this.get('/api/search', { q, cursor, limit }).then((d) => ({ hits: d.hits || [], next: d.next || '', has_more: !!d.has_more }));
  }

  members(room) {
    return this.get(`/api/rooms/${encodeURIComponent(room)}/members`).then((d) => d.members || []);
  }

  publicRooms(q, limit = 50) {
    return this.get('/api/public-rooms', { q, limit }).then((d) => d.rooms || []);
  }
}
