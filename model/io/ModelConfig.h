#pragma once
// The architecture of a transformer language model, read from a Hugging Face
// config.json. One plain struct describes every supported family; the
// family's `model_type` picks how the keys are read (each family names them
// differently) and which tensor-name table and layout fixes the loader uses.
// Unknown keys are ignored; a missing or malformed required key, an unknown
// model_type or sizes that do not fit together are an Error naming the file
// and the key.
#include "GptConfig.h"

#include <cstdint>
#include <string>
#include <vector>

namespace scalpel {

enum class NormKind { LayerNorm, RmsNorm };
enum class PositionKind { Learned, Rotary };

// Hugging Face's `rope_scaling`: none, "linear" (positions divided by
// factor) or "llama3" (low frequencies divided by factor, a smooth ramp
// between low_freq_factor and high_freq_factor wavelengths).
struct RopeScaling {
    std::string type; // "" (none), "linear", "llama3"
    double factor = 1.0;
    double lowFreqFactor = 1.0;
    double highFreqFactor = 4.0;
    int originalContext = 8192;
};

struct ModelConfig {
    std::string modelType; // config.json's model_type
    std::string family; // the builder: "gpt2", "llama" (llama, mistral, qwen2, qwen3), "gpt_neox",
                        // "bert"
    int layers = 0;
    int hidden = 0;
    int heads = 0;
    int kvHeads = 0;
    int headDim = 0;
    int neurons = 0; // FFN width: inputs of the down projection
    int vocabSize = 0;
    int contextLength = 0;

    NormKind norm = NormKind::LayerNorm;
    double normEps = 1e-5;
    std::string activation = "gelu_new"; // gelu_new, gelu_pytorch_tanh, gelu, relu, silu
    bool gatedMlp = false;               // act(gate x) * (up x)

    PositionKind positions = PositionKind::Learned;
    int rotaryDims = 0; // leading dims of each head that rotate (all for Llama)
    double ropeTheta = 10000.0;
    RopeScaling ropeScaling;

    bool parallelResidual = false; // GPT-NeoX: h + attn(ln1 h) + mlp(ln2 h)
    bool tiedEmbeddings = true;
    bool qkvBias = false;
    bool attnOutBias = false;
    bool mlpBias = false;
    bool qkNorm = false; // Qwen3: RMSNorm over each head of q and k before rotary
    bool causal = true;
    // BERT: the embeddings' sum is normed; each block is post-norm
    // (LN(h + attn(h)), then LN(h + ffn(h))); token-type embeddings (the
    // engine feeds type 0); the masked-LM head transform (dense, activation,
    // LayerNorm) stands where a pre-norm model has its final norm, and the
    // unembedding has a bias.
    bool postNorm = false;
    bool embeddingNorm = false;
    int tokenTypes = 0;
    bool headTransform = false;
    bool unembeddingBias = false;
    int slidingWindow = 0; // Mistral; 0 = none

    int bosTokenId = -1;
    int eosTokenId = -1;

    int64_t parameterCount() const;
    bool hasBias() const { return qkvBias || attnOutBias || mlpBias; }

    static ModelConfig fromJson(const std::string& text, const std::string& nameForErrors);
    static ModelConfig fromFile(const std::string& path);
    // The description of a GPT-2 with these hyper-parameters.
    static ModelConfig fromGpt(const GptConfig& gpt);
    static std::vector<std::string> supportedTypes();

    // config.json in the family's own keys, readable by Hugging Face.
    std::string toJson() const;
    // The GPT-2 hyper-parameters; Error unless family is gpt2.
    GptConfig toGpt() const;
};

} // namespace scalpel
