#include "AddedVocabulary.h"

#include <algorithm>

namespace scalpel::tok {

namespace {

char32_t lastChar(std::string_view s) {
    if (s.empty())
        return 0;
    std::size_t i = s.size() - 1;
    while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xc0) == 0x80 && s.size() - i < 4)
        --i;
    std::size_t len = 0;
    const char32_t c = decodeChar(s, i, len);
    return i + len == s.size() ? c : kRawByteBase + static_cast<unsigned char>(s.back());
}

char32_t firstChar(std::string_view s) {
    std::size_t len = 0;
    return s.empty() ? 0 : decodeChar(s, 0, len);
}

} // namespace

void AddedVocabulary::Matcher::build() {
    for (auto& v : byFirstByte)
        v.clear();
    for (std::size_t i = 0; i < patterns.size(); ++i)
        if (!patterns[i].first.empty())
            byFirstByte[static_cast<unsigned char>(patterns[i].first[0])].push_back(
                static_cast<int>(i));
    for (auto& v : byFirstByte)
        std::stable_sort(v.begin(), v.end(), [&](int a, int b) {
            return patterns[static_cast<std::size_t>(a)].first.size() >
                   patterns[static_cast<std::size_t>(b)].first.size();
        });
}

bool AddedVocabulary::Matcher::find(std::string_view text, std::size_t from, std::size_t& start,
                                    std::size_t& end, int& token) const {
    for (std::size_t i = from; i < text.size(); ++i) {
        for (int index : byFirstByte[static_cast<unsigned char>(text[i])]) {
            const auto& [p, t] = patterns[static_cast<std::size_t>(index)];
            if (text.compare(i, p.size(), p) == 0) {
                start = i;
                end = i + p.size();
                token = t;
                return true;
            }
        }
    }
    return false;
}

void AddedVocabulary::build(std::vector<AddedToken> tokens, const Normalizer* normalizer) {
    m_tokens = std::move(tokens);
    m_byId.clear();
    m_byContent.clear();
    m_raw.patterns.clear();
    m_normalized.patterns.clear();
    for (std::size_t i = 0; i < m_tokens.size(); ++i) {
        const AddedToken& t = m_tokens[i];
        m_byId[t.id] = i;
        m_byContent[t.content] = i;
        if (t.normalized && normalizer) {
            NormalizedText n = NormalizedText::fromOriginal(t.content, 0);
            normalizer->normalize(n);
            m_normalized.patterns.emplace_back(n.text, static_cast<int>(i));
        } else if (t.normalized) {
            m_normalized.patterns.emplace_back(t.content, static_cast<int>(i));
        } else {
            m_raw.patterns.emplace_back(t.content, static_cast<int>(i));
        }
    }
    m_raw.build();
    m_normalized.build();
}

const AddedToken* AddedVocabulary::byId(int id) const {
    const auto it = m_byId.find(id);
    return it == m_byId.end() ? nullptr : &m_tokens[it->second];
}

const AddedToken* AddedVocabulary::byContent(const std::string& content) const {
    const auto it = m_byContent.find(content);
    return it == m_byContent.end() ? nullptr : &m_tokens[it->second];
}

bool AddedVocabulary::isSpecial(const std::string& content) const {
    const AddedToken* t = byContent(content);
    return t && t->special;
}

std::vector<Piece> AddedVocabulary::splitWithMatches(NormalizedText&& n, const Matcher& m) const {
    const std::string& s = n.text;
    struct Cut {
        std::size_t start, end;
        int token; // -1: plain text
    };
    std::vector<Cut> cuts;
    std::size_t startOffset = 0, from = 0, start = 0, end = 0;
    int index = -1;
    while (from < s.size() && m.find(s, from, start, end, index)) {
        from = end; // a rejected match is not searched again, as with aho-corasick
        const AddedToken& t = m_tokens[static_cast<std::size_t>(index)];
        if (t.singleWord) {
            const bool spaceBefore =
                start == 0 || !isWordChar(lastChar(std::string_view(s).substr(0, start)));
            const bool spaceAfter =
                end == s.size() || !isWordChar(firstChar(std::string_view(s).substr(end)));
            if (!spaceBefore || !spaceAfter)
                continue;
        }
        if (t.lstrip) {
            std::size_t left = start;
            while (left > 0) {
                std::size_t i = left - 1;
                while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xc0) == 0x80)
                    --i;
                std::size_t len = 0;
                if (!isWhitespace(decodeChar(s, i, len)))
                    break;
                left = i;
            }
            start = std::max(left, startOffset);
        }
        if (t.rstrip) {
            std::size_t len = 0;
            while (end < s.size() && isWhitespace(decodeChar(s, end, len)))
                end += len;
        }
        if (startOffset < start)
            cuts.push_back({startOffset, start, -1});
        cuts.push_back({start, end, index});
        startOffset = end;
        from = end;
    }
    if (startOffset != s.size())
        cuts.push_back({startOffset, s.size(), -1});
    std::vector<Piece> out;
    for (const Cut& c : cuts) {
        if (c.end <= c.start)
            continue;
        Piece p{n.slice(c.start, c.end), false, {}};
        if (c.token >= 0) {
            p.hasTokens = true;
            p.tokens.push_back(Token{m_tokens[static_cast<std::size_t>(c.token)].id, p.text.text, 0,
                                     p.text.text.size()});
        }
        out.push_back(std::move(p));
    }
    return out;
}

std::vector<Piece> AddedVocabulary::extractAndNormalize(std::string_view text,
                                                        const Normalizer* normalizer) const {
    std::vector<Piece> pieces = splitWithMatches(NormalizedText::fromOriginal(text, 0), m_raw);
    std::vector<Piece> out;
    for (auto& p : pieces) {
        if (p.hasTokens) {
            out.push_back(std::move(p));
            continue;
        }
        if (normalizer)
            normalizer->normalize(p.text);
        for (auto& q : splitWithMatches(std::move(p.text), m_normalized))
            out.push_back(std::move(q));
    }
    return out;
}

} // namespace scalpel::tok
