#pragma once
// What the user works on, in one place: the prompt and its history, the edit
// memory (the UI side's one copy; the worker holds the engine's), the
// interventions (selected neurons, their labels, factors and the fact they
// came from), the weight changes applied, the refining setup and result, the
// last attribution, and the QUndoStack that records every change. It is the
// UndoTarget of the commands and what a session file saves and restores.
//
// It knows no widget and no worker. Widgets and the worker observe it through
// the signals below; MainWindow only connects them. Every change to what a
// session holds emits changed(), which is what autosave listens to.
#include "EditMemory.h"
#include "Session.h"
#include "UndoCommands.h"
#include "WorkerTypes.h"

#include <QObject>
#include <QStringList>
#include <QVector>

class QUndoStack;

class StudioDocument : public QObject, public UndoTarget {
    Q_OBJECT

public:
    struct RefineSetup {
        QStringList prompts;
        QString target;
        double share = 0.7;
        double threshold = 0.2;
        int steps = 20;
        QVector<RefinedNeuron> result;
        // The fact the result belongs to, "“prompt” → answer".
        QString source;
    };
    enum class Duplicates { Skip, Replace, KeepBoth };

    explicit StudioDocument(QObject* parent = nullptr);
    ~StudioDocument() override;

    QUndoStack* undoStack() const { return m_undo; }

    // ---- prompt (not undoable: typing is not a studio change)
    QString prompt() const { return m_prompt; }
    void setPrompt(const QString& prompt);
    QStringList history() const { return m_history; }
    void setHistory(const QStringList& history);

    // ---- edit memory
    const scalpel::EditMemory& editMemory() const { return m_memory; }
    // A fresh id that no edit in the memory has. Ids come from here only.
    std::string newEditId();
    // Pushes an undoable add; returns the new edit's id, or "" with *error.
    QString addEdit(const QString& prompt, const QString& answer, QString* error = nullptr);
    void deleteEdits(const QStringList& ids);
    // Pushes a change of one edit's prompt, answer, enabled flag or
    // descriptor (its test prompts); false when nothing changed or the
    // prompt or answer is empty.
    bool modifyEdit(const scalpel::Edit& after);
    // Edits of `incoming` whose prompt an edit here already has.
    int countDuplicates(const scalpel::EditMemory& incoming) const;
    // One undo step. A clashing id gets a fresh one.
    void importEdits(const scalpel::EditMemory& incoming, Duplicates duplicates);

    // ---- interventions
    QVector<NeuronRef> neurons() const { return m_neurons; }
    QStringList neuronLabels() const { return m_neuronLabels; }
    QVector<NeuronScale> scales() const { return m_scales; }
    QString neuronSource() const { return m_neuronSource; }
    // `dragId` != 0: steps of one drag, merged into one undo step.
    void changeScales(const QVector<NeuronScale>& scales, int dragId);
    // Adds one neuron (a heatmap click) to the selection.
    void selectNeuron(int layer, int neuron, const QString& source);
    void selectRefinedNeurons(const QVector<RefinedNeuron>& neurons, int prompts,
                              const QString& source);
    // Replaces the selection with these neurons, all at factor 1, as one
    // undo step named `what`.
    void selectNeurons(const QVector<NeuronRef>& neurons, const QStringList& labels,
                       const QString& source, const QString& what);

    // ---- weights
    QVector<WeightOp> weightChanges() const { return m_weightOps; }
    bool weightsModified() const { return !m_weightOps.isEmpty(); }
    int nextWeightToken() { return ++m_lastWeightToken; }
    // Pushes an undoable update-fact or erase-relation.
    void changeWeights(WeightOp op);
    // Pushes an undoable return to the weights as loaded; false when there
    // is nothing to revert.
    bool revertWeights();
    // The engine refused a change: it never happened.
    void forgetWeightChange(int token);

    // ---- analysis results (not undoable: recomputing them changes nothing)
    AttributionData attribution() const { return m_attribution; }
    void setAttribution(const AttributionData& grid);
    double heatmapThreshold() const { return m_heatmapThreshold; }
    void setHeatmapThreshold(double fraction);
    RefineSetup refine() const { return m_refine; }
    // The panel's fields; the result and its source stay.
    void setRefineSetup(const QStringList& prompts, const QString& target, double share,
                        double threshold, int steps);
    void setRefineResult(const QVector<RefinedNeuron>& result, const QString& source);

    // The exact causal trace shown and the logit lens (empty: none yet).
    TraceData trace() const { return m_trace; }
    void setTrace(const TraceData& trace);
    LensData lens() const { return m_lens; }
    void setLens(const LensData& lens);

    // ---- model: a new model invalidates weights, neurons and results
    void resetForNewModel();

    // ---- sessions
    SessionState toSession(const QString& modelPath) const;
    // The state must have passed Session::fromJson; the edit memory JSON is
    // parsed here (false with *error, and nothing changed, when it fails).
    bool restore(const SessionState& state, QString* error = nullptr);
    // Changed since the last save or restore.
    bool isModified() const { return m_modified; }
    void markSaved();

    // UndoTarget
    void applyScales(const QVector<NeuronScale>& scales) override;
    void applyNeuronSet(const QVector<NeuronRef>& neurons, const QStringList& labels,
                        const QVector<NeuronScale>& scales, const QString& source) override;
    void insertEdit(const scalpel::Edit& edit, int position) override;
    void removeEdit(const QString& id) override;
    void replaceEdit(const scalpel::Edit& edit) override;
    void replaceAllEdits(const std::vector<scalpel::Edit>& edits) override;
    void applyWeightChange(const WeightOp& op) override;
    void restoreWeightChange(int token) override;

    static QString factLabel(const QString& prompt, const QString& answer);

Q_SIGNALS:
    void promptChanged(const QString& prompt);
    void historyChanged();
    // The edit memory: one of the first four, then editsChanged().
    void editInserted(const scalpel::Edit& edit, int position);
    void editRemoved(const QString& id);
    void editReplaced(const scalpel::Edit& edit);
    void editsReset();
    void editsChanged();
    // Neurons, labels or source changed (their factors with them).
    void neuronsChanged();
    // Only the factors changed.
    void scalesChanged();
    void weightChangeApplied(const WeightOp& op);
    void weightChangeRestored(int token);
    // restore(): back to the weights as loaded, then these changes in order.
    void weightsReset(const QVector<WeightOp>& changes);
    void weightsModifiedChanged(bool modified);
    void attributionChanged();
    void heatmapThresholdChanged(double fraction);
    void refineChanged();
    void traceChanged();
    void lensChanged();
    void restored();
    // Anything a session holds changed.
    void changed();
    void modifiedChanged(bool modified);

private:
    void touch();
    void setWeightOps(const QVector<WeightOp>& ops);

    QUndoStack* m_undo = nullptr;
    QString m_prompt;
    QStringList m_history;
    scalpel::EditMemory m_memory;
    quint64 m_nextEditId = 1;
    QVector<NeuronRef> m_neurons;
    QStringList m_neuronLabels;
    QVector<NeuronScale> m_scales;
    QString m_neuronSource;
    QVector<WeightOp> m_weightOps;
    int m_lastWeightToken = 0;
    AttributionData m_attribution;
    double m_heatmapThreshold = 0.2;
    RefineSetup m_refine;
    TraceData m_trace;
    LensData m_lens;
    bool m_modified = false;
};
