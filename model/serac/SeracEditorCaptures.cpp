// SeracEditor::captures: many texts scored against every edit at once, for
// check-edits and the test cards (see SeracEditor.h).
#include "SeracEditor.h"

#include "SeracEditorImpl.h"

namespace scalpel {

std::vector<std::vector<ScopeScore>>
SeracEditor::captures(const std::vector<std::string>& texts, int topK,
                      const std::vector<std::vector<std::string>>& exclude,
                      double candidateFloor) const {
    const Impl& in = *d;
    std::vector<std::vector<ScopeScore>> out(texts.size());
    const auto n = static_cast<int64_t>(in.entries.size());
    if (n == 0 || texts.empty())
        return out;
    if (!exclude.empty() && exclude.size() != texts.size())
        throw Error("captures: one exclusion list per text, or none");
    torch::NoGradGuard guard;
    const int64_t k = std::min<int64_t>(std::max(1, topK), n);
    const float threshold = static_cast<float>(in.threshold);
    const float minusInf = -std::numeric_limits<float>::infinity();
    // Only an embedding probability above the threshold captures outside
    // the rescored candidates: logit > logit(threshold).
    const float captureLogit = std::log(threshold / (1 - threshold));
    const float floorLogit =
        candidateFloor <= 0   ? minusInf
        : candidateFloor >= 1 ? std::numeric_limits<float>::infinity()
                              : static_cast<float>(std::log(candidateFloor / (1 - candidateFloor)));
    auto edits = in.embeddingMatrix();
    const int ctx = in.crossNet->config().nPositions;

    // Stage 1, the embedding stage for every text: the (text, candidate)
    // pairs worth rescoring (among the best k, an embedding probability at
    // least candidateFloor) with their embedding logits, and the captures
    // outside the best k, which are the embedding stage's word.
    struct Pair {
        std::size_t text;
        int64_t entry;
        float prior;
    };
    std::vector<Pair> pairs;
    std::vector<std::vector<int>> seqs(texts.size());
    for (std::size_t from = 0; from < texts.size(); from += kEmbedBatch) {
        const std::size_t to = std::min(texts.size(), from + kEmbedBatch);
        const std::size_t count = to - from;
        for (std::size_t i = from; i < to; ++i) {
            seqs[i] = in.encodeForScope(texts[i]);
            if (seqs[i].empty())
                throw Error("text " + std::to_string(i + 1) + " is empty");
        }
        auto b = makeBatch({seqs.begin() + static_cast<std::ptrdiff_t>(from),
                            seqs.begin() + static_cast<std::ptrdiff_t>(to)},
                           in.pad);
        auto q = in.embedNet->embed(b.ids.to(in.device), b.lengths.to(in.device)); // [B, dim]
        auto sims = torch::matmul(q, edits.t());                                   // [B, n]
        auto logits = in.embedNet->distanceToLogit(2.0 - 2.0 * sims).to(torch::kCPU).contiguous();
        float* lp = logits.data_ptr<float>();
        if (!exclude.empty())
            for (std::size_t t = 0; t < count; ++t)
                for (const std::string& id : exclude[from + t]) {
                    const auto row = in.rowOf.find(id);
                    if (row != in.rowOf.end())
                        lp[static_cast<int64_t>(t) * n + static_cast<int64_t>(row->second)] =
                            minusInf;
                }
        // The logit is monotone in the similarity: the best k by logit are
        // the best k by embedding.
        auto best = std::get<1>(torch::topk(logits, k, 1, true, true)).contiguous();
        const int64_t* bp = best.data_ptr<int64_t>();
        for (std::size_t t = 0; t < count; ++t)
            for (int64_t c = 0; c < k; ++c) {
                const int64_t e = bp[static_cast<int64_t>(t) * k + c];
                const float l = lp[static_cast<int64_t>(t) * n + e];
                if (l != minusInf && l >= floorLogit)
                    pairs.push_back({from + t, e, l});
            }
        auto above = torch::nonzero(logits > captureLogit).contiguous(); // [m, 2]
        const int64_t* ap = above.data_ptr<int64_t>();
        for (int64_t r = 0; r < above.size(0); ++r) {
            const int64_t t = ap[2 * r], e = ap[2 * r + 1];
            const int64_t* rescored = bp + t * k;
            if (std::find(rescored, rescored + k, e) != rescored + k)
                continue;
            const float l = lp[t * n + e];
            out[from + static_cast<std::size_t>(t)].push_back(
                {in.entries[static_cast<std::size_t>(e)].id, 1 / (1 + std::exp(-l)), kEmbedding});
        }
    }

    // Stage 2, cross-attention on every pair. The network reads the edit
    // part first, so an edit's part runs once for all its inputs and each
    // input runs after that part's keys and values: pairs grouped by the
    // part's length (a cache without padding), a chunk of edits at a time
    // (bounded memory), inputs sorted by length (little padding). A pair
    // that must be cut to fit the context runs whole.
    auto crossPart = [&](const Pair& p) -> const std::vector<int>& {
        return in.crossPartOf(static_cast<std::size_t>(p.entry));
    };
    std::vector<float> cross(pairs.size());
    auto finish = [&](const std::vector<std::size_t>& which, const torch::Tensor& pairLogits) {
        std::vector<float> prior;
        for (const std::size_t p : which)
            prior.push_back(pairs[p].prior);
        auto pr =
            torch::from_blob(prior.data(), {static_cast<int64_t>(prior.size())}, torch::kFloat)
                .to(in.device);
        auto pp = torch::sigmoid(pairLogits.sum(1) + pr).to(torch::kCPU).contiguous();
        for (std::size_t i = 0; i < which.size(); ++i)
            cross[which[i]] = pp.data_ptr<float>()[i];
    };
    std::vector<std::size_t> whole, cached;
    for (std::size_t p = 0; p < pairs.size(); ++p)
        (crossInputIsWhole(crossPart(pairs[p]).size(), seqs[pairs[p].text].size(), ctx) ? cached
                                                                                        : whole)
            .push_back(p);
    if (!in.crossNet->lm->rowsMayShareCausalPrefix()) {
        whole.insert(whole.end(), cached.begin(), cached.end());
        cached.clear();
    }
    std::sort(cached.begin(), cached.end(), [&](std::size_t x, std::size_t y) {
        const auto lx = crossPart(pairs[x]).size(), ly = crossPart(pairs[y]).size();
        return lx != ly ? lx < ly : pairs[x].entry < pairs[y].entry;
    });
    constexpr std::size_t kPrefixChunk = 512; // distinct edit parts at a time
    for (std::size_t g0 = 0; g0 < cached.size();) {
        // One chunk: pairs of up to kPrefixChunk edits, all of one part length.
        const std::size_t length = crossPart(pairs[cached[g0]]).size();
        std::vector<int64_t> chunkEntries;
        std::vector<int64_t> rowOfPair;
        std::size_t g1 = g0;
        for (; g1 < cached.size(); ++g1) {
            const Pair& p = pairs[cached[g1]];
            if (crossPart(p).size() != length)
                break;
            if (chunkEntries.empty() || chunkEntries.back() != p.entry) {
                if (chunkEntries.size() == kPrefixChunk)
                    break;
                chunkEntries.push_back(p.entry);
            }
            rowOfPair.push_back(static_cast<int64_t>(chunkEntries.size()) - 1);
        }
        std::vector<std::vector<int>> parts;
        for (const int64_t e : chunkEntries)
            parts.push_back(in.crossPartOf(static_cast<std::size_t>(e)));
        const KvCache prefix = in.crossNet->prefixCache(makeBatch(parts, in.pad).ids.to(in.device));
        std::vector<std::size_t> order(g1 - g0);
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
            return seqs[pairs[cached[g0 + x]].text].size() <
                   seqs[pairs[cached[g0 + y]].text].size();
        });
        for (std::size_t b0 = 0; b0 < order.size(); b0 += kCrossBatch) {
            const std::size_t b1 = std::min(order.size(), b0 + kCrossBatch);
            std::vector<std::size_t> which;
            std::vector<std::vector<int>> inputs;
            std::vector<int64_t> rows;
            for (std::size_t i = b0; i < b1; ++i) {
                which.push_back(cached[g0 + order[i]]);
                inputs.push_back(seqs[pairs[which.back()].text]);
                rows.push_back(rowOfPair[order[i]]);
            }
            auto batch = makeBatch(inputs, in.pad);
            finish(which, in.crossNet->pairLogitsAfter(
                              prefix, torch::tensor(rows, torch::kLong).to(in.device),
                              batch.ids.to(in.device), batch.lengths.to(in.device)));
        }
        g0 = g1;
    }
    std::sort(whole.begin(), whole.end(), [&](std::size_t x, std::size_t y) {
        const auto lx = crossPart(pairs[x]).size() + seqs[pairs[x].text].size();
        const auto ly = crossPart(pairs[y]).size() + seqs[pairs[y].text].size();
        return lx != ly ? lx < ly : x < y;
    });
    for (std::size_t p0 = 0; p0 < whole.size(); p0 += kCrossBatch) {
        const std::size_t p1 = std::min(whole.size(), p0 + kCrossBatch);
        const std::vector<std::size_t> which(whole.begin() + static_cast<std::ptrdiff_t>(p0),
                                             whole.begin() + static_cast<std::ptrdiff_t>(p1));
        std::vector<std::vector<int>> inputs;
        for (const std::size_t p : which)
            inputs.push_back(crossInput(crossPart(pairs[p]), seqs[pairs[p].text], ctx));
        auto batch = makeBatch(inputs, in.pad);
        finish(which,
               in.crossNet->pairLogits(batch.ids.to(in.device), batch.lengths.to(in.device)));
    }
    for (std::size_t p = 0; p < pairs.size(); ++p)
        if (cross[p] > threshold)
            out[pairs[p].text].push_back(
                {in.entries[static_cast<std::size_t>(pairs[p].entry)].id, cross[p], kCross});
    for (auto& scores : out)
        std::stable_sort(scores.begin(), scores.end(),
                         [](const ScopeScore& x, const ScopeScore& y) { return x.prob > y.prob; });
    return out;
}

} // namespace scalpel
