#pragma once
// Causal tracing (Meng et al., "Locating and Editing Factual Associations in
// GPT", NeurIPS 2022, section 2.1) and its first-order preview, attribution
// patching (Nanda, "Attribution Patching", 2023).
//
// The subject's token embeddings get Gaussian noise of standard deviation
// noise x sigma in `samples` copies of the prompt (sigma: the standard
// deviation of token-embedding values, see embeddingSigma). The score of a
// run is the mean over the copies of P(answer) at the last position. One
// restoration copies one state of the clean run into every corrupted copy:
//  - Hidden: the residual leaving block l at token t;
//  - Mlp / Attention: the FFN / attention output at token t in every block of
//    a window of `window` layers centred on l, [l - window/2, l + window/2),
//    clipped at the ends (ROME's window).
// Each grid is tokens x layers of restored scores. The noise comes from a
// generator seeded with `seed`, drawn once per trace: every restoration of a
// trace sees the same noise (as in ROME), so a seed gives the same grids.
//
// Promises:
//  - Fast and Naive give the same scores (to float rounding, 1e-5). Naive runs
//    one full forward pass per restoration. Fast runs the clean and the
//    corrupted prompt once each; a restoration at (t, l) leaves every
//    position before t, and every layer before the first restored one, equal
//    to the corrupted run, so only positions t.. and the layers after are
//    recomputed, reading the corrupted run's keys and values for the
//    positions before t; all restorations at one token run together as rows
//    of one batch, and logits are computed at the last position only.
//  - Restoring nothing gives the corrupted score; restoring every position of
//    the last layer's hidden state gives the clean score; a noise of 0 gives
//    the clean score in every cell.
//  - Approximate (attribution patching) estimates every cell from one clean
//    run, one corrupted run and one backward pass: corrupted score +
//    sum over the restored sites of (clean state - corrupted state) . d
//    score / d state, taken at the corrupted run. For one site (Hidden, or a
//    window of 1) it is exact to first order in the difference between the
//    clean and the corrupted states; a window's estimate is the sum of its
//    sites' estimates, where each site's gradient also runs through the
//    later restored sites (which the exact restoration holds fixed).
//  - Bad input (an empty subject, a subject not in the prompt or covering all
//    of it, samples <= 0, window <= 0, noise < 0, an answer outside the
//    vocabulary) is an Error naming it. `progress` returning false cancels
//    with Cancelled; the model is never changed.
//
// Works for every causal family through the transformer interface.
#include "LanguageModel.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace scalpel {

enum class TraceKind { Hidden, Mlp, Attention };
enum class TraceMethod { Fast, Naive, Approximate };

const char* traceKindName(TraceKind kind); // "hidden", "mlp", "attn"
// "hidden", "mlp", "attn" or "attention"; anything else is an Error.
TraceKind parseTraceKind(const std::string& name);

struct CausalTraceOptions {
    int samples = 10;
    double noise = 3.0; // multiplier of sigma
    // The standard deviation the noise multiplier scales; <= 0: that of the
    // whole token-embedding matrix (embeddingSigma(model, {})).
    double sigma = 0;
    int window = 10;
    uint64_t seed = 1;
    std::vector<TraceKind> kinds = {TraceKind::Hidden, TraceKind::Mlp, TraceKind::Attention};
    TraceMethod method = TraceMethod::Fast;
    bool addSpecialTokens = true;         // the prompt gets what Hugging Face adds by default
    bool keepNoise = false;               // fill CausalTrace::noiseValues
    std::function<bool(double)> progress; // fraction done; false cancels
};

struct TraceGrid {
    TraceKind kind = TraceKind::Hidden;
    int tokens = 0;
    int layers = 0;
    std::vector<float> scores; // tokens x layers, row-major: restored score
    float at(int token, int layer) const {
        return scores[static_cast<std::size_t>(token) * layers + layer];
    }
};

struct CausalTrace {
    std::vector<int> ids;
    std::vector<std::string> tokens;
    int subjectBegin = 0; // subject tokens [subjectBegin, subjectEnd)
    int subjectEnd = 0;
    int answerId = -1;
    std::string answer;
    double cleanScore = 0;     // P(answer), clean run
    double corruptedScore = 0; // mean P(answer) over the corrupted copies
    double sigma = 0;
    double noise = 0; // multiplier; the standard deviation is noise * sigma
    int samples = 0;
    int window = 0;
    uint64_t seed = 0;
    std::string method; // "fast", "naive" or "approximate"
    std::vector<TraceGrid> grids;
    // With keepNoise: samples x subject tokens x hidden, row-major, the noise
    // added to the subject's embeddings.
    std::vector<float> noiseValues;
    double elapsedMs = 0;

    const TraceGrid* grid(TraceKind kind) const;
};

// The standard deviation of token-embedding values: over the tokens of the
// given subjects (ROME's choice: the subjects of the facts traced), or over
// the whole token-embedding matrix when `subjects` is empty.
double embeddingSigma(const LanguageModel& model, const std::vector<std::string>& subjects);

// The token range [begin, end) of the first occurrence of `subject` in
// `prompt`, from the tokenizer's offsets: every token that overlaps it.
std::pair<int, int> subjectTokens(const LanguageModel& model, const std::string& prompt,
                                  const std::string& subject, bool addSpecialTokens = true);

// answer: text (its first token is traced, as in ROME); empty: the clean
// top-1 token.
CausalTrace causalTrace(const LanguageModel& model, const std::string& prompt,
                        const std::string& subject, const std::string& answer = "",
                        const CausalTraceOptions& options = {});
// The same on token ids; answerId < 0: the clean top-1 token.
CausalTrace causalTraceIds(const LanguageModel& model, const std::vector<int>& ids,
                           int subjectBegin, int subjectEnd, int answerId,
                           const CausalTraceOptions& options = {});

// What one cell of a trace predicts: the next-token distribution at the last
// position, averaged over the corrupted copies, with the state of `kind` at
// (token, layer) restored exactly as in that cell (a window for Mlp and
// Attention). Its P(answer) is the cell's score; `top` shows what the
// restored run says instead, most probable first. token < 0 restores
// nothing (the corrupted run). The noise, seed and sigma are the trace's, so
// a trace's cell and its restoration agree. A token or layer outside the
// prompt or the model is an Error naming it.
struct TraceRestoration {
    TraceKind kind = TraceKind::Hidden;
    int token = -1;
    int layer = 0;
    int firstLayer = 0, lastLayer = 0; // restored blocks [firstLayer, lastLayer)
    int answerId = -1;
    std::string answer;
    double score = 0; // mean P(answer)
    std::vector<TokenProb> top;
};

// answerId < 0: the clean top-1 token, as in causalTrace.
TraceRestoration traceRestoration(const LanguageModel& model, const std::string& prompt,
                                  const std::string& subject, int answerId, TraceKind kind,
                                  int token, int layer, int topK,
                                  const CausalTraceOptions& options = {});

// ROME's average indirect effect (restored score - corrupted score) by token
// class and layer over facts of the fact world (ROME, Figure 2).
enum class TokenClass {
    FirstSubject,
    MiddleSubject,
    LastSubject,
    FirstSubsequent,
    FurtherTokens,
    LastToken
};
constexpr int kTokenClasses = 6;
const char* tokenClassName(TokenClass c);
// The classes position `t` of a prompt of `tokens` tokens falls into, with
// subject tokens [begin, end): a one-token subject is both its first and its
// last token; the last token is never a subsequent or further token.
std::vector<TokenClass> tokenClasses(int t, int tokens, int begin, int end);

struct TraceEvalFact {
    std::string subject;
    std::string relation;
    std::string prompt;
    std::string answer;
    double clean = 0;
    double corrupted = 0;
};

struct TraceEval {
    int layers = 0;
    std::vector<TraceEvalFact> facts; // traced (the model's top-1 was right)
    int factsTried = 0;
    double meanClean = 0;
    double meanCorrupted = 0;
    // kind -> class x layer mean indirect effect, and facts counted per class.
    std::vector<TraceKind> kinds;
    std::vector<std::vector<float>> effect; // [kind][class * layers + layer]
    std::vector<int> classCount;            // [class]
    // With compareApproximate: Pearson correlation between attribution
    // patching's and the exact trace's effects (restored - corrupted), per
    // kind over every cell from the subject on of every traced fact, and per
    // kind and layer ([kind][layer]).
    std::vector<double> approximateCorrelation;
    std::vector<std::vector<double>> approximateCorrelationByLayer;
    double seconds = 0;
};

struct TraceEvalFactInput {
    std::string subject;
    std::string relation;
    std::string prompt;
    std::string answer;
};

// One fact's share of traceEval: whether the model got it right (only then
// is it traced), its clean and corrupted scores, and per token class the
// mean over the class's tokens of restored - corrupted, [kind * layers +
// layer] (empty when the prompt has no token of the class). Facts are traced
// independently (each with the options' seed), so a sharded run's facts come
// out as in the whole run.
struct TraceEvalRecord {
    TraceEvalFact fact;
    bool traced = false;
    std::vector<std::vector<double>> classEffect; // [class][kind * layers + layer]
};

TraceEvalRecord traceEvalFact(const LanguageModel& model, const TraceEvalFactInput& fact,
                              const CausalTraceOptions& options);

// traceEval's averages from every fact's record, in fact order (the effects
// without compareApproximate's correlations; seconds left 0).
TraceEval summarizeTraceEval(const std::vector<TraceEvalRecord>& records,
                             const std::vector<TraceKind>& kinds, int layers);

// Traces every fact whose answer is the model's clean top-1 and averages.
// progress(fraction, what) returning false cancels. `records`, when given,
// receives every fact's record (what summarizeTraceEval averages).
TraceEval traceEval(const LanguageModel& model, const std::vector<TraceEvalFactInput>& facts,
                    const CausalTraceOptions& options,
                    const std::function<bool(double, const std::string&)>& progress = {},
                    bool compareApproximate = false,
                    std::vector<TraceEvalRecord>* records = nullptr);

} // namespace scalpel
