// store.js: per-user browser storage. Drafts, unsent messages, the threads
// seen and the last open room survive a reload, a crash and an expired
// session; logging out removes them. Unit-tested in web/test/store.test.mjs.

export class Store {
  /**
   * @param {Storage} storage localStorage, or a stand-in in tests
   * @param {() => string} user the user whose keys these are
   */
  constructor(storage, user) {
    this.storage = storage;
    this.user = user;
  }

  /** key names what for the user: key('draft', room) is natter.draft.<user>.<room>. */
  key(what, ...rest) {
    return ['natter', what, this.user(), ...rest].join('.');
  }

  get(key, def) {
    try {
      const v = this.storage.getItem(key);
      return v === null ? def : JSON.parse(v);
    } catch (e) {
      return def;
    }
  }

  /** set stores v; nothing (undefined, null, '') removes the key. */
  set(key, v) {
    try {
      if (v === undefined || v === null || v === '') this.storage.removeItem(key);
      else this.storage.setItem(key, JSON.stringify(v));
    } catch (e) {
      /* storage full or disabled: drafts are a convenience */
    }
  }

  /** clearUser removes what the browser keeps for user (at logout). */
  clearUser(user) {
    const s = this.storage;
    for (let i = s.length - 1; i >= 0; i--) {
      const k = s.key(i);
      if (k && (k.startsWith(`natter.draft.${user}.`) || k.startsWith(`natter.thread-seen.${user}.`) || k === `natter.outbox.${user}` || k === `natter.last.${user}`)) {
        s.removeItem(k);
      }
    }
  }
}
