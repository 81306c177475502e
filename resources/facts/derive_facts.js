#!/usr/bin/env node
// Derives the Scalpel fact world (resources/facts/facts.json) from the
// world-countries data file dist/countries.json.
//
// Usage: node derive_facts.js <countries.json> <package-version> [out.json]
//
// Relations (one fact per country and relation, missing values skipped):
//   capital    P36   first entry of `capital`
//   region     P30   `region` ("Europe", "Americas", "Antarctic", ...)
//   subregion  -     `subregion` ("Northern Europe", ...)
//   language   P37   first entry of the `languages` object (the data lists
//                    languages keyed by ISO 639-3 code, so "first" means the
//                    first code in file order, not the most spoken language)
//   currency   P38   `name` of the first entry of the `currencies` object
//   demonym    -     `demonyms.eng.m`
//
// Every subject and object string becomes a single token of the word-level
// tokenizer, so strings may contain spaces, but they are normalised so that
// each one is a clean, stable name:
//   * Unicode NFC, leading/trailing whitespace trimmed, inner whitespace
//     runs collapsed to one space. Accented letters, apostrophes, hyphens and
//     full stops are kept ("São Tomé", "N'Djamena", "Washington D.C.").
//   * Parenthesised qualifiers are removed:
//       "Persian (Farsi)"          -> "Persian"
//       "Cocos (Keeling) Islands"  -> "Cocos Islands"
//   * Demonyms given as a comma-separated list of alternatives keep the
//     first alternative: "Antiguan, Barbudan" -> "Antiguan".
//   * Any other comma inside a name (only the joint territory name
//     "Saint Helena, Ascension and Tristan da Cunha" in 5.x) is dropped:
//       -> "Saint Helena Ascension and Tristan da Cunha".
//   * A value that is empty after normalisation counts as missing.
// Facts are ordered by relation (in the order above), then by subject.
//
// Subject forms (the "subjects" table; the grammar in grammar.json writes a
// subject in any of its forms): the common name and, where it differs, the
// official English name (`name.official`, cleaned as above). A form that an
// English sentence writes with "the" ("the United Kingdom", "the Republic of
// Ireland") is stored with its article; the article is a word of the
// sentence, not part of the entity token. A form takes "the" when it is
// plural or names a kind of state (see THE_WORDS). An official form that
// another subject uses as its common name is dropped.
'use strict';

const fs = require('fs');
const path = require('path');

const RELATIONS = [
  { id: 'capital', wikidata: 'P36' },
  { id: 'region', wikidata: 'P30' },
  { id: 'subregion', wikidata: null },
  { id: 'language', wikidata: 'P37' },
  { id: 'currency', wikidata: 'P38' },
  { id: 'demonym', wikidata: null },
];

function clean(s) {
  if (typeof s !== 'string') return null;
  let t = s.normalize('NFC');
  t = t.replace(/\s*\([^()]*\)\s*/g, ' ');  // drop "(...)" qualifiers
  t = t.replace(/\s*,\s*/g, ' ');            // drop commas inside names
  t = t.replace(/\s+/g, ' ').trim();
  return t.length > 0 ? t : null;
}

function firstAlternative(s) {
  if (typeof s !== 'string') return null;
  return clean(s.split(',')[0]);
}

function firstValue(obj) {
  if (!obj || typeof obj !== 'object') return undefined;
  const keys = Object.keys(obj);
  return keys.length > 0 ? obj[keys[0]] : undefined;
}

// A name takes "the" when one of these words is in it (whole words) ...
const THE_WORDS = new Set([
  'Republic', 'Kingdom', 'States', 'Islands', 'Union', 'Federation', 'Emirates',
  'Commonwealth', 'Principality', 'Duchy', 'State', 'Territory', 'Territories',
  'Sultanate', 'Confederation', 'Region', 'Collectivity', 'Department', 'Isle',
]);
// ... or it is one of these plural or customary names.
const THE_NAMES = new Set([
  'Bahamas', 'Netherlands', 'Philippines', 'Maldives', 'Comoros', 'Seychelles',
  'Gambia', 'Vatican City', 'Caribbean Netherlands', 'Falkland Islands',
]);

function withArticle(name) {
  if (/^(Isle|Island) of /.test(name)) return name;
  const words = name.split(' ');
  if (THE_NAMES.has(name) || words.some((w) => THE_WORDS.has(w))) return `the ${name}`;
  return name;
}

const EXTRACT = {
  capital: (c) => clean(Array.isArray(c.capital) ? c.capital[0] : undefined),
  region: (c) => clean(c.region),
  subregion: (c) => clean(c.subregion),
  language: (c) => clean(firstValue(c.languages)),
  currency: (c) => {
    const cur = firstValue(c.currencies);
    return clean(cur && cur.name);
  },
  demonym: (c) =>
    firstAlternative(c.demonyms && c.demonyms.eng ? c.demonyms.eng.m : undefined),
};

function main() {
  const [input, version, outArg] = process.argv.slice(2);
  if (!input || !version) {
    console.error('usage: derive_facts.js <countries.json> <version> [out.json]');
    process.exit(2);
  }
  const out = outArg || path.join(__dirname, 'facts.json');
  const countries = JSON.parse(fs.readFileSync(input, 'utf8'));
  if (!Array.isArray(countries)) throw new Error('countries.json: expected an array');

  const subjects = new Set();
  const rows = [];
  for (const c of countries) {
    const subject = clean(c && c.name ? c.name.common : undefined);
    if (!subject) continue;
    if (subjects.has(subject)) throw new Error(`duplicate subject after normalisation: ${subject}`);
    subjects.add(subject);
    rows.push({ subject, c });
  }
  rows.sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));

  const subjectTable = rows.map(({ subject, c }) => {
    const forms = [withArticle(subject)];
    const official = clean(c.name && c.name.official);
    if (official && official !== subject && !subjects.has(official))
      forms.push(withArticle(official));
    return { name: subject, forms };
  });

  const facts = [];
  const relations = [];
  for (const rel of RELATIONS) {
    let count = 0;
    for (const { subject, c } of rows) {
      const object = EXTRACT[rel.id](c);
      if (!object) continue;
      facts.push({ subject, relation: rel.id, object });
      count++;
    }
    relations.push({ id: rel.id, wikidata: rel.wikidata, count });
  }

  const doc = {
    source: {
      package: 'world-countries',
      version,
      file: 'dist/countries.json',
      license: 'ODbL-1.0',
      url: 'https://github.com/mledoze/countries',
    },
    templates: 'templates.json',
    grammar: 'grammar.json',
    words: 'words.json',
    relations,
    facts,
  };

  // One fact per line keeps diffs readable.
  const lines = [];
  lines.push('{');
  lines.push(`  "source": ${JSON.stringify(doc.source)},`);
  lines.push(`  "templates": ${JSON.stringify(doc.templates)},`);
  lines.push(`  "grammar": ${JSON.stringify(doc.grammar)},`);
  lines.push(`  "words": ${JSON.stringify(doc.words)},`);
  lines.push('  "relations": [');
  lines.push(relations.map((r) => `    ${JSON.stringify(r)}`).join(',\n'));
  lines.push('  ],');
  lines.push('  "facts": [');
  lines.push(facts.map((f) => `    ${JSON.stringify(f)}`).join(',\n'));
  lines.push('  ],');
  lines.push('  "subjects": [');
  lines.push(subjectTable.map((x) => `    ${JSON.stringify(x)}`).join(',\n'));
  lines.push('  ]');
  lines.push('}');
  fs.writeFileSync(out, lines.join('\n') + '\n');

  JSON.parse(fs.readFileSync(out, 'utf8'));  // sanity: output parses
  console.log(`${out}: ${subjects.size} subjects, ${facts.length} facts`);
  for (const r of relations) console.log(`  ${r.id.padEnd(10)} ${r.count}`);
}

main();
