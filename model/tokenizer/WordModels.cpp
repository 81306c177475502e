// The vocabulary shared by every model, the model factory, and the two
// word-oriented models: WordLevel (one id per piece) and WordPiece (greedy
// longest prefix, "##" continuations, the whole word unknown when any part is).
#include "Error.h"
#include "JsonFields.h"
#include "TokenizerModels.h"

#include <algorithm>

namespace scalpel::tok {

std::optional<int> Model::tokenToId(const std::string& token) const {
    auto it = m_vocab.find(token);
    return it == m_vocab.end() ? std::nullopt : std::optional<int>(it->second);
}

const std::string* Model::idToToken(int id) const {
    if (id < 0 || id >= size() || m_idToToken[static_cast<std::size_t>(id)].empty())
        return nullptr;
    return &m_idToToken[static_cast<std::size_t>(id)];
}

void Model::readVocab(const nlohmann::json& v, const std::string& where) {
    setVocab(readVocabObject(v, where));
}

std::unordered_map<std::string, int> readVocabObject(const nlohmann::json& v,
                                                     const std::string& where) {
    if (!v.is_object())
        throw Error(where + ": the vocabulary is missing or not an object");
    if (v.empty())
        throw Error(where + ": the vocabulary is empty");
    std::unordered_map<std::string, int> vocab;
    for (auto it = v.begin(); it != v.end(); ++it) {
        if (!it->is_number_integer() || it->get<long long>() < 0 ||
            it->get<long long>() > 10'000'000)
            throw Error(where + ": the id of token '" + it.key() + "' is not a valid integer");
        vocab[it.key()] = it->get<int>();
    }
    return vocab;
}

void Model::setVocab(std::unordered_map<std::string, int> vocab) {
    m_vocab = std::move(vocab);
    int maxId = -1;
    for (const auto& [t, id] : m_vocab)
        maxId = std::max(maxId, id);
    m_idToToken.assign(static_cast<std::size_t>(maxId + 1), std::string());
    for (const auto& [t, id] : m_vocab)
        m_idToToken[static_cast<std::size_t>(id)] = t;
}

nlohmann::ordered_json Model::vocabJson() const {
    nlohmann::ordered_json v = nlohmann::ordered_json::object();
    // Each token once (its own id), so the entries are appended to the
    // ordered map's vector directly: operator[] would search the entries
    // before each insert, quadratic in a 128,000-token vocabulary.
    auto& entries = v.get_ref<nlohmann::ordered_json::object_t&>();
    using Entries = std::vector<nlohmann::ordered_json::object_t::value_type>;
    static_cast<Entries&>(entries).reserve(m_vocab.size());
    for (std::size_t id = 0; id < m_idToToken.size(); ++id) {
        const auto it = m_vocab.find(m_idToToken[id]);
        if (it != m_vocab.end() && it->second == static_cast<int>(id))
            static_cast<Entries&>(entries).emplace_back(m_idToToken[id], static_cast<int>(id));
    }
    return v;
}

namespace {

class WordLevel : public Model {
public:
    std::string unkToken;
    const char* type() const override { return "WordLevel"; }
    std::optional<int> unknownId() const override {
        return unkToken.empty() ? std::nullopt : tokenToId(unkToken);
    }
    std::vector<Token> tokenize(std::string_view piece) const override {
        const std::string w(piece);
        if (auto id = tokenToId(w))
            return {Token{*id, w, 0, piece.size()}};
        const auto unk = unknownId();
        if (!unk)
            throw Error("the word '" + utf8Lossy(w) +
                        "' is not in the vocabulary and the tokenizer has no unknown token");
        return {Token{*unk, unkToken, 0, piece.size()}};
    }
    nlohmann::ordered_json toJson() const override {
        return {{"type", "WordLevel"}, {"vocab", vocabJson()}, {"unk_token", unkToken}};
    }
};

class WordPiece : public Model {
public:
    std::string unkToken = "[UNK]", prefix = "##";
    std::size_t maxChars = 100;
    const char* type() const override { return "WordPiece"; }
    std::optional<int> unknownId() const override { return tokenToId(unkToken); }

    std::vector<Token> tokenize(std::string_view w) const override {
        if (charCount(w) > maxChars)
            return {unknown(w)};
        std::vector<Token> out;
        std::size_t start = 0;
        while (start < w.size()) {
            std::size_t end = w.size();
            bool found = false;
            while (start < end) {
                std::string sub(w.substr(start, end - start));
                if (start > 0)
                    sub = prefix + sub;
                if (auto id = tokenToId(sub)) {
                    out.push_back(Token{*id, sub, start, end});
                    found = true;
                    break;
                }
                // Step back one character.
                std::size_t back = end - 1;
                while (back > start && (static_cast<unsigned char>(w[back]) & 0xc0) == 0x80)
                    --back;
                end = back;
            }
            if (!found)
                return {unknown(w)};
            start = end;
        }
        return out;
    }
    nlohmann::ordered_json toJson() const override {
        return {{"type", "WordPiece"},
                {"unk_token", unkToken},
                {"continuing_subword_prefix", prefix},
                {"max_input_chars_per_word", maxChars},
                {"vocab", vocabJson()}};
    }

private:
    Token unknown(std::string_view w) const {
        const auto id = unknownId();
        if (!id)
            throw Error("the WordPiece unknown token '" + unkToken + "' is not in the vocabulary");
        return Token{*id, unkToken, 0, w.size()};
    }
};

} // namespace

std::unique_ptr<Model> makeWordLevelModel(const nlohmann::json& j, const std::string& where) {
    auto m = std::make_unique<WordLevel>();
    if (!j.contains("vocab"))
        throw Error(where + ": the WordLevel model has no vocabulary");
    m->readVocab(j["vocab"], where);
    m->unkToken = jsonField(j, "unk_token", std::string(), where);
    return m;
}

std::unique_ptr<Model> makeWordLevel(std::unordered_map<std::string, int> vocab,
                                     const std::string& unkToken) {
    auto m = std::make_unique<WordLevel>();
    m->setVocab(std::move(vocab));
    m->unkToken = unkToken;
    return m;
}

std::unique_ptr<Model> makeWordPieceModel(const nlohmann::json& j, const std::string& where) {
    auto m = std::make_unique<WordPiece>();
    if (!j.contains("vocab"))
        throw Error(where + ": the WordPiece model has no vocabulary");
    m->readVocab(j["vocab"], where);
    m->unkToken = jsonField(j, "unk_token", std::string("[UNK]"), where);
    m->prefix = jsonField(j, "continuing_subword_prefix", std::string("##"), where);
    const long long maxChars = jsonField(j, "max_input_chars_per_word", 100LL, where);
    m->maxChars = static_cast<std::size_t>(std::max(0LL, maxChars));
    return m;
}

std::unique_ptr<Model> makeModel(const nlohmann::json& j, const std::string& where) {
    if (!j.is_object())
        throw Error(where + ": no 'model' section");
    std::string type = jsonField(j, "type", std::string(), where);
    // Files written before the type field existed are told apart by shape.
    if (type.empty())
        type = j.contains("merges")                           ? "BPE"
               : j.contains("continuing_subword_prefix")      ? "WordPiece"
               : j.contains("vocab") && j["vocab"].is_array() ? "Unigram"
                                                              : "WordLevel";
    if (type == "BPE")
        return makeBpeModel(j, where);
    if (type == "WordPiece")
        return makeWordPieceModel(j, where);
    if (type == "WordLevel")
        return makeWordLevelModel(j, where);
    if (type == "Unigram")
        return makeUnigramModel(j, where);
    throw Error(where + ": model type '" + type +
                "' is not supported (supported: BPE, WordPiece, WordLevel, Unigram)");
}

} // namespace scalpel::tok
