// Unit tests of richtext.js: the DOM that message text becomes, built
// with a stand-in document (fakedom.mjs) whose innerHTML throws; the
// browser test checks the same in Chromium.
import test from 'node:test';
import assert from 'node:assert/strict';
import { load } from './fake.mjs';
import { fakeDocument, html, elements } from './fakedom.mjs';

const { renderText } = await load('richtext.js');
const h = (text, me = 'me') => html(renderText(text, { me, doc: fakeDocument }));
const REL = 'rel="noopener noreferrer nofollow" target="_blank"';

test('each construct becomes its element', () => {
  assert.equal(h('hi'), '<p>hi</p>');
  assert.equal(h('**b** *i* ~~s~~ `c`'), '<p><strong>b</strong> <em>i</em> <del>s</del> <code>c</code></p>');
  assert.equal(h('```go\nfmt.Println("<hi>")\n```'), '<pre tabindex="0" data-lang="go"><code>fmt.Println(&quot;&lt;hi&gt;&quot;)</code></pre>');
  assert.equal(h('> q'), '<blockquote><p>q</p></blockquote>');
  assert.equal(h('- a\n- b'), '<ul><li>a</li><li>b</li></ul>');
  assert.equal(h('2. a\n3. b'), '<ol start="2"><li>a</li><li>b</li></ol>');
  assert.equal(h('1. a'), '<ol><li>a</li></ol>');
  assert.equal(h('[site](https://example.com)'), `<p><a href="https://example.com/" ${REL}>site</a></p>`);
  assert.equal(h('go to www.example.com.'), `<p>go to <a href="https://www.example.com/" ${REL}>www.example.com</a>.</p>`);
  assert.equal(h(':tada:'), '<p><span class="emoji" title=":tada:">🎉</span></p>');
});

test('mentions are marked, the reader\'s own and @room differently', () => {
  assert.equal(h('@bob and @me'), '<p><span class="mention" data-user="bob">@bob</span> and <span class="mention mention-me" data-user="me">@me</span></p>');
  assert.equal(h('@room'), '<p><span class="mention mention-me" data-user="room">@room</span></p>');
  assert.equal(h('@me', 'bob'), '<p><span class="mention" data-user="me">@me</span></p>');
});

test('XSS: HTML, script URLs and attribute breaks stay text; only checked links are made', () => {
  const evil = [
    '<img src=x onerror=alert(1)>',
    '<script>alert(1)</script>',
    '[x](javascript:alert(1))',
    '[x](javascript:alert(1)//https://a.org)',
    '[x](data:text/html;base64,PHNjcmlwdD4=)',
    '[x](https://a.org"onmouseover="alert(1))',
    '[<img src=x onerror=alert(1)>](https://a.org)',
    '`<script>`',
    '```\n</code></pre><script>alert(1)</script>\n```',
    '> <iframe src=javascript:alert(1)>',
    '- <svg onload=alert(1)>',
    '@<b>x</b>',
    ':<img:',
  ];
  for (const s of evil) {
    const frag = renderText(s, { me: 'me', doc: fakeDocument });
    for (const e of elements(frag)) {
      assert.ok(['P', 'A', 'CODE', 'PRE', 'BLOCKQUOTE', 'UL', 'OL', 'LI', 'STRONG', 'EM', 'DEL', 'SPAN'].includes(e.tagName), `${s}: made <${e.tagName}>`);
      for (const [k, v] of e.attributes) {
        assert.ok(['href', 'target', 'rel', 'class', 'title', 'start', 'tabindex'].includes(k), `${s}: attribute ${k}`);
        if (k === 'href') assert.match(v, /^(https?:\/\/|mailto:)/, s);
      }
    }
    assert.ok(!/<(img|script|iframe|svg)/.test(html(frag)), `${s}: ${html(frag)}`);
  }
  assert.equal(h('[x](javascript:alert(1))'), '<p>[x](javascript:alert(1))</p>');
  // A quote in a destination cannot end the attribute: href is set with
  // setAttribute, never written out as HTML.
  assert.equal(h('[x](https://a.org"onmouseover="alert(1))'), `<p><a href="https://a.org&quot;onmouseover=&quot;alert(1)/" ${REL}>x</a></p>`);
});

test('a huge code block is one element with all of its text', () => {
  const body = Array.from({ length: 400 }, (_, i) => `line ${i} ${'x'.repeat(10)}`).join('\n');
  const frag = renderText('```\n' + body + '\n```', { doc: fakeDocument });
  assert.equal(frag.childNodes.length, 1);
  assert.equal(frag.childNodes[0].tagName, 'PRE');
  assert.equal(frag.textContent, body);
});

test('plain text reads back as it was typed', () => {
  for (const s of ['hello there', 'a < b > c & d', 'docs at https://example.com/natter?a=1&b=<2> and javascript:alert(2)', 'two\nlines']) {
    assert.equal(renderText(s, { doc: fakeDocument }).textContent, s);
  }
});

test('random markup: never throws, stays fast, makes only the allowed elements, attributes and links', () => {
  // A fixed seed: the same inputs every run (a failure can be replayed).
  let seed = 0x2545f491;
  const rand = (n) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const pieces = ['*', '**', '_', '__', '~~', '`', '```', '\n', '\n\n', '> ', '- ', '1. ', '  ', '[', ']', '(', ')', '](', '\\', '@bob', '@me', ':tada:', ':', 'https://a.org/x', 'www.b.org', 'javascript:alert(1)', 'mailto:a@b.org', '<img src=x onerror=alert(1)>', '"', "'", '<', '>', '&', 'word', ' ', 'é', '🎉'];
  const TAGS = new Set(['P', 'A', 'CODE', 'PRE', 'BLOCKQUOTE', 'UL', 'OL', 'LI', 'STRONG', 'EM', 'DEL', 'SPAN']);
  const ATTRS = new Set(['href', 'target', 'rel', 'class', 'title', 'start', 'tabindex']);
  for (let n = 0; n < 3000; n++) {
    let s = '';
    for (let k = rand(40); k >= 0; k--) s += pieces[rand(pieces.length)];
    const frag = renderText(s, { me: 'me', doc: fakeDocument });
    for (const e of elements(frag)) {
      assert.ok(TAGS.has(e.tagName), `${JSON.stringify(s)}: <${e.tagName}>`);
      for (const [k, v] of e.attributes) {
        assert.ok(ATTRS.has(k), `${JSON.stringify(s)}: ${k}`);
        if (k === 'href') assert.match(v, /^(https?:\/\/[^/]|mailto:[^/])/, JSON.stringify(s));
      }
    }
  }
  // Text without markup characters (a > only inside a line) reads back
  // exactly.
  for (let n = 0; n < 500; n++) {
    let s = '';
    for (let k = rand(20); k >= 0; k--) s += ['word', ' ', 'é', '🎉', '<', '&', '"', "'", '.', ',', '!', '?', '#', '%', 'x>y'][rand(15)];
    if (s.trim()) assert.equal(renderText(s, { doc: fakeDocument }).textContent, s, JSON.stringify(s));
  }
});
