#pragma once
// The logit lens (nostalgebraist, "interpreting GPT: the logit lens", 2020):
// what each layer already predicts. For every layer l and position t, the
// distribution softmax(unembed(final_norm(residual leaving block l at t)))
// and its top-k tokens; for an answer token, its probability and rank at the
// last position across layers.
//
// Promises:
//  - One forward pass collects the residuals; the unembedding runs on all of
//    them in one batch.
//  - The last layer's row is exactly the model's own next-token distribution
//    at each position.
//  - An empty prompt, top-k <= 0, an answer outside the vocabulary and a
//    prompt longer than the context are Errors naming them.
// Works for every family through the transformer interface; for a masked
// model (BERT) the answer is followed at the prompt's first mask instead of
// the last position.
#include "LanguageModel.h"

#include <string>
#include <vector>

namespace scalpel {

struct LogitLensOptions {
    int topK = 5;
    bool addSpecialTokens = true;
};

struct LogitLens {
    int layers = 0;
    int positions = 0;
    std::vector<int> ids;
    std::vector<std::string> tokens;
    // layers x positions, row-major: each cell's top-k, most probable first.
    std::vector<std::vector<TokenProb>> top;
    int answerId = -1; // the model's own top-1 at the last position unless given
    std::string answer;
    std::vector<double> answerProb; // [layer], at the last position
    std::vector<int> answerRank;    // [layer], 1 = most probable
    double elapsedMs = 0;

    const std::vector<TokenProb>& at(int layer, int position) const {
        return top[static_cast<std::size_t>(layer) * positions + position];
    }
};

// answerId < 0: the model's top-1 at the last position.
LogitLens logitLensIds(const LanguageModel& model, const std::vector<int>& ids, int answerId = -1,
                       const LogitLensOptions& options = {});
// answer: text whose first token is followed; empty: the model's top-1.
LogitLens logitLens(const LanguageModel& model, const std::string& prompt,
                    const std::string& answer = "", const LogitLensOptions& options = {});

} // namespace scalpel
