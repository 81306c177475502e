// Running the pipeline: encoding, decoding, and the per-token queries.
#include "Tokenizer.h"

#include "TokenizerImpl.h"
#include "TokenizerText.h"

#include <algorithm>

namespace scalpel {

using namespace tok;

RawEncoding Tokenizer::Impl::encode(std::string_view text, bool addSpecialTokens) const {
    RawEncoding e;
    if (!model)
        return e;
    std::vector<Piece> pieces = added.extractAndNormalize(text, normalizer.get());
    if (preTokenizer)
        preTokenizer->preTokenize(pieces);
    const auto unk = model->unknownId();
    for (const Piece& p : pieces) {
        const std::vector<Token> tokens = p.hasTokens ? p.tokens : model->tokenize(p.text.text);
        for (const Token& t : tokens) {
            bool special = false;
            if (p.hasTokens) {
                const AddedToken* a = added.byId(t.id);
                special = a && a->special;
            }
            e.push(t.id, utf8Lossy(t.value), p.text.originalRange(t.start, t.end), special,
                   !p.hasTokens && unk && t.id == *unk);
        }
    }
    if (postProcessor)
        postProcessor->process(e, addSpecialTokens);
    return e;
}

const std::string* Tokenizer::Impl::spelling(int id) const {
    if (const AddedToken* a = added.byId(id))
        return &a->content;
    return model ? model->idToToken(id) : nullptr;
}

std::string Tokenizer::Impl::decode(const std::vector<int>& ids, bool skipSpecial,
                                    const DecodeOptions& o) const {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int id : ids) {
        const std::string* s = spelling(id);
        if (!s || (skipSpecial && added.isSpecial(*s)))
            continue;
        tokens.push_back(*s);
    }
    std::string out;
    if (decoder) {
        decoder->decodeChain(tokens, o);
        for (const auto& t : tokens)
            out += t;
    } else {
        for (std::size_t i = 0; i < tokens.size(); ++i)
            out += (i > 0 ? " " : "") + tokens[i];
    }
    return o.raw ? out : utf8Lossy(out);
}

std::vector<std::string> Encoding::unknownWords() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < ids.size() && i < unknown.size(); ++i)
        if (unknown[i])
            out.push_back(tokens[i]);
    return out;
}

std::vector<std::pair<std::size_t, std::size_t>>
Encoding::charOffsets(std::string_view text) const {
    // HF's byte-to-char conversion: each byte maps to the index of the
    // character it belongs to; an end at the text's end maps past the last.
    std::vector<std::size_t> charOf(text.size() + 1, 0);
    std::size_t n = 0;
    for (std::size_t i = 0, len = 0; i < text.size(); i += len, ++n) {
        decodeChar(text, i, len);
        for (std::size_t k = 0; k < len; ++k)
            charOf[i + k] = n;
    }
    std::vector<std::pair<std::size_t, std::size_t>> out;
    for (const auto& [s, e] : offsets) {
        if (s >= text.size()) {
            out.emplace_back(s, e); // HF leaves offsets it cannot map as they are
            continue;
        }
        const std::size_t cs = charOf[s];
        std::size_t ce;
        if (e < text.size())
            ce = charOf[e];
        else
            ce = (e >= 1 && e - 1 < text.size() ? charOf[e - 1] : cs + 1) + 1;
        out.emplace_back(cs, ce);
    }
    return out;
}

Tokenizer::Tokenizer() : d(std::make_shared<Impl>()) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(const Tokenizer&) = default;
Tokenizer& Tokenizer::operator=(const Tokenizer&) = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

Tokenizer::Kind Tokenizer::kind() const {
    return d->kind;
}

Encoding Tokenizer::encodeDetailed(std::string_view text, bool addSpecialTokens) const {
    RawEncoding r = d->encode(text, addSpecialTokens);
    Encoding e;
    e.ids = std::move(r.ids);
    e.spellings = std::move(r.tokens);
    e.offsets = std::move(r.offsets);
    e.special = std::move(r.special);
    e.unknown = std::move(r.unknown);
    e.tokens.reserve(e.ids.size());
    for (std::size_t i = 0; i < e.ids.size(); ++i) {
        const auto [s, end] = e.offsets[i];
        if (e.unknown[i] && s <= end && end <= text.size())
            e.tokens.push_back(utf8Lossy(text.substr(s, end - s)));
        else
            e.tokens.push_back(displayText(e.ids[i]));
    }
    return e;
}

std::vector<int> Tokenizer::encode(std::string_view text, bool addSpecialTokens) const {
    return d->encode(text, addSpecialTokens).ids;
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
    DecodeOptions o;
    o.raw = true;
    return d->decode(ids, false, o);
}

std::string Tokenizer::decode(const std::vector<int>& ids, bool skipSpecialTokens) const {
    return d->decode(ids, skipSpecialTokens, DecodeOptions());
}

std::string Tokenizer::displayText(int id) const {
    DecodeOptions o;
    o.continuation = true;
    return d->decode({id}, false, o);
}

std::string Tokenizer::tokenText(int id) const {
    return displayText(id);
}

std::string Tokenizer::tokenSpelling(int id) const {
    const std::string* s = d->spelling(id);
    return s ? *s : std::string();
}

std::optional<int> Tokenizer::tokenId(const std::string& token) const {
    if (const AddedToken* a = d->added.byContent(token))
        return a->id;
    return d->model ? d->model->tokenToId(token) : std::nullopt;
}

std::optional<int> Tokenizer::unknownId() const {
    return d->model ? d->model->unknownId() : std::nullopt;
}

bool Tokenizer::isSpecial(int id) const {
    const AddedToken* a = d->added.byId(id);
    return a && a->special;
}

namespace {

std::optional<int> firstNamed(const Tokenizer& t, std::initializer_list<const char*> names) {
    for (const char* n : names)
        if (auto id = t.tokenId(n))
            return id;
    return std::nullopt;
}

} // namespace

std::optional<int> Tokenizer::bosId() const {
    if (d->postProcessor) {
        const auto ids = d->postProcessor->prefixIds();
        if (!ids.empty())
            return ids.front();
    }
    return firstNamed(*this, {"<s>", "<|begin_of_text|>", "<|startoftext|>", "<bos>", "[CLS]"});
}

std::optional<int> Tokenizer::eosId() const {
    if (d->postProcessor) {
        const auto ids = d->postProcessor->suffixIds();
        if (!ids.empty())
            return ids.back();
    }
    return firstNamed(*this, {"</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>", "[SEP]"});
}

std::optional<int> Tokenizer::maskId() const {
    if (!d->maskToken.empty())
        return tokenId(d->maskToken);
    for (const char* n : {"[MASK]", "<mask>"})
        if (auto id = tokenId(n); id && isSpecial(*id))
            return id;
    return std::nullopt;
}

int Tokenizer::vocabSize() const {
    int n = d->model ? d->model->size() : 0;
    for (const auto& a : d->added.tokens())
        n = std::max(n, a.id + 1);
    return n;
}

} // namespace scalpel
