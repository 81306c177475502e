#pragma once
// The locating analyses as worker jobs: causal tracing (exact, or its
// attribution-patching preview) and the logit lens. Like EngineJobs.h, each
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

struct LensRequest {
    QString prompt;
    int topK = 5;
};

struct LensResult {
    QString error;
    LensData lens;
};

namespace jobs {

// The noise scale is the spread of the fact world's subjects' embeddings
// when the model knows them all (the built-in model), else of the whole
// token-embedding matrix.
TraceResult trace(WorkerEngine& engine, const TraceRequest& request, JobContext& context);
LensResult lens(WorkerEngine& engine, const LensRequest& request);

} // namespace jobs
