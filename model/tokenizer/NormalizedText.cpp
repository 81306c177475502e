// NormalizedText: HF's NormalizedString with alignments kept in absolute
// original byte positions (HF keeps them relative to each slice; the offsets
// it reports are the same).
#include "TokenizerText.h"

#include <algorithm>

namespace scalpel::tok {

NormalizedText NormalizedText::fromOriginal(std::string_view s, std::size_t shift) {
    NormalizedText n;
    n.text = std::string(s);
    n.align.resize(s.size());
    for (std::size_t i = 0, len = 0; i < s.size(); i += len) {
        decodeChar(s, i, len);
        for (std::size_t k = 0; k < len; ++k)
            n.align[i + k] = {shift + i, shift + i + len};
    }
    n.originalStart = shift;
    n.originalEnd = shift + s.size();
    return n;
}

void NormalizedText::transformRange(std::size_t from, std::size_t to,
                                    const std::vector<std::pair<char32_t, int>>& dest,
                                    std::size_t initialOffset) {
    std::vector<std::size_t> oldLens;
    for (std::size_t i = from, len = 0; i < to; i += len) {
        decodeChar(text, i, len);
        oldLens.push_back(len);
    }
    std::size_t next = 0; // next old character to consume
    std::size_t offset = from;
    for (; next < oldLens.size() && next < initialOffset; ++next)
        offset += oldLens[next];

    const Span empty{originalStart, originalStart};
    auto alignAt = [&](std::size_t idx) {
        if (align.empty())
            return empty;
        return align[std::min(idx, align.size() - 1)];
    };
    std::string newText;
    std::vector<Span> newAlign;
    newText.reserve(to - from + dest.size());
    for (const auto& [c, change] : dest) {
        const std::size_t idx = offset;
        // Inserted characters share the alignment of the character before.
        const Span a = change > 0 ? (idx < 1 ? empty : alignAt(idx - 1)) : alignAt(idx);
        if (change <= 0 && next < oldLens.size())
            offset += oldLens[next++];
        for (int k = 0; k < -change && next < oldLens.size(); ++k)
            offset += oldLens[next++];
        const std::size_t before = newText.size();
        appendChar(newText, c);
        newAlign.insert(newAlign.end(), newText.size() - before, a);
    }
    text.replace(from, to - from, newText);
    align.erase(align.begin() + static_cast<std::ptrdiff_t>(from),
                align.begin() + static_cast<std::ptrdiff_t>(to));
    align.insert(align.begin() + static_cast<std::ptrdiff_t>(from), newAlign.begin(),
                 newAlign.end());
}

void NormalizedText::mapChars(const std::function<std::u32string(char32_t)>& fn) {
    std::vector<std::pair<char32_t, int>> dest;
    dest.reserve(text.size());
    for (std::size_t i = 0, len = 0; i < text.size(); i += len) {
        const std::u32string r = fn(decodeChar(text, i, len));
        for (std::size_t k = 0; k < r.size(); ++k)
            dest.emplace_back(r[k], k > 0 ? 1 : 0);
    }
    transform(dest, 0);
}

void NormalizedText::filterChars(const std::function<bool(char32_t)>& keep) {
    std::vector<std::pair<char32_t, int>> dest;
    int removed = 0;
    std::size_t removedStart = 0;
    bool haveLast = false;
    char32_t last = 0;
    for (std::size_t i = 0, len = 0; i < text.size(); i += len) {
        const char32_t c = decodeChar(text, i, len);
        if (keep(c)) {
            if (haveLast)
                dest.emplace_back(last, -removed);
            else
                removedStart = static_cast<std::size_t>(removed);
            last = c;
            haveLast = true;
            removed = 0;
        } else {
            ++removed;
        }
    }
    if (haveLast)
        dest.emplace_back(last, -removed);
    else
        removedStart = static_cast<std::size_t>(removed);
    transform(dest, removedStart);
}

void NormalizedText::prepend(const std::string& s) {
    if (text.empty() || s.empty())
        return;
    std::size_t len = 0;
    const char32_t first = decodeChar(text, 0, len);
    std::vector<std::pair<char32_t, int>> dest;
    for (char32_t c : decodeAll(s))
        dest.emplace_back(c, dest.empty() ? 0 : 1);
    dest.emplace_back(first, 1);
    transformRange(0, len, dest, 0);
}

void NormalizedText::replace(const Regex& re, const std::string& content) {
    const auto matches = re.findAll(text);
    const auto chars = decodeAll(content);
    // Right to left, so that earlier byte positions stay valid.
    for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
        const auto [s, e] = *it;
        std::vector<std::pair<char32_t, int>> dest;
        for (char32_t c : chars)
            dest.emplace_back(c, 1);
        transformRange(s, e, dest, charCount(std::string_view(text).substr(s, e - s)));
    }
}

void NormalizedText::normalize(NormalForm form) {
    const auto dest = normalizeChanges(decodeAll(text), form);
    if (!dest.empty())
        transform(dest, 0);
}

NormalizedText::Span NormalizedText::originalRange(std::size_t from, std::size_t to) const {
    if (from == to)
        return {originalStart + from, originalStart + to};
    if (from > to || to > align.size())
        return {from, to};
    return {align[from].first, align[to - 1].second};
}

NormalizedText NormalizedText::slice(std::size_t from, std::size_t to) const {
    NormalizedText n;
    n.text = text.substr(from, to - from);
    n.align.assign(align.begin() + static_cast<std::ptrdiff_t>(from),
                   align.begin() + static_cast<std::ptrdiff_t>(to));
    const Span r = originalRange(from, to);
    n.originalStart = r.first;
    n.originalEnd = r.second;
    return n;
}

std::vector<NormalizedText> NormalizedText::split(const std::vector<Match>& matches,
                                                  SplitBehavior behavior) const {
    struct Piece {
        std::size_t start, end;
        bool remove;
    };
    std::vector<Piece> pieces;
    bool previousMatch = false;
    switch (behavior) {
    case SplitBehavior::Removed:
        for (const Match& m : matches)
            pieces.push_back({m.start, m.end, m.isMatch});
        break;
    case SplitBehavior::Isolated:
        for (const Match& m : matches)
            pieces.push_back({m.start, m.end, false});
        break;
    case SplitBehavior::Contiguous:
        for (const Match& m : matches) {
            if (m.isMatch == previousMatch && !pieces.empty())
                pieces.back().end = m.end;
            else
                pieces.push_back({m.start, m.end, false});
            previousMatch = m.isMatch;
        }
        break;
    case SplitBehavior::MergedWithPrevious:
        for (const Match& m : matches) {
            if (m.isMatch && !previousMatch && !pieces.empty())
                pieces.back().end = m.end;
            else
                pieces.push_back({m.start, m.end, false});
            previousMatch = m.isMatch;
        }
        break;
    case SplitBehavior::MergedWithNext:
        for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
            if (it->isMatch && !previousMatch && !pieces.empty())
                pieces.back().start = it->start;
            else
                pieces.push_back({it->start, it->end, false});
            previousMatch = it->isMatch;
        }
        std::reverse(pieces.begin(), pieces.end());
        break;
    }
    std::vector<NormalizedText> out;
    for (const Piece& p : pieces)
        if (!p.remove && p.end > p.start)
            out.push_back(slice(p.start, p.end));
    return out;
}

} // namespace scalpel::tok
