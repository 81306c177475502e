#pragma once
// The studio's analyses as functions on the engine. Each takes the worker's
// engine and a plain request and returns a plain result; none throws (a
// failure is the result's error). MainWindow hands them to
// ModelWorker::invoke(), which runs them on the worker thread and brings the
// result back to the UI thread. A new analysis is one function here, one
// widget and one invoke() that connects them.
#include "WorkerEngine.h"
#include "WorkerTypes.h"

namespace jobs {

// Replaces the engine's model only when the folder loads; a cancel or a
// failure leaves the old one in place.
ModelLoadResult loadModel(WorkerEngine& engine, const QString& path, JobContext& context);
// Takes the document's copy of the edit memory.
void syncEdits(WorkerEngine& engine, const scalpel::EditMemory& memory);
PredictResult predict(WorkerEngine& engine, const PredictRequest& request);
AttributionResult attribute(WorkerEngine& engine, const AttributionRequest& request,
                            JobContext& context);
RefineResult refine(WorkerEngine& engine, const RefineRequest& request, JobContext& context);
CurveResult curve(WorkerEngine& engine, const CurveRequest& request, JobContext& context);
WeightOpResult weightOp(WorkerEngine& engine, const WeightOp& op);

} // namespace jobs
