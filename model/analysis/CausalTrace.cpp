#include "CausalTrace.h"

#include "Attribution.h"
#include "Error.h"
#include "ModelInternals.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace scalpel {

namespace {

using Clock = std::chrono::steady_clock;

// ROME's window: layers [l - w/2, l - (-w/2)) clipped, w/2 rounded down.
std::pair<int, int> windowOf(int layer, int window, int layers) {
    const int lo = std::max(0, layer - window / 2);
    const int hi = std::min(layers, layer + (window + 1) / 2);
    return {lo, hi};
}

HookSite siteOf(TraceKind k) {
    switch (k) {
    case TraceKind::Hidden:
        return HookSite::BlockOutput;
    case TraceKind::Mlp:
        return HookSite::FfnOutput;
    case TraceKind::Attention:
        return HookSite::AttentionOutput;
    }
    return HookSite::BlockOutput;
}

void checkOptions(const LanguageModel& model, const std::vector<int>& ids, int begin, int end,
                  int answerId, const CausalTraceOptions& o) {
    if (ids.empty())
        throw Error("the prompt is empty");
    if (static_cast<int64_t>(ids.size()) > model.config().contextLength)
        throw Error("the prompt has " + std::to_string(ids.size()) +
                    " tokens, more than the model's context of " +
                    std::to_string(model.config().contextLength));
    const int T = static_cast<int>(ids.size());
    if (begin < 0 || end > T || begin >= end)
        throw Error("the subject's tokens [" + std::to_string(begin) + ", " + std::to_string(end) +
                    ") are not a non-empty range of the prompt's " + std::to_string(T) + " tokens");
    if (begin == 0 && end == T)
        throw Error("the subject covers the whole prompt; tracing needs tokens outside it");
    if (o.samples <= 0)
        throw Error("the number of noise samples must be positive, got " +
                    std::to_string(o.samples));
    if (o.window <= 0)
        throw Error("the restoration window must be positive, got " + std::to_string(o.window));
    if (!(o.noise >= 0) || !std::isfinite(o.noise))
        throw Error("the noise multiplier must be 0 or more, got " + std::to_string(o.noise));
    if (answerId >= model.config().vocabSize)
        throw Error("answer token id " + std::to_string(answerId) + " is outside the vocabulary");
    if (o.kinds.empty())
        throw Error("no trace kind asked for");
    if (!model.config().causal)
        throw Error("causal tracing needs a causal (decoder) model");
}

// What the clean and the corrupted run leave for the restorations.
struct Runs {
    torch::Tensor ids;   // [1, T]
    torch::Tensor noise; // [S, e - b, D]
    Hooks noiseHooks;    // the noise, added at the embedding
    int answer = -1;
    double clean = 0, corrupted = 0;
    // Clean states per layer at each site, [T, D].
    std::vector<torch::Tensor> cleanHidden, cleanMlp, cleanAttn;
    // Corrupted input of block j, [S, T, D] (j = L: the last block's output).
    std::vector<torch::Tensor> corruptedInput;
    KvCache corruptedCache; // [S, KV, T, dh] per layer
};

const std::vector<torch::Tensor>& cleanAt(const Runs& r, TraceKind k) {
    return k == TraceKind::Hidden ? r.cleanHidden : k == TraceKind::Mlp ? r.cleanMlp : r.cleanAttn;
}

// The blocks a restoration at `layer` copies a clean state into: the block
// itself for the hidden state, else ROME's window around it.
std::pair<int, int> restoredBlocks(TraceKind kind, int layer, int window, int layers) {
    return kind == TraceKind::Hidden ? std::make_pair(layer, layer + 1)
                                     : windowOf(layer, window, layers);
}

// Hooks that put the clean run's `kind` state at `token` into blocks
// [lo, hi) of every corrupted copy.
void addRestoration(Hooks& hooks, const Runs& r, TraceKind kind, int64_t token, int lo, int hi) {
    const auto& clean = cleanAt(r, kind);
    for (int j = lo; j < hi; ++j)
        hooks.add({siteOf(kind),
                   j,
                   HookOp::Replace,
                   token,
                   clean[static_cast<std::size_t>(j)][token].view({1, -1}),
                   {},
                   nullptr});
}

// P(answer) at the last position of h [R, n, D] -> [R].
torch::Tensor answerProb(TransformerImpl& net, const torch::Tensor& h, int answer) {
    auto last = h.select(1, h.size(1) - 1);
    return torch::softmax(net.unembed(net.finalNorm(last)), -1).select(1, answer);
}

Runs runCleanAndCorrupted(const LanguageModel& model, const std::vector<int>& ids, int b, int e,
                          int answerId, const CausalTraceOptions& o, double sigma) {
    TransformerImpl& net = network(model);
    const int L = net.layers();
    const int64_t S = o.samples, T = static_cast<int64_t>(ids.size());
    const int64_t D = model.config().hidden;
    torch::NoGradGuard g;
    Runs r;
    r.ids = idsTensor(model, ids);

    // Clean run, reading every site.
    std::vector<torch::Tensor> mlp(L), attn(L);
    Hooks reads;
    for (int l = 0; l < L; ++l) {
        reads.add({HookSite::FfnOutput, l, HookOp::Read, -1, {}, {}, &mlp[l]});
        reads.add({HookSite::AttentionOutput, l, HookOp::Read, -1, {}, {}, &attn[l]});
    }
    AttentionContext ctx;
    ctx.hooks = &reads;
    auto h = net.embed(r.ids, 0);
    for (int l = 0; l < L; ++l) {
        h = net.block(l, h, ctx);
        r.cleanHidden.push_back(h[0]);
        r.cleanMlp.push_back(mlp[l][0]);
        r.cleanAttn.push_back(attn[l][0]);
    }
    auto cleanProbs = torch::softmax(net.unembed(net.finalNorm(h[0][T - 1])), -1);
    r.answer = answerId >= 0 ? answerId : static_cast<int>(cleanProbs.argmax().item<int64_t>());
    r.clean = cleanProbs[r.answer].item<double>();

    // The noise: one draw per trace, from its own generator.
    auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
    auto noise = torch::empty({S, e - b, D}, torch::kFloat);
    noise.normal_(0.0, 1.0, gen);
    r.noise = (noise * (o.noise * sigma)).to(net.device());
    for (int p = b; p < e; ++p)
        r.noiseHooks.add(
            {HookSite::Embedding, -1, HookOp::Add, p, r.noise.select(1, p - b), {}, nullptr});

    // Corrupted run: block inputs and keys / values kept.
    AttentionContext grow;
    grow.cache = &r.corruptedCache;
    auto c = net.embed(r.ids.expand({S, T}), 0, &r.noiseHooks);
    for (int l = 0; l < L; ++l) {
        r.corruptedInput.push_back(c);
        c = net.block(l, c, grow);
    }
    r.corruptedInput.push_back(c);
    r.corrupted = answerProb(net, c, r.answer).mean().item<double>();
    return r;
}

// One restoration inside a batch: its grid cell and how it changes the
// corrupted run.
struct Restoration {
    std::size_t grid = 0; // index into the trace's grids
    int layer = 0;
    TraceKind kind = TraceKind::Hidden;
    int start = 0;      // first block recomputed
    int lo = 0, hi = 0; // Mlp / Attention: restored blocks
    int64_t firstRow = 0;
};

// Every restoration at token t, as rows of one batch that grows as the
// layers go up: restoration r joins at its first changed block with the
// corrupted run's input there, reading the corrupted keys and values of the
// positions before t.
void traceToken(TransformerImpl& net, const Runs& r, int64_t t, const std::vector<TraceKind>& kinds,
                int window, std::vector<TraceGrid>& grids) {
    const int L = net.layers();
    const int64_t S = r.corruptedInput[0].size(0), T = r.corruptedInput[0].size(1);
    std::vector<Restoration> rs;
    for (std::size_t k = 0; k < kinds.size(); ++k)
        for (int l = 0; l < L; ++l) {
            Restoration x;
            x.grid = k;
            x.layer = l;
            x.kind = kinds[k];
            if (kinds[k] == TraceKind::Hidden) {
                x.start = l + 1;
            } else {
                std::tie(x.lo, x.hi) = windowOf(l, window, L);
                x.start = x.lo;
            }
            rs.push_back(x);
        }
    std::stable_sort(rs.begin(), rs.end(),
                     [](const Restoration& a, const Restoration& b) { return a.start < b.start; });

    torch::Tensor rows;
    std::size_t joined = 0;
    for (int j = 0; j <= L; ++j) {
        std::vector<torch::Tensor> parts;
        if (rows.defined())
            parts.push_back(rows);
        int64_t next = rows.defined() ? rows.size(0) : 0;
        for (; joined < rs.size() && rs[joined].start == j; ++joined) {
            Restoration& x = rs[joined];
            x.firstRow = next;
            next += S;
            auto state = r.corruptedInput[static_cast<std::size_t>(j)].narrow(1, t, T - t);
            if (x.kind == TraceKind::Hidden) {
                const auto clean = r.cleanHidden[static_cast<std::size_t>(x.layer)][t];
                auto first = clean.view({1, 1, -1}).expand({S, 1, -1});
                state = T - t > 1 ? torch::cat({first, state.narrow(1, 1, T - t - 1)}, 1) : first;
            }
            parts.push_back(state);
        }
        if (parts.empty())
            continue;
        rows = parts.size() == 1 ? parts[0] : torch::cat(parts, 0);
        if (j == L)
            break;

        Hooks hooks;
        for (TraceKind k : {TraceKind::Mlp, TraceKind::Attention}) {
            std::vector<int64_t> idx;
            for (std::size_t i = 0; i < joined; ++i)
                if (rs[i].kind == k && rs[i].lo <= j && j < rs[i].hi)
                    for (int64_t s = 0; s < S; ++s)
                        idx.push_back(rs[i].firstRow + s);
            if (!idx.empty())
                hooks.add({siteOf(k), j, HookOp::Replace, 0,
                           cleanAt(r, k)[static_cast<std::size_t>(j)][t].view({1, -1}), idx,
                           nullptr});
        }
        KvCache prefix;
        AttentionContext ctx;
        ctx.hooks = &hooks;
        if (t > 0) {
            const int64_t groups = rows.size(0) / S;
            prefix.keys.resize(static_cast<std::size_t>(j) + 1);
            prefix.values.resize(static_cast<std::size_t>(j) + 1);
            prefix.keys[j] = r.corruptedCache.keys[j].narrow(2, 0, t).repeat({groups, 1, 1, 1});
            prefix.values[j] = r.corruptedCache.values[j].narrow(2, 0, t).repeat({groups, 1, 1, 1});
            ctx.prefix = &prefix;
        }
        rows = net.block(j, rows, ctx);
    }
    auto probs = answerProb(net, rows, r.answer).to(torch::kCPU);
    for (const Restoration& x : rs) {
        const double score = probs.narrow(0, x.firstRow, S).mean().item<double>();
        grids[x.grid].scores[static_cast<std::size_t>(t) * L + x.layer] = static_cast<float>(score);
    }
}

void traceFast(const LanguageModel& model, const Runs& r, int b, const CausalTraceOptions& o,
               std::vector<TraceGrid>& grids) {
    TransformerImpl& net = network(model);
    const int L = net.layers();
    const int64_t T = r.ids.size(1);
    torch::NoGradGuard g;
    // Before the subject the clean and the corrupted runs are the same: a
    // restoration there changes nothing.
    for (int64_t t = 0; t < b; ++t)
        for (auto& grid : grids)
            for (int l = 0; l < L; ++l)
                grid.scores[static_cast<std::size_t>(t) * L + l] = static_cast<float>(r.corrupted);
    for (int64_t t = b; t < T; ++t) {
        traceToken(net, r, t, o.kinds, o.window, grids);
        if (o.progress && !o.progress(static_cast<double>(t - b + 1) / (T - b)))
            throw Cancelled();
    }
}

void traceNaive(const LanguageModel& model, const Runs& r, const CausalTraceOptions& o,
                std::vector<TraceGrid>& grids) {
    TransformerImpl& net = network(model);
    const int L = net.layers();
    const int64_t S = o.samples, T = r.ids.size(1);
    torch::NoGradGuard g;
    const auto ids = r.ids.expand({S, T});
    const double total = static_cast<double>(grids.size() * T * L);
    double done = 0;
    for (auto& grid : grids)
        for (int64_t t = 0; t < T; ++t)
            for (int l = 0; l < L; ++l) {
                Hooks hooks = r.noiseHooks;
                const auto [lo, hi] = restoredBlocks(grid.kind, l, o.window, L);
                addRestoration(hooks, r, grid.kind, t, lo, hi);
                auto h = net.hidden(ids, &hooks);
                grid.scores[static_cast<std::size_t>(t) * L + l] =
                    static_cast<float>(answerProb(net, h, r.answer).mean().item<double>());
                if (o.progress && !o.progress(++done / total))
                    throw Cancelled();
            }
}

// Attribution patching: one corrupted pass with a zero added at every site
// (its gradient is the score's gradient there) and one backward pass.
void traceApproximate(const LanguageModel& model, const Runs& r, const CausalTraceOptions& o,
                      std::vector<TraceGrid>& grids) {
    TransformerImpl& net = network(model);
    const int L = net.layers();
    const int64_t S = o.samples, T = r.ids.size(1), D = model.config().hidden;
    std::vector<HookSite> sites;
    for (const auto& grid : grids)
        sites.push_back(siteOf(grid.kind));
    // [grid][layer]
    std::vector<std::vector<torch::Tensor>> zero(grids.size(), std::vector<torch::Tensor>(L));
    std::vector<std::vector<torch::Tensor>> state(grids.size(), std::vector<torch::Tensor>(L));
    Hooks hooks = r.noiseHooks;
    for (std::size_t k = 0; k < grids.size(); ++k)
        for (int l = 0; l < L; ++l) {
            zero[k][l] = torch::zeros({S, T, D}, r.noise.options()).requires_grad_(true);
            hooks.add({sites[k], l, HookOp::Read, -1, {}, {}, &state[k][l]});
            hooks.add({sites[k], l, HookOp::Add, -1, zero[k][l], {}, nullptr});
        }
    auto h = net.hidden(r.ids.expand({S, T}), &hooks);
    auto score = answerProb(net, h, r.answer).mean();
    std::vector<torch::Tensor> wrt;
    for (auto& z : zero)
        for (auto& t : z)
            wrt.push_back(t);
    auto grads = torch::autograd::grad({score}, wrt);
    if (o.progress && !o.progress(0.9))
        throw Cancelled();
    torch::NoGradGuard g;
    for (std::size_t k = 0; k < grids.size(); ++k) {
        const auto& clean = cleanAt(r, grids[k].kind);
        // Each site's first-order effect at each token: [L, T].
        std::vector<torch::Tensor> perLayer;
        for (int l = 0; l < L; ++l) {
            auto diff = clean[static_cast<std::size_t>(l)].unsqueeze(0) - state[k][l].detach();
            perLayer.push_back((diff * grads[k * L + l]).sum(std::vector<int64_t>{0, 2}));
        }
        auto effect = torch::stack(perLayer).to(torch::kCPU).to(torch::kDouble); // [L, T]
        auto acc = effect.accessor<double, 2>();
        for (int64_t t = 0; t < T; ++t)
            for (int l = 0; l < L; ++l) {
                auto [lo, hi] = grids[k].kind == TraceKind::Hidden ? std::make_pair(l, l + 1)
                                                                   : windowOf(l, o.window, L);
                double sum = 0;
                for (int j = lo; j < hi; ++j)
                    sum += acc[j][t];
                grids[k].scores[static_cast<std::size_t>(t) * L + l] =
                    static_cast<float>(r.corrupted + sum);
            }
    }
}

double pearson(const std::vector<std::pair<double, double>>& xy) {
    const double n = static_cast<double>(xy.size());
    double mx = 0, my = 0;
    for (const auto& [x, y] : xy) {
        mx += x / n;
        my += y / n;
    }
    double sxy = 0, sxx = 0, syy = 0;
    for (const auto& [x, y] : xy) {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0.0;
}

} // namespace

const char* traceKindName(TraceKind kind) {
    switch (kind) {
    case TraceKind::Hidden:
        return "hidden";
    case TraceKind::Mlp:
        return "mlp";
    case TraceKind::Attention:
        return "attn";
    }
    return "hidden";
}

TraceKind parseTraceKind(const std::string& name) {
    if (name == "hidden")
        return TraceKind::Hidden;
    if (name == "mlp")
        return TraceKind::Mlp;
    if (name == "attn" || name == "attention")
        return TraceKind::Attention;
    throw Error("the trace kind must be hidden, mlp or attn, got '" + name + "'");
}

const TraceGrid* CausalTrace::grid(TraceKind kind) const {
    for (const auto& g : grids)
        if (g.kind == kind)
            return &g;
    return nullptr;
}

double embeddingSigma(const LanguageModel& model, const std::vector<std::string>& subjects) {
    TransformerImpl& net = network(model);
    torch::NoGradGuard g;
    const auto e = net.tokenEmbedding();
    if (subjects.empty())
        return e.to(torch::kFloat).std().item<double>();
    std::vector<int64_t> ids;
    for (const auto& s : subjects) {
        const Encoding enc = model.tokenizer().encodeDetailed(s, false);
        ids.insert(ids.end(), enc.ids.begin(), enc.ids.end());
    }
    if (ids.size() < 2)
        throw Error("the noise scale needs subjects with at least two tokens in all");
    auto idx = torch::tensor(ids, torch::kLong).to(e.device());
    return e.index_select(0, idx).to(torch::kFloat).std().item<double>();
}

std::pair<int, int> subjectTokens(const LanguageModel& model, const std::string& prompt,
                                  const std::string& subject, bool addSpecialTokens) {
    if (subject.empty())
        throw Error("the subject is empty");
    const auto at = prompt.find(subject);
    if (at == std::string::npos)
        throw Error("the subject '" + subject + "' is not in the prompt '" + prompt + "'");
    const std::size_t end = at + subject.size();
    const Encoding enc = model.tokenizer().encodeDetailed(prompt, addSpecialTokens);
    int b = -1, e = -1;
    for (std::size_t i = 0; i < enc.ids.size(); ++i) {
        const auto [s, f] = enc.offsets[i];
        if (enc.special[i] || s >= f)
            continue;
        if (s < end && f > at) {
            if (b < 0)
                b = static_cast<int>(i);
            e = static_cast<int>(i) + 1;
        }
    }
    if (b < 0)
        throw Error("the subject '" + subject + "' covers no token of the prompt '" + prompt + "'");
    return {b, e};
}

CausalTrace causalTraceIds(const LanguageModel& model, const std::vector<int>& ids,
                           int subjectBegin, int subjectEnd, int answerId,
                           const CausalTraceOptions& o) {
    checkOptions(model, ids, subjectBegin, subjectEnd, answerId, o);
    const auto start = Clock::now();
    TransformerImpl& net = network(model);
    const int L = net.layers();
    const int T = static_cast<int>(ids.size());
    CausalTrace tr;
    tr.ids = ids;
    for (int id : ids)
        tr.tokens.push_back(model.tokenizer().tokenText(id));
    tr.subjectBegin = subjectBegin;
    tr.subjectEnd = subjectEnd;
    tr.sigma = o.sigma > 0 ? o.sigma : embeddingSigma(model, {});
    tr.noise = o.noise;
    tr.samples = o.samples;
    tr.window = o.window;
    tr.seed = o.seed;
    tr.method = o.method == TraceMethod::Fast    ? "fast"
                : o.method == TraceMethod::Naive ? "naive"
                                                 : "approximate";
    const Runs r =
        runCleanAndCorrupted(model, ids, subjectBegin, subjectEnd, answerId, o, tr.sigma);
    tr.answerId = r.answer;
    tr.answer = model.tokenizer().tokenText(r.answer);
    tr.cleanScore = r.clean;
    tr.corruptedScore = r.corrupted;
    for (TraceKind k : o.kinds) {
        TraceGrid g;
        g.kind = k;
        g.tokens = T;
        g.layers = L;
        g.scores.assign(static_cast<std::size_t>(T) * L, 0.0f);
        tr.grids.push_back(std::move(g));
    }
    switch (o.method) {
    case TraceMethod::Fast:
        traceFast(model, r, subjectBegin, o, tr.grids);
        break;
    case TraceMethod::Naive:
        traceNaive(model, r, o, tr.grids);
        break;
    case TraceMethod::Approximate:
        traceApproximate(model, r, o, tr.grids);
        break;
    }
    if (o.keepNoise) {
        auto n = r.noise.to(torch::kCPU).to(torch::kFloat).contiguous();
        tr.noiseValues.assign(n.data_ptr<float>(), n.data_ptr<float>() + n.numel());
    }
    tr.elapsedMs = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    return tr;
}

namespace {

// A prompt to trace: its tokens and the subject's [begin, end), refused when
// the subject covers every token that is not special or a word is unknown.
struct TracedPrompt {
    Encoding enc;
    int begin = 0, end = 0;
};

TracedPrompt encodeTraced(const LanguageModel& model, const std::string& prompt,
                          const std::string& subject, const CausalTraceOptions& o) {
    TracedPrompt p;
    std::tie(p.begin, p.end) = subjectTokens(model, prompt, subject, o.addSpecialTokens);
    p.enc = model.tokenizer().encodeDetailed(prompt, o.addSpecialTokens);
    bool outside = false;
    for (std::size_t i = 0; i < p.enc.ids.size(); ++i)
        outside = outside || (!p.enc.special[i] &&
                              (static_cast<int>(i) < p.begin || static_cast<int>(i) >= p.end));
    if (!outside)
        throw Error("the subject '" + subject + "' covers the whole prompt '" + prompt +
                    "'; tracing needs tokens outside it");
    const auto unknown = p.enc.unknownWords();
    if (!unknown.empty())
        throw Error("the prompt's word '" + unknown[0] + "' is unknown to the model's tokenizer");
    return p;
}

} // namespace

CausalTrace causalTrace(const LanguageModel& model, const std::string& prompt,
                        const std::string& subject, const std::string& answer,
                        const CausalTraceOptions& o) {
    const TracedPrompt p = encodeTraced(model, prompt, subject, o);
    const int answerId = answer.empty() ? -1 : encodeTarget(model, answer)[0];
    CausalTrace tr = causalTraceIds(model, p.enc.ids, p.begin, p.end, answerId, o);
    tr.tokens = p.enc.tokens;
    return tr;
}

TraceRestoration traceRestoration(const LanguageModel& model, const std::string& prompt,
                                  const std::string& subject, int answerId, TraceKind kind,
                                  int token, int layer, int topK, const CausalTraceOptions& o) {
    const TracedPrompt traced = encodeTraced(model, prompt, subject, o);
    const Encoding& enc = traced.enc;
    const int b = traced.begin, e = traced.end;
    checkOptions(model, enc.ids, b, e, answerId, o);
    TransformerImpl& net = network(model);
    const int L = net.layers();
    const int T = static_cast<int>(enc.ids.size());
    if (token >= T)
        throw Error("token " + std::to_string(token) + " is outside the prompt's " +
                    std::to_string(T) + " tokens");
    if (layer < 0 || layer >= L)
        throw Error("layer " + std::to_string(layer) + " is outside the model's " +
                    std::to_string(L) + " layers");
    if (topK <= 0)
        throw Error("top-k must be positive, got " + std::to_string(topK));
    const double sigma = o.sigma > 0 ? o.sigma : embeddingSigma(model, {});
    const Runs r = runCleanAndCorrupted(model, enc.ids, b, e, answerId, o, sigma);

    TraceRestoration out;
    out.kind = kind;
    out.token = token;
    out.layer = layer;
    out.answerId = r.answer;
    out.answer = model.tokenizer().tokenText(r.answer);
    std::tie(out.firstLayer, out.lastLayer) = restoredBlocks(kind, layer, o.window, L);
    torch::NoGradGuard g;
    Hooks hooks = r.noiseHooks;
    if (token >= 0)
        addRestoration(hooks, r, kind, token, out.firstLayer, out.lastLayer);
    auto h = net.hidden(r.ids.expand({o.samples, T}), &hooks);
    auto last = h.select(1, T - 1);
    auto probs = torch::softmax(net.unembed(net.finalNorm(last)), -1).mean(0).to(torch::kCPU);
    probs = probs.to(torch::kFloat).contiguous();
    const std::vector<float> p(probs.data_ptr<float>(), probs.data_ptr<float>() + probs.numel());
    out.score = p[static_cast<std::size_t>(r.answer)];
    out.top = model.topK(p, topK);
    return out;
}

const char* tokenClassName(TokenClass c) {
    switch (c) {
    case TokenClass::FirstSubject:
        return "first subject token";
    case TokenClass::MiddleSubject:
        return "middle subject tokens";
    case TokenClass::LastSubject:
        return "last subject token";
    case TokenClass::FirstSubsequent:
        return "first subsequent token";
    case TokenClass::FurtherTokens:
        return "further tokens";
    case TokenClass::LastToken:
        return "last token";
    }
    return "";
}

std::vector<TokenClass> tokenClasses(int t, int tokens, int begin, int end) {
    std::vector<TokenClass> out;
    if (t == begin)
        out.push_back(TokenClass::FirstSubject);
    if (t > begin && t < end - 1)
        out.push_back(TokenClass::MiddleSubject);
    if (t == end - 1)
        out.push_back(TokenClass::LastSubject);
    if (t == tokens - 1)
        out.push_back(TokenClass::LastToken);
    else if (t == end)
        out.push_back(TokenClass::FirstSubsequent);
    else if (t > end)
        out.push_back(TokenClass::FurtherTokens);
    return out;
}

namespace {

// traceEvalFact, also handing back the trace (compareApproximate needs it).
TraceEvalRecord traceOne(const LanguageModel& model, const TraceEvalFactInput& in,
                         const CausalTraceOptions& o, CausalTrace* trace) {
    const int L = model.config().layers;
    TraceEvalRecord rec;
    rec.fact = {in.subject, in.relation, in.prompt, in.answer, 0, 0};
    const PreparedPrompt p = model.prepare(in.prompt, o.addSpecialTokens);
    const int answerId = encodeTarget(model, in.answer)[0];
    const auto probs = model.nextTokenProbs(p.ids);
    if (std::max_element(probs.begin(), probs.end()) - probs.begin() != answerId)
        return rec;
    CausalTraceOptions quiet = o;
    quiet.progress = {};
    CausalTrace tr = causalTrace(model, in.prompt, in.subject, in.answer, quiet);
    const int T = static_cast<int>(tr.ids.size());
    rec.traced = true;
    rec.fact.clean = tr.cleanScore;
    rec.fact.corrupted = tr.corruptedScore;
    rec.classEffect.assign(kTokenClasses, {});
    // Each class's mean over its tokens in this prompt.
    for (int c = 0; c < kTokenClasses; ++c) {
        std::vector<int> ts;
        for (int t = 0; t < T; ++t)
            for (TokenClass k : tokenClasses(t, T, tr.subjectBegin, tr.subjectEnd))
                if (static_cast<int>(k) == c)
                    ts.push_back(t);
        if (ts.empty())
            continue;
        auto& e = rec.classEffect[static_cast<std::size_t>(c)];
        e.assign(tr.grids.size() * static_cast<std::size_t>(L), 0.0);
        for (std::size_t k = 0; k < tr.grids.size(); ++k)
            for (int l = 0; l < L; ++l) {
                double m = 0;
                for (int t : ts)
                    m += tr.grids[k].at(t, l) - tr.corruptedScore;
                e[k * static_cast<std::size_t>(L) + static_cast<std::size_t>(l)] = m / ts.size();
            }
    }
    if (trace)
        *trace = std::move(tr);
    return rec;
}

} // namespace

TraceEvalRecord traceEvalFact(const LanguageModel& model, const TraceEvalFactInput& fact,
                              const CausalTraceOptions& options) {
    return traceOne(model, fact, options, nullptr);
}

TraceEval summarizeTraceEval(const std::vector<TraceEvalRecord>& records,
                             const std::vector<TraceKind>& kinds, int layers) {
    const int L = layers;
    TraceEval ev;
    ev.layers = L;
    ev.kinds = kinds;
    // Per kind, class and layer: sums over facts; per class: facts that have
    // a token of that class.
    std::vector<std::vector<double>> sum(kinds.size(), std::vector<double>(kTokenClasses * L, 0.0));
    ev.classCount.assign(kTokenClasses, 0);
    for (const auto& r : records) {
        ++ev.factsTried;
        if (!r.traced)
            continue;
        for (int c = 0; c < kTokenClasses && c < static_cast<int>(r.classEffect.size()); ++c) {
            const auto& e = r.classEffect[static_cast<std::size_t>(c)];
            if (e.empty())
                continue;
            if (e.size() != kinds.size() * static_cast<std::size_t>(L))
                throw Error("trace-eval: the record of '" + r.fact.prompt + "' has " +
                            std::to_string(e.size()) + " effects, not kinds x layers");
            ++ev.classCount[c];
            for (std::size_t k = 0; k < kinds.size(); ++k)
                for (int l = 0; l < L; ++l)
                    sum[k][static_cast<std::size_t>(c) * L + l] +=
                        e[k * static_cast<std::size_t>(L) + static_cast<std::size_t>(l)];
        }
        ev.facts.push_back(r.fact);
        ev.meanClean += r.fact.clean;
        ev.meanCorrupted += r.fact.corrupted;
    }
    if (!ev.facts.empty()) {
        ev.meanClean /= ev.facts.size();
        ev.meanCorrupted /= ev.facts.size();
    }
    for (std::size_t k = 0; k < sum.size(); ++k) {
        std::vector<float> e(sum[k].size(), 0.0f);
        for (int c = 0; c < kTokenClasses; ++c)
            for (int l = 0; l < L; ++l)
                if (ev.classCount[c] > 0)
                    e[static_cast<std::size_t>(c) * L + l] = static_cast<float>(
                        sum[k][static_cast<std::size_t>(c) * L + l] / ev.classCount[c]);
        ev.effect.push_back(std::move(e));
    }
    return ev;
}

TraceEval traceEval(const LanguageModel& model, const std::vector<TraceEvalFactInput>& facts,
                    const CausalTraceOptions& options,
                    const std::function<bool(double, const std::string&)>& progress,
                    bool compareApproximate, std::vector<TraceEvalRecord>* recordsOut) {
    const auto start = Clock::now();
    const int L = model.config().layers;
    // [kind][layer] -> (exact, approximate) effects.
    std::vector<std::vector<std::vector<std::pair<double, double>>>> pairs(
        options.kinds.size(), std::vector<std::vector<std::pair<double, double>>>(L));
    CausalTraceOptions o = options;
    o.progress = {};
    std::vector<TraceEvalRecord> records;
    for (std::size_t f = 0; f < facts.size(); ++f) {
        const auto& in = facts[f];
        if (progress && !progress(static_cast<double>(f) / facts.size(), in.prompt))
            throw Cancelled();
        CausalTrace tr;
        records.push_back(traceOne(model, in, o, compareApproximate ? &tr : nullptr));
        if (compareApproximate && records.back().traced) {
            const int T = static_cast<int>(tr.ids.size());
            CausalTraceOptions ao = o;
            ao.method = TraceMethod::Approximate;
            const CausalTrace ap = causalTrace(model, in.prompt, in.subject, in.answer, ao);
            for (std::size_t k = 0; k < tr.grids.size(); ++k)
                for (int t = tr.subjectBegin; t < T; ++t)
                    for (int l = 0; l < L; ++l)
                        pairs[k][static_cast<std::size_t>(l)].push_back(
                            {tr.grids[k].at(t, l) - tr.corruptedScore,
                             ap.grids[k].at(t, l) - ap.corruptedScore});
        }
    }
    TraceEval ev = summarizeTraceEval(records, options.kinds, L);
    if (compareApproximate)
        for (const auto& byLayer : pairs) {
            std::vector<std::pair<double, double>> all;
            std::vector<double> perLayer;
            for (const auto& p : byLayer) {
                all.insert(all.end(), p.begin(), p.end());
                perLayer.push_back(pearson(p));
            }
            ev.approximateCorrelation.push_back(pearson(all));
            ev.approximateCorrelationByLayer.push_back(perLayer);
        }
    if (progress)
        progress(1.0, "done");
    ev.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (recordsOut)
        *recordsOut = std::move(records);
    return ev;
}

} // namespace scalpel
