#include "PreTokenizers.h"

#include "Error.h"
#include "JsonFields.h"
#include "Normalizers.h"

namespace scalpel::tok {

namespace {

constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

using Texts = std::vector<NormalizedText>;

class ByteLevel : public PreTokenizer {
public:
    ByteLevel(bool addPrefixSpace, bool useRegex, const std::string& where)
        : m_addPrefixSpace(addPrefixSpace) {
        if (useRegex)
            m_re = std::make_unique<Regex>(kGpt2Pattern, where);
    }
    void preTokenize(std::vector<Piece>& pieces) const override {
        splitPieces(pieces, [&](NormalizedText& n) {
            if (m_addPrefixSpace && (n.text.empty() || n.text[0] != ' '))
                n.prepend(" ");
            return m_re ? n.split(findMatches(*m_re, n.text), SplitBehavior::Isolated)
                        : Texts{std::move(n)};
        });
        for (auto& p : pieces) {
            if (p.hasTokens)
                continue;
            // Every byte of a character becomes a printable character; the
            // ones after the first count as inserted.
            std::vector<std::pair<char32_t, int>> dest;
            const std::string& s = p.text.text;
            for (std::size_t i = 0, len = 0; i < s.size(); i += len) {
                decodeChar(s, i, len);
                for (std::size_t k = 0; k < len; ++k)
                    dest.emplace_back(byteToChar(static_cast<unsigned char>(s[i + k])),
                                      k > 0 ? 1 : 0);
            }
            p.text.transform(dest, 0);
        }
    }

private:
    bool m_addPrefixSpace;
    std::unique_ptr<Regex> m_re;
};

SplitBehavior readBehavior(const nlohmann::json& j, SplitBehavior fallback,
                           const std::string& where) {
    const std::string b = jsonField(j, "behavior", std::string(), where);
    if (b.empty())
        return fallback;
    if (b == "Removed")
        return SplitBehavior::Removed;
    if (b == "Isolated")
        return SplitBehavior::Isolated;
    if (b == "MergedWithPrevious")
        return SplitBehavior::MergedWithPrevious;
    if (b == "MergedWithNext")
        return SplitBehavior::MergedWithNext;
    if (b == "Contiguous")
        return SplitBehavior::Contiguous;
    throw Error(where + ": split behavior '" + b + "' is not supported");
}

std::vector<Match> inverted(std::vector<Match> m) {
    for (auto& x : m)
        x.isMatch = !x.isMatch;
    return m;
}

class Split : public PreTokenizer {
public:
    Split(std::unique_ptr<Regex> re, SplitBehavior b, bool invert)
        : m_re(std::move(re)), m_behavior(b), m_invert(invert) {}
    void preTokenize(std::vector<Piece>& pieces) const override {
        splitPieces(pieces, [&](NormalizedText& n) {
            auto m = findMatches(*m_re, n.text);
            return n.split(m_invert ? inverted(std::move(m)) : m, m_behavior);
        });
    }

private:
    std::unique_ptr<Regex> m_re;
    SplitBehavior m_behavior;
    bool m_invert;
};

// Splits on a per-character predicate (WhitespaceSplit, Punctuation, ...).
class CharSplit : public PreTokenizer {
public:
    CharSplit(std::function<bool(char32_t)> pred, SplitBehavior b)
        : m_pred(std::move(pred)), m_behavior(b) {}
    void preTokenize(std::vector<Piece>& pieces) const override {
        splitPieces(pieces, [&](NormalizedText& n) {
            return n.split(findMatches(m_pred, n.text), m_behavior);
        });
    }

private:
    std::function<bool(char32_t)> m_pred;
    SplitBehavior m_behavior;
};

class Metaspace : public PreTokenizer {
public:
    enum class Prepend { Always, First, Never };
    Metaspace(std::string replacement, Prepend scheme, bool split, const std::string& where)
        : m_replacement(std::move(replacement)), m_scheme(scheme), m_split(split),
          m_space(" ", where, true) {
        const auto cs = decodeAll(m_replacement);
        m_replacementChar = cs.empty() ? U'\u2581' : cs[0];
    }
    void preTokenize(std::vector<Piece>& pieces) const override {
        splitPieces(pieces, [&](NormalizedText& n) {
            n.replace(m_space, m_replacement);
            const bool startsWith = n.text.compare(0, m_replacement.size(), m_replacement) == 0;
            if (!startsWith && (m_scheme == Prepend::Always ||
                                (m_scheme == Prepend::First && n.originalStart == 0)))
                n.prepend(m_replacement);
            if (!m_split)
                return Texts{std::move(n)};
            const char32_t r = m_replacementChar;
            return n.split(findMatches([r](char32_t c) { return c == r; }, n.text),
                           SplitBehavior::MergedWithNext);
        });
    }

private:
    std::string m_replacement;
    char32_t m_replacementChar;
    Prepend m_scheme;
    bool m_split;
    Regex m_space;
};

class Sequence : public PreTokenizer {
public:
    explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> parts)
        : m_parts(std::move(parts)) {}
    void preTokenize(std::vector<Piece>& pieces) const override {
        for (const auto& p : m_parts)
            p->preTokenize(pieces);
    }

private:
    std::vector<std::unique_ptr<PreTokenizer>> m_parts;
};

std::unique_ptr<PreTokenizer> makeMetaspace(const nlohmann::json& j, const std::string& where) {
    const std::string replacement = jsonField(j, "replacement", std::string("\u2581"), where);
    // Older files say add_prefix_space instead of prepend_scheme.
    std::string scheme = jsonField(j, "prepend_scheme", std::string(), where);
    if (scheme.empty())
        scheme = jsonField(j, "add_prefix_space", true, where) ? "always" : "never";
    Metaspace::Prepend p = Metaspace::Prepend::Always;
    if (scheme == "first")
        p = Metaspace::Prepend::First;
    else if (scheme == "never")
        p = Metaspace::Prepend::Never;
    else if (scheme != "always")
        throw Error(where + ": Metaspace prepend_scheme '" + scheme + "' is not supported");
    return std::make_unique<Metaspace>(replacement, p, jsonField(j, "split", true, where), where);
}

} // namespace

std::unique_ptr<PreTokenizer> makePreTokenizer(const nlohmann::json& j, const std::string& where) {
    if (j.is_null())
        return nullptr;
    if (!j.is_object())
        throw Error(where + ": the pre-tokenizer is not an object");
    const std::string type = jsonField(j, "type", std::string(), where);
    if (type == "ByteLevel")
        return std::make_unique<ByteLevel>(jsonField(j, "add_prefix_space", true, where),
                                           jsonField(j, "use_regex", true, where), where);
    if (type == "Split") {
        if (!j.contains("pattern"))
            throw Error(where + ": the Split pre-tokenizer has no pattern");
        return std::make_unique<Split>(makePattern(j["pattern"], where),
                                       readBehavior(j, SplitBehavior::Isolated, where),
                                       jsonField(j, "invert", false, where));
    }
    if (type == "Whitespace")
        return std::make_unique<Split>(std::make_unique<Regex>(R"(\w+|[^\w\s]+)", where),
                                       SplitBehavior::Removed, true);
    if (type == "WhitespaceSplit")
        return std::make_unique<CharSplit>(isWhitespace, SplitBehavior::Removed);
    if (type == "Punctuation")
        return std::make_unique<CharSplit>(isPunctuation,
                                           readBehavior(j, SplitBehavior::Isolated, where));
    if (type == "Digits")
        return std::make_unique<CharSplit>(
            isNumeric, jsonField(j, "individual_digits", false, where) ? SplitBehavior::Isolated
                                                                       : SplitBehavior::Contiguous);
    if (type == "CharDelimiterSplit") {
        const auto cs = decodeAll(jsonField(j, "delimiter", std::string(" "), where));
        const char32_t d = cs.empty() ? U' ' : cs[0];
        return std::make_unique<CharSplit>([d](char32_t c) { return c == d; },
                                           SplitBehavior::Removed);
    }
    if (type == "BertPreTokenizer") {
        std::vector<std::unique_ptr<PreTokenizer>> parts;
        parts.push_back(std::make_unique<CharSplit>(isWhitespace, SplitBehavior::Removed));
        parts.push_back(std::make_unique<CharSplit>(isPunctuation, SplitBehavior::Isolated));
        return std::make_unique<Sequence>(std::move(parts));
    }
    if (type == "Metaspace")
        return makeMetaspace(j, where);
    if (type == "Sequence") {
        const auto& list = j.value("pretokenizers", nlohmann::json::array());
        if (!list.is_array())
            throw Error(where + ": 'pretokenizers' of a Sequence pre-tokenizer is not a list");
        std::vector<std::unique_ptr<PreTokenizer>> parts;
        for (const auto& p : list)
            if (auto t = makePreTokenizer(p, where))
                parts.push_back(std::move(t));
        return std::make_unique<Sequence>(std::move(parts));
    }
    throw Error(where + ": pre_tokenizer type '" + type +
                "' is not supported (supported: ByteLevel, Split, Metaspace, Whitespace, "
                "WhitespaceSplit, Punctuation, Digits, CharDelimiterSplit, BertPreTokenizer, "
                "Sequence)");
}

} // namespace scalpel::tok
