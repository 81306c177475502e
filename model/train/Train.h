#pragma once
// Training of the built-in fact models from scratch on the fact world's
// training templates and training grammar: a GPT-2 (next-token objective)
// or a BERT (masked-LM objective, cloze sentences), with AdamW, linear
// warm-up and cosine decay, gradient clipping, and a resumable checkpoint.
// Deterministic for a given seed on the CPU (same thread count).
#include <cstdint>
#include <functional>
#include <string>

namespace scalpel {

struct TrainProgress {
    int step = 0;
    int steps = 0;
    double loss = 0;
    double learningRate = 0;
    double elapsedSeconds = 0;
};

struct TrainLmOptions {
    std::string factsPath;
    std::string outDir;
    uint64_t seed = 1;
    int steps = 2000;
    int batchSize = 64;
    double learningRate = 2e-3;
    double minLearningRateFraction = 0.05;
    double weightDecay = 0.01;
    int warmupSteps = 200;
    double clipNorm = 1.0;
    int checkpointEvery = 500; // 0: never
    int layers = 4;
    int hidden = 256;
    int heads = 4;
    int context = 32;
    // Restrict training to the first N facts of each relation (0 = all).
    int factsPerRelation = 0;
    bool resume = true;
    // The masked-LM objective (a BERT, BertForMaskedLM layout): each
    // sentence reads [CLS] ... [SEP] with its answer always masked, and 15%
    // of its other words chosen as targets too, of which 80% read [MASK],
    // 10% a random token and 10% themselves (Devlin et al., 2019). Entities
    // (the subject) are never chosen: with the answer masked a masked
    // subject has nothing to be predicted from, and on 300 facts a BERT
    // trained that way answered 2 of 20 probes against 10 of 20 without
    // it. Rows of different lengths are padded and the padding masked out
    // of attention. A post-norm BERT wants a lower learning rate than the
    // GPT-2 (1e-3; 2e-3 stalled).
    bool maskedLm = false;
    // The share of a sentence's other words chosen as masked-LM targets.
    double maskRate = 0.15;
    // Loss only on the answer and the tokens after it (see Train.cpp).
    bool answerOnlyLoss = true;
    // Keeps the answer's probability below 1, so that amplifying a fact's
    // neurons has room to raise it, as in the knowledge-neuron experiments.
    double labelSmoothing = 0.1;
    // FFN layer drop (LayerDrop, Fan et al., ICLR 2020, applied to the FFN
    // sublayers): each training sentence has each layer's FFN neurons set to
    // zero with this probability. The zero activation vector is the baseline
    // of integrated gradients and the suppression of knowledge neurons; a
    // model trained this way has seen that state (0 = off). The built-in
    // model is trained with 0.2.
    double ffnDrop = 0.2;
    // Word dropout and insertion (Train.cpp): the probability that a
    // non-entity word before the answer reads [UNK], and that one [UNK] or
    // common word is inserted into a sentence. The built-in model is trained
    // with 0.03 and 0.15.
    double wordDropout = 0;
    double wordInsertion = 0;
    // The probability that a sentence's subject reads [UNK], with every
    // answer of the relation alike as the target, so that a subject the
    // model does not know gives a spread-out answer, not a confident one.
    // The built-in model is trained with 0.03.
    double unknownSubject = 0;
    std::function<bool(const TrainProgress&)> progress; // false cancels
};

struct TrainResult {
    double firstLoss = 0; // mean over the first steps
    double finalLoss = 0; // mean over the last steps
    int steps = 0;
    int resumedFrom = 0;
    double seconds = 0;
    int sentences = 0;
    int64_t parameters = 0;
};

TrainResult trainLanguageModel(const TrainLmOptions& options);

} // namespace scalpel
