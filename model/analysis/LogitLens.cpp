#include "LogitLens.h"

#include "Attribution.h"
#include "Error.h"
#include "ModelInternals.h"

#include <chrono>

namespace scalpel {

LogitLens logitLensIds(const LanguageModel& model, const std::vector<int>& ids, int answerId,
                       const LogitLensOptions& o) {
    if (ids.empty())
        throw Error("the prompt is empty");
    if (o.topK <= 0)
        throw Error("top-k must be positive, got " + std::to_string(o.topK));
    if (static_cast<int64_t>(ids.size()) > model.config().contextLength)
        throw Error("the prompt has " + std::to_string(ids.size()) +
                    " tokens, more than the model's context of " +
                    std::to_string(model.config().contextLength));
    if (answerId >= model.config().vocabSize)
        throw Error("answer token id " + std::to_string(answerId) + " is outside the vocabulary");
    const auto start = std::chrono::steady_clock::now();
    TransformerImpl& net = network(model);
    torch::NoGradGuard g;
    const int L = net.layers();
    const int64_t T = static_cast<int64_t>(ids.size());
    std::vector<torch::Tensor> residual;
    auto h = net.embed(idsTensor(model, ids), 0);
    for (int l = 0; l < L; ++l) {
        h = net.block(l, h);
        residual.push_back(h[0]);
    }
    auto probs = torch::softmax(net.unembed(net.finalNorm(torch::stack(residual))), -1); // [L,T,V]
    const int k = std::min<int>(o.topK, static_cast<int>(probs.size(2)));
    auto [vals, idx] = probs.topk(k, -1);
    vals = vals.to(torch::kCPU).to(torch::kDouble).contiguous();
    idx = idx.to(torch::kCPU).contiguous();
    LogitLens lens;
    lens.layers = L;
    lens.positions = static_cast<int>(T);
    lens.ids = ids;
    for (int id : ids)
        lens.tokens.push_back(model.tokenizer().tokenText(id));
    auto va = vals.accessor<double, 3>();
    auto ia = idx.accessor<int64_t, 3>();
    for (int l = 0; l < L; ++l)
        for (int64_t t = 0; t < T; ++t) {
            std::vector<TokenProb> cell;
            for (int i = 0; i < k; ++i) {
                const int id = static_cast<int>(ia[l][t][i]);
                cell.push_back({id, model.tokenizer().tokenText(id), va[l][t][i]});
            }
            lens.top.push_back(std::move(cell));
        }
    // The position the prompt asks at: the last, or a masked model's mask.
    const int64_t q = model.queryPositions(ids).front();
    lens.answerId = answerId >= 0 ? answerId : static_cast<int>(ia[L - 1][q][0]);
    lens.answer = model.tokenizer().tokenText(lens.answerId);
    auto last = probs.select(1, q); // [L, V]
    auto p = last.select(1, lens.answerId).unsqueeze(1);
    auto rank = (last > p).sum(1).to(torch::kCPU);
    auto pc = p.squeeze(1).to(torch::kCPU).to(torch::kDouble);
    for (int l = 0; l < L; ++l) {
        lens.answerProb.push_back(pc[l].item<double>());
        lens.answerRank.push_back(static_cast<int>(rank[l].item<int64_t>()) + 1);
    }
    lens.elapsedMs =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return lens;
}

LogitLens logitLens(const LanguageModel& model, const std::string& prompt,
                    const std::string& answer, const LogitLensOptions& o) {
    const PreparedPrompt p = model.prepare(prompt, o.addSpecialTokens);
    if (!p.unknownWords.empty())
        throw Error("the prompt's word '" + p.unknownWords[0] +
                    "' is unknown to the model's tokenizer");
    LogitLens lens =
        logitLensIds(model, p.ids, answer.empty() ? -1 : encodeTarget(model, answer)[0], o);
    lens.tokens = p.tokens;
    return lens;
}

} // namespace scalpel
