#pragma once
// Tokenizers in the Hugging Face formats: tokenizer.json with a WordLevel
// model (added tokens matched first as whole strings, then a whitespace and
// punctuation split, unknown words mapped to the unknown token) or a GPT-2
// byte-level BPE model; and the legacy vocab.json + merges.txt pair.
// Byte-level BPE encodes any byte string, so decode(encode(x)) == x.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scalpel {

struct Encoding {
    std::vector<int> ids;
    std::vector<std::string> tokens; // the text each id came from
    std::vector<bool> unknown;       // true where a word mapped to the unknown token
    std::vector<std::string> unknownWords() const;
};

class Tokenizer {
public:
    enum class Kind { WordLevel, ByteLevelBpe };

    static constexpr std::size_t kMaxFileBytes = 256u * 1024 * 1024;

    static Tokenizer fromFile(const std::string& tokenizerJsonPath);
    static Tokenizer fromJson(const std::string& text, const std::string& nameForErrors);
    // endOfTextSpecial: "<|endoftext|>" in text is the special token (as in
    // Hugging Face's GPT2Tokenizer) rather than ordinary text.
    static Tokenizer fromVocabAndMerges(const std::string& vocabJsonPath,
                                        const std::string& mergesPath,
                                        bool endOfTextSpecial = true);
    static Tokenizer fromVocabAndMergesText(const std::string& vocabJson, const std::string& merges,
                                            const std::string& nameForErrors,
                                            bool endOfTextSpecial = true);
    // Loads tokenizer.json from a model folder, else vocab.json + merges.txt.
    static Tokenizer fromModelFolder(const std::string& dir);

    // A WordLevel tokenizer over the given vocabulary. Entries containing a
    // space or punctuation become added tokens so that they stay one token.
    static Tokenizer makeWordLevel(const std::vector<std::string>& vocab,
                                   const std::vector<std::string>& addedTokens,
                                   const std::string& unkToken);

    Tokenizer();
    ~Tokenizer();
    Tokenizer(const Tokenizer&);
    Tokenizer& operator=(const Tokenizer&);
    Tokenizer(Tokenizer&&) noexcept;
    Tokenizer& operator=(Tokenizer&&) noexcept;

    Kind kind() const;
    std::vector<int> encode(std::string_view text) const;
    Encoding encodeDetailed(std::string_view text) const;
    std::string decode(const std::vector<int>& ids) const;
    // Readable text of one token (byte-level tokens decoded to bytes).
    std::string tokenText(int id) const;
    std::optional<int> tokenId(const std::string& token) const;
    std::optional<int> unknownId() const;
    int vocabSize() const;

    // Serialises to Hugging Face tokenizer.json (WordLevel and BPE).
    std::string toJson() const;

private:
    static Tokenizer parseJson(const std::string& text, const std::string& where);
    struct Impl;
    std::unique_ptr<Impl> d;
};

} // namespace scalpel
