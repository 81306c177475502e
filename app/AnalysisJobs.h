#pragma once
// The locating analyses as worker jobs: causal tracing (exact, or its
// attribution-patching preview, or one cell of it again), the logit lens,
// and value vectors read in the vocabulary (what neurons write, and which
// neurons promote a token). Like EngineJobs.h, each
// takes the worker's engine and a plain request and returns a plain result;
// none throws (a failure is the result's error, a cancel its flag).
#include "AnalysisTypes.h"
#include "WorkerEngine.h"

struct TraceRequest {
    QString prompt;
    // Empty: the subject of the fact-world fact the prompt states, if any.
    QString subject;
    QString answer; // empty: the clean top-1
    bool approximate = false;
    int samples = 10;
    int window = 10;
    double noise = 3;
    quint64 seed = 1;
};

struct TraceResult {
    bool cancelled = false;
    QString error;
    TraceData trace;
};

// One cell of a shown trace, run again for its top-k.
struct TraceCellRequest {
    TraceData trace; // its setup (prompt, subject, answer, noise) is used
    QString kind;
    int token = 0;
    int layer = 0;
    int topK = 5;
};

struct TraceCellResult {
    QString error;
    TraceRestorationData restoration;
};

struct LensRequest {
    QString prompt;
    int topK = 5;
};

struct LensResult {
    QString error;
    LensData lens;
};

// What neurons write: each one's value-vector projection (Geva et al.),
// its top tokens.
struct WritesRequest {
    QVector<NeuronRef> neurons;
    int topK = 10;
};

struct WritesResult {
    QString error;
    NeuronWrites writes;
};

// The neurons whose value vectors most promote one token; with a prompt,
// ranked by their actual push at its last position (activation x dot).
struct PromoteRequest {
    QString token;
    QString prompt; // empty: rank by the dot product alone
    int topK = 10;
};

struct PromoteResult {
    QString error;
    QString token; // as the tokenizer has it
    QVector<NeuronRef> neurons;
    QStringList labels; // "push +1.23" / "dot +0.45", one per neuron
};

namespace jobs {

// The noise scale is the spread of the fact world's subjects' embeddings
// when the model knows them all (the built-in model), else of the whole
// token-embedding matrix.
TraceResult trace(WorkerEngine& engine, const TraceRequest& request, JobContext& context);
TraceCellResult traceCell(WorkerEngine& engine, const TraceCellRequest& request);
LensResult lens(WorkerEngine& engine, const LensRequest& request);
WritesResult writes(WorkerEngine& engine, const WritesRequest& request);
PromoteResult promote(WorkerEngine& engine, const PromoteRequest& request);

} // namespace jobs
