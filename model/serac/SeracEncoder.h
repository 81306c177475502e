#pragma once
// The two networks of SERAC's scope classifier, both GPT-2 stacks (the
// engine's Transformer, saved under GPT-2's Hugging Face names with the
// "transformer." prefix) with a small head:
//
// - Embedding: a text -> a unit vector (masked mean of the final hidden
//   states, projected). An input and an edit are encoded separately and
//   scored by prob = sigmoid(a - b * ||e1 - e2||^2), a and b learned, so the
//   probability is a calibrated function of the squared distance and all
//   edits are scored with one matrix product.
// - Cross-attention: reads "edit prompt [SEP] answer [SEP] [SEP] x" and, at
//   its last token, gives two logits whose sum corrects the embedding
//   stage's logit: in-scope prob = sigmoid(embedding logit + l0 + l1). A
//   cross-encoder trained alone sits at chance for hundreds of steps before
//   it learns to compare the subjects of the two texts; starting from the
//   embedding stage's answer (the head starts at zero) it only has to learn
//   where that answer is wrong.
//
// Engine-internal: includes LibTorch. A folder holds config.json (GPT-2 keys
// plus "serac_kind" and "embedding_dim") and model.safetensors.
#include "GptConfig.h"
#include "Transformer.h"
#include "Tokenizer.h"

#include <string>
#include <vector>

namespace scalpel {

enum class SeracEncoderKind { Embedding, CrossAttention };

class SeracEncoderImpl : public torch::nn::Module {
public:
    SeracEncoderImpl(const GptConfig& config, SeracEncoderKind kind, int embeddingDim = 64);

    // Right-padded ids [B, T] and the real lengths [B] (causal attention:
    // the pads never reach a real position) -> final hidden states [B, T, D].
    torch::Tensor hidden(const torch::Tensor& ids);
    // Embedding kind: unit vectors [B, embeddingDim].
    torch::Tensor embed(const torch::Tensor& ids, const torch::Tensor& lengths);
    // prob from squared distances (any shape).
    torch::Tensor distanceToLogit(const torch::Tensor& squaredDistance);
    // Cross-attention kind: [B, 2] logit corrections, summed.
    torch::Tensor pairLogits(const torch::Tensor& ids, const torch::Tensor& lengths);
    // The same in two steps, for edit parts that several inputs are paired
    // with: prefixCache runs edit parts [E, P] (one length, no padding) and
    // keeps their keys and values; pairLogitsAfter runs right-padded inputs
    // [B, T] (real lengths [B]) after rows `rows` [B] of that cache. Equal
    // to pairLogits on each edit part followed by its input, up to float
    // rounding, while no part is cut to fit the context.
    KvCache prefixCache(const torch::Tensor& editIds);
    torch::Tensor pairLogitsAfter(const KvCache& prefix, const torch::Tensor& rows,
                                  const torch::Tensor& ids, const torch::Tensor& lengths);

    void save(const std::string& dir);
    static std::shared_ptr<SeracEncoderImpl> load(const std::string& dir, SeracEncoderKind kind);

    const GptConfig& config() const { return m_config; }
    SeracEncoderKind kind() const { return m_kind; }
    int embeddingDim() const { return m_embeddingDim; }

    Transformer lm{nullptr};
    torch::nn::Linear proj{nullptr}; // embedding kind
    torch::Tensor score;             // embedding kind: [a, log b]
    torch::nn::Linear head{nullptr}; // cross-attention kind

private:
    GptConfig m_config;
    SeracEncoderKind m_kind;
    int m_embeddingDim;
};
TORCH_MODULE(SeracEncoder);

// Token ids of texts, right-padded into a batch: ids [B, T] and lengths [B].
struct SeracBatch {
    torch::Tensor ids;
    torch::Tensor lengths;
};
SeracBatch makeBatch(const std::vector<std::vector<int>>& sequences, int pad);

// The cross-attention input's edit part: prompt [SEP] answer [SEP] [SEP].
std::vector<int> crossEditPart(const Tokenizer& tok, const std::string& prompt,
                               const std::string& answer);
// Joins the edit part and the input: the input's last context / 2 tokens,
// and the edit part cut from the left when the rest of the context is too
// short for it.
std::vector<int> crossInput(const std::vector<int>& editPart, const std::vector<int>& x,
                            int context);
// Whether crossInput keeps both parts whole (so the edit part is a prefix
// that pairLogitsAfter may reuse).
bool crossInputIsWhole(std::size_t editPart, std::size_t x, int context);

} // namespace scalpel
