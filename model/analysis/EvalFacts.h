#pragma once
// Fact recall of a model on the fact world: top-1 accuracy and mean
// probability of the right answer, per relation, on one template split.
#include "FactWorld.h"
#include "LanguageModel.h"

#include <functional>
#include <string>
#include <vector>

namespace scalpel {

struct RelationScore {
    std::string relation;
    int prompts = 0;
    int correct = 0;
    double meanProb = 0;
    double probSum = 0; // of the right answer's probability over the prompts
    double accuracy() const { return prompts ? static_cast<double>(correct) / prompts : 0; }
};

struct FactEval {
    std::vector<RelationScore> relations;
    RelationScore overall;
    // On the held-out grammar splits: one row per held-out frame or noun,
    // named "relation: part".
    std::vector<RelationScore> parts;
};

// The world as `model` is asked: cloze sentences with its mask token in the
// answer's place for a masked language model (FactWorld::setClozeMask),
// prompts that end before the answer for a causal one.
FactWorld worldAskedBy(const FactWorld& world, const LanguageModel& model);

// Each relation's prompts are scored on their own, so a relation's figures
// do not depend on which other relations are scored with it (a shard of a
// sharded run scores some): `relations` are indices into world.relations(),
// empty for all.
FactEval evaluateFacts(const LanguageModel& model, const FactWorld& world, TemplateSplit split,
                       const std::function<bool(double)>& progress = {},
                       const std::vector<std::size_t>& relations = {},
                       PromptStyle style = PromptStyle::Cased);

// The overall row and each relation's (and part's) mean from their prompts,
// correct answers and probability sums, as evaluateFacts computes them.
FactEval summarizeFacts(std::vector<RelationScore> relations,
                        std::vector<RelationScore> parts = {});

} // namespace scalpel
