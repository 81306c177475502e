#pragma once
// Engine-internal view of a LanguageModel: the LibTorch module and device.
#include "Gpt2.h"
#include "LanguageModel.h"

namespace scalpel {

struct LanguageModel::Internals {
    GptConfig config;
    Tokenizer tokenizer;
    Gpt2 net{nullptr};
    torch::Device device{torch::kCPU};
    std::string path;

    torch::Tensor idsTensor(const std::vector<int>& ids) const {
        std::vector<int64_t> v(ids.begin(), ids.end());
        return torch::tensor(v, torch::kLong).view({1, -1}).to(device);
    }

    // Error unless (layer, neuron) exists in this model.
    void checkNeuron(int layer, int neuron) const;
    // Per-layer factor vectors ([neurons], on the device) for NeuronTaps::scale;
    // every neuron is checked first.
    std::map<int, torch::Tensor> scaleFactors(const std::vector<NeuronScale>& scales) const;
};

// log P(answer | prompt) per row, teacher-forced: logits [R, n, V] at the n
// positions that predict the answer's n tokens, target [n] -> [R].
torch::Tensor answerLogProb(const torch::Tensor& logits, const torch::Tensor& target);

// Loads a GPT-2 state (HF names, with or without the "transformer." prefix)
// from a safetensors file into `net`; Error names the missing or mismatched tensor.
void loadGpt2Weights(Gpt2& net, const std::string& safetensorsPath);
void saveGpt2Weights(Gpt2& net, const std::string& safetensorsPath);

} // namespace scalpel
