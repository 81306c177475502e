#pragma once
// Engine-internal access to a LanguageModel: its network, seen only through
// the transformer interface (arch/Transformer.h), and the device it runs on.
// Analyses, trainers and engine tests include this; the studio and the CLI
// never do.
#include "Hooks.h"
#include "LanguageModel.h"
#include "Transformer.h"

#include <atomic>
#include <map>
#include <vector>

namespace scalpel {

struct LanguageModel::Internals {
    ModelConfig config;
    Tokenizer tokenizer;
    Transformer net{nullptr};
    torch::Device device{torch::kCPU};
    std::string path;
    std::string dtypeOnDisk;
    int64_t parameters = 0;
    uint64_t weightsVersion = 1;
    // Unique per model made in this process (a cache must not mistake a new
    // model at a freed one's address for it).
    uint64_t instance = nextInstance();

    static uint64_t nextInstance() {
        static std::atomic<uint64_t> counter{0};
        return ++counter;
    }
};

struct ModelAccess {
    static LanguageModel::Internals& of(const LanguageModel& m) { return *m.m_internals; }
};

inline TransformerImpl& network(const LanguageModel& m) {
    return *ModelAccess::of(m).net;
}
inline torch::Device deviceOf(const LanguageModel& m) {
    return ModelAccess::of(m).device;
}

// ids as a [1, T] tensor on the model's device.
torch::Tensor idsTensor(const LanguageModel& m, const std::vector<int>& ids);

// Error unless (layer, neuron) exists in this model.
void checkNeuron(const LanguageModel& m, int layer, int neuron);

// Per-layer factor vectors ([neurons], on the device); every neuron is
// checked first.
std::map<int, torch::Tensor> scaleFactors(const LanguageModel& m,
                                          const std::vector<NeuronScale>& scales);
// Hooks that multiply the given neurons at `position` (-1: everywhere).
Hooks neuronScaleHooks(const LanguageModel& m, const std::vector<NeuronScale>& scales,
                       int64_t position);

// A prompt and an answer of n tokens as one sequence. Causal model: the
// prompt and the answer's first n - 1 tokens (teacher forcing). Masked model:
// the prompt with its mask repeated to n masks in a row (a prompt with n
// masks in a row is used as it is). The logits at position .. position + n - 1
// score the answer's tokens; `position` is where the question's neurons are
// read and scaled. Error when a masked model's prompt has no mask, or a run
// of masks that fits neither 1 nor n.
struct AnswerSequence {
    std::vector<int> ids;
    int64_t position = 0;
};
AnswerSequence answerSequence(const LanguageModel& m, const std::vector<int>& prompt,
                              const std::vector<int>& answer);

// log P(answer | prompt) per row, teacher-forced: logits [R, n, V] at the n
// positions that predict the answer's n tokens, target [n] -> [R].
torch::Tensor answerLogProb(const torch::Tensor& logits, const torch::Tensor& target);

} // namespace scalpel
