#pragma once
// Training of SERAC's three networks on the fact world, training templates
// only (held-out and novel templates never enter):
//
// - embedding model: contrastive (InfoNCE over in-batch paraphrase pairs,
//   batches built from a few subjects with several relations each, so that
//   "same subject, other relation" is always among the negatives) plus a
//   balanced BCE that calibrates prob = sigmoid(a - b d^2);
// - cross-attention classifier: balanced BCE on in scope, its logit added
//   to the (frozen) embedding stage's, with hard
//   negatives (same subject other relation, same relation other subject),
//   random ones, and negatives mined from its own mistakes;
// - counterfactual model: a GPT-2 language model reading "edit prompt answer
//   x" and trained to answer in-scope x with the edit's answer, initialised
//   from the base model when one is given.
// The routing threshold is then calibrated at the memory level by
// calibrateSerac() (below) and stored in serac.json. Deterministic per seed
// on the CPU (same thread count). Writes the folder SeracEditor::load reads.
#include "Train.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace scalpel {

struct SeracTrainOptions {
    std::string factsPath;
    std::string baseDir; // "" : the counterfactual model starts from random weights
    std::string outDir;
    uint64_t seed = 1;
    int embeddingSteps = 500;
    int classifierSteps = 600;
    int counterfactualSteps = 1000;
    int batchSize = 128;
    int layers = 2;
    int hidden = 128;
    int heads = 4;
    int context = 48;
    int embeddingDim = 64;
    double learningRate = 1e-3;
    // Share of classifier negatives taken from mined mistakes, once mining starts.
    double minedShare = 0.2;
    bool calibrate = true;
    int calibrationEdits = 1000; // edits in the simulated memory of calibrateSerac()
    std::function<bool(const std::string& stage, const TrainProgress&)> progress;
};

struct SeracTrainResult {
    double seconds = 0;
    double embeddingLoss = 0;
    double classifierLoss = 0;
    double counterfactualLoss = 0;
    double threshold = 0.5;
    int64_t bytes = 0; // size of the written weights
};

SeracTrainResult trainSerac(const SeracTrainOptions& options);

// Calibration of the routing threshold where routing happens: with N edits
// in memory every input meets N chances to fire, so a threshold that
// separates single (edit, input) pairs fires far too often. A simulated
// memory of `editsInMemory` edits (distinct facts, counterfactual answers)
// is built from TRAINING templates only; in-scope inputs are other
// training-template paraphrases of the edited facts, out-of-scope inputs are
// training-template prompts of every unedited fact (hard: its subject has an
// edit, so it shares the subject with one edit and the relation with many;
// random: its subject has none). Held-out and novel templates never enter,
// so the evaluation (held-out templates) stays untouched by the choice.
//
// Each input is scored as routing scores it (SeracEditor::scope, two
// stages): the best probability over the whole memory, and whether the best
// edit is the input's own. For a threshold t, ES_route = share of in-scope
// inputs routed to their own edit (best prob > t and best edit right),
// DD_route = share of out-of-scope inputs routed anywhere (hard and random
// weighted equally). The objective is the one the targets state (ES >= 0.95,
// DD <= 0.02), each shortfall measured in its own tolerance:
//   minimise max((1 - ES_route) / 0.05, DD_route / 0.02)
// over t in [0.05, 0.995] (step 0.005; among tied thresholds the middle
// one, the most room on either side). serac.json's "threshold" is rewritten atomically, with
// "threshold_source" saying how it was obtained; every other field is kept.
struct SeracCalibrationOptions {
    std::string seracDir; // holds serac.json, tokenizer.json, embedding/, classifier/
    std::string factsPath;
    int editsInMemory = 1000;
    uint64_t seed = 1;
    int maxInputs = 1000; // per kind: in scope, hard, random
    bool write = true;    // false: compute only
};

struct SeracCalibrationResult {
    double threshold = 0.5;
    double objective = 0;
    double esRoute = 0, ddRoute = 0, ddHard = 0, ddRandom = 0; // at the threshold
    int inScope = 0, hard = 0, random = 0;
    double seconds = 0;
    struct Point {
        double threshold, objective, esRoute, ddRoute;
    };
    std::vector<Point> curve; // every threshold tried
};

SeracCalibrationResult calibrateSerac(const SeracCalibrationOptions& options);

} // namespace scalpel
