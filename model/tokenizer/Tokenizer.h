#pragma once
// Tokenizers in the Hugging Face formats: the whole tokenizer.json pipeline
// (added tokens -> normalizer -> pre-tokenizer -> model (BPE, WordPiece,
// WordLevel, Unigram) -> post-processor; decoder), and the legacy
// vocab.json + merges.txt pair. Ids, spellings, offsets and decoded text are
// those of Hugging Face's `tokenizers` library for the same file. Byte-level
// BPE encodes any byte string, so decode(encode(x)) == x even for bytes that
// are not UTF-8.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scalpel {

struct Encoding {
    std::vector<int> ids;
    // Readable text of each token, always valid UTF-8: the word itself for an
    // unknown token, else displayText(id) (U+FFFD for part of a character).
    std::vector<std::string> tokens;
    std::vector<bool> unknown; // true where a word mapped to the unknown token
    // The token as Hugging Face's Encoding.tokens spells it ("Ġworld",
    // "▁Hello", "##ing"); always valid UTF-8.
    std::vector<std::string> spellings;
    // [start, end) byte offsets into the encoded text; (0, 0) for special
    // tokens the post-processor added.
    std::vector<std::pair<std::size_t, std::size_t>> offsets;
    // True for special added tokens and for tokens the post-processor added.
    std::vector<bool> special;

    std::vector<std::string> unknownWords() const;
    // offsets counted in code points of `text` (what HF's Python and Node
    // bindings report), for the text this encoding was made from.
    std::vector<std::pair<std::size_t, std::size_t>> charOffsets(std::string_view text) const;
};

class Tokenizer {
public:
    // Bpe: BPE that is not byte-level (SentencePiece style, e.g. Llama 2).
    enum class Kind { WordLevel, ByteLevelBpe, Bpe, WordPiece, Unigram };

    static constexpr std::size_t kMaxFileBytes = 256u * 1024 * 1024;

    static Tokenizer fromFile(const std::string& tokenizerJsonPath);
    // An unsupported component is an Error naming it and listing the
    // supported types.
    static Tokenizer fromJson(const std::string& text, const std::string& nameForErrors);
    // endOfTextSpecial: "<|endoftext|>" in text is the special token (as in
    // Hugging Face's GPT2Tokenizer) rather than ordinary text.
    static Tokenizer fromVocabAndMerges(const std::string& vocabJsonPath,
                                        const std::string& mergesPath,
                                        bool endOfTextSpecial = true);
    static Tokenizer fromVocabAndMergesText(const std::string& vocabJson, const std::string& merges,
                                            const std::string& nameForErrors,
                                            bool endOfTextSpecial = true);
    // BERT's vocab.txt (one WordPiece per line, the id is the line number)
    // with the settings of tokenizer_config.json (do_lower_case,
    // strip_accents, tokenize_chinese_chars and the special tokens; an empty
    // path or text means BertTokenizer's defaults), built as Hugging Face's
    // BertTokenizerFast builds it from the same files: BertNormalizer,
    // BertPreTokenizer, WordPiece ("##", 100 characters per word), the
    // [CLS] $A [SEP] template, the WordPiece decoder, and the special tokens
    // as special added tokens. A special token the template or the unknown
    // word needs but the vocabulary lacks is an Error naming it.
    static Tokenizer fromBertVocab(const std::string& vocabTxtPath,
                                   const std::string& tokenizerConfigPath);
    static Tokenizer fromBertVocabText(const std::string& vocabTxt, const std::string& configJson,
                                       const std::string& nameForErrors);
    // Loads tokenizer.json from a model folder, else vocab.json + merges.txt,
    // else BERT's vocab.txt (with tokenizer_config.json when present).
    static Tokenizer fromModelFolder(const std::string& dir);

    // A WordLevel tokenizer over the given vocabulary; added tokens stay one
    // token. With `lowercase`, a Lowercase normalizer reads the input and the
    // added tokens (all but the bracketed special ones) match the lower-cased
    // text, whatever its case, while keeping their own spelling as tokens
    // (Hugging Face's "normalized": true); the vocabulary should then be lower
    // case.
    // With `clsSep`, the [CLS] $A [SEP] template of a masked language model
    // (BertProcessing); both tokens must be among the added tokens.
    static Tokenizer makeWordLevel(const std::vector<std::string>& vocab,
                                   const std::vector<std::string>& addedTokens,
                                   const std::string& unkToken, bool lowercase = false,
                                   bool clsSep = false);

    Tokenizer();
    ~Tokenizer();
    Tokenizer(const Tokenizer&);
    Tokenizer& operator=(const Tokenizer&);
    Tokenizer(Tokenizer&&) noexcept;
    Tokenizer& operator=(Tokenizer&&) noexcept;

    Kind kind() const;
    // addSpecialTokens runs the post-processor's special tokens (Llama's BOS,
    // BERT's [CLS]/[SEP]), as Hugging Face does by default. GPT-2 and
    // WordLevel tokenizers add none.
    std::vector<int> encode(std::string_view text, bool addSpecialTokens = true) const;
    Encoding encodeDetailed(std::string_view text, bool addSpecialTokens = true) const;
    // The bytes the ids stand for, through the decoder; byte-level and
    // byte-fallback bytes are kept even when they are not UTF-8, so that
    // decode(encode(x)) == x.
    std::string decode(const std::vector<int>& ids) const;
    // Exactly Hugging Face's decode(ids, skip_special_tokens): valid UTF-8,
    // U+FFFD for incomplete characters.
    std::string decode(const std::vector<int>& ids, bool skipSpecialTokens) const;
    // The text a token adds when it follows other tokens (" world" for
    // "Ġworld" or "▁world", "ing" for "##ing"); valid UTF-8, U+FFFD for a
    // byte that is part of a character. Empty for an unknown id.
    std::string displayText(int id) const;
    std::string tokenText(int id) const; // = displayText(id)
    // The vocabulary's own spelling of a token (HF convert_ids_to_tokens).
    std::string tokenSpelling(int id) const;
    std::optional<int> tokenId(const std::string& token) const;
    std::optional<int> unknownId() const;
    // Begin / end of sequence ids, from the post-processor, else from the
    // usual names of special added tokens; nullopt when unknown.
    std::optional<int> bosId() const;
    std::optional<int> eosId() const;
    // The mask token of a masked language model's cloze queries: the one
    // tokenizer_config.json names, else the special token "[MASK]" or
    // "<mask>"; nullopt when there is none.
    std::optional<int> maskId() const;
    bool isSpecial(int id) const;
    int vocabSize() const;

    // Serialises to Hugging Face tokenizer.json.
    std::string toJson() const;

    struct Impl;

private:
    static Tokenizer parseJson(const std::string& text, const std::string& where);
    std::shared_ptr<const Impl> d; // immutable once built, so copies share it
};

} // namespace scalpel
