#pragma once
// What the ModelWorker owns and hands to every job: the language model, its
// weight editor, the SERAC editor with its copy of the edit memory, and the
// fact world. Only the worker thread touches it, one job at a time; a job
// is a function of (WorkerEngine&, JobContext&) that returns a plain value.
#include "EditMemory.h"
#include "LanguageModel.h"
#include "WorkerTypes.h"

#include <QString>

#include <map>
#include <memory>
#include <vector>

namespace scalpel {
class FactWorld;
class LanguageModel;
class SeracEditor;
class WeightEditor;
} // namespace scalpel

struct WorkerEngine {
    WorkerEngine();
    ~WorkerEngine();

    QString seracDir;  // empty: resourceDir()/models/serac
    QString factsPath; // empty: defaultFactsPath()
    QString device = QStringLiteral("auto");

    std::shared_ptr<scalpel::LanguageModel> model;
    std::unique_ptr<scalpel::WeightEditor> weights;
    std::unique_ptr<scalpel::SeracEditor> serac;
    QString seracStatus;
    // A copy of the document's memory: its journal lets SeracEditor::sync()
    // embed only what changed since the last copy.
    scalpel::EditMemory memory;
    std::unique_ptr<scalpel::FactWorld> world;
    bool worldTried = false;
    // UI token of a weight change -> the editor's change id.
    std::map<int, int> changeOfToken;
    // Bumped by anything that changes what the base or edited column would
    // say (weights, edits, model). A slider drag changes only the third
    // column, so its predictions reuse the rest.
    quint64 stateVersion = 1;
    // The last prediction without interventions, so a slider drag reruns
    // only the third column.
    struct PredictCache {
        quint64 stateVersion = 0;
        QString prompt;
        int topK = 0;
        std::vector<int> ids;
        PredictResult result;
    } predictCache;
    // The typed prompt's keys and values: a slider drag reruns the last
    // position, a word typed at the end only the new tokens.
    scalpel::PromptCache promptCache;
};

// How a running job talks back: progress (which also serves typing between
// its steps), whether it was cancelled, and the line the progress strip
// shows when it ends.
class JobContext {
public:
    virtual ~JobContext() = default;
    // Reports progress, serves quick jobs waiting meanwhile, and says whether
    // to go on (false once the job is cancelled or the worker stops).
    virtual bool progress(double fraction, const QString& detail = {}) = 0;
    // Serves quick jobs (typing) that wait, without reporting.
    virtual void serveQuick() = 0;
    // Reports progress without serving anything, for work that leaves the
    // engine in no state to answer until it ends (a job without a label
    // reports nothing).
    virtual void report(double fraction, const QString& detail) {
        (void)fraction;
        (void)detail;
    }
    virtual bool cancelled() const = 0;

    void setMessage(const QString& message) { m_message = message; }
    QString message() const { return m_message; }

private:
    QString m_message;
};
