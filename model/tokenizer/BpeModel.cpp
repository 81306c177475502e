// Hugging Face's BPE model: characters (with prefix and suffix) looked up in
// the vocabulary, byte fallback or the unknown token for the rest, then the
// lowest-ranked merge first, leftmost on ties, through a priority queue.
#include "Error.h"
#include "JsonFields.h"
#include "TokenizerModels.h"

#include <cstdio>
#include <mutex>
#include <queue>

namespace scalpel::tok {

namespace {

struct MergeTarget {
    int rank;
    int newId;
};

uint64_t pairKey(int a, int b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

class Bpe : public Model {
public:
    std::vector<std::pair<std::string, std::string>> merges;
    std::unordered_map<uint64_t, MergeTarget> mergeMap;
    std::string unkToken, prefix, suffix;
    bool hasUnk = false, hasPrefix = false, hasSuffix = false;
    bool fuseUnk = false, byteFallback = false, ignoreMerges = false;
    std::optional<double> dropout;

    const char* type() const override { return "BPE"; }

    void build(std::unordered_map<std::string, int> vocab) {
        setVocab(std::move(vocab));
        const std::size_t prefixLen = hasPrefix ? prefix.size() : 0;
        for (std::size_t i = 0; i < merges.size(); ++i) {
            const auto& [a, b] = merges[i];
            const auto ia = m_vocab.find(a), ib = m_vocab.find(b);
            // HF refuses such a file; a merge that can never apply is
            // simply left out here.
            if (ia == m_vocab.end() || ib == m_vocab.end() || b.size() < prefixLen)
                continue;
            const auto in = m_vocab.find(a + b.substr(prefixLen));
            if (in == m_vocab.end())
                continue;
            mergeMap[pairKey(ia->second, ib->second)] = {static_cast<int>(i), in->second};
        }
    }

    std::optional<int> unknownId() const override {
        return hasUnk ? tokenToId(unkToken) : std::nullopt;
    }

    std::vector<Token> tokenize(std::string_view word) const override {
        if (word.empty())
            return {};
        if (ignoreMerges) {
            auto it = m_vocab.find(std::string(word));
            if (it != m_vocab.end())
                return {Token{it->second, it->first, 0, word.size()}};
        }
        {
            std::lock_guard<std::mutex> lock(m_cacheMutex);
            auto it = m_cache.find(std::string(word));
            if (it != m_cache.end())
                return it->second;
        }
        std::vector<Token> out = merge(word);
        std::lock_guard<std::mutex> lock(m_cacheMutex);
        if (m_cache.size() > 50000)
            m_cache.clear();
        m_cache.emplace(std::string(word), out);
        return out;
    }

    nlohmann::ordered_json toJson() const override {
        nlohmann::ordered_json j;
        j["type"] = "BPE";
        j["dropout"] = dropout ? nlohmann::ordered_json(*dropout) : nullptr;
        j["unk_token"] = hasUnk ? nlohmann::ordered_json(unkToken) : nullptr;
        j["continuing_subword_prefix"] = hasPrefix ? nlohmann::ordered_json(prefix) : nullptr;
        j["end_of_word_suffix"] = hasSuffix ? nlohmann::ordered_json(suffix) : nullptr;
        j["fuse_unk"] = fuseUnk;
        j["byte_fallback"] = byteFallback;
        j["ignore_merges"] = ignoreMerges;
        j["vocab"] = vocabJson();
        bool spaces = false;
        for (const auto& [a, b] : merges)
            spaces = spaces || a.find(' ') != std::string::npos || b.find(' ') != std::string::npos;
        nlohmann::ordered_json list = nlohmann::ordered_json::array();
        for (const auto& [a, b] : merges)
            list.push_back(spaces ? nlohmann::ordered_json::array({a, b})
                                  : nlohmann::ordered_json(a + " " + b));
        j["merges"] = std::move(list);
        return j;
    }

private:
    struct Symbol {
        int id;
        int prev, next;
        std::size_t len; // bytes of the word; 0 once merged away
    };

    std::optional<int> lookup(const std::string& s) const {
        auto it = m_vocab.find(s);
        return it == m_vocab.end() ? std::nullopt : std::optional<int>(it->second);
    }

    std::vector<Token> merge(std::string_view w) const {
        std::vector<Symbol> sym;
        auto add = [&](int id, std::size_t len) {
            const int n = static_cast<int>(sym.size());
            sym.push_back({id, n - 1, n + 1, len});
        };
        bool unk = false; // an unknown token is pending
        int unkId = -1;
        std::size_t unkLen = 0;
        for (std::size_t i = 0, len = 0; i < w.size(); i += len) {
            decodeChar(w, i, len);
            std::string s(w.substr(i, len));
            if (i > 0 && hasPrefix)
                s = prefix + s;
            if (i + len == w.size() && hasSuffix)
                s += suffix;
            if (auto id = lookup(s)) {
                if (unk) {
                    add(unkId, unkLen);
                    unk = false;
                }
                add(*id, len);
                continue;
            }
            if (byteFallback) {
                std::vector<int> ids;
                for (unsigned char b : s) {
                    char name[8];
                    std::snprintf(name, sizeof name, "<0x%02X>", b);
                    if (auto id = lookup(name))
                        ids.push_back(*id);
                    else
                        break;
                }
                if (ids.size() == s.size()) {
                    // As in HF, a pending unknown token is not flushed here.
                    for (int id : ids)
                        add(id, 1);
                    continue;
                }
            }
            if (hasUnk) {
                const auto id = lookup(unkToken);
                if (!id)
                    throw Error("the BPE unknown token '" + unkToken +
                                "' is not in the vocabulary");
                if (unk && fuseUnk) {
                    unkLen += len;
                } else {
                    if (unk)
                        add(unkId, unkLen);
                    unk = true;
                    unkId = *id;
                    unkLen = len;
                }
            }
        }
        if (unk)
            add(unkId, unkLen);
        if (!sym.empty())
            sym.back().next = -1;
        mergeAll(sym);
        std::vector<Token> out;
        std::size_t pos = 0;
        for (const Symbol& s : sym) {
            if (s.len == 0)
                continue;
            out.push_back(
                Token{s.id, m_idToToken[static_cast<std::size_t>(s.id)], pos, pos + s.len});
            pos += s.len;
        }
        return out;
    }

    void mergeAll(std::vector<Symbol>& sym) const {
        struct Merge {
            std::size_t pos;
            int rank, newId;
            bool operator<(const Merge& o) const { // max-heap: lowest rank, then pos, on top
                return rank != o.rank ? rank > o.rank : pos > o.pos;
            }
        };
        std::priority_queue<Merge> queue;
        auto find = [&](int a, int b) -> const MergeTarget* {
            auto it = mergeMap.find(pairKey(a, b));
            return it == mergeMap.end() ? nullptr : &it->second;
        };
        for (std::size_t i = 0; i + 1 < sym.size(); ++i)
            if (const auto* m = find(sym[i].id, sym[i + 1].id))
                queue.push({i, m->rank, m->newId});
        while (!queue.empty()) {
            const Merge top = queue.top();
            queue.pop();
            Symbol& cur = sym[top.pos];
            if (cur.len == 0 || cur.next < 0)
                continue;
            const auto nextPos = static_cast<std::size_t>(cur.next);
            const Symbol right = sym[nextPos];
            const auto* m = find(cur.id, right.id);
            if (!m || m->newId != top.newId)
                continue; // stale entry
            cur.id = top.newId;
            cur.len += right.len;
            cur.next = right.next;
            sym[nextPos].len = 0;
            if (right.next >= 0 && static_cast<std::size_t>(right.next) < sym.size())
                sym[static_cast<std::size_t>(right.next)].prev = static_cast<int>(top.pos);
            if (cur.prev >= 0) {
                if (const auto* pm = find(sym[static_cast<std::size_t>(cur.prev)].id, cur.id))
                    queue.push({static_cast<std::size_t>(cur.prev), pm->rank, pm->newId});
            }
            if (cur.next >= 0) {
                if (const auto* nm = find(cur.id, sym[static_cast<std::size_t>(cur.next)].id))
                    queue.push({top.pos, nm->rank, nm->newId});
            }
        }
    }

    mutable std::mutex m_cacheMutex;
    mutable std::unordered_map<std::string, std::vector<Token>> m_cache;
};

void addMerge(Bpe& m, const nlohmann::json& mg, const std::string& where) {
    if (mg.is_string()) {
        const std::string s = mg.get<std::string>();
        const auto sp = s.find(' ');
        if (sp == std::string::npos)
            throw Error(where + ": malformed merge '" + s + "'");
        m.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else if (mg.is_array() && mg.size() == 2 && mg[0].is_string() && mg[1].is_string()) {
        m.merges.emplace_back(mg[0].get<std::string>(), mg[1].get<std::string>());
    } else {
        throw Error(where + ": malformed merge entry");
    }
}

std::optional<std::string> optionalString(const nlohmann::json& j, const char* key,
                                          const std::string& where) {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null())
        return std::nullopt;
    if (!it->is_string())
        throw Error(where + ": '" + key + "' has the wrong type");
    return it->get<std::string>();
}

} // namespace

std::unique_ptr<Model> makeBpeModel(const nlohmann::json& j, const std::string& where) {
    auto m = std::make_unique<Bpe>();
    if (!j.contains("vocab"))
        throw Error(where + ": the BPE model has no vocabulary");
    if (!j.contains("merges") || !j["merges"].is_array())
        throw Error(where + ": the BPE model has no merges list");
    for (const auto& mg : j["merges"])
        addMerge(*m, mg, where);
    if (auto s = optionalString(j, "unk_token", where)) {
        m->hasUnk = true;
        m->unkToken = *s;
    }
    if (auto s = optionalString(j, "continuing_subword_prefix", where)) {
        m->hasPrefix = true;
        m->prefix = *s;
    }
    if (auto s = optionalString(j, "end_of_word_suffix", where)) {
        m->hasSuffix = true;
        m->suffix = *s;
    }
    m->fuseUnk = jsonField(j, "fuse_unk", false, where);
    m->byteFallback = jsonField(j, "byte_fallback", false, where);
    m->ignoreMerges = jsonField(j, "ignore_merges", false, where);
    if (j.contains("dropout") && j["dropout"].is_number())
        m->dropout = j["dropout"].get<double>();
    m->readVocab(j["vocab"], where);
    std::unordered_map<std::string, int> vocab;
    vocab.swap(m->m_vocab);
    m->build(std::move(vocab));
    return m;
}

std::unique_ptr<Model> makeBpe(std::unordered_map<std::string, int> vocab,
                               std::vector<std::pair<std::string, std::string>> merges) {
    auto m = std::make_unique<Bpe>();
    m->merges = std::move(merges);
    m->build(std::move(vocab));
    return m;
}

} // namespace scalpel::tok
