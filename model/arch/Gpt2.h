#pragma once
// GPT-2 as LibTorch modules, named and shaped exactly like Hugging Face's
// GPT2LMHeadModel (Conv1D weights stored [in, out], lm_head tied to wte), so
// an HF model.safetensors loads unchanged. Engine-internal: includes LibTorch.
//
// LibTorch has no forward hooks, so neuron interventions are explicit
// arguments of the forward pass (NeuronTaps); nothing is global.
#include "GptConfig.h"

#include <torch/torch.h>

#include <map>
#include <vector>

namespace scalpel {

// What a forward pass does to the FFN neurons (post-activation values,
// [batch, time, neurons]) of each layer. Positions index the input of this
// call (0 = its first token), not absolute positions.
struct NeuronTaps {
    // Record the activations of these layers into *recorded (graph kept, so
    // the caller may differentiate through them).
    std::vector<int> readLayers;
    std::map<int, torch::Tensor>* recorded = nullptr;
    // Multiply a layer's neurons by a factor tensor broadcastable to
    // [batch, neurons], at one position or at all positions (-1).
    std::map<int, torch::Tensor> scale;
    int64_t scalePosition = -1;
    // Replace a layer's neurons at one position with `replacement`
    // ([batch, neurons]); gradients flow to it.
    int replaceLayer = -1;
    int64_t replacePosition = -1;
    torch::Tensor replacement;
};

// Keys and values of the positions seen so far, per layer ([batch, heads,
// time, head_dim]); a forward pass with a cache appends to it.
struct KvCache {
    std::vector<torch::Tensor> keys;
    std::vector<torch::Tensor> values;
    int64_t length() const { return keys.empty() || !keys[0].defined() ? 0 : keys[0].size(2); }
    // The same cache viewed for `batch` rows (the prefix shared by all).
    KvCache expanded(int64_t batch) const;
};

class Conv1DImpl : public torch::nn::Module {
public:
    Conv1DImpl(int64_t in, int64_t out);
    torch::Tensor forward(const torch::Tensor& x);
    torch::Tensor weight, bias; // [in, out], [out]
};
TORCH_MODULE(Conv1D);

class AttentionImpl : public torch::nn::Module {
public:
    AttentionImpl(const GptConfig& c);
    // x [B, T, D]; past keys/values (may be undefined); returns [B, T, D]
    // and, when `newKv` is given, the full keys/values after appending.
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& pastK,
                          const torch::Tensor& pastV, torch::Tensor* outK, torch::Tensor* outV);
    // x [R, n, D]: R rows that all continue one prefix, whose keys/values
    // [1, H, P, dh] are shared (P may be 0: undefined tensors). Equal to
    // forward() with the prefix expanded to R rows, but the prefix is never
    // copied and each head scores all R * n queries in one matrix product
    // instead of R small ones.
    torch::Tensor forwardSharedPrefix(const torch::Tensor& x, const torch::Tensor& prefixK,
                                      const torch::Tensor& prefixV);
    Conv1D c_attn{nullptr}, c_proj{nullptr};
    int64_t nHead, headDim;
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
public:
    MlpImpl(const GptConfig& c);
    Conv1D c_fc{nullptr}, c_proj{nullptr};
    std::string activation;
    torch::Tensor activate(const torch::Tensor& x) const;
};
TORCH_MODULE(Mlp);

class BlockImpl : public torch::nn::Module {
public:
    BlockImpl(const GptConfig& c);
    torch::Tensor forward(const torch::Tensor& h, int layer, const NeuronTaps* taps,
                          KvCache* cache);
    torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
    Attention attn{nullptr};
    Mlp mlp{nullptr};
};
TORCH_MODULE(Block);

class Gpt2ModelImpl : public torch::nn::Module {
public:
    Gpt2ModelImpl(const GptConfig& c);
    torch::nn::Embedding wte{nullptr}, wpe{nullptr};
    torch::nn::ModuleList h{nullptr};
    torch::nn::LayerNorm ln_f{nullptr};
    std::vector<Block> blocks;
};
TORCH_MODULE(Gpt2Model);

class Gpt2Impl : public torch::nn::Module {
public:
    explicit Gpt2Impl(const GptConfig& c);

    // ids [B, T] -> logits [B, T, vocab]. With a cache, positions continue
    // after the cached ones and the cache grows by T.
    torch::Tensor forward(const torch::Tensor& ids, const NeuronTaps* taps = nullptr,
                          KvCache* cache = nullptr);

    // The pieces of forward(), for callers that run part of the stack.
    torch::Tensor embed(const torch::Tensor& ids, int64_t positionOffset);
    torch::Tensor block(int layer, const torch::Tensor& h, const NeuronTaps* taps, KvCache* cache);
    torch::Tensor logits(const torch::Tensor& h); // ln_f, then the tied head

    const GptConfig& config() const { return m_config; }
    int layers() const { return m_config.nLayer; }
    Gpt2Model transformer{nullptr};

private:
    GptConfig m_config;
};
TORCH_MODULE(Gpt2);

} // namespace scalpel
