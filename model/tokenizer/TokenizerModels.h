#pragma once
// tokenizer.json "model": BPE (byte fallback, ignore_merges, subword prefix
// and end-of-word suffix, unknown token with or without fusing), WordPiece,
// WordLevel and Unigram (Viterbi). Each turns one pre-tokenized piece into
// tokens exactly as Hugging Face's model of the same name.
#include "PreTokenizers.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace scalpel::tok {

class Model {
public:
    virtual ~Model() = default;
    virtual const char* type() const = 0;
    virtual std::vector<Token> tokenize(std::string_view piece) const = 0;
    virtual std::optional<int> unknownId() const = 0;
    // The model's part of tokenizer.json.
    virtual nlohmann::ordered_json toJson() const = 0;

    std::optional<int> tokenToId(const std::string& token) const;
    const std::string* idToToken(int id) const;
    int size() const { return static_cast<int>(m_idToToken.size()); }

    // Reads {"token": id} and fills both directions.
    void readVocab(const nlohmann::json& v, const std::string& where);
    void setVocab(std::unordered_map<std::string, int> vocab);
    nlohmann::ordered_json vocabJson() const;

    std::unordered_map<std::string, int> m_vocab;
    std::vector<std::string> m_idToToken;
};

// {"token": id, ...} with ids checked; Error naming `where` otherwise.
std::unordered_map<std::string, int> readVocabObject(const nlohmann::json& v,
                                                     const std::string& where);

std::unique_ptr<Model> makeModel(const nlohmann::json& j, const std::string& where);

// BPE over a vocabulary and merge list, for vocab.json + merges.txt.
std::unique_ptr<Model> makeBpe(std::unordered_map<std::string, int> vocab,
                               std::vector<std::pair<std::string, std::string>> merges);
// WordLevel over a vocabulary; unkToken may be empty.
std::unique_ptr<Model> makeWordLevel(std::unordered_map<std::string, int> vocab,
                                     const std::string& unkToken);

// Implemented in the model files.
std::unique_ptr<Model> makeBpeModel(const nlohmann::json& j, const std::string& where);
std::unique_ptr<Model> makeWordPieceModel(const nlohmann::json& j, const std::string& where);
std::unique_ptr<Model> makeWordLevelModel(const nlohmann::json& j, const std::string& where);
std::unique_ptr<Model> makeUnigramModel(const nlohmann::json& j, const std::string& where);

} // namespace scalpel::tok
