// messaging.js: what people do with messages (docs/WEB-UI.md): the
// message parts (quotes, edits, reactions, thread summaries), the actions
// toolbar, editing, replying, threads, jumping to a message, the room's
// topic, and the change records that drive them. It makes those views,
// puts them on `app` and hooks them to the page.
import { msgParts } from './msgparts.js';
import { actions } from './actions.js';
import { editing } from './editing.js';
import { replying } from './replying.js';
import { thread } from './thread.js';
import { jump } from './jump.js';
import { topic } from './topic.js';
import { changes } from './changes.js';
import { editHistory } from './edithistory.js';
import { icon, $ } from './dom.js';

export function messaging(app) {
  app.parts = msgParts(app);
  app.actions = actions(app);
  app.editing = editing(app);
  app.replying = replying(app);
  app.thread = thread(app);
  app.jump = jump(app);
  app.topic = topic(app);
  app.edits = editHistory(app);
  $('#thread-close').append(icon('close'));
  $('#thread-send').append(icon('send'));
  $('#topic-button').append(icon('edit'));
  app.actions.wire();
  app.editing.wire();
  app.replying.wire();
  app.thread.wire();
  app.topic.wire();
  app.edits.wire();
  changes(app);
}
