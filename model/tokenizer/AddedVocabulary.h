#pragma once
// tokenizer.json "added_tokens": strings matched before the model sees the
// text, leftmost and then longest first, as Hugging Face's AddedVocabulary
// does. Tokens with normalized=false are found in the raw text; the others
// in the normalized text, each piece between raw matches normalized on its
// own. single_word, lstrip and rstrip behave as in HF.
#include "Normalizers.h"
#include "PreTokenizers.h"

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace scalpel::tok {

struct AddedToken {
    std::string content;
    int id = -1;
    bool singleWord = false;
    bool lstrip = false;
    bool rstrip = false;
    bool normalized = true;
    bool special = false;
};

class AddedVocabulary {
public:
    void build(std::vector<AddedToken> tokens, const Normalizer* normalizer);
    // The text cut into pieces: added tokens (with their token) and the
    // normalized text between them.
    std::vector<Piece> extractAndNormalize(std::string_view text,
                                           const Normalizer* normalizer) const;

    const std::vector<AddedToken>& tokens() const { return m_tokens; }
    const AddedToken* byId(int id) const;
    const AddedToken* byContent(const std::string& content) const;
    bool isSpecial(const std::string& content) const;

private:
    // Leftmost-longest matching of a set of strings.
    struct Matcher {
        std::vector<std::pair<std::string, int>> patterns; // text, index in m_tokens
        std::vector<int> byFirstByte[256];                 // longest first
        void build();
        // The leftmost, then longest, pattern at or after `from`.
        bool find(std::string_view text, std::size_t from, std::size_t& start, std::size_t& end,
                  int& token) const;
    };
    std::vector<Piece> splitWithMatches(NormalizedText&& text, const Matcher& m) const;

    std::vector<AddedToken> m_tokens;
    std::unordered_map<int, std::size_t> m_byId;
    std::unordered_map<std::string, std::size_t> m_byContent;
    Matcher m_raw, m_normalized;
};

} // namespace scalpel::tok
