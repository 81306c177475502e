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
    double accuracy() const { return prompts ? static_cast<double>(correct) / prompts : 0; }
};

struct FactEval {
    std::vector<RelationScore> relations;
    RelationScore overall;
};

FactEval evaluateFacts(const LanguageModel& model, const FactWorld& world, TemplateSplit split,
                       const std::function<bool(double)>& progress = {});

} // namespace scalpel
