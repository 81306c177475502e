#include "Attribution.h"

#include "Error.h"
#include "ModelInternals.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

namespace scalpel {

namespace {

using Clock = std::chrono::steady_clock;

// P(target | prompt) per row from the last block's output h [R, n, D], and
// a scalar whose gradient with respect to h is the gradient of the sum of
// those probabilities. The vocabulary-sized part (logits, softmax, and its
// product with the embedding) is done once, by hand, outside autograd:
// d log P / d x_i = E[t_i] - softmax_i E at each teacher-forced position i,
// with x = the final norm of h and E the unembedding.
struct TargetProbability {
    torch::Tensor prob;      // [R], no gradient
    torch::Tensor surrogate; // scalar; d surrogate / d h = d sum(prob) / d h
};

TargetProbability targetProbability(TransformerImpl& net, const torch::Tensor& h,
                                    const torch::Tensor& target) {
    auto x = net.finalNorm(h); // [R, n, D]
    const auto unembedding = net.unembedding();
    const int64_t R = x.size(0), n = x.size(1), D = x.size(2);
    TargetProbability out;
    torch::Tensor direction; // [R, n, D]
    {
        torch::NoGradGuard g;
        auto logp =
            torch::log_softmax(torch::mm(x.detach().reshape({R * n, D}), unembedding.t()), -1);
        auto idx = target.repeat({R}).unsqueeze(1);               // [R * n, 1]
        out.prob = logp.gather(1, idx).view({R, n}).sum(1).exp(); // [R]
        auto expected = torch::mm(logp.exp_(), unembedding);      // [R * n, D]
        direction = (unembedding.index_select(0, target).repeat({R, 1}) - expected).view({R, n, D});
    }
    out.surrogate = (out.prob.view({R, 1, 1}) * direction * x).sum();
    return out;
}

torch::Tensor alphas(int steps, const torch::Device& device) {
    return torch::arange(1, steps + 1, torch::TensorOptions().dtype(torch::kFloat).device(device)) /
           static_cast<double>(steps);
}

void checkInputs(const LanguageModel& model, const std::vector<int>& promptIds,
                 const std::vector<int>& targetIds, int steps) {
    if (promptIds.empty())
        throw Error("the prompt is empty");
    if (targetIds.empty())
        throw Error("the target is empty");
    if (steps <= 0)
        throw Error("the number of integration steps must be positive, got " +
                    std::to_string(steps));
    const auto total = promptIds.size() + targetIds.size() - 1;
    if (total > static_cast<std::size_t>(model.config().contextLength))
        throw Error("prompt and target together have " + std::to_string(total) +
                    " tokens, more than the model's context of " +
                    std::to_string(model.config().contextLength));
}

// The prompt followed by all target tokens but the last (teacher forcing),
// or for a masked model the prompt with one mask per target token, and the
// target ids, on the model's device.
struct Sequence {
    torch::Tensor ids;    // [1, T + n - 1]
    torch::Tensor target; // [n]
    int64_t promptLength = 0;
    int64_t targetLength = 0;
    int64_t position = 0; // the attributed position; its logits score target[0]
};

Sequence teacherForced(const LanguageModel& model, const std::vector<int>& promptIds,
                       const std::vector<int>& targetIds) {
    const AnswerSequence seq = answerSequence(model, promptIds, targetIds);
    Sequence s;
    s.position = seq.position;
    s.ids = idsTensor(model, seq.ids);
    s.target = torch::tensor(std::vector<int64_t>(targetIds.begin(), targetIds.end()), torch::kLong)
                   .to(deviceOf(model));
    s.promptLength = static_cast<int64_t>(promptIds.size());
    s.targetLength = static_cast<int64_t>(targetIds.size());
    return s;
}

AttributionGrid emptyGrid(const LanguageModel& model) {
    AttributionGrid grid;
    grid.layers = model.config().layers;
    grid.neurons = model.config().neurons;
    grid.scores.resize(static_cast<std::size_t>(grid.layers) * grid.neurons);
    return grid;
}

void setLayerScores(AttributionGrid& grid, int layer, const torch::Tensor& scores) {
    auto s = scores.detach().to(torch::kCPU).contiguous();
    std::copy(s.data_ptr<float>(), s.data_ptr<float>() + grid.neurons,
              grid.scores.begin() + static_cast<std::ptrdiff_t>(layer) * grid.neurons);
}

AttributionGrid attributeFast(const LanguageModel& model, const std::vector<int>& promptIds,
                              const std::vector<int>& targetIds, const AttributionOptions& o) {
    TransformerImpl& net = network(model);
    const int L = net.layers();
    const int m = o.steps;
    const Sequence sq = teacherForced(model, promptIds, targetIds);
    const int64_t T = sq.promptLength, n = sq.targetLength;
    const auto& ids = sq.ids;
    const auto& target = sq.target;

    // The prefix (all prompt tokens but the last) never changes: run it once.
    // Only its keys and values are needed, not its logits.
    KvCache prefix;
    {
        torch::NoGradGuard g;
        if (T > 1) {
            auto h = net.embed(ids.narrow(1, 0, T - 1), 0);
            AttentionContext grow;
            grow.cache = &prefix;
            for (int l = 0; l < L; ++l)
                h = net.block(l, h, grow);
        }
    }
    AttentionContext onPrefix; // the suffix rows read the prefix, never grow it
    onPrefix.prefix = &prefix;
    AttentionContext sharedPrefix = onPrefix;
    sharedPrefix.sharedPrefix = true;

    // Each layer's unmodified neurons at the attributed position, the
    // residual its FFN output joins, the block's output, and the neurons'
    // summed value vectors (x W, without the bias), computed once. The
    // unmodified probability is the last (alpha = 1) row of the batch below,
    // so this pass stops before the vocabulary projection.
    std::vector<torch::Tensor> neurons(L), residual(L), output(L), values(L);
    {
        torch::NoGradGuard g;
        auto h = net.embed(ids.narrow(1, T - 1, n), T - 1);
        for (int l = 0; l < L; ++l) {
            const FfnSplit split = net.attend(l, h, onPrefix);
            auto a = net.ffnNeurons(l, split.ffnInput);
            residual[l] = split.residual;
            neurons[l] = a[0][0];
            values[l] = torch::matmul(neurons[l], net.downProjection(l)); // [D]
            h = split.residual + net.ffnDown(l, a);
            output[l] = h;
        }
    }

    // All layers' m scaled copies in one growing batch: group l joins at
    // layer l with its neurons at suffix position 0 scaled by alpha. The FFN's
    // output is linear in them, so copy k adds alpha_k (x W) to the residual;
    // the gradient with respect to that added vector, summed over the copies
    // and taken back through W once, is the summed gradient with respect to
    // the neurons. The alpha = 1 copy is the unmodified input for every layer,
    // so only group 0 has one (row m - 1); for a later layer l that row gets a
    // zero vector added after block l, whose gradient is layer l's alpha = 1
    // gradient.
    auto alpha = alphas(m, deviceOf(model)).unsqueeze(1);
    std::vector<torch::Tensor> added(L), atOne(L);
    torch::Tensor rows;
    for (int l = 0; l < L; ++l) {
        const int64_t copies = l == 0 ? m : m - 1;
        if (rows.defined()) {
            rows = net.block(l, rows, sharedPrefix);
            atOne[l] = torch::zeros({1, 1, rows.size(2)}, rows.options()).requires_grad_(true);
            auto shared = rows.narrow(0, m - 1, 1);
            auto touched =
                n > 1
                    ? torch::cat({shared.narrow(1, 0, 1) + atOne[l], shared.narrow(1, 1, n - 1)}, 1)
                    : shared + atOne[l];
            rows = torch::cat(
                {rows.narrow(0, 0, m - 1), touched, rows.narrow(0, m, rows.size(0) - m)}, 0);
        }
        if (copies > 0) {
            added[l] = (alpha.narrow(0, 0, copies) * values[l].unsqueeze(0))
                           .detach()
                           .requires_grad_(true); // [copies, D]
            const torch::Tensor bias = net.downBias(l);
            auto base = bias.defined() ? residual[l][0][0] + bias : residual[l][0][0];
            auto first = base.unsqueeze(0) + added[l];
            torch::Tensor group = first.unsqueeze(1); // [copies, 1, D]
            if (n > 1)
                group =
                    torch::cat({group, output[l].narrow(1, 1, n - 1).expand({copies, -1, -1})}, 1);
            rows = rows.defined() ? torch::cat({rows, group}, 0) : group;
        }
        if (o.progress && !o.progress(0.5 * (l + 1) / L))
            throw Cancelled();
    }
    const auto tp = targetProbability(net, rows, target);
    std::vector<torch::Tensor> wrt;
    for (int l = 0; l < L; ++l) {
        if (added[l].defined())
            wrt.push_back(added[l]);
        if (atOne[l].defined())
            wrt.push_back(atOne[l]);
    }
    auto grads = torch::autograd::grad({tp.surrogate}, wrt);
    const double baseProb = tp.prob[m - 1].item<double>(); // group 0 at alpha = 1
    std::vector<torch::Tensor> summed(L);
    for (std::size_t i = 0, l = 0; l < static_cast<std::size_t>(L); ++l) {
        summed[l] = torch::zeros_like(values[l]);
        if (added[l].defined())
            summed[l] = summed[l] + grads[i++].sum(0);
        if (atOne[l].defined())
            summed[l] = summed[l] + grads[i++].view(-1);
    }

    AttributionGrid grid = emptyGrid(model);
    for (int l = 0; l < L; ++l)
        setLayerScores(grid, l, neurons[l] * torch::mv(net.downProjection(l), summed[l]) / m);
    grid.targetProb = baseProb;
    return grid;
}

// The exact faster method for a model without a shared causal prefix (a
// masked model: the neurons at the mask feed every position above their
// layer). Scaling layer l's neurons changes nothing below its FFN, so the
// block inputs and layer l's attention run once, unbatched; only layer l's
// FFN output and the layers above it run for the m scaled copies. The
// arithmetic of each copy is the reference method's.
AttributionGrid attributeBidirectional(const LanguageModel& model,
                                       const std::vector<int>& promptIds,
                                       const std::vector<int>& targetIds,
                                       const AttributionOptions& o) {
    TransformerImpl& net = network(model);
    const int L = net.layers();
    const int m = o.steps;
    const Sequence sq = teacherForced(model, promptIds, targetIds);
    const int64_t P = sq.position, n = sq.targetLength;
    // One unscaled pass: each block's input, and the unmodified probability.
    std::vector<torch::Tensor> inputs(static_cast<std::size_t>(L));
    torch::Tensor baseProb;
    {
        torch::NoGradGuard g;
        auto h = net.embed(sq.ids, 0);
        for (int l = 0; l < L; ++l) {
            inputs[static_cast<std::size_t>(l)] = h;
            h = net.block(l, h);
        }
        baseProb = answerLogProb(net.unembed(net.finalNorm(h.narrow(1, P, n))), sq.target).exp();
    }
    AttributionGrid grid = emptyGrid(model);
    auto alpha = alphas(m, deviceOf(model)).unsqueeze(1);
    const int64_t T = sq.ids.size(1);
    for (int l = 0; l < L; ++l) {
        FfnSplit split;
        torch::Tensor a;
        {
            torch::NoGradGuard g;
            split = net.attend(l, inputs[static_cast<std::size_t>(l)]);
            a = net.ffnNeurons(l, split.ffnInput); // [1, T, N]
        }
        const torch::Tensor x = a[0][P];
        auto scaled = (alpha * x.unsqueeze(0)).requires_grad_(true); // [m, N]
        std::vector<torch::Tensor> parts;
        if (P > 0)
            parts.push_back(a.narrow(1, 0, P).expand({m, -1, -1}));
        parts.push_back(scaled.unsqueeze(1));
        if (P + 1 < T)
            parts.push_back(a.narrow(1, P + 1, T - P - 1).expand({m, -1, -1}));
        auto h = net.finishBlock(l, split.residual.expand({m, -1, -1}),
                                 net.ffnDown(l, torch::cat(parts, 1)));
        for (int k = l + 1; k < L; ++k)
            h = net.block(k, h);
        auto p = answerLogProb(net.unembed(net.finalNorm(h.narrow(1, P, n))), sq.target).exp();
        auto grad = torch::autograd::grad({p.sum()}, {scaled})[0];
        setLayerScores(grid, l, x * grad.sum(0) / m);
        if (o.progress && !o.progress(static_cast<double>(l + 1) / L))
            throw Cancelled();
    }
    grid.targetProb = baseProb.item<double>();
    return grid;
}

AttributionGrid attributeReference(const LanguageModel& model, const std::vector<int>& promptIds,
                                   const std::vector<int>& targetIds, const AttributionOptions& o) {
    TransformerImpl& net = network(model);
    const int L = net.layers();
    const int m = o.steps;
    const Sequence sq = teacherForced(model, promptIds, targetIds);
    const int64_t P = sq.position, n = sq.targetLength;
    const auto& ids = sq.ids;
    const auto& target = sq.target;
    std::vector<torch::Tensor> rec(static_cast<std::size_t>(L));
    Hooks read;
    for (int l = 0; l < L; ++l) {
        Hook h;
        h.site = HookSite::Neurons;
        h.layer = l;
        h.op = HookOp::Read;
        h.sink = &rec[static_cast<std::size_t>(l)];
        read.add(h);
    }
    torch::Tensor baseProb;
    {
        torch::NoGradGuard g;
        auto logits = net.forward(ids, &read);
        baseProb = answerLogProb(logits.narrow(1, P, n), target).exp();
    }
    AttributionGrid grid = emptyGrid(model);
    auto alpha = alphas(m, deviceOf(model)).unsqueeze(1);
    auto batch = ids.expand({m, -1});
    for (int l = 0; l < L; ++l) {
        auto x = rec[static_cast<std::size_t>(l)][0][P].detach();
        Hook rep;
        rep.site = HookSite::Neurons;
        rep.layer = l;
        rep.op = HookOp::Replace;
        rep.position = P;
        rep.value = (alpha * x.unsqueeze(0)).requires_grad_(true);
        Hooks hooks;
        hooks.add(rep);
        auto logits = net.forward(batch, &hooks);
        auto p = answerLogProb(logits.narrow(1, P, n), target).exp();
        auto grad = torch::autograd::grad({p.sum()}, {rep.value})[0];
        setLayerScores(grid, l, x * grad.sum(0) / m);
        if (o.progress && !o.progress(static_cast<double>(l + 1) / L))
            throw Cancelled();
    }
    grid.targetProb = baseProb.item<double>();
    return grid;
}

} // namespace

float AttributionGrid::maxScore() const {
    return scores.empty() ? 0.f : *std::max_element(scores.begin(), scores.end());
}

std::vector<int> encodeTarget(const LanguageModel& model, const std::string& target) {
    const Tokenizer& tok = model.tokenizer();
    std::string text = target;
    if (tok.kind() == Tokenizer::Kind::ByteLevelBpe && !text.empty() && text[0] != ' ')
        text = " " + text;
    // A continuation: no BOS or other special tokens.
    const Encoding e = tok.encodeDetailed(text, false);
    if (e.ids.empty())
        throw Error("the target is empty");
    const auto unknown = e.unknownWords();
    if (!unknown.empty())
        throw Error("the target word '" + unknown[0] + "' is unknown to the model's tokenizer");
    return e.ids;
}

AttributionGrid attributeIds(const LanguageModel& model, const std::vector<int>& promptIds,
                             const std::vector<int>& targetIds, const AttributionOptions& o) {
    checkInputs(model, promptIds, targetIds, o.steps);
    for (int id : targetIds)
        if (id < 0 || id >= model.config().vocabSize)
            throw Error("target token id " + std::to_string(id) + " is outside the vocabulary");
    const auto start = Clock::now();
    // A masked model has no causal prefix to share: its fast method reuses
    // what lies below each attributed layer instead.
    const bool fast = o.method == AttributionMethod::Fast;
    AttributionGrid g = !fast ? attributeReference(model, promptIds, targetIds, o)
                        : network(model).rowsMayShareCausalPrefix()
                            ? attributeFast(model, promptIds, targetIds, o)
                            : attributeBidirectional(model, promptIds, targetIds, o);
    g.promptIds = promptIds;
    for (int id : promptIds)
        g.promptTokens.push_back(model.tokenizer().tokenText(id));
    g.targetIds = targetIds;
    g.target = model.tokenizer().decode(targetIds);
    g.steps = o.steps;
    g.method = fast ? "fast" : "reference";
    g.elapsedMs = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    return g;
}

AttributionGrid attribute(const LanguageModel& model, const std::string& prompt,
                          const std::string& target, const AttributionOptions& o) {
    const PreparedPrompt p = model.prepare(prompt);
    AttributionGrid g = attributeIds(model, p.ids, encodeTarget(model, target), o);
    g.promptTokens = p.tokens;
    return g;
}

std::vector<NeuronId> candidates(const AttributionGrid& grid, double threshold) {
    std::vector<NeuronId> out;
    const float cut = static_cast<float>(threshold) * grid.maxScore();
    if (grid.maxScore() <= 0)
        return out;
    for (int l = 0; l < grid.layers; ++l)
        for (int i = 0; i < grid.neurons; ++i)
            if (grid.at(l, i) >= cut)
                out.push_back({l, i});
    return out;
}

int promptsNeeded(int prompts, double share) {
    int need = static_cast<int>(std::ceil(share * prompts - 1e-9));
    if (prompts >= 3)
        need = std::max(need, 3);
    return std::max(1, need);
}

std::vector<KnowledgeNeuron> refine(const std::vector<AttributionGrid>& grids, double threshold,
                                    double share) {
    if (grids.empty())
        return {};
    std::map<NeuronId, int> count;
    for (const auto& g : grids)
        for (const auto& c : candidates(g, threshold))
            ++count[c];
    const int need = promptsNeeded(static_cast<int>(grids.size()), share);
    std::vector<KnowledgeNeuron> out;
    for (const auto& [id, c] : count) {
        if (c < need)
            continue;
        double sum = 0;
        for (const auto& g : grids)
            sum += g.at(id.layer, id.neuron);
        out.push_back({id.layer, id.neuron, c, sum / grids.size()});
    }
    std::sort(out.begin(), out.end(), [](const KnowledgeNeuron& a, const KnowledgeNeuron& b) {
        return a.prompts != b.prompts ? a.prompts > b.prompts : a.meanScore > b.meanScore;
    });
    return out;
}

KnowledgeNeuronSearch findKnowledgeNeurons(const LanguageModel& model,
                                           const std::vector<std::string>& prompts,
                                           const std::string& target, double threshold,
                                           double share, const AttributionOptions& options) {
    return findKnowledgeNeurons(model, prompts, encodeTarget(model, target), threshold, share,
                                options);
}

KnowledgeNeuronSearch findKnowledgeNeurons(const LanguageModel& model,
                                           const std::vector<std::string>& prompts,
                                           const std::vector<int>& targetIds, double threshold,
                                           double share, const AttributionOptions& options) {
    if (prompts.empty())
        throw Error("no prompts to refine over");
    if (threshold <= 0 || threshold > 1)
        throw Error("the candidate threshold must be in (0, 1]");
    if (share <= 0 || share > 1)
        throw Error("the share of prompts must be in (0, 1]");
    KnowledgeNeuronSearch s;
    s.prompts = prompts;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        AttributionOptions o = options;
        if (options.progress)
            o.progress = [&](double f) { return options.progress((i + f) / prompts.size()); };
        const PreparedPrompt p = model.prepare(prompts[i]);
        s.grids.push_back(attributeIds(model, p.ids, targetIds, o));
        s.grids.back().promptTokens = p.tokens;
    }
    s.neurons = refine(s.grids, threshold, share);
    return s;
}

} // namespace scalpel
