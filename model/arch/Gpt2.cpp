#include "Gpt2.h"

#include <cmath>

namespace scalpel {

KvCache KvCache::expanded(int64_t batch) const {
    KvCache c;
    for (std::size_t l = 0; l < keys.size(); ++l) {
        c.keys.push_back(keys[l].expand({batch, -1, -1, -1}));
        c.values.push_back(values[l].expand({batch, -1, -1, -1}));
    }
    return c;
}

Conv1DImpl::Conv1DImpl(int64_t in, int64_t out) {
    weight = register_parameter("weight", torch::randn({in, out}) * 0.02);
    bias = register_parameter("bias", torch::zeros({out}));
}

torch::Tensor Conv1DImpl::forward(const torch::Tensor& x) {
    auto sizes = x.sizes().vec();
    sizes.back() = weight.size(1);
    return torch::addmm(bias, x.reshape({-1, x.size(-1)}), weight).view(sizes);
}

AttentionImpl::AttentionImpl(const GptConfig& c) : nHead(c.nHead), headDim(c.nEmbd / c.nHead) {
    c_attn = register_module("c_attn", Conv1D(c.nEmbd, 3 * c.nEmbd));
    c_proj = register_module("c_proj", Conv1D(c.nEmbd, c.nEmbd));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& pastK,
                                     const torch::Tensor& pastV, torch::Tensor* outK,
                                     torch::Tensor* outV) {
    const int64_t B = x.size(0), T = x.size(1), D = x.size(2);
    auto qkv = c_attn(x).split(D, 2);
    auto heads = [&](const torch::Tensor& t) {
        return t.view({B, T, nHead, headDim}).transpose(1, 2);
    };
    torch::Tensor q = heads(qkv[0]), k = heads(qkv[1]), v = heads(qkv[2]);
    if (pastK.defined()) {
        k = torch::cat({pastK, k}, 2);
        v = torch::cat({pastV, v}, 2);
    }
    if (outK) {
        *outK = k;
        *outV = v;
    }
    const int64_t S = k.size(2), past = S - T;
    auto att = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(headDim));
    if (T > 1) {
        auto mask =
            torch::ones({T, S}, torch::TensorOptions().dtype(torch::kBool).device(x.device()))
                .tril(past);
        att = att.masked_fill(mask.logical_not(), -std::numeric_limits<float>::infinity());
    }
    att = torch::softmax(att, -1);
    auto y = torch::matmul(att, v).transpose(1, 2).reshape({B, T, D});
    return c_proj(y);
}

torch::Tensor AttentionImpl::forwardSharedPrefix(const torch::Tensor& x,
                                                 const torch::Tensor& prefixK,
                                                 const torch::Tensor& prefixV) {
    const int64_t R = x.size(0), n = x.size(1), D = x.size(2), H = nHead, dh = headDim;
    auto qkv = c_attn(x).split(D, 2);
    auto heads = [&](const torch::Tensor& t) { return t.view({R, n, H, dh}).transpose(1, 2); };
    const torch::Tensor q = heads(qkv[0]), k = heads(qkv[1]), v = heads(qkv[2]); // [R, H, n, dh]
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
    const bool hasPrefix = prefixK.defined() && prefixK.size(2) > 0;
    // Per head, all R * n queries against the shared prefix: [H, R * n, dh].
    auto flatQ = [&] { return q.permute({1, 0, 2, 3}).reshape({H, R * n, dh}); };
    auto unflat = [&](const torch::Tensor& t) { // [H, R * n, E] -> [R, H, n, E]
        return t.view({H, R, n, t.size(2)}).permute({1, 0, 2, 3});
    };
    torch::Tensor att;
    int64_t P = 0;
    if (hasPrefix) {
        P = prefixK.size(2);
        auto pre = unflat(torch::matmul(flatQ(), prefixK[0].transpose(-2, -1))) * scale;
        att = torch::softmax(torch::cat({pre, own}, -1), -1);
    } else {
        att = torch::softmax(own, -1);
    }
    auto attOwn = att.narrow(-1, P, n);                      // [R, H, n, n]
    auto y = (attOwn.unsqueeze(-1) * v.unsqueeze(2)).sum(3); // [R, H, n, dh]
    if (hasPrefix) {
        auto attPre = att.narrow(-1, 0, P).permute({1, 0, 2, 3}).reshape({H, R * n, P});
        y = y + unflat(torch::matmul(attPre, prefixV[0]));
    }
    return c_proj(y.transpose(1, 2).reshape({R, n, D}));
}

MlpImpl::MlpImpl(const GptConfig& c) : activation(c.activation) {
    c_fc = register_module("c_fc", Conv1D(c.nEmbd, c.neuronsPerLayer()));
    c_proj = register_module("c_proj", Conv1D(c.neuronsPerLayer(), c.nEmbd));
}

torch::Tensor MlpImpl::activate(const torch::Tensor& x) const {
    if (activation == "relu")
        return torch::relu(x);
    if (activation == "gelu")
        return torch::gelu(x);
    return torch::gelu(x, "tanh"); // gelu_new and gelu_pytorch_tanh
}

BlockImpl::BlockImpl(const GptConfig& c) {
    auto ln = [&] {
        return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.nEmbd}).eps(c.layerNormEpsilon));
    };
    ln_1 = register_module("ln_1", ln());
    attn = register_module("attn", Attention(c));
    ln_2 = register_module("ln_2", ln());
    mlp = register_module("mlp", Mlp(c));
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

} // namespace

torch::Tensor BlockImpl::forward(const torch::Tensor& h, int layer, const NeuronTaps* taps,
                                 KvCache* cache) {
    torch::Tensor pastK, pastV, newK, newV;
    const bool useCache = cache != nullptr;
    if (useCache && static_cast<int>(cache->keys.size()) > layer) {
        pastK = cache->keys[static_cast<std::size_t>(layer)];
        pastV = cache->values[static_cast<std::size_t>(layer)];
    }
    auto x =
        h + attn(ln_1(h), pastK, pastV, useCache ? &newK : nullptr, useCache ? &newV : nullptr);
    if (useCache) {
        if (static_cast<int>(cache->keys.size()) <= layer) {
            cache->keys.resize(static_cast<std::size_t>(layer) + 1);
            cache->values.resize(static_cast<std::size_t>(layer) + 1);
        }
        cache->keys[static_cast<std::size_t>(layer)] = newK;
        cache->values[static_cast<std::size_t>(layer)] = newV;
    }
    auto a = mlp->activate(mlp->c_fc(ln_2(x)));
    if (taps) {
        auto s = taps->scale.find(layer);
        if (s != taps->scale.end()) {
            auto factor = s->second.to(a.device());
            if (taps->scalePosition < 0) {
                a = a * (factor.dim() == 2 ? factor.unsqueeze(1) : factor);
            } else {
                const int64_t pos = taps->scalePosition;
                TORCH_CHECK(pos < a.size(1), "scale position past the end of the input");
                a = withPosition(a, pos, a.select(1, pos) * factor);
            }
        }
        if (taps->replaceLayer == layer) {
            TORCH_CHECK(taps->replacePosition >= 0 && taps->replacePosition < a.size(1),
                        "replace position outside the input");
            a = withPosition(a, taps->replacePosition, taps->replacement);
        }
        if (taps->recorded && std::find(taps->readLayers.begin(), taps->readLayers.end(), layer) !=
                                  taps->readLayers.end())
            (*taps->recorded)[layer] = a;
    }
    return x + mlp->c_proj(a);
}

Gpt2ModelImpl::Gpt2ModelImpl(const GptConfig& c) {
    wte = register_module("wte", torch::nn::Embedding(c.vocabSize, c.nEmbd));
    wpe = register_module("wpe", torch::nn::Embedding(c.nPositions, c.nEmbd));
    h = register_module("h", torch::nn::ModuleList());
    for (int i = 0; i < c.nLayer; ++i) {
        blocks.push_back(Block(c));
        h->push_back(blocks.back());
    }
    ln_f = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.nEmbd}).eps(
                                       c.layerNormEpsilon)));
}

Gpt2Impl::Gpt2Impl(const GptConfig& c) : m_config(c) {
    transformer = register_module("transformer", Gpt2Model(c));
    // GPT-2's initialisation: N(0, 0.02), residual projections scaled down.
    torch::NoGradGuard guard;
    for (auto& p : named_parameters()) {
        const std::string& n = p.key();
        if (n.find("ln_") != std::string::npos)
            continue;
        if (n.size() > 5 && n.compare(n.size() - 5, 5, ".bias") == 0) {
            p.value().zero_();
            continue;
        }
        double stdev = 0.02;
        if (n.find("c_proj.weight") != std::string::npos)
            stdev /= std::sqrt(2.0 * c.nLayer);
        p.value().normal_(0.0, stdev);
    }
}

torch::Tensor Gpt2Impl::embed(const torch::Tensor& ids, int64_t positionOffset) {
    const int64_t T = ids.size(1);
    TORCH_CHECK(positionOffset + T <= m_config.nPositions, "input longer than the context");
    auto pos = torch::arange(positionOffset, positionOffset + T,
                             torch::TensorOptions().dtype(torch::kLong).device(ids.device()));
    return transformer->wte(ids) + transformer->wpe(pos).unsqueeze(0);
}

torch::Tensor Gpt2Impl::block(int layer, const torch::Tensor& h, const NeuronTaps* taps,
                              KvCache* cache) {
    return transformer->blocks[static_cast<std::size_t>(layer)]->forward(h, layer, taps, cache);
}

torch::Tensor Gpt2Impl::logits(const torch::Tensor& h) {
    return torch::matmul(transformer->ln_f(h), transformer->wte->weight.t());
}

torch::Tensor Gpt2Impl::forward(const torch::Tensor& ids, const NeuronTaps* taps, KvCache* cache) {
    auto h = embed(ids, cache ? cache->length() : 0);
    for (int l = 0; l < m_config.nLayer; ++l)
        h = block(l, h, taps, cache);
    return logits(h);
}

} // namespace scalpel
