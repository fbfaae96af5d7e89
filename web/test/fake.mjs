// Test doubles for natter.js: a clock whose timers run when the test says,
// and a WebSocket whose server side the test plays.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

// load imports one of web/static's modules. It imports .mjs copies (of it
// and of the modules beside it, whose imports are renamed to match) so that
// Node treats the files as ES modules whatever its version (no package.json
// is needed, or wanted, next to the web UI). A module that touches the DOM
// only inside its functions can be loaded too.
export async function load(name) {
  const dir = mkdtempSync(join(tmpdir(), 'natter-js-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const src = new URL('../static/', import.meta.url);
  for (const f of readdirSync(src)) {
    if (!f.endsWith('.js')) continue;
    const text = readFileSync(new URL(f, src), 'utf8').replace(/(from\s+'\.\/[\w-]+)\.js'/g, "$1.mjs'");
    writeFileSync(join(dir, f.replace(/\.js$/, '.mjs')), text);
  }
  return import(pathToFileURL(join(dir, name.replace(/\.js$/, '.mjs'))).href);
}

export class FakeClock {
  constructor() {
    this.t = 1_000_000;
    this.seq = 0;
    this.timers = new Map();
    this.setTimeout = (fn, ms) => {
      const id = ++this.seq;
      this.timers.set(id, { at: this.t + Math.max(0, ms || 0), fn, id });
      return id;
    };
    this.clearTimeout = (id) => this.timers.delete(id);
    this.now = () => this.t;
  }

  // advance moves time forward by ms, running due timers in order, and
  // lets promises settle after each.
  async advance(ms) {
    const end = this.t + ms;
    for (;;) {
      await settle();
      let next = null;
      for (const tm of this.timers.values()) {
        if (tm.at <= end && (next === null || tm.at < next.at || (tm.at === next.at && tm.id < next.id))) next = tm;
      }
      if (!next) break;
      this.timers.delete(next.id);
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
    await settle();
  }

  pending() {
    return [...this.timers.values()].map((t) => t.at - this.t).sort((a, b) => a - b);
  }
}

// settle lets every queued promise callback run.
export async function settle() {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

// FakeServer records the sockets the client opens; each is a FakeSocket.
export class FakeServer {
  constructor() {
    this.sockets = [];
    const server = this;
    this.WebSocket = class FakeSocket {
      constructor(url) {
        this.url = url;
        this.sent = [];
        this.closed = null;
        this.readyState = 0;
        server.sockets.push(this);
      }
      send(data) {
        if (this.readyState !== 1) throw new Error('send on a socket that is not open');
        this.sent.push(JSON.parse(data));
      }
      close(code) {
        if (this.closed) return;
        this.closed = { code, by: 'client' };
        this.readyState = 3;
      }
      // Server side.
      open() {
        this.readyState = 1;
        this.onopen && this.onopen({});
      }
      emit(ev) {
        this.onmessage && this.onmessage({ data: JSON.stringify(ev) });
      }
      drop(code = 1006, reason = '') {
        this.closed = { code, by: 'server' };
        this.readyState = 3;
        this.onclose && this.onclose({ code, reason });
      }
      // takeOne takes the first frame sent that matches pred.
      takeOne(pred) {
        const i = this.sent.findIndex(pred);
        return i < 0 ? undefined : this.sent.splice(i, 1)[0];
      }
      // take returns the frames sent with this op, and takes them out of sent.
      take(op) {
        const got = this.sent.filter((f) => !op || f.op === op);
        this.sent = this.sent.filter((f) => op && f.op !== op);
        return got;
      }
    };
  }

  get last() {
    return this.sockets[this.sockets.length - 1];
  }
}
