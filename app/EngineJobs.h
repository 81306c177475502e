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
// Takes the document's copy of the edit memory. With a context, the
// embedding of edits SERAC has not seen is reported to it (not served:
// the editor is mid-sync).
void syncEdits(WorkerEngine& engine, const scalpel::EditMemory& memory,
               JobContext* context = nullptr);

// What changed in the document's memory since the worker last confirmed a
// revision: each named edit as it is now (or gone), and where it stands.
// Applying it twice changes nothing, so a newer set may replace a queued one.
struct EditChange {
    std::string id;
    bool present = false;
    scalpel::Edit edit;
    int position = -1;
};
struct EditChanges {
    uint64_t revision = 0; // the document's revision they bring the worker to
    std::vector<EditChange> changes;
    std::size_t size = 0; // edits in the document's memory after them
};
// The changes of `memory` since revision `since`; false when its journal
// cannot say (a clear, or history it has forgotten): send the whole memory.
bool editChangesSince(const scalpel::EditMemory& memory, uint64_t since, EditChanges& out);
// Brings the engine's memory to the document's through its changes (SERAC
// then embeds only those). False when the result does not match the
// document's size: the caller then sends the whole memory.
bool applyEditChanges(WorkerEngine& engine, const EditChanges& changes,
                      JobContext* context = nullptr);
PredictResult predict(WorkerEngine& engine, const PredictRequest& request);
AttributionResult attribute(WorkerEngine& engine, const AttributionRequest& request,
                            JobContext& context);
RefineResult refine(WorkerEngine& engine, const RefineRequest& request, JobContext& context);
CurveResult curve(WorkerEngine& engine, const CurveRequest& request, JobContext& context);
WeightOpResult weightOp(WorkerEngine& engine, const WeightOp& op);

} // namespace jobs
