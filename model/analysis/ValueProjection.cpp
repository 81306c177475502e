#include "ValueProjection.h"

#include "Attribution.h"
#include "Error.h"
#include "ModelInternals.h"

#include <chrono>

namespace scalpel {

namespace {

void checkTopK(int k) {
    if (k <= 0)
        throw Error("top-k must be positive, got " + std::to_string(k));
}

void checkToken(const LanguageModel& model, int id) {
    if (id < 0 || id >= model.config().vocabSize)
        throw Error("token id " + std::to_string(id) + " is outside the vocabulary (0-" +
                    std::to_string(model.config().vocabSize - 1) + ")");
}

std::vector<TokenScore> scores(const LanguageModel& model, const torch::Tensor& values,
                               const torch::Tensor& ids) {
    auto v = values.to(torch::kCPU).to(torch::kDouble).contiguous();
    auto i = ids.to(torch::kCPU).contiguous();
    std::vector<TokenScore> out;
    for (int64_t k = 0; k < v.numel(); ++k) {
        const int id = static_cast<int>(i[k].item<int64_t>());
        out.push_back({id, model.tokenizer().tokenText(id), v[k].item<double>()});
    }
    return out;
}

} // namespace

ValueProjection projectValueVector(const LanguageModel& model, int layer, int neuron, int topK,
                                   bool finalNorm) {
    checkNeuron(model, layer, neuron);
    checkTopK(topK);
    TransformerImpl& net = network(model);
    torch::NoGradGuard g;
    auto v = net.valueVector(layer, neuron).to(torch::kFloat);
    if (finalNorm)
        v = net.finalNorm(v.unsqueeze(0))[0];
    auto logits = net.unembed(v.to(net.unembedding().scalar_type()));
    const int k = std::min<int>(topK, static_cast<int>(logits.numel()));
    ValueProjection p;
    p.layer = layer;
    p.neuron = neuron;
    p.finalNorm = finalNorm;
    auto [hv, hi] = logits.topk(k, 0, true);
    auto [lv, li] = logits.topk(k, 0, false);
    p.top = scores(model, hv, hi);
    p.bottom = scores(model, lv, li);
    return p;
}

NeuronSearch neuronsPromoting(const LanguageModel& model, int tokenId, int topK,
                              const std::vector<int>& promptIds) {
    checkToken(model, tokenId);
    checkTopK(topK);
    if (static_cast<int64_t>(promptIds.size()) > model.config().contextLength)
        throw Error("the prompt has " + std::to_string(promptIds.size()) +
                    " tokens, more than the model's context of " +
                    std::to_string(model.config().contextLength));
    const auto start = std::chrono::steady_clock::now();
    TransformerImpl& net = network(model);
    torch::NoGradGuard g;
    const int L = net.layers(), N = net.neurons();
    const auto e = net.unembeddingRow(tokenId);
    // Every value vector's dot product with E[token]: one matrix-vector
    // product per layer, straight from the weights.
    std::vector<torch::Tensor> dots;
    for (int l = 0; l < L; ++l)
        dots.push_back(torch::mv(net.downProjection(l), e.to(net.downProjection(l).scalar_type())));
    auto dot = torch::stack(dots).to(torch::kFloat); // [L, N]
    torch::Tensor act;
    if (!promptIds.empty()) {
        std::vector<torch::Tensor> a(L);
        Hooks reads;
        for (int l = 0; l < L; ++l)
            reads.add({HookSite::Neurons, l, HookOp::Read, -1, {}, {}, &a[l]});
        net.hidden(idsTensor(model, promptIds), &reads);
        std::vector<torch::Tensor> last;
        for (int l = 0; l < L; ++l)
            last.push_back(a[l][0][static_cast<int64_t>(promptIds.size()) - 1]);
        act = torch::stack(last).to(torch::kFloat); // [L, N]
    }
    auto score = act.defined() ? act * dot : dot;
    const int k = std::min<int>(topK, L * N);
    auto [sv, si] = score.reshape({-1}).topk(k);
    si = si.to(torch::kCPU);
    auto dotCpu = dot.to(torch::kCPU).to(torch::kDouble).reshape({-1});
    auto actCpu = act.defined() ? act.to(torch::kCPU).to(torch::kDouble).reshape({-1}) : act;
    auto scoreCpu = score.to(torch::kCPU).to(torch::kDouble).reshape({-1});
    NeuronSearch s;
    s.tokenId = tokenId;
    s.token = model.tokenizer().tokenText(tokenId);
    s.withPrompt = !promptIds.empty();
    for (int i = 0; i < k; ++i) {
        const int64_t flat = si[i].item<int64_t>();
        NeuronPush p;
        p.layer = static_cast<int>(flat / N);
        p.neuron = static_cast<int>(flat % N);
        p.dot = dotCpu[flat].item<double>();
        p.activation = actCpu.defined() ? actCpu[flat].item<double>() : 0.0;
        p.score = scoreCpu[flat].item<double>();
        s.neurons.push_back(p);
    }
    s.elapsedMs =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return s;
}

int singleToken(const LanguageModel& model, const std::string& text) {
    const auto ids = encodeTarget(model, text);
    if (ids.size() != 1)
        throw Error("'" + text + "' is " + std::to_string(ids.size()) +
                    " tokens for this model's tokenizer; give a single token");
    return ids[0];
}

} // namespace scalpel
