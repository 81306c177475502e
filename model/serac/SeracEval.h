#pragma once
// Evaluation of memory-based editing on the fact world: N edits (distinct
// subject-relation pairs, each a training-template prompt with a
// counterfactual object of the same relation) are held in memory together;
// in-scope inputs are held-out-template paraphrases of edited facts,
// out-of-scope inputs are held-out prompts sharing the subject or the
// relation of an edit (hard) or of unedited facts (random).
//
// ES: share of in-scope inputs whose top-1 answer is the edit's answer.
// DD: share of out-of-scope inputs whose top-1 answer differs from the base
// model's. AUROC: of the best scope probability, in-scope against all
// out-of-scope inputs. Deterministic per seed.
#include "SeracEditor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace scalpel {

class FactWorld;

struct SeracEvalOptions {
    int editsInMemory = 1000;
    uint64_t seed = 1;
    int maxInputs = 300; // per kind of input
    // Write edits in the grammar's training wording and inputs in its
    // held-out frames and nouns, instead of the original templates.
    bool grammar = false;
};

struct SeracEvalResult {
    int edits = 0;
    std::string backend;
    double editSuccess = 0;
    double routedToEdit = 0; // in-scope inputs routed to their own edit
    double drawdownHard = 0;
    double drawdownRandom = 0;
    double drawdown = 0;
    double auroc = 0;
    double msPerQuery = 0;
    int inScope = 0, hard = 0, random = 0;
    // Where each input was routed ("base" or an edit id), in input order:
    // two runs on the same seed see the same inputs, so their routes compare.
    std::vector<std::string> routes;
};

SeracEvalResult evaluateSerac(SeracEditor& editor, const FactWorld& world,
                              const SeracEvalOptions& options);

} // namespace scalpel
