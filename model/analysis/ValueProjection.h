#pragma once
// What an FFN neuron writes, read in the vocabulary (Geva et al.,
// "Transformer Feed-Forward Layers Build Predictions by Promoting Concepts
// in the Vocabulary Space", EMNLP 2022; the projection lm-debugger shows).
//
// Neuron (l, i)'s value vector v is row i of layer l's down projection (the
// vector the neuron's activation scales into the residual stream). Its
// projection is E v, with E the unembedding, by default without the final
// norm (as Geva et al. and lm-debugger), or E final_norm(v) as an option.
//
// The reverse search ranks every neuron of every layer by how much its value
// vector promotes one token: v . E[token]; for a prompt, by the neuron's
// actual push at the last position, activation x (v . E[token]).
//
// Promises:
//  - A neuron whose value vector is (a positive multiple of) E[t] for the
//    token t of largest embedding norm has t first in its projection.
//  - The scores are read from the weights as they are now (an edited value
//    vector shows its new projection at once).
//  - A neuron out of range, top-k <= 0, a token outside the vocabulary and an
//    empty or too long prompt are Errors naming them.
// Works for every family through the transformer interface.
#include "LanguageModel.h"

#include <string>
#include <vector>

namespace scalpel {

struct TokenScore {
    int id = -1;
    std::string token;
    double score = 0;
};

struct ValueProjection {
    int layer = 0;
    int neuron = 0;
    bool finalNorm = false;
    std::vector<TokenScore> top;    // highest E v first
    std::vector<TokenScore> bottom; // lowest first
};

ValueProjection projectValueVector(const LanguageModel& model, int layer, int neuron, int topK = 10,
                                   bool finalNorm = false);

struct NeuronPush {
    int layer = 0;
    int neuron = 0;
    double dot = 0;        // v . E[token]
    double activation = 0; // at the prompt's last position (0 without a prompt)
    double score = 0;      // the ranking: dot, or activation x dot with a prompt
};

struct NeuronSearch {
    int tokenId = -1;
    std::string token;
    bool withPrompt = false;
    std::vector<NeuronPush> neurons; // highest score first
    double elapsedMs = 0;
};

// promptIds empty: rank by v . E[token]; otherwise by activation x dot at
// the last position of the prompt.
NeuronSearch neuronsPromoting(const LanguageModel& model, int tokenId, int topK,
                              const std::vector<int>& promptIds = {});

// A token's text -> its id: the text must be one token as a continuation
// (a leading space for byte-level BPE); otherwise an Error naming it.
int singleToken(const LanguageModel& model, const std::string& text);

} // namespace scalpel
