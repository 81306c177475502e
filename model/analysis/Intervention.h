#pragma once
// Interventions on knowledge neurons (Dai et al., ACL 2022):
//  - activation scaling at the answer position (suppress x0, amplify x2),
//    measured as the relative change of the answer's probability;
//  - reversible weight edits of FFN value slots (neuron i's value vector:
//    row i of layer l's down projection in the engine's [in, out] layout,
//    GPT-2's mlp.c_proj.weight row, Llama's mlp.down_proj.weight column),
//    with E the unembedding: updating a fact <s, r, o> -> <s, r, o'> with
//    v <- v - l1 E[o] + l2 E[o'], l1 = |v|/|E[o]|, l2 = 8 |v|/|E[o']|, and
//    erasing a relation by zeroing slots. Every change saves the original row
//    first; restoring gives bit-identical weights.
#include "Attribution.h"
#include "LanguageModel.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace scalpel {

// P(target | prompt), teacher-forced over the target's tokens, with neurons
// scaled at the last prompt position; batched over prompts. For a masked
// model the prompt's mask is filled with one mask per target token, the
// product of their probabilities is the answer's, and neurons are scaled
// at the first of them.
std::vector<double> answerProbs(const LanguageModel& model,
                                const std::vector<std::vector<int>>& prompts,
                                const std::vector<int>& target,
                                const std::vector<NeuronScale>& scales = {});

// Top-1 accuracy and answer perplexity exp(mean -log P(target)) of prompts
// with single-token targets.
struct PromptSetScore {
    int prompts = 0;
    int correct = 0;
    double perplexity = 0;
    double accuracy() const { return prompts ? static_cast<double>(correct) / prompts : 0; }
};
// Each prompt's log-probability of its one-token target at the last
// position, and whether the target is the top-1 token there. Prompts are
// batched by length; `progress` (fraction done) returning false cancels.
struct PromptScore {
    double logProb = 0;
    bool top1 = false;
};
std::vector<PromptScore> scoreEach(const LanguageModel& model,
                                   const std::vector<std::vector<int>>& prompts,
                                   const std::vector<int>& targets,
                                   const std::function<bool(double)>& progress = {});

PromptSetScore scorePrompts(const LanguageModel& model,
                            const std::vector<std::vector<int>>& prompts,
                            const std::vector<int>& targets);

std::vector<NeuronScale> scalesFor(const std::vector<NeuronId>& neurons, float factor);

// The `count` neurons found for most facts (ties: lower layer, then lower
// index first), given how many facts each neuron was found for. The erase
// experiment zeroes these.
std::vector<NeuronId> mostFrequentNeurons(const std::map<NeuronId, int>& factsPerNeuron,
                                          std::size_t count);

// Mean over prompts of (P_after - P_before) / P_before.
double relativeEffect(const std::vector<double>& before, const std::vector<double>& after);

struct WeightChange {
    int id = 0;
    std::string kind;        // "update-fact" or "erase-relation"
    std::string description; // e.g. "Ireland capital: Dublin -> Lisbon"
    std::vector<NeuronId> slots;
};

class WeightEditor {
public:
    explicit WeightEditor(std::shared_ptr<LanguageModel> model);

    // Returns the change's id. Errors leave the weights unchanged.
    // `prompts` (token ids of the fact's prompts) give each neuron's sign: a
    // gated MLP's neuron act(gate x) * (up x) may carry a fact while
    // negative, and then its value vector moves the other way (-E[o] + E[o']
    // scaled as above, times the sign of its mean activation at the prompts'
    // last position). Without prompts every sign is +1, the paper's rule for
    // GELU neurons.
    int updateFact(const std::vector<NeuronId>& neurons, const std::string& oldObject,
                   const std::string& newObject, const std::string& description = {},
                   const std::vector<std::vector<int>>& prompts = {});
    int eraseRelation(const std::vector<NeuronId>& neurons, const std::string& description = {});
    // Undoes one change, and every change made after it, so the weights are
    // bit-identical to those before it.
    void restore(int id);
    void restoreAll();
    const std::vector<WeightChange>& changes() const { return m_changes; }
    bool modified() const { return !m_changes.empty(); }

private:
    void checkNeurons(const std::vector<NeuronId>& neurons) const;
    std::vector<float> activationSigns(const std::vector<NeuronId>& neurons,
                                       const std::vector<std::vector<int>>& prompts) const;
    void saveOriginal(const NeuronId& n);

    std::shared_ptr<LanguageModel> m_model;
    std::vector<WeightChange> m_changes;
    // Row values before each change, per change id, to undo in any order.
    std::map<int, std::map<NeuronId, std::vector<float>>> m_before;
    int m_nextId = 1;
};

} // namespace scalpel
