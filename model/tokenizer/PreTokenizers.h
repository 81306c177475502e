#pragma once
// tokenizer.json "pre_tokenizer": ByteLevel (with or without its regex),
// Split (regex or string, every behavior, invert), Metaspace (prepend
// scheme, split), Whitespace, WhitespaceSplit, Punctuation, Digits,
// BertPreTokenizer, CharDelimiterSplit, Sequence. They cut the text into the
// pieces the model sees, as Hugging Face's pre-tokenizers do.
#include "TokenizerText.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace scalpel::tok {

// A token of one piece; start/end are byte offsets in the piece's text.
struct Token {
    int id = -1;
    std::string value;
    std::size_t start = 0, end = 0;
};

// A piece of the text on its way to the model. Pieces that already hold
// tokens (added tokens) pass through the later stages untouched.
struct Piece {
    NormalizedText text;
    bool hasTokens = false;
    std::vector<Token> tokens;
};

class PreTokenizer {
public:
    virtual ~PreTokenizer() = default;
    virtual void preTokenize(std::vector<Piece>& pieces) const = 0;
};

std::unique_ptr<PreTokenizer> makePreTokenizer(const nlohmann::json& j, const std::string& where);

// Replaces each token-less piece by the non-empty pieces fn makes of it.
template <typename F> void splitPieces(std::vector<Piece>& pieces, F&& fn) {
    std::vector<Piece> out;
    out.reserve(pieces.size());
    for (auto& p : pieces) {
        if (p.hasTokens) {
            out.push_back(std::move(p));
            continue;
        }
        for (auto& n : fn(p.text))
            if (!n.text.empty())
                out.push_back(Piece{std::move(n), false, {}});
    }
    pieces.swap(out);
}

} // namespace scalpel::tok
