// app.js: the Natter web UI's boot and wiring. Plain DOM, no framework; one
// module per view or concern (docs/WEB-UI.md lists them), each given the
// shared state `app` below and reaching the others through it. User text
// only ever reaches the page as text nodes (or as the text and checked
// href of an <a> built with DOM calls); nothing here assigns innerHTML.
import { Client, State } from './natter.js';
import * as fmt from './format.js';
import { Session } from './session.js';
import { API } from './api.js';
import { Moderation } from './moderation.js';
import { resolveHandoff, wireAccount } from './account.js';
import { Invitations } from './invitations.js';
import { $, el, icon, toast, userAvatar } from './dom.js';
import { human } from './human.js';
import { Store } from './store.js';
import { connection } from './connection.js';
import { login } from './login.js';
import { rooms } from './rooms.js';
import { events } from './events.js';
import { sidebar } from './sidebar.js';
import { roomView } from './roomview.js';
import { history } from './history.js';
import { timeline } from './timeline.js';
import { reading } from './reading.js';
import { composer } from './composer.js';
import { dialogs, openDialog } from './dialogs.js';
import { members } from './members.js';
import { messaging } from './messaging.js';
import { suggest } from './suggest.js';
import { searchView } from './searchview.js';

const session = new Session();

/** app is the state the views share, and the views themselves. */
const app = {
  session,
  store: new Store(localStorage, () => session.user),
  api: null,
  client: null,
  moderation: null,
  rooms: new Map(), // id -> Room
  current: null, // id of the open room
  membersRoom: null, // id of the room whose members dialog is open
  reauthing: false, // the login form is up over the app
  holdUnauthorized: false, // a password change is replacing the token
  start: startApp,
  keepFresh,
  onUnauthorized,
};
app.conn = connection(app);
app.auth = login(app);
let booted = false;

async function boot() {
  const hasSession = resolveHandoff(session, session.load(), toast);
  await session.loadConfig();
  $('#boot').hidden = true;
  if (hasSession) {
    startApp({ fresh: false });
  } else if (!session.config.accounts && session.config.login_url && !session.recentlyRedirected()) {
    session.loginRedirect();
  } else {
    app.auth.show();
  }
}

function startApp({ fresh }) {
  if (booted) return;
  booted = true;
  $('#auth').hidden = true;
  $('#app').hidden = false;
  app.api = new API(() => session.validToken(), onUnauthorized);
  app.client = new Client({ token: () => session.validToken() });
  app.moderation = new Moderation({ client: app.client, api: app.api, me: session.user, el, changed: moderationChanged, error: (t) => toast(t) });
  app.joined = rooms(app);
  app.list = sidebar(app);
  app.view = roomView(app);
  app.history = history(app);
  app.timeline = timeline(app);
  app.reading = reading(app);
  app.composer = composer(app);
  app.members = members(app);
  app.suggest = suggest(app);
  app.search = searchView(app);
  wireApp();
  messaging(app);
  $('#me-name').textContent = session.user;
  $('#me-avatar').replaceWith(Object.assign(userAvatar(session.user), { id: 'me-avatar' }));
  events(app);
  new Invitations({ client: app.client, notify: toast, onAccepted: () => app.joined.refresh() }).mount($('#sidebar .actions'));
  keepFresh();
  app.client.connect();
  app.conn.update();
  app.joined.load({ fresh });
}

// keepFresh keeps the session's token fresh and hands each new token to the
// open connection, which the server closes when the token it authenticated
// with expires.
function keepFresh() {
  session.keepFresh(app.auth.expired, renewConnection);
  renewConnection();
}

function renewConnection() {
  if (app.client) app.client.renew().catch(() => {});
}

async function onUnauthorized() {
  if (app.reauthing || app.holdUnauthorized) return;
  try {
    await session.refresh();
    keepFresh();
    if (app.client.state === State.UNAUTHORIZED) app.client.connect();
  } catch (e) {
    app.auth.expired();
  }
}

// moderationChanged re-renders what shows a room's moderation state.
function moderationChanged(id) {
  if (app.current === id) {
    app.view.renderHeader();
    app.composer.renderModNotice();
    app.timeline.render();
  }
  if (app.membersRoom === id) app.members.render();
}

function wireApp() {
  for (const b of document.querySelectorAll('[data-icon]')) b.prepend(icon(b.dataset.icon));
  const icons = { logout: 'logout', 'account-button': 'account', back: 'back', 'members-button': 'users', send: 'send' };
  for (const [id, name] of Object.entries(icons)) $('#' + id).append(icon(name));

  wireAccount({
    session,
    openDialog,
    human,
    toast,
    signedOut: () => {
      const user = session.user;
      app.client.close();
      app.store.clearUser(user);
      session.clear();
      location.reload();
    },
    tokenChanging: (busy) => {
      app.holdUnauthorized = busy;
      if (busy) return;
      keepFresh();
      if (app.client.state === State.UNAUTHORIZED) app.client.connect();
    },
  });
  $('#conn-retry').addEventListener('click', () => app.client.reconnectNow());
  app.view.wire();
  app.list.wire();
  dialogs(app).wire();
  app.members.wire();
  app.composer.wire();
  app.suggest.wire();
  app.search.wire();
  app.timeline.wire();
  app.reading.wire();

  window.addEventListener('online', () => {
    app.client.reconnectNow();
    app.conn.update();
  });
  window.addEventListener('offline', app.conn.update);
  // Other tabs of this browser share the session: follow their logout,
  // login as someone else, or refreshed token.
  window.addEventListener('storage', (e) => {
    if (e.key !== 'natter.session') return;
    let token = null;
    try {
      token = JSON.parse(e.newValue || 'null')?.token || null;
    } catch (err) {
      token = null;
    }
    const claims = token && fmt.jwtClaims(token);
    if (!claims || claims.sub !== session.user) {
      location.reload();
      return;
    }
    if (token !== session.token && session.set(token)) {
      keepFresh();
      if (app.reauthing) app.auth.signedIn(session.user, false);
    }
  });
}

app.auth.wire();
boot();
