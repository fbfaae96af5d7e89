// Unit tests of markdown.js: each construct of the message Markdown
// subset, what stays text, and that hostile input costs linear time.
import test from 'node:test';
import assert from 'node:assert/strict';
import { load } from './fake.mjs';

const { parse, inlines, linkHref, plainText } = await load('markdown.js');

const text = (t) => ({ t: 'text', text: t });
const p = (...c) => ({ t: 'p', c });

test('plain text is one paragraph of text, line breaks kept', () => {
  assert.deepEqual(parse('hello'), [p(text('hello'))]);
  assert.deepEqual(parse('one\ntwo'), [p(text('one\ntwo'))]);
  assert.deepEqual(parse('one\n\n\ntwo'), [p(text('one')), p(text('two'))]);
  assert.deepEqual(parse(''), []);
  assert.deepEqual(parse('a\r\nb'), [p(text('a\nb'))]);
});

test('bold, italic, strikethrough, and both', () => {
  assert.deepEqual(inlines('**b**'), [{ t: 'strong', c: [text('b')] }]);
  assert.deepEqual(inlines('__b__'), [{ t: 'strong', c: [text('b')] }]);
  assert.deepEqual(inlines('*i* and _j_'), [{ t: 'em', c: [text('i')] }, text(' and '), { t: 'em', c: [text('j')] }]);
  assert.deepEqual(inlines('~~gone~~'), [{ t: 'del', c: [text('gone')] }]);
  assert.deepEqual(inlines('***both***'), [{ t: 'strong', c: [{ t: 'em', c: [text('both')] }] }]);
  assert.deepEqual(inlines('**bold *and it* too**'), [{ t: 'strong', c: [text('bold '), { t: 'em', c: [text('and it')] }, text(' too')] }]);
});

test('emphasis needs a closer and no space inside; snake_case stays text', () => {
  for (const s of ['2 * 3 * 4', '**not closed', 'a ** b ** c', 'snake_case_name', '~single~', '****', '**', '* *', '~~ x ~~']) {
    assert.deepEqual(inlines(s), [text(s)], s);
  }
  assert.deepEqual(inlines('in*word*emphasis'), [text('in'), { t: 'em', c: [text('word')] }, text('emphasis')]);
});

test('inline code hides markup, nested backticks need a longer run', () => {
  assert.deepEqual(inlines('run `make test` now'), [text('run '), { t: 'code', text: 'make test' }, text(' now')]);
  assert.deepEqual(inlines('`**not bold**`'), [{ t: 'code', text: '**not bold**' }]);
  assert.deepEqual(inlines('`` a ` b ``'), [{ t: 'code', text: 'a ` b' }]);
  assert.deepEqual(inlines('``` `` ```'), [{ t: 'code', text: '``' }]);
  assert.deepEqual(inlines('`unclosed'), [text('`unclosed')]);
  assert.deepEqual(inlines('`a` `b'), [{ t: 'code', text: 'a' }, text(' `b')]);
  assert.deepEqual(inlines('*a `*` b*'), [{ t: 'em', c: [text('a '), { t: 'code', text: '*' }, text(' b')] }]);
  assert.deepEqual(inlines('`<b>x</b>`'), [{ t: 'code', text: '<b>x</b>' }]);
});

test('backslash escapes markup', () => {
  assert.deepEqual(inlines('\\*not\\*'), [text('*not*')]);
  assert.deepEqual(inlines('\\`x\\`'), [text('`x`')]);
  assert.deepEqual(inlines('a\\b'), [text('a\\b')]);
});

test('fenced code blocks keep their text, language and blank lines', () => {
  assert.deepEqual(parse('```js\nconst a = `x`;\n\n**b**\n```'), [{ t: 'pre', text: 'const a = `x`;\n\n**b**', lang: 'js' }]);
  assert.deepEqual(parse('~~~\n```\n~~~'), [{ t: 'pre', text: '```', lang: '' }]);
  // Unclosed: to the end. Closed at the end of a line, as chat users type.
  assert.deepEqual(parse('```\nforever\nand ever'), [{ t: 'pre', text: 'forever\nand ever', lang: '' }]);
  assert.deepEqual(parse('see:\n```\nx = 1```\nafter'), [p(text('see:')), { t: 'pre', text: 'x = 1', lang: '' }, p(text('after'))]);
  // Three backticks on one line are inline code.
  assert.deepEqual(parse('```inline```'), [p({ t: 'code', text: 'inline' })]);
});

test('block quotes, nested, with markup inside', () => {
  assert.deepEqual(parse('> quoted **bold**\n> more\nafter'), [
    { t: 'quote', c: [p(text('quoted '), { t: 'strong', c: [text('bold')] }, text('\nmore'))] },
    p(text('after')),
  ]);
  assert.deepEqual(parse('>> deep'), [{ t: 'quote', c: [{ t: 'quote', c: [p(text('deep'))] }] }]);
  assert.deepEqual(parse('a > b'), [p(text('a > b'))]);
});

test('bullet and numbered lists, nested, blank lines between items', () => {
  assert.deepEqual(parse('- one\n- *two*'), [{ t: 'ul', items: [[p(text('one'))], [p({ t: 'em', c: [text('two')] })]] }]);
  assert.deepEqual(parse('* a\n\n* b'), [{ t: 'ul', items: [[p(text('a'))], [p(text('b'))]] }]);
  assert.deepEqual(parse('3. c\n4) d'), [{ t: 'ol', start: 3, items: [[p(text('c'))]] }, { t: 'ol', start: 4, items: [[p(text('d'))]] }]);
  assert.deepEqual(parse('- a\n  - b\n    continued\n- c'), [
    { t: 'ul', items: [[p(text('a')), { t: 'ul', items: [[p(text('b\ncontinued'))]] }], [p(text('c'))]] },
  ]);
  assert.deepEqual(parse('intro\n- x'), [p(text('intro')), { t: 'ul', items: [[p(text('x'))]] }]);
  for (const s of ['-5 degrees', '2024 was a year', '#room']) assert.deepEqual(parse(s), [p(text(s))], s);
});

test('links: http, https, mailto and www.; anything else is the text typed', () => {
  assert.deepEqual(inlines('[docs](https://example.com/a_(b))'), [{ t: 'link', href: 'https://example.com/a_(b)', c: [text('docs')] }]);
  assert.deepEqual(inlines('[**b**](http://x.org)'), [{ t: 'link', href: 'http://x.org/', c: [{ t: 'strong', c: [text('b')] }] }]);
  assert.deepEqual(inlines('[mail](mailto:a@b.org)'), [{ t: 'link', href: 'mailto:a@b.org', c: [text('mail')] }]);
  assert.deepEqual(inlines('[w](www.example.com)'), [{ t: 'link', href: 'https://www.example.com/', c: [text('w')] }]);
  for (const s of ['[x](javascript:alert(1))', '[x](JavaScript:alert(1))', '[x](data:text/html,<script>alert(1)</script>)', '[x](vbscript:msgbox)', '[x](/relative)', '[x](//evil.org)', '[x](mailto:javascript:alert(1))', '[x](file:///etc/passwd)']) {
    assert.deepEqual(inlines(s), [text(s)], s);
  }
  // No destination, or spaces in it: not a link at all.
  assert.deepEqual(inlines('[x] (https://a.org)'), [text('[x] ('), { t: 'link', href: 'https://a.org/', c: [text('https://a.org')] }, text(')')]);
  assert.deepEqual(inlines('[x](https://a.org "t")'), [text('[x]('), { t: 'link', href: 'https://a.org/', c: [text('https://a.org')] }, text(' "t")')]);
  // Links do not nest; a bare URL in a label is text.
  assert.deepEqual(inlines('[https://a.org](https://b.org)'), [{ t: 'link', href: 'https://b.org/', c: [text('https://a.org')] }]);
  assert.equal(linkHref(' https://a.org'), null);
});

test('bare URLs become links without the punctuation after them', () => {
  assert.deepEqual(inlines('see https://example.com/x. Then'), [text('see '), { t: 'link', href: 'https://example.com/x', c: [text('https://example.com/x')] }, text('. Then')]);
  assert.deepEqual(inlines('(www.example.com)'), [text('('), { t: 'link', href: 'https://www.example.com/', c: [text('www.example.com')] }, text(')')]);
  assert.deepEqual(inlines('**https://a.org**'), [{ t: 'strong', c: [{ t: 'link', href: 'https://a.org/', c: [text('https://a.org')] }] }]);
  for (const s of ['javascript:alert(1)', 'mailto:a@b.org', 'nothttps://a.org', 'http://']) assert.deepEqual(inlines(s), [text(s)], s);
});

// parts is a paragraph's inlines as {text} and {text, href} pieces.
const parts = (s) => inlines(s).map((n) => (n.t === 'link' ? { text: n.c[0].text, href: n.href } : { text: n.text }));

test('bare URLs: text stays text, links only http(s) (the cases of the linkify this replaced)', () => {
  const cases = [
    ['hello', [{ text: 'hello' }]],
    ['see https://example.com/a?b=1.', [{ text: 'see ' }, { text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' }, { text: '.' }]],
    ['(at https://en.wikipedia.org/wiki/Go_(language))', [{ text: '(at ' }, { text: 'https://en.wikipedia.org/wiki/Go_(language)', href: 'https://en.wikipedia.org/wiki/Go_(language)' }, { text: ')' }]],
    ['www.example.org rocks', [{ text: 'www.example.org', href: 'https://www.example.org/' }, { text: ' rocks' }]],
    ['javascript:alert(1)', [{ text: 'javascript:alert(1)' }]],
    ['<img src=x onerror=alert(1)>', [{ text: '<img src=x onerror=alert(1)>' }]],
    ['http://a.b/<script>', [{ text: 'http://a.b/', href: 'http://a.b/' }, { text: '<script>' }]],
    ['two: http://a.io and https://b.io!', [{ text: 'two: ' }, { text: 'http://a.io', href: 'http://a.io/' }, { text: ' and ' }, { text: 'https://b.io', href: 'https://b.io/' }, { text: '!' }]],
    ['https://', [{ text: 'https://' }]],
  ];
  for (const [input, want] of cases) assert.deepEqual(parts(input), want, input);
  // Whatever the input, the parts put back together are the input.
  for (const s of ['a https://x.y/z) b', 'x www. y', 'https://x.y/"onmouseover="a']) {
    assert.equal(
      parts(s)
        .map((p) => p.text)
        .join(''),
      s,
    );
  }
});

test('mentions: @name at the start or after a non-word character', () => {
  assert.deepEqual(inlines('@bob hi @carol-x, and @room!'), [
    { t: 'mention', user: 'bob' },
    text(' hi '),
    { t: 'mention', user: 'carol-x' },
    text(', and '),
    { t: 'mention', user: 'room' },
    text('!'),
  ]);
  assert.deepEqual(inlines('mail bob@example.com'), [text('mail bob@example.com')]);
  assert.deepEqual(inlines('**@bob**'), [{ t: 'strong', c: [{ t: 'mention', user: 'bob' }] }]);
  assert.deepEqual(inlines('`@bob`'), [{ t: 'code', text: '@bob' }]);
  assert.deepEqual(inlines('@' + 'a'.repeat(65)), [text('@' + 'a'.repeat(65))]);
});

test(':shortcode: emoji when a table is given, never in code', () => {
  const opts = { shortcode: (n) => ({ tada: '🎉' })[n] };
  assert.deepEqual(inlines('yay :tada: :nope:', opts), [text('yay '), { t: 'emoji', text: '🎉', name: 'tada' }, text(' :nope:')]);
  assert.deepEqual(inlines('`:tada:`', opts), [{ t: 'code', text: ':tada:' }]);
  assert.deepEqual(inlines(':tada:'), [text(':tada:')]);
});

test('HTML is text', () => {
  for (const s of ['<img src=x onerror=alert(1)>', '<script>alert(1)</script>', '<a href="javascript:alert(1)">x</a>', '&lt;b&gt;']) {
    assert.deepEqual(parse(s), [p(text(s))], s);
  }
});

test('plainText is what a reader sees, on one line', () => {
  assert.equal(plainText(parse('**Hi** @bob, see [docs](https://a.org)\n\n- one\n- two\n```\ncode\n```')), 'Hi @bob, see docs one two code');
});

test('hostile input is parsed in linear time and nesting is capped', () => {
  const cases = [
    '*a '.repeat(6000),
    '**a '.repeat(4000),
    '_a '.repeat(6000),
    '['.repeat(16000),
    '[a]('.repeat(4000),
    '`'.repeat(16000),
    '` `` '.repeat(3000),
    '> '.repeat(8000),
    '- '.repeat(8000),
    '(http://['.repeat(1800),
    'www.'.repeat(4000),
    '@a'.repeat(8000),
    ':a:'.repeat(6000),
    '*'.repeat(16000) + 'x',
    '```\n' + 'x'.repeat(16000),
    ('- '.repeat(20) + 'x\n').repeat(600),
    ('a'.repeat(120) + '*b ').repeat(200) + '\n```' + '`'.repeat(8000) + 'x',
  ];
  for (const s of cases) {
    const t0 = performance.now();
    const out = parse(s, { shortcode: () => undefined });
    const ms = performance.now() - t0;
    // Twice the largest message, so that quadratic work would take
    // seconds; linear work takes tens of ms, and the bound leaves room
    // for a machine busy with other tests.
    assert.ok(ms < 2000, `${JSON.stringify(s.slice(0, 20))}… took ${ms.toFixed(0)} ms`);
    assert.ok(Array.isArray(out));
  }
  // Deep nesting stops being markup, and does not overflow the stack.
  const deep = parse('>'.repeat(5000) + ' x');
  let d = 0;
  for (let n = deep[0]; n && n.t === 'quote'; n = n.c[0]) d++;
  assert.ok(d <= 6, `quote depth ${d}`);
  assert.ok(Array.isArray(parse('**'.repeat(3000) + 'x' + '**'.repeat(3000))));
});
