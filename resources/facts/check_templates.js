#!/usr/bin/env node
// Validates resources/facts/templates.json.
//
// Usage: node check_templates.js [templates.json] [--list]
//
// Rules checked:
//   * "sentence" contains {head} and {tail}, {head} first.
//   * Every relation of facts.json (next to the templates file) is present,
//     and no unknown relation is defined.
//   * Per relation: >= 5 heads, >= 4 tails, <= 3 novel templates.
//   * A head contains [X] exactly once and no [Y]. A tail contains [Y]
//     exactly once, as its last word, and no [X]. A novel template contains
//     [X] once and [Y] once, [Y] last. No leading/trailing or doubled spaces.
//     The possessive is always written "[X]'s" (never "[X] 's").
//   * Heads and tails are unique within a relation; a head (compared without
//     case) is never used by two relations, so the head alone settles the
//     relation.
//   * "heldout" lists valid, distinct [head, tail] index pairs; every head
//     has at least one held-out combination; every head and every tail
//     occurs in at least one training (not held-out) combination.
//   * All prompts (sentence up to [Y], trimmed) are unique across relations.
// Prints per-relation counts; exits with status 1 if any rule fails.
'use strict';

const fs = require('fs');
const path = require('path');

const args = process.argv.slice(2);
const list = args.includes('--list');
const file = args.find((a) => !a.startsWith('--')) || path.join(__dirname, 'templates.json');
const factsFile = path.join(path.dirname(file), 'facts.json');

const MIN_HEADS = 5;
const MIN_TAILS = 4;
const MAX_NOVEL = 3;

const errors = [];
const fail = (msg) => errors.push(msg);
const count = (s, sub) => s.split(sub).length - 1;

function checkSpacing(where, s) {
  if (typeof s !== 'string' || s.length === 0) return fail(`${where}: not a non-empty string`);
  if (s !== s.trim()) fail(`${where}: leading or trailing whitespace in "${s}"`);
  if (/\s{2,}/.test(s) || /[\t\n\r]/.test(s)) fail(`${where}: irregular whitespace in "${s}"`);
  if (/\[X\]\s+'s\b/.test(s)) fail(`${where}: write the possessive as "[X]'s" in "${s}"`);
}

const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
const sentence = doc.sentence;
if (typeof sentence !== 'string' || !sentence.includes('{head}') || !sentence.includes('{tail}') ||
    sentence.indexOf('{head}') > sentence.indexOf('{tail}')) {
  fail('"sentence" must contain {head} followed by {tail}');
}

const build = (head, tail) => sentence.replace('{head}', head).replace('{tail}', tail);
const promptOf = (s) => s.slice(0, s.indexOf('[Y]')).trim();

let expected = ['capital', 'region', 'subregion', 'language', 'currency', 'demonym'];
if (fs.existsSync(factsFile)) {
  expected = JSON.parse(fs.readFileSync(factsFile, 'utf8')).relations.map((r) => r.id);
}
const relations = doc.relations || {};
for (const id of expected) if (!relations[id]) fail(`relation "${id}" missing`);
for (const id of Object.keys(relations)) if (!expected.includes(id)) fail(`unknown relation "${id}"`);

const headOwner = new Map();    // lower-cased head -> relation
const promptOwner = new Map();  // prompt -> relation
const rows = [];

function claimPrompt(rel, prompt) {
  const other = promptOwner.get(prompt);
  if (other !== undefined && other !== rel) fail(`prompt "${prompt}" used by ${other} and ${rel}`);
  promptOwner.set(prompt, rel);
}

for (const rel of Object.keys(relations)) {
  const r = relations[rel];
  const heads = Array.isArray(r.heads) ? r.heads : [];
  const tails = Array.isArray(r.tails) ? r.tails : [];
  const novel = Array.isArray(r.novel) ? r.novel : [];
  const heldout = Array.isArray(r.heldout) ? r.heldout : [];
  if (heads.length < MIN_HEADS) fail(`${rel}: ${heads.length} heads, need >= ${MIN_HEADS}`);
  if (tails.length < MIN_TAILS) fail(`${rel}: ${tails.length} tails, need >= ${MIN_TAILS}`);
  if (novel.length > MAX_NOVEL) fail(`${rel}: ${novel.length} novel templates, at most ${MAX_NOVEL}`);

  heads.forEach((h, i) => {
    const w = `${rel}.heads[${i}]`;
    checkSpacing(w, h);
    if (count(h, '[X]') !== 1) fail(`${w}: needs exactly one [X]: "${h}"`);
    if (h.includes('[Y]')) fail(`${w}: must not contain [Y]: "${h}"`);
    if (heads.indexOf(h) !== i) fail(`${w}: duplicate head "${h}"`);
    const key = h.toLowerCase();
    const other = headOwner.get(key);
    if (other !== undefined && other !== rel) fail(`${w}: head "${h}" also used by ${other}`);
    headOwner.set(key, rel);
  });
  tails.forEach((t, i) => {
    const w = `${rel}.tails[${i}]`;
    checkSpacing(w, t);
    if (count(t, '[Y]') !== 1 || !t.endsWith('[Y]')) fail(`${w}: needs one [Y], last: "${t}"`);
    if (t.includes('[X]')) fail(`${w}: must not contain [X]: "${t}"`);
    if (tails.indexOf(t) !== i) fail(`${w}: duplicate tail "${t}"`);
  });
  novel.forEach((n, i) => {
    const w = `${rel}.novel[${i}]`;
    checkSpacing(w, n);
    if (count(n, '[X]') !== 1 || count(n, '[Y]') !== 1 || !n.endsWith('[Y]') ||
        n.indexOf('[X]') > n.indexOf('[Y]')) {
      fail(`${w}: needs one [X] and one final [Y]: "${n}"`);
    }
  });

  const held = new Set();
  for (const pair of heldout) {
    const ok = Array.isArray(pair) && pair.length === 2 && pair.every(Number.isInteger) &&
        pair[0] >= 0 && pair[0] < heads.length && pair[1] >= 0 && pair[1] < tails.length;
    if (!ok) { fail(`${rel}: bad heldout entry ${JSON.stringify(pair)}`); continue; }
    const key = `${pair[0]},${pair[1]}`;
    if (held.has(key)) fail(`${rel}: heldout pair [${key}] listed twice`);
    held.add(key);
  }

  const trainHeads = new Set();
  const trainTails = new Set();
  const heldHeads = new Set();
  let train = 0;
  const prompts = { train: [], heldout: [], novel: [] };
  heads.forEach((h, hi) => tails.forEach((t, ti) => {
    const isHeld = held.has(`${hi},${ti}`);
    const s = build(h, t);
    const p = promptOf(s);
    claimPrompt(rel, p);
    if (isHeld) {
      heldHeads.add(hi);
      prompts.heldout.push(s);
    } else {
      train++;
      trainHeads.add(hi);
      trainTails.add(ti);
      prompts.train.push(s);
    }
  }));
  for (const n of novel) {
    claimPrompt(rel, promptOf(n));
    prompts.novel.push(`${n} .`);
  }
  heads.forEach((h, i) => {
    if (!heldHeads.has(i)) fail(`${rel}: head ${i} "${h}" has no held-out combination`);
    if (!trainHeads.has(i)) fail(`${rel}: head ${i} "${h}" never used in training`);
  });
  tails.forEach((t, i) => {
    if (!trainTails.has(i)) fail(`${rel}: tail ${i} "${t}" never used in training`);
  });

  rows.push({ rel, heads: heads.length, tails: tails.length, train, heldout: held.size, novel: novel.length, prompts });
}

console.log('relation    heads tails train heldout novel');
for (const r of rows) {
  console.log(`${r.rel.padEnd(11)} ${String(r.heads).padStart(5)} ${String(r.tails).padStart(5)} ` +
      `${String(r.train).padStart(5)} ${String(r.heldout).padStart(7)} ${String(r.novel).padStart(5)}`);
  if (list) {
    for (const kind of ['train', 'heldout', 'novel']) {
      for (const s of r.prompts[kind]) console.log(`    ${kind.padEnd(7)} ${s}`);
    }
  }
}
const total = (k) => rows.reduce((a, r) => a + r[k], 0);
console.log(`${'total'.padEnd(11)} ${String(total('heads')).padStart(5)} ${String(total('tails')).padStart(5)} ` +
    `${String(total('train')).padStart(5)} ${String(total('heldout')).padStart(7)} ${String(total('novel')).padStart(5)}`);

if (errors.length) {
  for (const e of errors) console.error(`error: ${e}`);
  process.exit(1);
}
console.log('templates OK');
