// Hugging Face's Unigram model: the Viterbi path through every vocabulary
// piece that starts at each character, unknown characters scored at the
// lowest score minus 10 and fused into one unknown token, byte fallback.
#include "Error.h"
#include "JsonFields.h"
#include "TokenizerModels.h"

#include <algorithm>
#include <cstdio>

namespace scalpel::tok {

namespace {

constexpr double kUnkPenalty = 10.0;

class Unigram : public Model {
public:
    std::vector<std::pair<std::string, double>> pieces;
    std::optional<int> unkId;
    bool byteFallback = false;
    double minScore = 0;
    std::size_t maxPieceBytes = 0;

    const char* type() const override { return "Unigram"; }
    std::optional<int> unknownId() const override { return unkId; }

    std::vector<Token> tokenize(std::string_view s) const override {
        std::vector<Token> out;
        std::size_t offset = 0;
        for (const std::string& piece : viterbi(s)) {
            const std::size_t len = piece.size();
            if (auto id = tokenToId(piece)) {
                out.push_back(Token{*id, piece, offset, offset + len});
            } else if (byteFallback && bytesKnown(piece)) {
                for (unsigned char b : piece) {
                    const std::string name = byteName(b);
                    out.push_back(Token{*tokenToId(name), name, offset, offset + len});
                }
            } else {
                if (!unkId)
                    throw Error("the Unigram model has no unknown token for '" + utf8Lossy(piece) +
                                "'");
                out.push_back(Token{*unkId, utf8Lossy(piece), offset, offset + len});
            }
            offset += len;
        }
        return out;
    }

    nlohmann::ordered_json toJson() const override {
        nlohmann::ordered_json v = nlohmann::ordered_json::array();
        for (const auto& [p, score] : pieces)
            v.push_back(nlohmann::ordered_json::array({p, score}));
        return {{"type", "Unigram"},
                {"unk_id", unkId ? nlohmann::ordered_json(*unkId) : nullptr},
                {"vocab", v},
                {"byte_fallback", byteFallback}};
    }

private:
    static std::string byteName(unsigned char b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        return name;
    }
    bool bytesKnown(const std::string& piece) const {
        return std::all_of(piece.begin(), piece.end(), [&](char b) {
            return tokenToId(byteName(static_cast<unsigned char>(b))).has_value();
        });
    }

    // HF's encode_optimized: best path ending at each byte position.
    std::vector<std::string> viterbi(std::string_view s) const {
        struct Node {
            int id = -1;
            double score = 0;
            std::ptrdiff_t startsAt = -1;
        };
        const double unkScore = minScore - kUnkPenalty;
        std::vector<Node> best(s.size() + 1);
        for (std::size_t at = 0, mblen = 0; at < s.size(); at += mblen) {
            decodeChar(s, at, mblen);
            const double here = best[at].score;
            bool single = false;
            const std::size_t maxLen = std::min(maxPieceBytes, s.size() - at);
            for (std::size_t len = 1; len <= maxLen; ++len) {
                const auto id = tokenToId(std::string(s.substr(at, len)));
                if (!id)
                    continue;
                Node& target = best[at + len];
                const double candidate = pieces[static_cast<std::size_t>(*id)].second + here;
                if (target.startsAt < 0 || candidate > target.score)
                    target = {*id, candidate, static_cast<std::ptrdiff_t>(at)};
                single = single || len == mblen;
            }
            if (!single) {
                if (!unkId)
                    throw Error("the Unigram model has no unknown token (unk_id)");
                Node& target = best[at + mblen];
                const double candidate = unkScore + here;
                if (target.startsAt < 0 || candidate > target.score)
                    target = {*unkId, candidate, static_cast<std::ptrdiff_t>(at)};
            }
        }
        std::vector<std::string> out;
        std::string fused; // unknown pieces next to each other become one
        for (std::size_t end = s.size(); end > 0;) {
            const Node& n = best[end];
            const auto start = static_cast<std::size_t>(n.startsAt);
            const std::string piece(s.substr(start, end - start));
            if (unkId && n.id == *unkId) {
                fused = piece + fused;
            } else {
                if (!fused.empty()) {
                    out.push_back(fused);
                    fused.clear();
                }
                out.push_back(piece);
            }
            end = start;
        }
        if (!fused.empty())
            out.push_back(fused);
        std::reverse(out.begin(), out.end());
        return out;
    }
};

} // namespace

std::unique_ptr<Model> makeUnigramModel(const nlohmann::json& j, const std::string& where) {
    auto m = std::make_unique<Unigram>();
    const auto it = j.find("vocab");
    if (it == j.end() || !it->is_array())
        throw Error(where + ": the Unigram model has no vocabulary list");
    if (it->empty())
        throw Error(where + ": the Unigram model's vocabulary is empty");
    std::unordered_map<std::string, int> vocab;
    for (const auto& e : *it) {
        if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
            throw Error(where + ": a Unigram vocabulary entry is not [piece, score]");
        const std::string p = e[0].get<std::string>();
        const double score = e[1].get<double>();
        vocab.emplace(p, static_cast<int>(m->pieces.size()));
        m->pieces.emplace_back(p, score);
        m->maxPieceBytes = std::max(m->maxPieceBytes, p.size());
    }
    m->minScore = m->pieces[0].second;
    for (const auto& pc : m->pieces)
        m->minScore = std::min(m->minScore, pc.second);
    const long long unk = jsonField(j, "unk_id", -1LL, where);
    if (unk >= static_cast<long long>(m->pieces.size()))
        throw Error(where + ": the Unigram unk_id is out of range");
    if (unk >= 0)
        m->unkId = static_cast<int>(unk);
    m->byteFallback = jsonField(j, "byte_fallback", false, where);
    m->setVocab(std::move(vocab));
    return m;
}

} // namespace scalpel::tok
