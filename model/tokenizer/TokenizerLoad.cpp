// Building a Tokenizer: tokenizer.json, vocab.json + merges.txt, a model
// folder, a WordLevel vocabulary; and writing tokenizer.json back.
#include "Tokenizer.h"

#include "AtomicFile.h"
#include "Error.h"
#include "JsonFields.h"
#include "TokenizerImpl.h"

#include <algorithm>
#include <filesystem>

namespace scalpel {

using namespace tok;

namespace {

bool mentionsByteLevel(const nlohmann::json& j) {
    if (j.is_object()) {
        const auto t = j.find("type");
        if (t != j.end() && t->is_string() && t->get<std::string>() == "ByteLevel")
            return true;
        for (const auto& v : j)
            if (mentionsByteLevel(v))
                return true;
    } else if (j.is_array()) {
        for (const auto& v : j)
            if (mentionsByteLevel(v))
                return true;
    }
    return false;
}

Tokenizer::Kind kindOf(const Tokenizer::Impl& d) {
    const std::string type = d.model->type();
    if (type == "WordLevel")
        return Tokenizer::Kind::WordLevel;
    if (type == "WordPiece")
        return Tokenizer::Kind::WordPiece;
    if (type == "Unigram")
        return Tokenizer::Kind::Unigram;
    return mentionsByteLevel(d.preTokenizerJson) || mentionsByteLevel(d.decoderJson)
               ? Tokenizer::Kind::ByteLevelBpe
               : Tokenizer::Kind::Bpe;
}

std::vector<AddedToken> readAddedTokens(const nlohmann::json& j, const std::string& where) {
    std::vector<AddedToken> out;
    const auto it = j.find("added_tokens");
    if (it == j.end() || it->is_null())
        return out;
    if (!it->is_array())
        throw Error(where + ": added_tokens is not a list");
    for (const auto& a : *it) {
        if (!a.is_object() || !a.contains("id") || !a.contains("content") ||
            !a["id"].is_number_integer() || !a["content"].is_string() ||
            a["id"].get<long long>() < 0 || a["id"].get<long long>() > 10'000'000)
            throw Error(where + ": malformed entry in added_tokens");
        AddedToken t;
        t.id = a["id"].get<int>();
        t.content = a["content"].get<std::string>();
        t.special = jsonField(a, "special", false, where);
        t.singleWord = jsonField(a, "single_word", false, where);
        t.lstrip = jsonField(a, "lstrip", false, where);
        t.rstrip = jsonField(a, "rstrip", false, where);
        t.normalized = jsonField(a, "normalized", !t.special, where);
        out.push_back(std::move(t));
    }
    return out;
}

nlohmann::json section(const nlohmann::json& j, const char* key) {
    const auto it = j.find(key);
    return it == j.end() ? nlohmann::json() : *it;
}

} // namespace

Tokenizer Tokenizer::fromJson(const std::string& text, const std::string& where) {
    return readingJson(where, [&] { return parseJson(text, where); });
}

Tokenizer Tokenizer::parseJson(const std::string& text, const std::string& where) {
    const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw Error(where + ": not a JSON object");
    if (!j.contains("model") || !j["model"].is_object())
        throw Error(where + ": no 'model' section");
    auto d = std::make_shared<Impl>();
    d->normalizerJson = section(j, "normalizer");
    d->preTokenizerJson = section(j, "pre_tokenizer");
    d->postProcessorJson = section(j, "post_processor");
    d->decoderJson = section(j, "decoder");
    d->normalizer = makeNormalizer(d->normalizerJson, where);
    d->preTokenizer = makePreTokenizer(d->preTokenizerJson, where);
    d->model = makeModel(j["model"], where);
    d->postProcessor = makePostProcessor(d->postProcessorJson, where);
    d->decoder = makeDecoder(d->decoderJson, where);
    d->added.build(readAddedTokens(j, where), d->normalizer.get());
    d->kind = kindOf(*d);
    Tokenizer t;
    t.d = std::move(d);
    return t;
}

Tokenizer Tokenizer::fromFile(const std::string& path) {
    return fromJson(readFile(path, kMaxFileBytes), path);
}

Tokenizer Tokenizer::fromVocabAndMergesText(const std::string& vocabJson,
                                            const std::string& mergesText, const std::string& where,
                                            bool endOfTextSpecial) {
    const nlohmann::json v = nlohmann::json::parse(vocabJson, nullptr, false);
    if (v.is_discarded())
        throw Error(where + ": vocab.json is not valid JSON");
    auto vocab = readVocabObject(v, where + " (vocab.json)");
    std::vector<std::pair<std::string, std::string>> merges;
    std::size_t pos = 0;
    while (pos < mergesText.size()) {
        std::size_t end = mergesText.find('\n', pos);
        if (end == std::string::npos)
            end = mergesText.size();
        std::string line = mergesText.substr(pos, end - pos);
        pos = end + 1;
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (line.empty() || line.rfind("#version", 0) == 0)
            continue;
        const auto sp = line.find(' ');
        if (sp == std::string::npos)
            throw Error(where + " (merges.txt): malformed line '" + line + "'");
        merges.emplace_back(line.substr(0, sp), line.substr(sp + 1));
    }
    auto d = std::make_shared<Impl>();
    const auto eot = vocab.find("<|endoftext|>");
    std::vector<AddedToken> added;
    if (endOfTextSpecial && eot != vocab.end())
        added.push_back({"<|endoftext|>", eot->second, false, false, false, false, true});
    d->preTokenizerJson = {{"type", "ByteLevel"},
                           {"add_prefix_space", false},
                           {"trim_offsets", true},
                           {"use_regex", true}};
    d->decoderJson = {{"type", "ByteLevel"},
                      {"add_prefix_space", true},
                      {"trim_offsets", true},
                      {"use_regex", true}};
    d->preTokenizer = makePreTokenizer(d->preTokenizerJson, where);
    d->decoder = makeDecoder(d->decoderJson, where);
    d->model = makeBpe(std::move(vocab), std::move(merges));
    d->added.build(std::move(added), nullptr);
    d->kind = Kind::ByteLevelBpe;
    Tokenizer t;
    t.d = std::move(d);
    return t;
}

Tokenizer Tokenizer::fromVocabAndMerges(const std::string& vocabPath, const std::string& mergesPath,
                                        bool endOfTextSpecial) {
    return fromVocabAndMergesText(readFile(vocabPath, kMaxFileBytes),
                                  readFile(mergesPath, kMaxFileBytes), vocabPath, endOfTextSpecial);
}

Tokenizer Tokenizer::fromModelFolder(const std::string& dir) {
    namespace fs = std::filesystem;
    const fs::path p(dir);
    if (fs::exists(p / "tokenizer.json"))
        return fromFile((p / "tokenizer.json").string());
    if (fs::exists(p / "vocab.json") && fs::exists(p / "merges.txt"))
        return fromVocabAndMerges((p / "vocab.json").string(), (p / "merges.txt").string());
    throw Error(dir + ": no tokenizer.json, nor vocab.json with merges.txt");
}

Tokenizer Tokenizer::makeWordLevel(const std::vector<std::string>& vocabList,
                                   const std::vector<std::string>& addedTokens,
                                   const std::string& unkToken) {
    std::unordered_map<std::string, int> vocab;
    for (const auto& w : vocabList)
        vocab.emplace(w, static_cast<int>(vocab.size()));
    std::vector<AddedToken> added;
    for (const auto& a : addedTokens) {
        const int id = vocab.emplace(a, static_cast<int>(vocab.size())).first->second;
        const bool special = a.size() > 2 && a.front() == '[' && a.back() == ']';
        added.push_back({a, id, !special, false, false, false, special});
    }
    auto d = std::make_shared<Impl>();
    d->preTokenizerJson = {{"type", "Whitespace"}};
    d->preTokenizer = makePreTokenizer(d->preTokenizerJson, "WordLevel");
    d->model = tok::makeWordLevel(std::move(vocab), unkToken);
    d->added.build(std::move(added), nullptr);
    d->kind = Kind::WordLevel;
    Tokenizer t;
    t.d = std::move(d);
    return t;
}

std::string Tokenizer::toJson() const {
    auto ordered = [](const nlohmann::json& j) { return nlohmann::ordered_json::parse(j.dump()); };
    nlohmann::ordered_json j;
    j["version"] = "1.0";
    j["truncation"] = nullptr;
    j["padding"] = nullptr;
    std::vector<AddedToken> sorted = d->added.tokens();
    std::sort(sorted.begin(), sorted.end(),
              [](const AddedToken& a, const AddedToken& b) { return a.id < b.id; });
    nlohmann::ordered_json added = nlohmann::ordered_json::array();
    for (const auto& a : sorted)
        added.push_back({{"id", a.id},
                         {"content", a.content},
                         {"single_word", a.singleWord},
                         {"lstrip", a.lstrip},
                         {"rstrip", a.rstrip},
                         {"normalized", a.normalized},
                         {"special", a.special}});
    j["added_tokens"] = added;
    j["normalizer"] = ordered(d->normalizerJson);
    j["pre_tokenizer"] = ordered(d->preTokenizerJson);
    j["post_processor"] = ordered(d->postProcessorJson);
    j["decoder"] = ordered(d->decoderJson);
    j["model"] = d->model ? d->model->toJson() : nlohmann::ordered_json();
    return j.dump(1) + "\n";
}

} // namespace scalpel
