#pragma once
// Per-family tables from the logical tensors every transformer has to the
// names a Hugging Face checkpoint of that family uses, with the layout fix
// each needs at load (in the spirit of llama.cpp's per-architecture name
// maps). Torch-free: the loader and `scalpel-cli info` both read it.
#include "ModelConfig.h"

#include <string>
#include <vector>

namespace scalpel {

enum class TensorRole {
    TokenEmbedding,
    PositionEmbedding,
    TokenTypeEmbedding, // BERT's segment embeddings (the engine feeds type 0)
    EmbeddingNormWeight,
    EmbeddingNormBias,
    AttnNormWeight,
    AttnNormBias,
    Q,
    K,
    V,
    QBias,
    KBias,
    VBias,
    Qkv, // one fused projection (GPT-2's c_attn, GPT-NeoX's query_key_value)
    QkvBias,
    QNorm, // Qwen3's per-head norms
    KNorm,
    AttnOut,
    AttnOutBias,
    FfnNormWeight,
    FfnNormBias,
    Gate,
    Up,
    UpBias,
    Down,
    DownBias,
    HeadDense, // BERT's masked-LM head transform, before its LayerNorm (the final norm)
    HeadDenseBias,
    FinalNormWeight,
    FinalNormBias,
    Unembedding,
    UnembeddingBias,
};

// How a checkpoint stores a matrix, relative to the engine's layout
// ([in, out], so x W is one product and row i of the down projection is
// neuron i's value vector).
enum class TensorLayout {
    Plain,       // vectors and embeddings: as stored
    InOut,       // GPT-2's Conv1D: already [in, out]
    OutIn,       // torch.nn.Linear: [out, in], transposed at load
    OutInNeoxQkv // GPT-NeoX's fused qkv: [heads * (q|k|v) * head_dim, in], per head interleaved
};

struct TensorName {
    TensorRole role;
    int layer = -1;   // -1 for tensors outside the blocks
    std::string name; // as in the checkpoint
    std::vector<std::string>
        alternatives; // also accepted at load (GPT-2 with or without "transformer.")
    TensorLayout layout = TensorLayout::Plain;
};

// Every tensor a model of this configuration has, in checkpoint order.
std::vector<TensorName> tensorNames(const ModelConfig& config);

const char* roleName(TensorRole role);

} // namespace scalpel
