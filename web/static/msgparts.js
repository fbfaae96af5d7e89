// msgparts.js: the parts of a message that come from its changes and
// links, shared by the timeline and the thread panel: the quote of the
// message it replies to (a button that jumps there), the text with
// "(edited)" or "message deleted" in its place, the reactions under it
// (each a toggle) and a thread root's summary (replies, last reply,
// participants; a dot when there are replies I have not seen). User text
// only ever becomes text nodes.
import * as fmt from './format.js';
import { el, userAvatar } from './dom.js';
import { readable } from './richtext.js';

// How much of the quoted message a reply shows.
const QUOTE_CHARS = 200;

export function msgParts(app) {
  const { session } = app;

  /** quote is the reply's quote of the message it answers, or null. */
  function quote(room, m) {
    const q = room.quote(m);
    if (!q) return null;
    if (q.missing) fetchQuoted(room, q.seq);
    const text = q.deleted ? 'message deleted' : q.missing ? 'a message not loaded yet' : fmt.preview(readable(q.text), QUOTE_CHARS);
    return el(
      'button.reply-quote',
      {
        type: 'button',
        dataset: { target: q.seq },
        title: 'Go to the original message',
        onclick: (e) => {
          e.stopPropagation();
          app.jump.to(room, q.seq);
        },
      },
      // The name is the visible text, said as a reply.
      el('span.visually-hidden', { text: 'In reply to ' }),
      q.from ? el('span.reply-from', { text: q.from }) : null,
      el(`span.reply-text${q.deleted || q.missing ? '.gone' : ''}`, { text }),
    );
  }

  // fetchQuoted loads a quoted message that is not loaded (a live reply to
  // an old message), once, for its quote.
  function fetchQuoted(room, seq) {
    if (room.quoted.has(seq)) return;
    room.quoted.set(seq, { seq });
    app.api.message(room.id, seq).then(
      (o) => {
        room.quoted.set(seq, { seq, from: o.from, text: o.text || '', deleted: !!o.deleted, thread: o.thread || 0 });
        for (const r of room.msgs.values()) if (r.reply_to === seq) r.rev = (r.rev || 0) + 1;
        if (app.current === room.id) app.timeline.render();
        app.thread.render();
      },
      () => room.quoted.set(seq, { seq, from: '', text: '', deleted: true }),
    );
  }

  /** text is the message's text, made by render (the timeline's renderer
   * of user text), with "(edited)", or "message deleted" in its place. */
  function text(room, m, render) {
    if (m.deleted) return el('div.msg-text.deleted', { text: 'message deleted' });
    if (m.saving !== undefined) return el('div.msg-text.saving', {}, render(m.saving), ' ', el('span.edited', { text: '(saving…)' }));
    const box = el('div.msg-text', {}, render(m.text));
    if (m.edited) {
      // At the end of the last paragraph, not on a line of its own.
      const last = box.lastElementChild && box.lastElementChild.tagName === 'P' && box.lastChild === box.lastElementChild ? box.lastElementChild : box;
      last.append(
        ' ',
        el('button.edited', {
          type: 'button',
          title: `Edited ${new Date(m.edited).toLocaleString()}: show the edits`,
          text: '(edited)',
          onclick: (e) => {
            e.stopPropagation();
            app.edits.open(room, m);
          },
        }),
      );
    }
    return box;
  }

  /** reactions is the row of reactions under m (null if none): each a
   * button that adds or takes away mine, named for who reacted. */
  function reactions(room, m) {
    const list = (!m.deleted && m.reactions) || [];
    if (!list.length) return null;
    const row = el('div.reactions', { role: 'group', 'aria-label': 'Reactions' });
    for (const r of list) {
      const mine = r.users.includes(session.user);
      const who = fmt.listNames(r.users.map((u) => (u === session.user ? 'you' : u)), 8);
      row.append(
        el(
          `button.reaction${mine ? '.mine' : ''}`,
          {
            type: 'button',
            dataset: { emoji: r.emoji },
            'aria-pressed': mine ? 'true' : 'false',
            'aria-label': `${r.emoji} ${r.count}: ${who}. ${mine ? 'Take yours away' : 'Add yours'}`,
            title: `${who} reacted with ${r.emoji}`,
            onclick: (e) => {
              e.stopPropagation();
              app.actions.toggleReaction(room, m, r.emoji);
            },
          },
          el('span.reaction-emoji', { 'aria-hidden': 'true', text: r.emoji }),
          el('span.reaction-count', { 'aria-hidden': 'true', text: String(r.count) }),
        ),
      );
    }
    return row;
  }

  /** threadSummary is a root's line of its thread (null without
   * replies): replies, last reply time, participants; it opens the
   * thread. */
  function threadSummary(room, m, { inPanel = false } = {}) {
    const s = m.thread_summary;
    if (inPanel || !s || !s.replies) return null;
    const unseen = app.thread.unseen(room, m);
    const last = s.last ? fmt.shortWhen(new Date(s.last)) : '';
    const label = `${s.replies} ${s.replies === 1 ? 'reply' : 'replies'}`;
    return el(
      `button.thread-summary${unseen ? '.unseen' : ''}`,
      {
        type: 'button',
        dataset: { root: m.seq },
        title: 'Open the thread',
        onclick: (e) => {
          e.stopPropagation();
          app.thread.open(room, m.seq);
        },
      },
      el('span.thread-people', { 'aria-hidden': 'true' }, (s.participants || []).slice(0, 4).map((u) => userAvatar(u))),
      el('span.thread-count', { text: label }),
      last ? el('span.thread-last', { text: `Last reply ${last}` }) : null,
      unseen ? el('span.thread-dot', { 'aria-hidden': 'true' }) : null,
      unseen ? el('span.visually-hidden', { text: ', new replies' }) : null,
    );
  }

  /** inThreadNote marks a thread reply that was also sent to the room. */
  function inThreadNote(room, m) {
    if (!m.thread || !m.also_room) return null;
    return el('button.in-thread', {
      type: 'button',
      text: 'replied in a thread',
      onclick: (e) => {
        e.stopPropagation();
        app.thread.open(room, m.thread);
      },
    });
  }

  /** sig says when a message's node must be rebuilt: its changes, its
   * quote's and its thread's state, and whether it is being edited. */
  function sig(room, m) {
    const q = room.quote(m);
    const qs = q ? `${q.from}|${q.deleted}|${q.missing}|${q.text.length}|${q.text.slice(0, 40)}` : '';
    return `${m.rev || 0}|${qs}|${app.thread.unseen(room, m)}|${app.editing.isEditing(room, m.seq)}`;
  }

  return { quote, text, reactions, threadSummary, inThreadNote, sig };
}
