#include "Transformer.h"

#include <cmath>
#include <limits>

namespace scalpel {

KvCache KvCache::expanded(int64_t batch) const {
    KvCache c;
    for (std::size_t l = 0; l < keys.size(); ++l) {
        c.keys.push_back(keys[l].expand({batch, -1, -1, -1}));
        c.values.push_back(values[l].expand({batch, -1, -1, -1}));
    }
    return c;
}

KvCache KvCache::truncated(int64_t length) const {
    KvCache c;
    for (std::size_t l = 0; l < keys.size(); ++l) {
        c.keys.push_back(keys[l].narrow(2, 0, length));
        c.values.push_back(values[l].narrow(2, 0, length));
    }
    return c;
}

namespace {

// Returns `a` with position `pos` of dim 1 replaced by row [B, N].
torch::Tensor withPosition(const torch::Tensor& a, int64_t pos, const torch::Tensor& row) {
    const int64_t T = a.size(1);
    std::vector<torch::Tensor> parts;
    if (pos > 0)
        parts.push_back(a.narrow(1, 0, pos));
    parts.push_back(row.unsqueeze(1).expand({a.size(0), 1, a.size(2)}));
    if (pos + 1 < T)
        parts.push_back(a.narrow(1, pos + 1, T - pos - 1));
    return parts.size() == 1 ? parts[0] : torch::cat(parts, 1);
}

torch::Tensor applyOne(const Hook& h, const torch::Tensor& a) {
    switch (h.op) {
    case HookOp::Read:
        *h.sink = a;
        return a;
    case HookOp::Scale:
        if (h.position < 0)
            return a * (h.value.dim() == 2 ? h.value.unsqueeze(1) : h.value);
        return withPosition(a, h.position, a.select(1, h.position) * h.value);
    case HookOp::Add:
        if (h.position < 0)
            return a + h.value;
        return withPosition(a, h.position, a.select(1, h.position) + h.value);
    case HookOp::Replace:
        if (h.position < 0)
            return h.value.expand_as(a);
        return withPosition(a, h.position, h.value);
    }
    return a;
}

} // namespace

torch::Tensor Hooks::apply(HookSite site, int layer, torch::Tensor t) const {
    for (const Hook& h : list) {
        if (h.site != site || h.layer != layer)
            continue;
        TORCH_CHECK(h.position < t.size(1), "hook position past the end of the input");
        TORCH_CHECK(h.op != HookOp::Read || h.sink, "a read hook needs a sink");
        if (h.rows.empty()) {
            t = applyOne(h, t);
            continue;
        }
        auto idx = torch::tensor(h.rows, torch::TensorOptions().dtype(torch::kLong)).to(t.device());
        t = t.index_copy(0, idx, applyOne(h, t.index_select(0, idx)));
    }
    return t;
}

TransformerImpl::TransformerImpl(const ModelConfig& c, bool initialise)
    : m_config(c), m_outIn(c.family != "gpt2") {
    const int64_t D = c.hidden, N = c.neurons, V = c.vocabSize, dh = c.headDim;
    const int64_t qkv = (int64_t(c.heads) + 2 * c.kvHeads) * dh, q = int64_t(c.heads) * dh;
    const bool layerNorm = c.norm == NormKind::LayerNorm;
    auto reg = [&](const std::string& name, torch::Tensor t) {
        return register_parameter(name, t);
    };
    // A model about to be loaded skips filling memory that the load
    // overwrites anyway.
    auto zeros = [&](std::vector<int64_t> shape) {
        return initialise ? torch::zeros(shape) : torch::empty(shape);
    };
    auto ones = [&](std::vector<int64_t> shape) {
        return initialise ? torch::ones(shape) : torch::empty(shape);
    };
    // A matrix mapping `in` to `out`, stored as the checkpoint stores it.
    auto matrix = [&](int64_t in, int64_t out) {
        return m_outIn ? zeros({out, in}) : zeros({in, out});
    };
    embedding = reg("embedding", zeros({V, D}));
    if (c.positions == PositionKind::Learned)
        positionEmbedding = reg("position_embedding", zeros({c.contextLength, D}));
    if (c.tokenTypes > 0)
        tokenTypeEmbedding = reg("token_type_embedding", zeros({c.tokenTypes, D}));
    if (c.embeddingNorm) {
        embeddingNormW = reg("embedding_norm_w", ones({D}));
        if (layerNorm)
            embeddingNormB = reg("embedding_norm_b", zeros({D}));
    }
    m_layers.resize(static_cast<std::size_t>(c.layers));
    for (int l = 0; l < c.layers; ++l) {
        auto& w = m_layers[static_cast<std::size_t>(l)];
        const std::string p = "l" + std::to_string(l) + "_";
        w.attnNormW = reg(p + "attn_norm_w", ones({D}));
        if (layerNorm)
            w.attnNormB = reg(p + "attn_norm_b", zeros({D}));
        w.qkvW = reg(p + "qkv_w", matrix(D, qkv));
        if (c.qkvBias)
            w.qkvB = reg(p + "qkv_b", zeros({qkv}));
        if (c.qkNorm) {
            w.qNorm = reg(p + "q_norm", ones({dh}));
            w.kNorm = reg(p + "k_norm", ones({dh}));
        }
        w.outW = reg(p + "out_w", matrix(q, D));
        if (c.attnOutBias)
            w.outB = reg(p + "out_b", zeros({D}));
        w.ffnNormW = reg(p + "ffn_norm_w", ones({D}));
        if (layerNorm)
            w.ffnNormB = reg(p + "ffn_norm_b", zeros({D}));
        if (c.gatedMlp)
            w.gateW = reg(p + "gate_w", matrix(D, N));
        w.upW = reg(p + "up_w", matrix(D, N));
        if (c.mlpBias)
            w.upB = reg(p + "up_b", zeros({N}));
        w.downW = reg(p + "down_w", matrix(N, D));
        if (c.mlpBias)
            w.downB = reg(p + "down_b", zeros({D}));
    }
    finalNormW = reg("final_norm_w", ones({D}));
    if (layerNorm)
        finalNormB = reg("final_norm_b", zeros({D}));
    if (c.headTransform) {
        headDenseW = reg("head_dense_w", matrix(D, D));
        headDenseB = reg("head_dense_b", zeros({D}));
    }
    if (!c.tiedEmbeddings)
        lmHead = reg("lm_head", zeros({V, D}));
    if (c.unembeddingBias)
        unembeddingB = reg("unembedding_b", zeros({V}));
    if (c.positions == PositionKind::Rotary) {
        // Hugging Face's inverse frequencies, in float32 as it computes them.
        const int64_t r = c.rotaryDims;
        auto inv = 1.0 / torch::pow(c.ropeTheta,
                                    torch::arange(0, r, 2, torch::kLong).to(torch::kFloat) / r);
        const auto& s = c.ropeScaling;
        if (s.type == "linear") {
            inv = inv / s.factor;
        } else if (s.type == "llama3") {
            const double lowWavelen = s.originalContext / s.lowFreqFactor;
            const double highWavelen = s.originalContext / s.highFreqFactor;
            auto wavelen = 2 * M_PI / inv;
            auto scaled = torch::where(wavelen > lowWavelen, inv / s.factor, inv);
            auto smooth = (s.originalContext / wavelen - s.lowFreqFactor) /
                          (s.highFreqFactor - s.lowFreqFactor);
            auto smoothed = (1 - smooth) * scaled / s.factor + smooth * scaled;
            auto medium = (wavelen >= highWavelen).logical_and(wavelen <= lowWavelen);
            inv = torch::where(medium, smoothed, scaled);
        }
        m_invFreq = register_buffer("inv_freq", inv.to(torch::kFloat));
    }
}

void TransformerImpl::initRandom(uint64_t seed) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    initRandom(gen);
}

void TransformerImpl::initRandom(at::Generator gen) {
    torch::NoGradGuard guard;
    const auto& c = m_config;
    const double std = 0.02, residualStd = 0.02 / std::sqrt(2.0 * c.layers);
    auto normal = [&](torch::Tensor& t, double s) {
        if (!t.defined())
            return;
        auto cpu = torch::empty(t.sizes(), torch::kFloat);
        cpu.normal_(0.0, s, gen);
        t.copy_(cpu);
    };
    if (c.family == "gpt2") {
        // The draws of GPT-2's module constructors (embeddings N(0, 1), each
        // Conv1D N(0, 1) * 0.02) come before its re-initialisation, so a seed
        // gives the weights it always gave.
        torch::Tensor scratch;
        auto draw = [&](std::vector<int64_t> shape) {
            scratch = torch::empty(shape, torch::kFloat);
            scratch.normal_(0.0, 1.0, gen);
        };
        draw({c.vocabSize, c.hidden});
        draw({c.contextLength, c.hidden});
        for (int l = 0; l < c.layers; ++l) {
            draw({c.hidden, 3 * c.hidden});
            draw({c.hidden, c.hidden});
            draw({c.hidden, c.neurons});
            draw({c.neurons, c.hidden});
        }
    }
    normal(embedding, std);
    normal(positionEmbedding, std);
    for (auto& w : m_layers) {
        normal(w.qkvW, std);
        if (w.qkvB.defined())
            w.qkvB.zero_();
        normal(w.outW, residualStd);
        if (w.outB.defined())
            w.outB.zero_();
        normal(w.gateW, std);
        normal(w.upW, std);
        if (w.upB.defined())
            w.upB.zero_();
        normal(w.downW, residualStd);
        if (w.downB.defined())
            w.downB.zero_();
    }
    normal(lmHead, std);
    normal(tokenTypeEmbedding, std);
    normal(headDenseW, std);
    if (headDenseB.defined())
        headDenseB.zero_();
    if (unembeddingB.defined())
        unembeddingB.zero_();
}

torch::Tensor TransformerImpl::norm(const torch::Tensor& x, const torch::Tensor& w,
                                    const torch::Tensor& b) const {
    if (m_config.norm == NormKind::LayerNorm)
        return torch::layer_norm(x, {x.size(-1)}, w, b, m_config.normEps);
    // RMSNorm, computed in float32 as Hugging Face does.
    auto xf = x.to(torch::kFloat);
    auto y = xf * torch::rsqrt(xf.pow(2).mean(-1, true) + m_config.normEps);
    return w * y.to(x.scalar_type());
}

torch::Tensor TransformerImpl::headNorm(const torch::Tensor& x, const torch::Tensor& w) const {
    auto xf = x.to(torch::kFloat);
    auto y = xf * torch::rsqrt(xf.pow(2).mean(-1, true) + m_config.normEps);
    return w * y.to(x.scalar_type());
}

torch::Tensor TransformerImpl::activate(const torch::Tensor& x) const {
    const auto& a = m_config.activation;
    if (a == "relu")
        return torch::relu(x);
    if (a == "gelu")
        return torch::gelu(x);
    if (a == "silu")
        return torch::silu(x);
    return torch::gelu(x, "tanh"); // gelu_new and gelu_pytorch_tanh
}

torch::Tensor TransformerImpl::linear(const torch::Tensor& x, const torch::Tensor& w,
                                      const torch::Tensor& b) const {
    auto sizes = x.sizes().vec();
    auto flat = x.reshape({-1, x.size(-1)});
    const torch::Tensor wt = m_outIn ? w.t() : w; // BLAS reads either layout as is
    sizes.back() = wt.size(1);
    return (b.defined() ? torch::addmm(b, flat, wt) : torch::mm(flat, wt)).view(sizes);
}

torch::Tensor TransformerImpl::rotate(const torch::Tensor& x, int64_t offset) const {
    if (m_config.positions != PositionKind::Rotary)
        return x;
    const int64_t T = x.size(2), r = m_config.rotaryDims, dh = x.size(3);
    auto pos = torch::arange(offset, offset + T, torch::TensorOptions().dtype(torch::kFloat))
                   .to(x.device());
    auto freqs = torch::outer(pos, m_invFreq.to(x.device())); // [T, r / 2]
    auto emb = torch::cat({freqs, freqs}, -1);                // [T, r]
    auto cos = emb.cos().to(x.scalar_type()), sin = emb.sin().to(x.scalar_type());
    auto rot = r < dh ? x.narrow(-1, 0, r) : x;
    auto half1 = rot.narrow(-1, 0, r / 2), half2 = rot.narrow(-1, r / 2, r / 2);
    auto rotated = rot * cos + torch::cat({-half2, half1}, -1) * sin;
    return r < dh ? torch::cat({rotated, x.narrow(-1, r, dh - r)}, -1) : rotated;
}

torch::Tensor TransformerImpl::repeatKv(const torch::Tensor& t) const {
    const int64_t groups = m_config.heads / m_config.kvHeads;
    return groups == 1 ? t : t.repeat_interleave(groups, 1);
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor>
TransformerImpl::projectHeads(int layer, const torch::Tensor& x, int64_t positionOffset) {
    auto& w = m_layers[static_cast<std::size_t>(layer)];
    const int64_t B = x.size(0), T = x.size(1), H = m_config.heads, KV = m_config.kvHeads,
                  dh = m_config.headDim;
    auto qkv = linear(x, w.qkvW, w.qkvB).split_with_sizes({H * dh, KV * dh, KV * dh}, 2);
    auto heads = [&](const torch::Tensor& t, int64_t n, const torch::Tensor& normW) {
        auto v = t.view({B, T, n, dh});
        if (normW.defined())
            v = headNorm(v, normW);
        return v.transpose(1, 2);
    };
    return {rotate(heads(qkv[0], H, w.qNorm), positionOffset),
            rotate(heads(qkv[1], KV, w.kNorm), positionOffset), heads(qkv[2], KV, torch::Tensor())};
}

torch::Tensor TransformerImpl::attention(int layer, const torch::Tensor& x,
                                         const AttentionContext& ctx) {
    auto& w = m_layers[static_cast<std::size_t>(layer)];
    const int64_t B = x.size(0), T = x.size(1), H = m_config.heads, dh = m_config.headDim;
    const KvCache* past = ctx.cache ? ctx.cache : ctx.prefix;
    const int64_t pastLen = past ? past->length(layer) : 0;
    TORCH_CHECK(m_config.causal || (!ctx.cache && !ctx.prefix),
                "a bidirectional model has no causal prefix to cache");
    auto [q, k, v] = projectHeads(layer, x, pastLen);
    if (pastLen > 0) {
        k = torch::cat({past->keys[static_cast<std::size_t>(layer)].expand({B, -1, -1, -1}), k}, 2);
        v = torch::cat({past->values[static_cast<std::size_t>(layer)].expand({B, -1, -1, -1}), v},
                       2);
    }
    if (ctx.cache) {
        auto& cache = *ctx.cache;
        if (static_cast<int>(cache.keys.size()) <= layer) {
            cache.keys.resize(static_cast<std::size_t>(layer) + 1);
            cache.values.resize(static_cast<std::size_t>(layer) + 1);
        }
        cache.keys[static_cast<std::size_t>(layer)] = k;
        cache.values[static_cast<std::size_t>(layer)] = v;
    }
    k = repeatKv(k);
    v = repeatKv(v);
    const int64_t S = k.size(2);
    auto att = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(dh));
    if (T > 1 && m_config.causal) {
        auto mask =
            torch::ones({T, S}, torch::TensorOptions().dtype(torch::kBool).device(x.device()))
                .tril(S - T);
        att = att.masked_fill(mask.logical_not(), -std::numeric_limits<float>::infinity());
    }
    if (ctx.padding.defined())
        att = att.masked_fill(ctx.padding.view({B, 1, 1, S}),
                              -std::numeric_limits<float>::infinity());
    att = torch::softmax(att, -1);
    auto y = torch::matmul(att, v).transpose(1, 2).reshape({B, T, H * dh});
    return linear(y, w.outW, w.outB);
}

torch::Tensor TransformerImpl::attentionSharedPrefix(int layer, const torch::Tensor& x,
                                                     const KvCache& prefix) {
    auto& w = m_layers[static_cast<std::size_t>(layer)];
    const int64_t R = x.size(0), n = x.size(1), H = m_config.heads, dh = m_config.headDim;
    const int64_t P = prefix.length(layer);
    auto [q, kv, vv] = projectHeads(layer, x, P);
    const torch::Tensor k = repeatKv(kv); // [R, H, n, dh]
    const torch::Tensor v = repeatKv(vv);
    const double scale = 1.0 / std::sqrt(static_cast<double>(dh));
    // Scores against the suffix itself, causal: [R, H, n, n]. n is small
    // (the answer's tokens), so a broadcast product beats R * H tiny ones.
    auto own = (q.unsqueeze(3) * k.unsqueeze(2)).sum(-1) * scale;
    if (n > 1) {
        auto mask =
            torch::ones({n, n}, torch::TensorOptions().dtype(torch::kBool).device(x.device()))
                .tril();
        own = own.masked_fill(mask.logical_not(), -std::numeric_limits<float>::infinity());
    }
    // Per head, all R * n queries against the shared prefix: [H, R * n, dh].
    auto flatQ = [&] { return q.permute({1, 0, 2, 3}).reshape({H, R * n, dh}); };
    auto unflat = [&](const torch::Tensor& t) { // [H, R * n, E] -> [R, H, n, E]
        return t.view({H, R, n, t.size(2)}).permute({1, 0, 2, 3});
    };
    torch::Tensor att, prefixK, prefixV;
    if (P > 0) {
        prefixK = repeatKv(prefix.keys[static_cast<std::size_t>(layer)])[0]; // [H, P, dh]
        prefixV = repeatKv(prefix.values[static_cast<std::size_t>(layer)])[0];
        auto pre = unflat(torch::matmul(flatQ(), prefixK.transpose(-2, -1))) * scale;
        att = torch::softmax(torch::cat({pre, own}, -1), -1);
    } else {
        att = torch::softmax(own, -1);
    }
    auto attOwn = att.narrow(-1, P, n);                      // [R, H, n, n]
    auto y = (attOwn.unsqueeze(-1) * v.unsqueeze(2)).sum(3); // [R, H, n, dh]
    if (P > 0) {
        auto attPre = att.narrow(-1, 0, P).permute({1, 0, 2, 3}).reshape({H, R * n, P});
        y = y + unflat(torch::matmul(attPre, prefixV));
    }
    return linear(y.transpose(1, 2).reshape({R, n, H * dh}), w.outW, w.outB);
}

torch::Tensor TransformerImpl::embed(const torch::Tensor& ids, int64_t positionOffset,
                                     const Hooks* hooks) {
    const int64_t T = ids.size(1);
    TORCH_CHECK(positionOffset + T <= m_config.contextLength, "input longer than the context");
    torch::Tensor h = torch::embedding(embedding, ids);
    if (positionEmbedding.defined()) {
        auto pos = torch::arange(positionOffset, positionOffset + T,
                                 torch::TensorOptions().dtype(torch::kLong).device(ids.device()));
        h = h + torch::embedding(positionEmbedding, pos).unsqueeze(0);
    }
    if (tokenTypeEmbedding.defined())
        h = h + tokenTypeEmbedding[0];
    if (embeddingNormW.defined())
        h = norm(h, embeddingNormW, embeddingNormB);
    return applyHooks(hooks, HookSite::Embedding, -1, h);
}

FfnSplit TransformerImpl::attend(int layer, const torch::Tensor& hIn, const AttentionContext& ctx) {
    auto& w = m_layers[static_cast<std::size_t>(layer)];
    const torch::Tensor h = applyHooks(ctx.hooks, HookSite::BlockInput, layer, hIn);
    if (m_config.postNorm) {
        auto a = applyHooks(ctx.hooks, HookSite::AttentionOutput, layer, attention(layer, h, ctx));
        FfnSplit s;
        s.residual = norm(h + a, w.attnNormW, w.attnNormB);
        s.ffnInput = s.residual;
        return s;
    }
    const torch::Tensor normed = norm(h, w.attnNormW, w.attnNormB);
    torch::Tensor a = ctx.sharedPrefix && ctx.prefix
                          ? attentionSharedPrefix(layer, normed, *ctx.prefix)
                          : attention(layer, normed, ctx);
    a = applyHooks(ctx.hooks, HookSite::AttentionOutput, layer, a);
    FfnSplit s;
    s.residual = h + a;
    s.ffnInput = norm(m_config.parallelResidual ? h : s.residual, w.ffnNormW, w.ffnNormB);
    return s;
}

torch::Tensor TransformerImpl::ffnNeurons(int layer, const torch::Tensor& x) {
    auto& w = m_layers[static_cast<std::size_t>(layer)];
    if (m_config.gatedMlp)
        return activate(linear(x, w.gateW, torch::Tensor())) * linear(x, w.upW, w.upB);
    return activate(linear(x, w.upW, w.upB));
}

torch::Tensor TransformerImpl::ffnDown(int layer, const torch::Tensor& neurons, bool withBias) {
    auto& w = m_layers[static_cast<std::size_t>(layer)];
    return linear(neurons, w.downW, withBias ? w.downB : torch::Tensor());
}

torch::Tensor TransformerImpl::block(int layer, const torch::Tensor& h,
                                     const AttentionContext& ctx) {
    FfnSplit s = attend(layer, h, ctx);
    auto a = applyHooks(ctx.hooks, HookSite::Neurons, layer, ffnNeurons(layer, s.ffnInput));
    auto f = applyHooks(ctx.hooks, HookSite::FfnOutput, layer, ffnDown(layer, a));
    return applyHooks(ctx.hooks, HookSite::BlockOutput, layer, finishBlock(layer, s.residual, f));
}

torch::Tensor TransformerImpl::finishBlock(int layer, const torch::Tensor& residual,
                                           const torch::Tensor& ffnOutput) {
    if (!m_config.postNorm)
        return residual + ffnOutput;
    auto& w = m_layers[static_cast<std::size_t>(layer)];
    return norm(residual + ffnOutput, w.ffnNormW, w.ffnNormB);
}

torch::Tensor TransformerImpl::valueVector(int layer, int neuron) {
    return downProjection(layer)[neuron];
}

torch::Tensor TransformerImpl::finalNorm(const torch::Tensor& h) {
    if (headDenseW.defined())
        return norm(activate(linear(h, headDenseW, headDenseB)), finalNormW, finalNormB);
    return norm(h, finalNormW, finalNormB);
}

torch::Tensor TransformerImpl::unembed(const torch::Tensor& x) {
    auto logits = torch::matmul(x, unembedding().t());
    return unembeddingB.defined() ? logits + unembeddingB : logits;
}

torch::Tensor TransformerImpl::hidden(const torch::Tensor& ids, const Hooks* hooks, KvCache* cache,
                                      const torch::Tensor& padding) {
    TORCH_CHECK(!padding.defined() || !cache, "padding with a KV cache is not supported");
    auto h = embed(ids, cache ? cache->length() : 0, hooks);
    AttentionContext ctx;
    ctx.hooks = hooks;
    ctx.cache = cache;
    ctx.padding = padding;
    for (int l = 0; l < m_config.layers; ++l)
        h = block(l, h, ctx);
    return h;
}

torch::Tensor TransformerImpl::hiddenAt(const torch::Tensor& ids, const torch::Tensor& positions,
                                        const torch::Tensor& padding) {
    auto h = embed(ids, 0);
    AttentionContext ctx;
    ctx.padding = padding;
    const int top = m_config.layers - 1;
    for (int l = 0; l < top; ++l)
        h = block(l, h, ctx);
    const FfnSplit s = attend(top, h, ctx);
    const auto at = positions.view({-1, 1, 1}).expand({-1, 1, s.residual.size(2)});
    const auto residual = s.residual.gather(1, at).squeeze(1);
    const auto input = s.ffnInput.gather(1, at).squeeze(1);
    return finishBlock(top, residual, ffnDown(top, ffnNeurons(top, input)));
}

torch::Tensor TransformerImpl::forward(const torch::Tensor& ids, const Hooks* hooks, KvCache* cache,
                                       bool lastOnly) {
    auto h = hidden(ids, hooks, cache);
    if (lastOnly)
        h = h.narrow(1, h.size(1) - 1, 1);
    return unembed(finalNorm(h));
}

} // namespace scalpel
