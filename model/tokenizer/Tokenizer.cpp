#include "Tokenizer.h"

#include "AtomicFile.h"
#include "Error.h"
#include "JsonFields.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <nlohmann/json.hpp>
#include <pcre2.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <unordered_map>

namespace scalpel {

namespace {

// GPT-2's pre-tokenization pattern, and the Whitespace pre-tokenizer's.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr const char* kWhitespacePattern = R"(\w+|[^\w\s]+)";

struct Regex {
    pcre2_code* code = nullptr;
    explicit Regex(const char* pattern) {
        int err = 0;
        PCRE2_SIZE offset = 0;
        code =
            pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED,
                          PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &offset, nullptr);
        if (!code)
            throw Error("internal: cannot compile the pre-tokenizer pattern");
        pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    }
    ~Regex() { pcre2_code_free(code); }
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    // Splits text into matches; bytes no alternative matches (invalid UTF-8)
    // become pieces of their own so that nothing is dropped.
    std::vector<std::string_view> split(std::string_view text) const {
        std::vector<std::string_view> out;
        pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
        std::size_t pos = 0;
        while (pos < text.size()) {
            int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), pos,
                                 0, md, nullptr);
            if (rc < 0) {
                out.push_back(text.substr(pos));
                break;
            }
            PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
            if (ov[0] > pos)
                out.push_back(text.substr(pos, ov[0] - pos));
            if (ov[1] == ov[0]) { // empty match: step one byte
                pos = ov[0] + 1;
                continue;
            }
            out.push_back(text.substr(ov[0], ov[1] - ov[0]));
            pos = ov[1];
        }
        pcre2_match_data_free(md);
        return out;
    }
};

const Regex& gpt2Regex() {
    static Regex r(kGpt2Pattern);
    return r;
}
const Regex& whitespaceRegex() {
    static Regex r(kWhitespacePattern);
    return r;
}

void appendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
        out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
}

// Decodes well-formed UTF-8 into code points; returns false on malformed input.
bool utf8CodePoints(std::string_view s, std::vector<uint32_t>& out) {
    out.clear();
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (len == 0 || i + len > s.size())
            return false;
        uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
        for (int k = 1; k < len; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc >> 6) != 2)
                return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        out.push_back(cp);
        i += len;
    }
    return true;
}

// GPT-2's reversible map from bytes to printable code points.
struct ByteMap {
    std::string byteToText[256];
    std::unordered_map<uint32_t, unsigned char> codeToByte;
    ByteMap() {
        int n = 0;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
            const uint32_t cp = printable ? static_cast<uint32_t>(b) : 256u + n++;
            appendUtf8(byteToText[b], cp);
            codeToByte[cp] = static_cast<unsigned char>(b);
        }
    }
};
const ByteMap& byteMap() {
    static ByteMap m;
    return m;
}

struct AddedToken {
    std::string content;
    int id = -1;
    bool singleWord = false;
    bool special = false;
};

bool isWordByte(unsigned char c) {
    return std::isalnum(c) || c == '_' || c >= 0x80;
}

} // namespace

struct Tokenizer::Impl {
    Kind kind = Kind::WordLevel;
    std::unordered_map<std::string, int> vocab;
    std::vector<std::string> idToToken;
    std::vector<AddedToken> added;          // longest first
    std::vector<int> addedByFirstByte[256]; // indices into `added`, longest first
    std::optional<int> unk;
    std::string unkToken;
    // BPE
    std::unordered_map<std::string, int> mergeRank; // "a b" -> rank
    std::vector<std::pair<std::string, std::string>> merges;
    mutable std::mutex cacheMutex;
    mutable std::unordered_map<std::string, std::vector<int>> cache;

    void finish() {
        int maxId = -1;
        for (const auto& [t, id] : vocab)
            maxId = std::max(maxId, id);
        for (const auto& a : added)
            maxId = std::max(maxId, a.id);
        idToToken.assign(static_cast<std::size_t>(maxId + 1), std::string());
        for (const auto& [t, id] : vocab)
            idToToken[static_cast<std::size_t>(id)] = t;
        for (const auto& a : added)
            idToToken[static_cast<std::size_t>(a.id)] = a.content;
        std::stable_sort(added.begin(), added.end(), [](const AddedToken& a, const AddedToken& b) {
            return a.content.size() > b.content.size();
        });
        for (auto& v : addedByFirstByte)
            v.clear();
        for (std::size_t i = 0; i < added.size(); ++i)
            if (!added[i].content.empty())
                addedByFirstByte[static_cast<unsigned char>(added[i].content[0])].push_back(
                    static_cast<int>(i));
        if (!unkToken.empty()) {
            auto it = vocab.find(unkToken);
            if (it != vocab.end())
                unk = it->second;
            for (const auto& a : added)
                if (a.content == unkToken)
                    unk = a.id;
        }
    }

    // Finds the leftmost, then longest, added token in text[from..].
    const AddedToken* findAdded(std::string_view text, std::size_t from, std::size_t& at) const {
        if (added.empty())
            return nullptr;
        for (std::size_t i = from; i < text.size(); ++i) {
            for (int index : addedByFirstByte[static_cast<unsigned char>(text[i])]) {
                const AddedToken& a = added[static_cast<std::size_t>(index)];
                if (text.compare(i, a.content.size(), a.content) != 0)
                    continue;
                if (a.singleWord) {
                    const std::size_t end = i + a.content.size();
                    if (i > 0 && isWordByte(static_cast<unsigned char>(text[i - 1])))
                        continue;
                    if (end < text.size() && isWordByte(static_cast<unsigned char>(text[end])))
                        continue;
                }
                at = i;
                return &a;
            }
        }
        return nullptr;
    }

    void encodeSegment(std::string_view seg, Encoding& out) const {
        if (kind == Kind::WordLevel) {
            for (std::string_view w : whitespaceRegex().split(seg)) {
                // Pieces that are only whitespace come from bytes no pattern
                // matched; they carry no word.
                if (std::all_of(w.begin(), w.end(),
                                [](char c) { return std::isspace(static_cast<unsigned char>(c)); }))
                    continue;
                auto it = vocab.find(std::string(w));
                if (it != vocab.end()) {
                    out.ids.push_back(it->second);
                    out.unknown.push_back(false);
                } else {
                    if (!unk)
                        throw Error(
                            "the word '" + std::string(w) +
                            "' is not in the vocabulary and the tokenizer has no unknown token");
                    out.ids.push_back(*unk);
                    out.unknown.push_back(true);
                }
                out.tokens.emplace_back(w);
            }
            return;
        }
        for (std::string_view piece : gpt2Regex().split(seg)) {
            std::vector<int> ids = bpe(piece);
            for (int id : ids) {
                out.ids.push_back(id);
                out.tokens.push_back(byteText(id));
                out.unknown.push_back(false);
            }
        }
    }

    std::string byteText(int id) const {
        const std::string& t = idToToken[static_cast<std::size_t>(id)];
        std::vector<uint32_t> cps;
        if (!utf8CodePoints(t, cps))
            return t;
        std::string out;
        const auto& m = byteMap().codeToByte;
        for (uint32_t cp : cps) {
            auto it = m.find(cp);
            if (it == m.end())
                return t; // not a byte-level token (an added token)
            out.push_back(static_cast<char>(it->second));
        }
        return out;
    }

    std::vector<int> bpe(std::string_view piece) const {
        std::string key(piece);
        {
            std::lock_guard<std::mutex> lock(cacheMutex);
            auto it = cache.find(key);
            if (it != cache.end())
                return it->second;
        }
        std::vector<std::string> symbols;
        for (unsigned char b : piece)
            symbols.push_back(byteMap().byteToText[b]);
        while (symbols.size() > 1) {
            int bestRank = -1;
            std::size_t bestAt = 0;
            for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
                auto it = mergeRank.find(symbols[i] + " " + symbols[i + 1]);
                if (it != mergeRank.end() && (bestRank < 0 || it->second < bestRank)) {
                    bestRank = it->second;
                    bestAt = i;
                }
            }
            if (bestRank < 0)
                break;
            // Merge every occurrence of the best pair, left to right.
            const std::string a = symbols[bestAt], b = symbols[bestAt + 1];
            std::vector<std::string> next;
            next.reserve(symbols.size());
            for (std::size_t i = 0; i < symbols.size();) {
                if (i + 1 < symbols.size() && symbols[i] == a && symbols[i + 1] == b) {
                    next.push_back(a + b);
                    i += 2;
                } else {
                    next.push_back(symbols[i]);
                    ++i;
                }
            }
            symbols.swap(next);
        }
        std::vector<int> ids;
        for (const auto& s : symbols) {
            auto it = vocab.find(s);
            if (it != vocab.end()) {
                ids.push_back(it->second);
            } else {
                // A merged symbol missing from the vocabulary: fall back to its bytes.
                std::vector<uint32_t> cps;
                utf8CodePoints(s, cps);
                for (uint32_t cp : cps) {
                    std::string one;
                    appendUtf8(one, cp);
                    auto jt = vocab.find(one);
                    if (jt != vocab.end())
                        ids.push_back(jt->second);
                    else if (unk)
                        ids.push_back(*unk);
                    else
                        throw Error("byte-level vocabulary lacks the symbol for a byte");
                }
            }
        }
        std::lock_guard<std::mutex> lock(cacheMutex);
        if (cache.size() > 100000)
            cache.clear();
        cache.emplace(std::move(key), ids);
        return ids;
    }
};

std::vector<std::string> Encoding::unknownWords() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (unknown[i])
            out.push_back(tokens[i]);
    return out;
}

Tokenizer::Tokenizer() : d(std::make_unique<Impl>()) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::Tokenizer(const Tokenizer& o) : d(std::make_unique<Impl>()) {
    *this = o;
}
Tokenizer& Tokenizer::operator=(const Tokenizer& o) {
    if (this == &o)
        return *this;
    d->kind = o.d->kind;
    d->vocab = o.d->vocab;
    d->idToToken = o.d->idToToken;
    d->added = o.d->added;
    d->unk = o.d->unk;
    d->unkToken = o.d->unkToken;
    d->mergeRank = o.d->mergeRank;
    d->merges = o.d->merges;
    d->finish();
    return *this;
}

namespace {

void readVocab(const nlohmann::json& v, std::unordered_map<std::string, int>& vocab,
               const std::string& where) {
    if (!v.is_object())
        throw Error(where + ": the vocabulary is missing or not an object");
    if (v.empty())
        throw Error(where + ": the vocabulary is empty");
    for (auto it = v.begin(); it != v.end(); ++it) {
        if (!it->is_number_integer() || it->get<long long>() < 0 ||
            it->get<long long>() > 10'000'000)
            throw Error(where + ": the id of token '" + it.key() + "' is not a valid integer");
        vocab[it.key()] = it->get<int>();
    }
}

void addMerge(Tokenizer* /*unused*/, std::vector<std::pair<std::string, std::string>>& merges,
              std::unordered_map<std::string, int>& rank, std::string a, std::string b) {
    std::string key = a + " " + b;
    if (rank.count(key) == 0)
        rank.emplace(std::move(key), static_cast<int>(merges.size()));
    merges.emplace_back(std::move(a), std::move(b));
}

} // namespace

Tokenizer Tokenizer::fromJson(const std::string& text, const std::string& where) {
    return readingJson(where, [&] { return parseJson(text, where); });
}

Tokenizer Tokenizer::parseJson(const std::string& text, const std::string& where) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw Error(where + ": not a JSON object");
    if (!j.contains("model") || !j["model"].is_object())
        throw Error(where + ": no 'model' section");
    const auto& m = j["model"];
    const std::string type = jsonField(m, "type", std::string(), where);
    Tokenizer t;
    auto& d = *t.d;
    if (m.contains("unk_token") && m["unk_token"].is_string())
        d.unkToken = m["unk_token"].get<std::string>();
    if (type == "WordLevel") {
        d.kind = Kind::WordLevel;
        if (!m.contains("vocab"))
            throw Error(where + ": the WordLevel model has no vocabulary");
        readVocab(m["vocab"], d.vocab, where);
    } else if (type == "BPE" || (type.empty() && m.contains("merges"))) {
        d.kind = Kind::ByteLevelBpe;
        if (!m.contains("vocab"))
            throw Error(where + ": the BPE model has no vocabulary");
        readVocab(m["vocab"], d.vocab, where);
        if (!m.contains("merges") || !m["merges"].is_array())
            throw Error(where + ": the BPE model has no merges list");
        for (const auto& mg : m["merges"]) {
            if (mg.is_string()) {
                const std::string s = mg.get<std::string>();
                const auto sp = s.find(' ');
                if (sp == std::string::npos)
                    throw Error(where + ": malformed merge '" + s + "'");
                addMerge(nullptr, d.merges, d.mergeRank, s.substr(0, sp), s.substr(sp + 1));
            } else if (mg.is_array() && mg.size() == 2 && mg[0].is_string() && mg[1].is_string()) {
                addMerge(nullptr, d.merges, d.mergeRank, mg[0].get<std::string>(),
                         mg[1].get<std::string>());
            } else {
                throw Error(where + ": malformed merge entry");
            }
        }
    } else {
        throw Error(where + ": tokenizer model type '" + type +
                    "' is not supported (WordLevel or byte-level BPE)");
    }
    if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
        for (const auto& a : j["added_tokens"]) {
            if (!a.is_object() || !a.contains("id") || !a.contains("content") ||
                !a["id"].is_number_integer() || !a["content"].is_string() ||
                a["id"].get<long long>() < 0 || a["id"].get<long long>() > 10'000'000)
                throw Error(where + ": malformed entry in added_tokens");
            AddedToken at;
            at.id = a["id"].get<int>();
            at.content = a["content"].get<std::string>();
            at.singleWord = jsonField(a, "single_word", false, where);
            at.special = jsonField(a, "special", false, where);
            d.added.push_back(at);
        }
    }
    t.d->finish();
    return t;
}

Tokenizer Tokenizer::fromFile(const std::string& path) {
    return fromJson(readFile(path, kMaxFileBytes), path);
}

Tokenizer Tokenizer::fromVocabAndMergesText(const std::string& vocabJson,
                                            const std::string& mergesText, const std::string& where,
                                            bool endOfTextSpecial) {
    nlohmann::json v = nlohmann::json::parse(vocabJson, nullptr, false);
    if (v.is_discarded())
        throw Error(where + ": vocab.json is not valid JSON");
    Tokenizer t;
    auto& d = *t.d;
    d.kind = Kind::ByteLevelBpe;
    readVocab(v, d.vocab, where + " (vocab.json)");
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
        addMerge(nullptr, d.merges, d.mergeRank, line.substr(0, sp), line.substr(sp + 1));
    }
    auto eot = d.vocab.find("<|endoftext|>");
    if (endOfTextSpecial && eot != d.vocab.end())
        d.added.push_back({"<|endoftext|>", eot->second, false, true});
    d.finish();
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

Tokenizer Tokenizer::makeWordLevel(const std::vector<std::string>& vocab,
                                   const std::vector<std::string>& addedTokens,
                                   const std::string& unkToken) {
    Tokenizer t;
    auto& d = *t.d;
    d.kind = Kind::WordLevel;
    d.unkToken = unkToken;
    for (const auto& w : vocab)
        if (!d.vocab.count(w))
            d.vocab.emplace(w, static_cast<int>(d.vocab.size()));
    for (const auto& a : addedTokens) {
        auto it = d.vocab.find(a);
        int id;
        if (it == d.vocab.end()) {
            id = static_cast<int>(d.vocab.size());
            d.vocab.emplace(a, id);
        } else {
            id = it->second;
        }
        const bool special = a.size() > 2 && a.front() == '[' && a.back() == ']';
        d.added.push_back({a, id, !special, special});
    }
    d.finish();
    return t;
}

Tokenizer::Kind Tokenizer::kind() const {
    return d->kind;
}

Encoding Tokenizer::encodeDetailed(std::string_view text) const {
    Encoding out;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t at = 0;
        const AddedToken* a = d->findAdded(text, pos, at);
        const std::size_t segEnd = a ? at : text.size();
        if (segEnd > pos)
            d->encodeSegment(text.substr(pos, segEnd - pos), out);
        if (!a)
            break;
        out.ids.push_back(a->id);
        out.tokens.push_back(a->content);
        out.unknown.push_back(false);
        pos = at + a->content.size();
    }
    return out;
}

std::vector<int> Tokenizer::encode(std::string_view text) const {
    return encodeDetailed(text).ids;
}

std::string Tokenizer::tokenText(int id) const {
    if (id < 0 || id >= static_cast<int>(d->idToToken.size()))
        return std::string();
    if (d->kind == Kind::ByteLevelBpe)
        return d->byteText(id);
    return d->idToToken[static_cast<std::size_t>(id)];
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
    std::string out;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (d->kind == Kind::WordLevel && i > 0)
            out.push_back(' ');
        out += tokenText(ids[i]);
    }
    return out;
}

std::optional<int> Tokenizer::tokenId(const std::string& token) const {
    auto it = d->vocab.find(token);
    if (it != d->vocab.end())
        return it->second;
    for (const auto& a : d->added)
        if (a.content == token)
            return a.id;
    return std::nullopt;
}

std::optional<int> Tokenizer::unknownId() const {
    return d->unk;
}

int Tokenizer::vocabSize() const {
    return static_cast<int>(d->idToToken.size());
}

std::string Tokenizer::toJson() const {
    nlohmann::ordered_json j;
    j["version"] = "1.0";
    j["truncation"] = nullptr;
    j["padding"] = nullptr;
    nlohmann::ordered_json added = nlohmann::ordered_json::array();
    std::vector<AddedToken> sorted = d->added;
    std::sort(sorted.begin(), sorted.end(),
              [](const AddedToken& a, const AddedToken& b) { return a.id < b.id; });
    for (const auto& a : sorted)
        added.push_back({{"id", a.id},
                         {"content", a.content},
                         {"single_word", a.singleWord},
                         {"lstrip", false},
                         {"rstrip", false},
                         {"normalized", false},
                         {"special", a.special}});
    j["added_tokens"] = added;
    j["normalizer"] = nullptr;
    nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
    for (std::size_t id = 0; id < d->idToToken.size(); ++id)
        if (d->vocab.count(d->idToToken[id]))
            vocab[d->idToToken[id]] = static_cast<int>(id);
    if (d->kind == Kind::WordLevel) {
        j["pre_tokenizer"] = {{"type", "Whitespace"}};
        j["post_processor"] = nullptr;
        j["decoder"] = nullptr;
        j["model"] = {{"type", "WordLevel"}, {"vocab", vocab}, {"unk_token", d->unkToken}};
    } else {
        j["pre_tokenizer"] = {{"type", "ByteLevel"},
                              {"add_prefix_space", false},
                              {"trim_offsets", true},
                              {"use_regex", true}};
        j["post_processor"] = nullptr;
        j["decoder"] = {{"type", "ByteLevel"}};
        nlohmann::ordered_json merges = nlohmann::ordered_json::array();
        for (const auto& [a, b] : d->merges)
            merges.push_back(a + " " + b);
        j["model"] = {{"type", "BPE"},
                      {"dropout", nullptr},
                      {"unk_token", nullptr},
                      {"vocab", vocab},
                      {"merges", merges}};
    }
    return j.dump(1) + "\n";
}

} // namespace scalpel
