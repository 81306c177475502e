#pragma once
// One transformer for every supported family, driven by a ModelConfig:
// LayerNorm or RMSNorm, learned or rotary positions (partial rotary, linear
// and llama3 scaling), multi-head or grouped-query attention, optional
// per-head q/k norms, plain or gated MLP, sequential or parallel residual,
// pre-norm or post-norm blocks (BERT), causal or bidirectional attention,
// tied or untied unembedding. The block's arithmetic exists here once;
// analyses speak only to this interface and its hook sites.
//
// For BERT the embedding output is the normed sum of token, position and
// token-type (0) embeddings; "final norm" is the masked-LM head's transform
// (dense, activation, LayerNorm) and unembed() adds the decoder's bias. A
// bidirectional model has no causal prefix to cache: passes with a KV cache
// are refused.
//
// Matrices are kept as the family's checkpoints store them (GPT-2's Conv1D
// [in, out], nn.Linear [out, in]), so loading reads each tensor straight
// into its place and BLAS reads either layout as is; downProjection() is
// always seen as [neurons, D], so row i is neuron (l, i)'s value vector.
// q, k and v live in one fused projection, q | k | v along its output. A
// neuron is the input of the down projection: act(x W_up) for a plain MLP,
// act(x W_gate) * (x W_up) for a gated one.
//
// Engine-internal: includes LibTorch.
#include "Hooks.h"
#include "ModelConfig.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <tuple>
#include <vector>

namespace scalpel {

// Keys and values of the positions seen so far, per layer ([batch, kv heads,
// time, head_dim], keys after rotary); a pass with a cache appends to it.
struct KvCache {
    std::vector<torch::Tensor> keys;
    std::vector<torch::Tensor> values;
    int64_t length() const { return keys.empty() || !keys[0].defined() ? 0 : keys[0].size(2); }
    int64_t length(int layer) const {
        return static_cast<int>(keys.size()) > layer &&
                       keys[static_cast<std::size_t>(layer)].defined()
                   ? keys[static_cast<std::size_t>(layer)].size(2)
                   : 0;
    }
    // The same cache viewed for `batch` rows (the prefix shared by all).
    KvCache expanded(int64_t batch) const;
    // The first `length` positions (a prompt's unchanged prefix).
    KvCache truncated(int64_t length) const;
};

// How a block's attention sees earlier positions. At most one of `cache`
// (read, then appended to) and `prefix` (read only) is set. With
// `sharedPrefix`, `prefix` holds one row that every row of the input
// continues: each head scores all rows' queries in one product against it,
// and it is never copied per row.
struct AttentionContext {
    const Hooks* hooks = nullptr;
    KvCache* cache = nullptr;
    const KvCache* prefix = nullptr;
    bool sharedPrefix = false;
    // [B, S] bool, true at keys that are padding (rows of different lengths
    // padded at the end): no query attends to them. Undefined for none.
    torch::Tensor padding;
};

// A block split at its FFN: the residual that the FFN's output joins and the
// FFN's input (the normed residual, or for a parallel block the normed block
// input).
struct FfnSplit {
    torch::Tensor residual;
    torch::Tensor ffnInput;
};

struct LayerWeights {
    torch::Tensor attnNormW, attnNormB;
    torch::Tensor qkvW, qkvB; // [D, (H + 2 KV) dh], or transposed for [out, in]
    torch::Tensor qNorm, kNorm;
    torch::Tensor outW, outB; // [H dh, D]
    torch::Tensor ffnNormW, ffnNormB;
    torch::Tensor gateW;        // [D, N]
    torch::Tensor upW, upB;     // [D, N]
    torch::Tensor downW, downB; // [N, D]
};

class TransformerImpl : public torch::nn::Module {
public:
    // Weights are allocated (zero norms' biases, unit norms' weights) but not
    // initialised: load them, or call initRandom.
    // initialise false leaves the memory unfilled, for a model about to be
    // loaded.
    explicit TransformerImpl(const ModelConfig& config, bool initialise = true);

    const ModelConfig& config() const { return m_config; }
    int layers() const { return m_config.layers; }
    int neurons() const { return m_config.neurons; }
    torch::Device device() const { return embedding.device(); }

    // Each family's initialisation from its own generator (GPT-2's: N(0,
    // 0.02), residual projections scaled by 1/sqrt(2 L), biases zero).
    void initRandom(uint64_t seed);
    // The same from a given generator (the SERAC trainer passes LibTorch's
    // default one, seeded by its caller).
    void initRandom(at::Generator generator);

    // ids [B, T] -> logits [B, T, vocab] (or at the last position only,
    // [B, 1, vocab], with lastOnly). With a cache, positions continue after
    // the cached ones and the cache grows by T.
    torch::Tensor forward(const torch::Tensor& ids, const Hooks* hooks = nullptr,
                          KvCache* cache = nullptr, bool lastOnly = false);
    // Final hidden states before the final norm, [B, T, D]. `padding` [B, T]
    // (bool, true at padding) keeps padded positions out of every real
    // position's attention, so a padded row's real positions equal the row
    // run alone (their positions count from 0, as padding comes last).
    torch::Tensor hidden(const torch::Tensor& ids, const Hooks* hooks = nullptr,
                         KvCache* cache = nullptr, const torch::Tensor& padding = {});

    // Final hidden states before the final norm at one position per row,
    // [B, D]: positions [B] (int64). The top block's FFN runs only there
    // (every block's attention still sees every position), so a classifier
    // that reads one token pays a third less for the top block. Equal to
    // hidden() gathered at those positions, up to float rounding. No hooks.
    torch::Tensor hiddenAt(const torch::Tensor& ids, const torch::Tensor& positions,
                           const torch::Tensor& padding = {});
    // The pieces of forward(), for analyses that run part of the stack.
    torch::Tensor embed(const torch::Tensor& ids, int64_t positionOffset,
                        const Hooks* hooks = nullptr);
    torch::Tensor block(int layer, const torch::Tensor& h, const AttentionContext& ctx = {});
    // Block `layer` up to its FFN (attention included, hooks applied).
    FfnSplit attend(int layer, const torch::Tensor& h, const AttentionContext& ctx = {});
    // The FFN split: neurons from the FFN input, and their down projection
    // (bias included). block() = finishBlock(residual, down(neurons(ffnInput))).
    torch::Tensor ffnNeurons(int layer, const torch::Tensor& ffnInput);
    torch::Tensor ffnDown(int layer, const torch::Tensor& neurons, bool withBias = true);
    // The block's output from its residual and its FFN output: their sum,
    // normed by the FFN norm in a post-norm block (no hooks applied).
    torch::Tensor finishBlock(int layer, const torch::Tensor& residual,
                              const torch::Tensor& ffnOutput);
    // Neuron (l, i)'s value vector: a writable view of row i of the down
    // projection, [D].
    torch::Tensor valueVector(int layer, int neuron);
    // [neurons, D] (a transposed view for [out, in] storage).
    torch::Tensor downProjection(int layer) {
        const auto& w = m_layers[static_cast<std::size_t>(layer)].downW;
        return m_outIn ? w.t() : w;
    }
    // Whether matrices are stored [out, in] (nn.Linear) rather than [in, out].
    bool outInLayout() const { return m_outIn; }
    torch::Tensor downBias(int layer) { return m_layers[static_cast<std::size_t>(layer)].downB; }

    // The final norm (BERT: the masked-LM head's transform).
    torch::Tensor finalNorm(const torch::Tensor& h);
    // Final-normed states [.., D] -> logits [.., vocab] (plus the
    // unembedding's bias where the family has one).
    torch::Tensor unembed(const torch::Tensor& x);
    // [vocab, D]: the unembedding (the token embedding when tied).
    torch::Tensor unembedding() const { return m_config.tiedEmbeddings ? embedding : lmHead; }
    torch::Tensor unembeddingRow(int token) const { return unembedding()[token]; }
    torch::Tensor tokenEmbedding() const { return embedding; }

    // Capabilities. Rows that continue one causal prefix may share its keys
    // and values (fast attribution, prefix caches).
    // A bidirectional (masked) model answers false.
    bool rowsMayShareCausalPrefix() const { return m_config.causal; }

    // Every weight under its logical name (for optimisers, copying between
    // networks and tests); the checkpoint names come from TensorNames.h.
    LayerWeights& layer(int l) { return m_layers[static_cast<std::size_t>(l)]; }

    torch::Tensor embedding, positionEmbedding, finalNormW, finalNormB, lmHead;
    // BERT only (undefined elsewhere).
    torch::Tensor tokenTypeEmbedding, embeddingNormW, embeddingNormB, headDenseW, headDenseB,
        unembeddingB;

private:
    torch::Tensor norm(const torch::Tensor& x, const torch::Tensor& w,
                       const torch::Tensor& b) const;
    torch::Tensor activate(const torch::Tensor& x) const;
    torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w,
                         const torch::Tensor& b) const;
    torch::Tensor rotate(const torch::Tensor& x, int64_t offset) const; // [B, H, T, dh]
    torch::Tensor headNorm(const torch::Tensor& x, const torch::Tensor& w) const;
    // q [B, H, T, dh], k and v [B, KV, T, dh]; q and k rotated from
    // positionOffset (and normed per head where the family does).
    std::tuple<torch::Tensor, torch::Tensor, torch::Tensor>
    projectHeads(int layer, const torch::Tensor& x, int64_t positionOffset);
    torch::Tensor attention(int layer, const torch::Tensor& x, const AttentionContext& ctx);
    torch::Tensor attentionSharedPrefix(int layer, const torch::Tensor& x, const KvCache& prefix);
    torch::Tensor repeatKv(const torch::Tensor& t) const;

    ModelConfig m_config;
    bool m_outIn = false;
    std::vector<LayerWeights> m_layers;
    torch::Tensor m_invFreq; // rotary inverse frequencies, [rotaryDims / 2], float
};
TORCH_MODULE(Transformer);

} // namespace scalpel
