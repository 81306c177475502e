#pragma once
// Knowledge-neuron attribution (Dai et al., "Knowledge Neurons in Pretrained
// Transformers", ACL 2022). A neuron is one FFN activation after the GELU at
// the last prompt position, or, for a masked language model as in the paper,
// at the prompt's [MASK] (a target of n tokens fills n masks and is scored
// by the product of their probabilities). Its score is integrated gradients of the target's
// probability P with a zero baseline and m steps:
//     Attr_i = (x_i / m) * sum_{k=1..m} dP/dx_i  at  (k/m) * x,
// where only that layer's activations at that position are scaled. A target
// of several tokens is attributed through the product of their probabilities,
// teacher-forced.
//
// Two methods give the same scores: Reference runs the whole sequence m times
// per layer; Fast runs the prompt prefix once with the KV cache, each layer's
// input once, and all layers' m scaled copies of the last position together in
// one batched pass and one backward pass. A masked model has no causal
// prefix to share: its Fast method runs the block inputs and each layer's
// attention once and only the attributed layer's FFN output and the layers
// above it for the m scaled copies (exact; the same scores as Reference).
#include "LanguageModel.h"

#include <functional>
#include <string>
#include <vector>

namespace scalpel {

enum class AttributionMethod { Fast, Reference };

struct AttributionOptions {
    int steps = 20;
    AttributionMethod method = AttributionMethod::Fast;
    std::function<bool(double)> progress; // fraction done; false cancels
};

struct AttributionGrid {
    int layers = 0;
    int neurons = 0;
    std::vector<float> scores; // layers x neurons, row-major
    std::vector<int> promptIds;
    std::vector<std::string> promptTokens;
    std::vector<int> targetIds;
    std::string target;
    double targetProb = 0;
    int steps = 0;
    std::string method;
    double elapsedMs = 0;

    float at(int layer, int neuron) const {
        return scores[static_cast<std::size_t>(layer) * neurons + neuron];
    }
    float maxScore() const;
};

struct NeuronId {
    int layer = 0;
    int neuron = 0;
    bool operator<(const NeuronId& o) const {
        return layer != o.layer ? layer < o.layer : neuron < o.neuron;
    }
    bool operator==(const NeuronId& o) const { return layer == o.layer && neuron == o.neuron; }
};

struct KnowledgeNeuron {
    int layer = 0;
    int neuron = 0;
    int prompts = 0;      // prompts in which it was a candidate
    double meanScore = 0; // mean attribution over all prompts
};

// Target text -> token ids, as a continuation (a leading space is added for
// byte-level BPE; no special tokens); an unknown word is an Error naming it.
std::vector<int> encodeTarget(const LanguageModel& model, const std::string& target);

AttributionGrid attribute(const LanguageModel& model, const std::string& prompt,
                          const std::string& target, const AttributionOptions& options = {});
AttributionGrid attributeIds(const LanguageModel& model, const std::vector<int>& promptIds,
                             const std::vector<int>& targetIds,
                             const AttributionOptions& options = {});

// Neurons with score >= threshold * max score of the grid.
std::vector<NeuronId> candidates(const AttributionGrid& grid, double threshold);

// Neurons that are candidates in at least `share` of the grids (and in at
// least 3 when there are 3 or more), most shared first.
std::vector<KnowledgeNeuron> refine(const std::vector<AttributionGrid>& grids, double threshold,
                                    double share);
int promptsNeeded(int prompts, double share);

struct KnowledgeNeuronSearch {
    std::vector<std::string> prompts;
    std::vector<AttributionGrid> grids;
    std::vector<KnowledgeNeuron> neurons;
};

KnowledgeNeuronSearch findKnowledgeNeurons(const LanguageModel& model,
                                           const std::vector<std::string>& prompts,
                                           const std::string& target, double threshold,
                                           double share, const AttributionOptions& options = {});
// The same with the target as token ids (for answers whose spelling is
// ambiguous under a subword tokenizer).
KnowledgeNeuronSearch findKnowledgeNeurons(const LanguageModel& model,
                                           const std::vector<std::string>& prompts,
                                           const std::vector<int>& targetIds, double threshold,
                                           double share, const AttributionOptions& options = {});

} // namespace scalpel
