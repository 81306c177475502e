#pragma once
// A loaded transformer language model of any supported family: weights,
// config and tokenizer from a folder in Hugging Face layout, on the CPU or a
// CUDA device. Callers see plain values only; the network stays inside the
// engine, where analyses reach it through the transformer interface
// (ModelInternals.h, arch/Transformer.h) and nothing else.
#include "GptConfig.h"
#include "ModelConfig.h"
#include "Tokenizer.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace scalpel {

struct ModelInfo {
    std::string path;
    std::string device;      // "cpu" or "cuda:0"
    std::string family;      // the builder: gpt2, llama, gpt_neox
    std::string modelType;   // config.json's model_type
    std::string dtypeOnDisk; // F32, F16, BF16 ("" for a model made in memory)
    bool tiedEmbeddings = true;
    int kvHeads = 0;
    int headDim = 0;
    int layers = 0;
    int heads = 0;
    int hidden = 0;
    int neuronsPerLayer = 0;
    int vocab = 0;
    int contextLength = 0;
    int64_t parameters = 0;
};

struct TokenProb {
    int id = -1;
    std::string token;
    double prob = 0;
};

struct NeuronScale {
    int layer = 0;
    int neuron = 0;
    float factor = 1.0f;
};

// A prompt ready to run: its ids, cut to the model's context if needed.
struct PreparedPrompt {
    std::vector<int> ids;
    std::vector<std::string> tokens;
    std::vector<bool> unknown; // per token: a word the vocabulary does not have
    std::vector<std::string> unknownWords;
    int droppedTokens = 0; // > 0 when the prompt was longer than the context
    std::string warning;
};

// What one prompt's forward pass leaves behind, so that the next pass on a
// related prompt runs only what differs. Holds the keys and values of every
// position but the last, the residual stream entering each block at the last
// position, and the distribution without interventions. Used by
// LanguageModel::nextTokenProbs:
// - the same prompt with other neuron scales reruns the last position from
//   the lowest scaled layer up (scales act at the last position only, so
//   nothing before it changes);
// - a prompt that shares a prefix with the cached one (a word typed at the
//   end, a word deleted) runs only the positions after the shared prefix;
// - it is tied to one model and to its weights as they were: after a weight
//   change (WeightEditor) or on another model it starts afresh by itself.
// The distributions equal those of a pass without the cache (to float
// rounding). Not thread-safe; one cache per prompt stream.
class PromptCache {
public:
    PromptCache();
    ~PromptCache();
    PromptCache(PromptCache&&) noexcept;
    PromptCache& operator=(PromptCache&&) noexcept;
    // Positions the last pass could reuse instead of computing (for tests
    // and benchmarks): 0 after a fresh pass.
    int reusedPositions() const;
    // Layers the last pass ran at the last position.
    int layersRun() const;

private:
    friend class LanguageModel;
    struct State;
    std::unique_ptr<State> d;
};

class LanguageModel {
public:
    struct Internals;
    friend struct ModelAccess;

    // device: "auto" (CUDA when available, else CPU), "cpu" or "cuda".
    // progress (fraction of the weights read) returning false cancels with
    // Cancelled; nothing is kept.
    static std::shared_ptr<LanguageModel> load(const std::string& dir,
                                               const std::string& device = "auto",
                                               const std::function<bool(double)>& progress = {});
    static std::shared_ptr<LanguageModel> createRandom(const GptConfig& config,
                                                       const Tokenizer& tokenizer, uint64_t seed,
                                                       const std::string& device = "cpu");
    // A model of any family with its own random initialisation; the seed
    // feeds a generator of its own (LibTorch's global one is left alone).
    static std::shared_ptr<LanguageModel> createRandom(const ModelConfig& config,
                                                       const Tokenizer& tokenizer, uint64_t seed,
                                                       const std::string& device = "cpu");
    ~LanguageModel();

    // Writes config.json, model.safetensors and tokenizer.json (atomically).
    void save(const std::string& dir) const;

    ModelInfo info() const;
    const ModelConfig& config() const;
    const Tokenizer& tokenizer() const;

    // Tokenizes; an empty prompt is an Error; a prompt longer than the
    // context keeps its last tokens and says so in `warning`.
    // With addSpecialTokens the tokenizer's post-processor adds what Hugging
    // Face adds by default (Llama's BOS, for instance).
    PreparedPrompt prepare(const std::string& text, bool addSpecialTokens = true) const;

    // A masked language model (BERT) answers cloze prompts: its prompt asks
    // at its mask tokens, not after its last token.
    bool isMaskedLm() const;
    // The positions a prompt asks at: the last one for a causal model; each
    // mask token for a masked one (an Error naming the mask token when the
    // prompt has none).
    std::vector<int> queryPositions(const std::vector<int>& ids) const;

    // Distribution of the next token after `ids`, with neurons scaled at the
    // last position (the one that predicts); for a masked language model the
    // distribution at the prompt's first mask, neurons scaled there.
    std::vector<float> nextTokenProbs(const std::vector<int>& ids,
                                      const std::vector<NeuronScale>& scales = {}) const;
    // One distribution per query position (queryPositions), in one pass, with
    // neurons scaled at each of them: several masks give one each.
    std::vector<std::vector<float>> queryProbs(const std::vector<int>& ids,
                                               const std::vector<NeuronScale>& scales = {}) const;
    // The same, reusing and then updating `cache` (see PromptCache); `base`,
    // when given, receives the distribution without interventions too. A
    // masked language model has no causal prefix to reuse: every call runs
    // full passes (reusedPositions() is 0).
    std::vector<float> nextTokenProbs(const std::vector<int>& ids,
                                      const std::vector<NeuronScale>& scales, PromptCache& cache,
                                      std::vector<float>* base = nullptr) const;
    // Counts changes of the weights (WeightEditor bumps it); a PromptCache
    // made before a change is not reused after it.
    uint64_t weightsVersion() const;
    void noteWeightsChanged();
    std::vector<TokenProb> topK(const std::vector<float>& probs, int k) const;
    // Greedy continuation; Error for a masked language model.
    std::vector<int> generate(const std::vector<int>& ids, int maxNewTokens) const;

private:
    LanguageModel();
    std::unique_ptr<Internals> m_internals;
};

// Resolves "auto" / "cpu" / "cuda" to a device string; Error when CUDA is
// asked for but absent.
std::string resolveDevice(const std::string& request);
// LibTorch's intra-op threads: setThreads() sets them explicitly (the CLI's
// --threads, the studio's setting); otherwise the first model load sets
// them to $SCALPEL_THREADS or, without it, the core count (defaultThreads()).
void setThreads(int threads);
int defaultThreads();
void initThreads();

} // namespace scalpel
