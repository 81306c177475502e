#!/usr/bin/env node
// Writes tests/data/gpt2/bpe_golden.json: GPT-2 byte-level BPE token ids for
// a fixed, varied set of strings, as produced by the encode() function of the
// npm package gpt-3-encoder.
//
// Usage:
//   node make_golden.js <dir of gpt-3-encoder package> [out.json]
// e.g.
//   tmp=$(mktemp -d) && (cd "$tmp" && npm install gpt-3-encoder@1.1.4)
//   node tests/data/gpt2/make_golden.js "$tmp/node_modules/gpt-3-encoder"
//
// A candidate string is kept only if
//   1. encode() does not throw and returns integer ids in [0, 50257),
//   2. decode(encode(x)) === x with the package's decode(), and
//   3. encode() agrees with an independent implementation in this file that
//      follows OpenAI's reference encoder (gpt-2/src/encoder.py) using
//      encoder.json / vocab.bpe from this directory. The reference splits
//      with the Unicode White_Space property, as the Python `regex` module
//      does for `\s`; gpt-3-encoder uses JavaScript's `\s`, which differs on
//      U+0085 and U+FEFF, so strings containing those are expected to drop.
// Dropped candidates are listed on stderr with the reason.
// The candidate list and the seeded generator are fixed, so the output is
// deterministic for a given package version.
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const HERE = __dirname;
const TARGET_CASES = 400;
const SEED = 0x5ca1e1;

// ---------------------------------------------------------------------------
// Independent reference encoder (OpenAI encoder.py semantics).

function bytesToUnicode() {
  const bs = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const map = new Array(256);
  bs.forEach((b, i) => { map[b] = String.fromCharCode(cs[i]); });
  return map;
}

function makeReference(encoderPath, mergesPath) {
  const encoder = new Map(Object.entries(JSON.parse(fs.readFileSync(encoderPath, 'utf8'))));
  const lines = fs.readFileSync(mergesPath, 'utf8').split('\n');
  const ranks = new Map();
  // First line is "#version: 0.2"; the file ends with a newline.
  lines.slice(1, lines.length - 1).forEach((line, i) => {
    const parts = line.split(' ');
    if (parts.length !== 2) throw new Error(`vocab.bpe line ${i + 2}: "${line}"`);
    ranks.set(`${parts[0]} ${parts[1]}`, i);  // byte symbols never contain ' '
  });
  const byteMap = bytesToUnicode();
  const pat = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;
  const utf8 = new TextEncoder();

  function bpe(token) {
    let word = Array.from(token);
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < word.length; i++) {
        const r = ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) { bestRank = r; best = i; }
      }
      if (best < 0) break;
      const a = word[best];
      const b = word[best + 1];
      const merged = [];
      for (let i = 0; i < word.length;) {
        if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
          merged.push(a + b);
          i += 2;
        } else {
          merged.push(word[i]);
          i += 1;
        }
      }
      word = merged;
    }
    return word;
  }

  return function encode(text) {
    const ids = [];
    for (const m of text.matchAll(pat)) {
      const sym = Array.from(utf8.encode(m[0]), (b) => byteMap[b]).join('');
      for (const piece of bpe(sym)) {
        const id = encoder.get(piece);
        if (id === undefined) throw new Error(`no id for BPE piece ${JSON.stringify(piece)}`);
        ids.push(id);
      }
    }
    return ids;
  };
}

// ---------------------------------------------------------------------------
// Candidate strings.

const FIXED = [
  // The anchor case.
  'Hello world',
  ' Hello world',
  'Hello world!',
  'hello world',
  'HELLO WORLD',
  'Hello, world.',
  // Empty-ish.
  '',
  ' ',
  'a',
  'Z',
  '.',
  '0',
  "'",
  '\n',
  '\t',
  '!',
  'I',
  '€',
  'é',
  '中',
  // ASCII sentences.
  'The quick brown fox jumps over the lazy dog.',
  'The capital of Ireland is Dublin.',
  'Paris is the capital of France .',
  'Knowledge neurons store factual associations in the MLP layers.',
  'A small model trained from scratch can still memorise facts.',
  'Rank-one model editing changes a single weight matrix.',
  'She sells sea shells by the sea shore.',
  'To be, or not to be, that is the question:',
  'It was the best of times, it was the worst of times.',
  'All work and no play makes Jack a dull boy.',
  'Colorless green ideas sleep furiously.',
  'GPT-2 uses byte-level byte pair encoding.',
  'The year 1984 was not like "1984".',
  'Email me at someone@example.com or call +1 (555) 010-9999.',
  'Mr. Smith, Dr. Jones and Prof. Lee met at 5 p.m.',
  'antidisestablishmentarianism',
  'Pneumonoultramicroscopicsilicovolcanoconiosis',
  'supercalifragilisticexpialidocious',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  'abababababababababababab',
  'The The The The The',
  'camelCaseIdentifier and snake_case_identifier and kebab-case-identifier',
  'XMLHttpRequest',
  'iPhone iPad macOS',
  'ALL CAPS SENTENCE WITH SOME WORDS',
  'mIxEd CaSe TeXt',
  // Contractions.
  "I'm",
  "I'm here.",
  "don't",
  "Don't do that.",
  "they'll",
  "They'll be fine.",
  "we've",
  "We've seen it.",
  "she's",
  "She's right.",
  "I'd",
  "I'd rather not.",
  "you're",
  "You're welcome.",
  "I'M",
  "DON'T",
  "THEY'LL",
  "WE'VE",
  "SHE'S",
  "YOU'RE",
  "I'D",
  "it's its",
  "can't won't shouldn't",
  "y'all",
  "o'clock",
  "rock 'n' roll",
  "'s",
  "'tis",
  "the dog's bone",
  "James' book",
  "''",
  "'''",
  "don''t",
  "it’s curly",
  // Whitespace runs.
  '  ',
  '   ',
  '    ',
  'a  b',
  'a   b',
  'a\tb',
  'a\t\tb',
  'a\nb',
  'a\n\nb',
  '\n\n',
  '\n\n\n',
  'line one\nline two\n',
  'trailing space ',
  'trailing spaces   ',
  ' leading space',
  '   leading spaces',
  'a \n b',
  'a\r\nb',
  '\r\n',
  'tab\tseparated\tvalues',
  ' \t \n ',
  'word\n',
  '\nword',
  'two  spaces  between  words',
  'end with newline\n\n',
  'non\u00a0breaking\u00a0space',
  'ideographic\u3000space',
  'line\u2028separator',
  'en\u2002space',
  'zero\u200bwidth\u200bspace',
  // Numbers.
  '123',
  '1234567890',
  '3.14159',
  '1,000,000',
  '-42',
  '+42',
  '2024-01-01',
  '12:34:56',
  '0x1F',
  '1e-9',
  '007',
  '99 bottles of beer',
  'Room 101',
  '$19.99',
  '50%',
  '½ ¼ ¾',
  '²³',
  '١٢٣',
  '१२३',
  '一二三',
  'IV XII MMXXIV',
  '3rd 21st 42nd',
  '10,000 km/h',
  // Punctuation runs.
  '!!!',
  '?!',
  '...',
  '…',
  '---',
  '—',
  '((()))',
  '[[{{}}]]',
  '"\'"',
  '@#$%^&*',
  '<<>>',
  '====',
  '->',
  '=>',
  '::',
  '~/.config',
  '«quoted»',
  '“smart quotes”',
  '¿Qué?',
  '¡Hola!',
  '#hashtag',
  '@mention',
  'a,b,c',
  ',,,,',
  ', , ,',
  '1,2,3',
  'foo,bar',
  '",",',
  // Unicode letters.
  'café',
  'naïve résumé',
  'Zürich Straße',
  'São Paulo',
  'Tórshavn',
  'Chișinău',
  'Hagåtña',
  'Ærøskøbing',
  'Łódź',
  'Ελληνικά',
  'Привет, мир!',
  'Москва — столица России.',
  'Київ',
  'مرحبا بالعالم',
  'اللغة العربية',
  'שלום עולם',
  '你好，世界',
  '北京是中国的首都。',
  'こんにちは世界',
  '東京タワー',
  '안녕하세요',
  'नमस्ते दुनिया',
  'สวัสดีชาวโลก',
  'ქართული',
  'Հայերեն',
  'አማርኛ',
  'ᚠᛇᚻ',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  '𝐁𝐨𝐥𝐝',
  'ﬁ ligature',
  'Ǆ ǅ ǆ',
  'İstanbul',
  'ß ẞ',
  // Combining marks and normalisation.
  'e\u0301',
  'cafe\u0301',
  'n\u0303',
  'a\u0308\u0304',
  'Z\u0335\u0321a\u0337l\u0336g\u0334o',
  'क्षि',
  '\u0301',
  'A\u030a',
  'Å',
  // Emoji.
  '😀',
  '😀😀😀',
  'Hi 👋',
  '👍🏽',
  '👨‍👩‍👧‍👦',
  '👩‍💻',
  '🏳️‍🌈',
  '🏴‍☠️',
  '❤️',
  '🇮🇪',
  '🇺🇸🇬🇧🇯🇵',
  '1️⃣',
  '🏴󠁧󠁢󠁳󠁣󠁴󠁿',
  'I ❤ NY',
  'fire🔥fire',
  '☕ coffee',
  '✔ done ✘ failed',
  '♠♥♦♣',
  '→ ← ↑ ↓',
  '∑ ∫ √ ∞ ≠ ≤',
  '©®™',
  '°C',
  // Code.
  'int main() { return 0; }',
  '#include <iostream>\nint main() {\n    std::cout << "Hello, world!\\n";\n    return 0;\n}\n',
  'template <typename T>\nT max(T a, T b) { return a > b ? a : b; }',
  'for (int i = 0; i < n; ++i) {\n\tsum += v[i];\n}',
  'std::vector<std::string> names{"a", "b"};',
  'auto x = std::make_unique<Foo>(42);',
  'if (a && b || !c) x->y = *p;',
  'def f(x):\n    return x * 2\n',
  'import numpy as np\nprint(np.arange(10))',
  'class Foo:\n    def __init__(self):\n        self.x = None\n',
  'lambda x: x ** 2',
  '    indented four',
  '        indented eight',
  '\tindented tab',
  '{"key": "value", "n": 1}',
  '{\n  "a": [1, 2, 3],\n  "b": {"c": null}\n}',
  '[]',
  '{}',
  'null',
  'true false',
  '<div class="x">text</div>',
  'SELECT * FROM users WHERE id = 1;',
  'x = y + z; // comment',
  '/* block comment */',
  '#!/usr/bin/env bash\nset -euo pipefail\n',
  'a == b != c <= d >= e',
  'i++; j--; k += 1;',
  '$HOME/bin:$PATH',
  'C:\\Windows\\System32',
  '\\n\\t\\\\',
  // URLs and paths.
  'https://github.com/mledoze/countries',
  'http://example.com/path?query=1&x=y#frag',
  'https://en.wikipedia.org/wiki/Byte_pair_encoding',
  'ftp://ftp.example.org/pub/file.tar.gz',
  'www.example.co.uk',
  'mailto:user@example.com',
  '/usr/local/share/scalpel/models/gpt2.bin',
  'file:///home/user/My%20Documents/a.txt',
  // Controls and oddities.
  '\u0000',
  'a\u0000b',
  '\u0007',
  '\u001b[31mred\u001b[0m',
  '\u007f',
  '\u000b\u000c',
  '\u001c',
  '<|endoftext|>',
  'text<|endoftext|>more',
  // Expected to be dropped (see header).
  'next\u0085line',
  'a \u0085b',
  'x \ufeffy',
  '\ufeffbyte order mark',
  'lone \ud800 surrogate',
  'lone \udfff low',
];

// Pieces for the seeded generator.
const PIECES = [
  'the', 'The', 'of', 'capital', 'Dublin', 'Ireland', 'is', 'a', 'an', 'and',
  'model', 'neuron', 'layer', 'edit', 'fact', 'token', 'Scalpel', 'GPT', '2',
  'world', 'Hello', 'language', 'currency', 'Euro', 'Europe', 'Asia',
  "I'm", "don't", "they'll", "we've", "she's", "I'd", "you're", "I'M", "'s",
  '42', '3.14', '1,000', '2024', '0', '007', '-1', '1e10',
  '.', ',', '!', '?', '...', '--', '(', ')', '[', ']', '{', '}', '"', "'",
  ':', ';', '/', '\\', '#', '@', '&', '*', '=', '+', '<', '>', '|', '~', '%',
  'café', 'résumé', 'Zürich', 'São Tomé', 'Ærø', 'Łódź', 'İ', 'ß',
  'Привет', 'мир', 'Ελλάδα', 'مرحبا', 'שלום', '你好', '世界', 'こんにちは',
  '안녕', 'नमस्ते', 'สวัสดี', 'e\u0301', 'n\u0303',
  '😀', '👍🏽', '👨‍👩‍👧‍👦', '🏳️‍🌈', '🇮🇪', '🇯🇵', '❤️', '🔥', '1️⃣',
  'std::vector<int>', 'return 0;', 'def f():', '{"a": 1}', 'x->y',
  'https://example.com', 'a_b', 'CamelCase', 'UPPER', 'lower',
];
const SEPARATORS = [' ', ' ', ' ', ' ', '', '  ', '   ', '\n', '\n\n', '\t', ', ', '. ', ' - ', '\u00a0'];

function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function* generated(seed) {
  const rand = mulberry32(seed);
  const pick = (arr) => arr[Math.floor(rand() * arr.length)];
  for (;;) {
    const n = 1 + Math.floor(rand() * 10);
    let s = '';
    for (let i = 0; i < n; i++) {
      if (i > 0) s += pick(SEPARATORS);
      s += pick(PIECES);
    }
    const r = rand();
    if (r < 0.1) s = ' ' + s;
    else if (r < 0.2) s += ' ';
    else if (r < 0.25) s += '\n';
    yield s;
  }
}

// ---------------------------------------------------------------------------

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function main() {
  const [pkgDir, outArg] = process.argv.slice(2);
  if (!pkgDir) {
    console.error('usage: make_golden.js <dir of gpt-3-encoder package> [out.json]');
    process.exit(2);
  }
  const out = outArg || path.join(HERE, 'bpe_golden.json');
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  if (pkg.name !== 'gpt-3-encoder') throw new Error(`${pkgDir} is not gpt-3-encoder`);
  for (const f of ['encoder.json', 'vocab.bpe']) {
    if (sha256(path.join(pkgDir, f)) !== sha256(path.join(HERE, f))) {
      throw new Error(`${f} in ${pkgDir} differs from the copy in ${HERE}`);
    }
  }
  const { encode, decode } = require(path.resolve(pkgDir));
  const reference = makeReference(path.join(HERE, 'encoder.json'), path.join(HERE, 'vocab.bpe'));

  const cases = [];
  const seen = new Set();
  const dropped = [];

  function consider(text, origin) {
    if (seen.has(text)) return;
    seen.add(text);
    let ids;
    try {
      ids = encode(text);
    } catch (e) {
      dropped.push({ text, origin, why: `encode() threw: ${e.message}` });
      return;
    }
    if (!Array.isArray(ids) || !ids.every((id) => Number.isInteger(id) && id >= 0 && id < 50257)) {
      dropped.push({ text, origin, why: `encode() returned invalid ids ${JSON.stringify(ids)}` });
      return;
    }
    let back;
    try {
      back = decode(ids);
    } catch (e) {
      dropped.push({ text, origin, why: `decode() threw: ${e.message}` });
      return;
    }
    if (back !== text) {
      dropped.push({ text, origin, why: `decode(encode(x)) != x (got ${JSON.stringify(back)})` });
      return;
    }
    let ref;
    try {
      ref = reference(text);
    } catch (e) {
      dropped.push({ text, origin, why: `reference encoder failed: ${e.message}` });
      return;
    }
    if (ref.length !== ids.length || ref.some((id, i) => id !== ids[i])) {
      dropped.push({ text, origin, why: `differs from reference encoder: ${JSON.stringify(ids)} vs ${JSON.stringify(ref)}` });
      return;
    }
    cases.push({ text, ids });
  }

  for (const s of FIXED) consider(s, 'fixed');
  const fixedKept = cases.length;
  const gen = generated(SEED);
  let attempts = 0;
  while (cases.length < TARGET_CASES) {
    if (++attempts > 100000) throw new Error('generator exhausted');
    consider(gen.next().value, 'generated');
  }

  const hello = cases.find((c) => c.text === 'Hello world');
  if (!hello || JSON.stringify(hello.ids) !== '[15496,995]') {
    throw new Error(`"Hello world" -> ${hello && JSON.stringify(hello.ids)}, expected [15496,995]`);
  }
  console.log(`"Hello world" -> ${JSON.stringify(hello.ids)}`);

  const generator = `gpt-3-encoder ${pkg.version} encode()`;
  const body = cases.map((c) => `    ${JSON.stringify(c)}`).join(',\n');
  fs.writeFileSync(out, `{\n  "generator": ${JSON.stringify(generator)},\n  "cases": [\n${body}\n  ]\n}\n`);
  JSON.parse(fs.readFileSync(out, 'utf8'));

  console.log(`${out}: ${cases.length} cases (${fixedKept} fixed, ${cases.length - fixedKept} generated)`);
  console.log(`dropped ${dropped.length}`);
  for (const d of dropped) console.error(`  dropped [${d.origin}] ${JSON.stringify(d.text)}: ${d.why}`);
}

main();
