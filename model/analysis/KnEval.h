#pragma once
// The knowledge-neuron evaluation of Dai et al. (ACL 2022) on the fact
// world: per relation, refined neurons of sampled facts, the relative change
// of the answer probability when they are suppressed (x0) or amplified (x2)
// on the fact's own prompts and on another relation's fact, the same for as
// many random neurons, fact updates and relation erasure. Weight edits are
// always restored before returning.
#include "Attribution.h"
#include "FactWorld.h"
#include "LanguageModel.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace scalpel {

struct KnEvalOptions {
    int factsPerRelation = 10;
    uint64_t seed = 1;
    int steps = 20;
    double threshold = 0.2;
    double share = 0.7;
    // Indices into world.relations() to evaluate, in this order; empty: all.
    // A relation's result does not depend on which others are evaluated.
    std::vector<std::size_t> relations;
    std::function<bool(double, const std::string&)> progress;
};

struct KnRelationEval {
    std::string relation;
    int facts = 0;
    int factsWithNeurons = 0;
    double meanNeurons = 0;
    double suppressOwn = 0, suppressOther = 0, suppressRandom = 0;
    double amplifyOwn = 0, amplifyOther = 0, amplifyRandom = 0;
    // The own effects again with only the fact's neurons in one layer
    // (averaged over the facts that have neurons there), which shows where
    // a set's suppress and amplify effects come from.
    struct LayerEffect {
        int facts = 0;
        double meanNeurons = 0;
        double suppressOwn = 0, amplifyOwn = 0;
    };
    std::vector<LayerEffect> byLayer;
    // Fact update: share of the fact's prompts whose top-1 becomes o'.
    int updates = 0;
    double updateSuccess = 0;
    double updatePplSameBefore = 0, updatePplSameAfter = 0;
    double updatePplOtherBefore = 0, updatePplOtherAfter = 0;
    // Relation erasure (20 most frequent neurons' value slots zeroed).
    int erasedNeurons = 0;
    double eraseAccBefore = 0, eraseAccAfter = 0, erasePplBefore = 0, erasePplAfter = 0;
    double eraseOtherAccBefore = 0, eraseOtherAccAfter = 0;
    double eraseOtherPplBefore = 0, eraseOtherPplAfter = 0;
    double seconds = 0; // spent on this relation (the average: their sum)
};

struct KnEvalResult {
    std::vector<KnRelationEval> relations;
    KnRelationEval average;
    double seconds = 0;
};

// The unweighted mean over relations (by layer: weighted by facts), as
// KnEvalResult::average; a merge of sharded runs rebuilds it from the rows.
KnRelationEval averageKnRelations(const std::vector<KnRelationEval>& relations, int layers);

KnEvalResult evaluateKnowledgeNeurons(const std::shared_ptr<LanguageModel>& model,
                                      const FactWorld& world, const KnEvalOptions& options);

} // namespace scalpel
