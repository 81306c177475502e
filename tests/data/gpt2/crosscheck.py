#!/usr/bin/env python3
"""Checks bpe_golden.json against OpenAI's GPT-2 encoding algorithm.

The encoder below follows gpt-2/src/encoder.py (byte-to-unicode table,
pre-tokenisation pattern, greedy lowest-rank merges) and uses encoder.json
and vocab.bpe from this directory. It needs the third-party `regex` module,
as the original does. Exits with status 1 on the first few mismatches.

Usage: python3 crosscheck.py [bpe_golden.json]
"""
import json
import os
import sys

import regex

HERE = os.path.dirname(os.path.abspath(__file__))


def bytes_to_unicode():
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class Encoder:
    def __init__(self):
        with open(os.path.join(HERE, "encoder.json"), encoding="utf-8") as f:
            self.encoder = json.load(f)
        with open(os.path.join(HERE, "vocab.bpe"), encoding="utf-8") as f:
            merges = [tuple(line.split()) for line in f.read().split("\n")[1:-1]]
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()
        self.pat = regex.compile(
            r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

    def bpe(self, token):
        word = tuple(token)
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            bigram = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if bigram not in self.ranks:
                break
            first, second = bigram
            out = []
            i = 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == first and word[i + 1] == second:
                    out.append(first + second)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            word = tuple(out)
        return word

    def encode(self, text):
        ids = []
        for tok in regex.findall(self.pat, text):
            sym = "".join(self.byte_encoder[b] for b in tok.encode("utf-8"))
            ids.extend(self.encoder[p] for p in self.bpe(sym))
        return ids


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "bpe_golden.json")
    with open(path, encoding="utf-8") as f:
        golden = json.load(f)
    enc = Encoder()
    bad = 0
    for case in golden["cases"]:
        ids = enc.encode(case["text"])
        if ids != case["ids"]:
            bad += 1
            print(f"mismatch {case['text']!r}: golden {case['ids']} reference {ids}")
            if bad >= 10:
                break
    print(f"{len(golden['cases'])} cases, {bad} mismatches ({golden['generator']})")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
