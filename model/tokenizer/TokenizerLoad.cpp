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

namespace {

// A special token's text in tokenizer_config.json: a string, or an
// AddedToken object with "content" (older files).
std::string specialTokenText(const nlohmann::json& config, const char* key,
                             const std::string& fallback, const std::string& where) {
    if (!config.is_object() || !config.contains(key) || config[key].is_null())
        return fallback;
    const auto& v = config[key];
    if (v.is_string())
        return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string())
        return v["content"].get<std::string>();
    throw Error(where + ": '" + key + "' must be a string or an object with 'content'");
}

} // namespace

Tokenizer Tokenizer::fromBertVocabText(const std::string& vocabTxt, const std::string& configJson,
                                       const std::string& where) {
    nlohmann::json config = nlohmann::json::object();
    if (!configJson.empty()) {
        config = nlohmann::json::parse(configJson, nullptr, false);
        if (config.is_discarded() || !config.is_object())
            throw Error(where + " (tokenizer_config.json): not a JSON object");
    }
    const std::string cw = where + " (tokenizer_config.json)";
    // As Python's load_vocab reads it: one token per line, the id is the
    // line number, a later duplicate wins.
    nlohmann::json vocab = nlohmann::json::object();
    int lines = 0;
    for (std::size_t pos = 0; pos < vocabTxt.size(); ++lines) {
        std::size_t end = vocabTxt.find('\n', pos);
        if (end == std::string::npos)
            end = vocabTxt.size();
        std::string token = vocabTxt.substr(pos, end - pos);
        if (!token.empty() && token.back() == '\r')
            token.pop_back();
        vocab[token] = lines;
        pos = end + 1;
    }
    if (lines == 0)
        throw Error(where + ": vocab.txt is empty");
    const bool lower = jsonField(config, "do_lower_case", true, cw);
    const std::string unk = specialTokenText(config, "unk_token", "[UNK]", cw);
    const std::string sep = specialTokenText(config, "sep_token", "[SEP]", cw);
    const std::string pad = specialTokenText(config, "pad_token", "[PAD]", cw);
    const std::string cls = specialTokenText(config, "cls_token", "[CLS]", cw);
    const std::string mask = specialTokenText(config, "mask_token", "[MASK]", cw);
    auto idOf = [&](const std::string& token, const char* key) {
        if (!vocab.contains(token))
            throw Error(where + ": the " + key + " '" + token + "' is not in vocab.txt");
        return vocab[token].get<int>();
    };
    nlohmann::json j;
    j["version"] = "1.0";
    nlohmann::json added = nlohmann::json::array();
    for (const std::string& t : {pad, unk, cls, sep, mask})
        if (vocab.contains(t))
            added.push_back({{"id", vocab[t].get<int>()},
                             {"content", t},
                             {"single_word", false},
                             {"lstrip", false},
                             {"rstrip", false},
                             {"normalized", false},
                             {"special", true}});
    j["added_tokens"] = added;
    nlohmann::json normalizer = {
        {"type", "BertNormalizer"},
        {"clean_text", true},
        {"handle_chinese_chars", jsonField(config, "tokenize_chinese_chars", true, cw)},
        {"strip_accents", nullptr},
        {"lowercase", lower}};
    if (config.contains("strip_accents") && !config["strip_accents"].is_null())
        normalizer["strip_accents"] = jsonField(config, "strip_accents", false, cw);
    j["normalizer"] = normalizer;
    j["pre_tokenizer"] = {{"type", "BertPreTokenizer"}};
    const int clsId = idOf(cls, "cls_token"), sepId = idOf(sep, "sep_token");
    auto special = [](const std::string& t) {
        return nlohmann::json{{"SpecialToken", {{"id", t}, {"type_id", 0}}}};
    };
    auto sequence = [](const char* id, int type) {
        return nlohmann::json{{"Sequence", {{"id", id}, {"type_id", type}}}};
    };
    nlohmann::json sepB = special(sep);
    sepB["SpecialToken"]["type_id"] = 1;
    j["post_processor"] = {
        {"type", "TemplateProcessing"},
        {"single", {special(cls), sequence("A", 0), special(sep)}},
        {"pair", {special(cls), sequence("A", 0), special(sep), sequence("B", 1), sepB}},
        {"special_tokens",
         {{cls, {{"id", cls}, {"ids", {clsId}}, {"tokens", {cls}}}},
          {sep, {{"id", sep}, {"ids", {sepId}}, {"tokens", {sep}}}}}}};
    j["decoder"] = {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}};
    idOf(unk, "unk_token");
    j["model"] = {{"type", "WordPiece"},
                  {"unk_token", unk},
                  {"continuing_subword_prefix", "##"},
                  {"max_input_chars_per_word", 100},
                  {"vocab", vocab}};
    Tokenizer t = fromJson(j.dump(), where);
    // Made just now, so not yet shared with another Tokenizer.
    if (config.contains("mask_token"))
        const_cast<Impl&>(*t.d).maskToken = mask;
    return t;
}

Tokenizer Tokenizer::fromBertVocab(const std::string& vocabPath, const std::string& configPath) {
    return fromBertVocabText(
        readFile(vocabPath, kMaxFileBytes),
        configPath.empty() ? std::string() : readFile(configPath, kMaxFileBytes), vocabPath);
}

Tokenizer Tokenizer::fromModelFolder(const std::string& dir) {
    namespace fs = std::filesystem;
    const fs::path p(dir);
    if (fs::exists(p / "tokenizer.json"))
        return fromFile((p / "tokenizer.json").string());
    if (fs::exists(p / "vocab.json") && fs::exists(p / "merges.txt"))
        return fromVocabAndMerges((p / "vocab.json").string(), (p / "merges.txt").string());
    if (fs::exists(p / "vocab.txt"))
        return fromBertVocab((p / "vocab.txt").string(),
                             fs::exists(p / "tokenizer_config.json")
                                 ? (p / "tokenizer_config.json").string()
                                 : std::string());
    throw Error(dir + ": no tokenizer.json, nor vocab.json with merges.txt, nor BERT's vocab.txt");
}

Tokenizer Tokenizer::makeWordLevel(const std::vector<std::string>& vocabList,
                                   const std::vector<std::string>& addedTokens,
                                   const std::string& unkToken, bool lowercase, bool clsSep) {
    std::unordered_map<std::string, int> vocab;
    for (const auto& w : vocabList)
        vocab.emplace(w, static_cast<int>(vocab.size()));
    std::vector<AddedToken> added;
    for (const auto& a : addedTokens) {
        const int id = vocab.emplace(a, static_cast<int>(vocab.size())).first->second;
        const bool special = a.size() > 2 && a.front() == '[' && a.back() == ']';
        added.push_back({a, id, !special, false, false, lowercase && !special, special});
    }
    auto d = std::make_shared<Impl>();
    if (lowercase) {
        d->normalizerJson = {{"type", "Lowercase"}};
        d->normalizer = makeNormalizer(d->normalizerJson, "WordLevel");
    }
    d->preTokenizerJson = {{"type", "Whitespace"}};
    d->preTokenizer = makePreTokenizer(d->preTokenizerJson, "WordLevel");
    if (clsSep) {
        auto idOf = [&](const char* token) {
            const auto it = vocab.find(token);
            if (it == vocab.end())
                throw Error(std::string("a [CLS] $A [SEP] template needs the token ") + token);
            return it->second;
        };
        d->postProcessorJson = {{"type", "BertProcessing"},
                                {"sep", {"[SEP]", idOf("[SEP]")}},
                                {"cls", {"[CLS]", idOf("[CLS]")}}};
        d->postProcessor = makePostProcessor(d->postProcessorJson, "WordLevel");
    }
    d->model = tok::makeWordLevel(std::move(vocab), unkToken);
    d->added.build(std::move(added), d->normalizer.get());
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
