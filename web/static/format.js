// format.js: pure helpers of the web UI (no DOM), unit-tested with node.

// safeHref returns the normalized URL if it is http(s), else null.
export function safeHref(s) {
  let u;
  try {
    u = new URL(s);
  } catch (e) {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  if (!u.hostname) return null;
  return u.href;
}

/** sameDay reports whether two dates fall on the same local day. */
export function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** dayLabel names the day of d as seen from now: Today, Yesterday, a
 * weekday within the week, else a full date. */
export function dayLabel(d, now = new Date(), locale = undefined) {
  if (sameDay(d, now)) return 'Today';
  const y = new Date(now);
  y.setDate(now.getDate() - 1);
  if (sameDay(d, y)) return 'Yesterday';
  const age = (now - d) / 86400000;
  if (age > 0 && age < 6) return d.toLocaleDateString(locale, { weekday: 'long' });
  const opts = { weekday: 'long', day: 'numeric', month: 'long' };
  if (d.getFullYear() !== now.getFullYear()) opts.year = 'numeric';
  return d.toLocaleDateString(locale, opts);
}

/** timeLabel is the clock time of d (e.g. 14:05 or 2:05 PM by locale):
 * the hour as the locale writes it, not padded to "02:05 PM". */
export function timeLabel(d, locale = undefined) {
  return d.toLocaleTimeString(locale, { hour: 'numeric', minute: '2-digit' });
}

/** shortWhen is the compact time of the room list: a time today, a
 * weekday this week, else a date. */
export function shortWhen(d, now = new Date(), locale = undefined) {
  if (sameDay(d, now)) return timeLabel(d, locale);
  const age = (now - d) / 86400000;
  if (age > 0 && age < 6) return d.toLocaleDateString(locale, { weekday: 'short' });
  return d.toLocaleDateString(locale, { day: 'numeric', month: 'short' });
}

// Consecutive messages of one sender within this long form a group.
export const GROUP_GAP_MS = 5 * 60 * 1000;

/** layout decides, for messages in seq order, where day separators go and
 * which messages start a sender group: [{msg, day: label|null, head}]. */
export function layout(msgs, now = new Date()) {
  const out = [];
  let prev = null;
  for (const m of msgs) {
    const d = new Date(m.ts);
    const newDay = !prev || !sameDay(new Date(prev.ts), d);
    const head = newDay || prev.from !== m.from || d - new Date(prev.ts) > GROUP_GAP_MS;
    out.push({ msg: m, day: newDay ? dayLabel(d, now) : null, head });
    prev = m;
  }
  return out;
}

/** initials of a user id for an avatar: "alice" -> "A", "bob_smith" -> "BS". */
export function initials(user) {
  const words = String(user)
    .split(/[-_\s]+/)
    .filter(Boolean);
  const s = words.length > 1 ? words[0][0] + words[1][0] : String(user).slice(0, 1);
  return s.toUpperCase();
}

/** colorIndex picks one of n avatar colours for a user, stably. */
export function colorIndex(user, n = 8) {
  let h = 0;
  for (const c of String(user)) h = (h * 31 + c.codePointAt(0)) >>> 0;
  return h % n;
}

/** listNames joins names for "seen by" and "is typing": "a", "a and b",
 * "a, b and c", "a, b and 3 others". */
export function listNames(names, max = 3) {
  if (names.length <= 1) return names.join('');
  if (names.length <= max) return names.slice(0, -1).join(', ') + ' and ' + names[names.length - 1];
  const rest = names.length - (max - 1);
  return names.slice(0, max - 1).join(', ') + ` and ${rest} others`;
}

/** typingText is the typing indicator for the users typing now. */
export function typingText(users) {
  if (users.length === 0) return '';
  if (users.length > 3) return 'Several people are typing…';
  return listNames(users) + (users.length === 1 ? ' is typing…' : ' are typing…');
}

/** preview is a one-line, bounded version of a message for the room list. */
export function preview(text, max = 80) {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? line.slice(0, max - 1) + '…' : line;
}

/** validID mirrors the server's rule for room and user ids. */
export function validID(s) {
  return /^[A-Za-z0-9_-]{1,64}$/.test(s);
}

/** jwtClaims decodes a JWT's payload without verifying it (the server
 * does): the UI only reads sub and exp to plan refreshes. */
export function jwtClaims(token) {
  try {
    const part = token.split('.')[1];
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((part.length + 3) % 4);
    const json = decodeURIComponent(
      Array.from(atob(b64), (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join(''),
    );
    const claims = JSON.parse(json);
    return typeof claims === 'object' && claims ? claims : null;
  } catch (e) {
    return null;
  }
}

/** tokenFromFragment reads #token=… (the external-login handoff) from a
 * location hash; it returns the token and the hash without it. */
export function tokenFromFragment(hash) {
  const params = new URLSearchParams(String(hash).replace(/^#/, ''));
  const token = params.get('token');
  if (!token) return { token: null, rest: hash };
  params.delete('token');
  const rest = params.toString();
  return { token, rest: rest ? '#' + rest : '' };
}
