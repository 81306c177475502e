#pragma once
// Every change a user makes to the interventions, the edit memory or the
// model's weights is one of these commands on the studio's QUndoStack. They
// hold plain values only and act through UndoTarget, so they can be tested
// without a window or a model.
#include "EditMemory.h"
#include "WidgetTypes.h"
#include "WorkerTypes.h"

#include <QUndoCommand>
#include <QVector>

#include <utility>
#include <vector>

// What the commands change. StudioDocument implements it; its observers
// bring the widgets and the worker up to date.
class UndoTarget {
public:
    virtual ~UndoTarget() = default;
    virtual void applyScales(const QVector<NeuronScale>& scales) = 0;
    // `source` names the fact the neurons came from ("" when unknown).
    virtual void applyNeuronSet(const QVector<NeuronRef>& neurons, const QStringList& labels,
                                const QVector<NeuronScale>& scales, const QString& source) = 0;
    virtual void insertEdit(const scalpel::Edit& edit, int position) = 0;
    virtual void removeEdit(const QString& id) = 0;
    virtual void replaceEdit(const scalpel::Edit& edit) = 0;
    virtual void replaceAllEdits(const std::vector<scalpel::Edit>& edits) = 0;
    virtual void applyWeightChange(const WeightOp& op) = 0;
    virtual void restoreWeightChange(int token) = 0;
};

enum class CommandId { Scales = 1 };

// New neuron factors. Commands of one slider drag share a drag id and merge,
// so a drag is one undo step however many values it passed through.
class ScalesCommand : public QUndoCommand {
public:
    ScalesCommand(UndoTarget* target, QVector<NeuronScale> before, QVector<NeuronScale> after,
                  int dragId, QUndoCommand* parent = nullptr);
    void redo() override;
    void undo() override;
    int id() const override { return static_cast<int>(CommandId::Scales); }
    bool mergeWith(const QUndoCommand* other) override;
    QVector<NeuronScale> before() const { return m_before; }
    QVector<NeuronScale> after() const { return m_after; }

private:
    UndoTarget* m_target;
    QVector<NeuronScale> m_before;
    QVector<NeuronScale> m_after;
    int m_dragId;
};

// A new set of selected neurons (from refining or a heatmap click), with the
// factors they start at.
class NeuronSetCommand : public QUndoCommand {
public:
    struct State {
        QVector<NeuronRef> neurons;
        QStringList labels;
        QVector<NeuronScale> scales;
        QString source;
    };
    NeuronSetCommand(UndoTarget* target, State before, State after, const QString& text);
    void redo() override;
    void undo() override;

private:
    UndoTarget* m_target;
    State m_before;
    State m_after;
};

class AddEditCommand : public QUndoCommand {
public:
    AddEditCommand(UndoTarget* target, scalpel::Edit edit, int position = -1);
    void redo() override;
    void undo() override;
    const scalpel::Edit& edit() const { return m_edit; }

private:
    UndoTarget* m_target;
    scalpel::Edit m_edit;
    int m_position;
};

// Removes edits; undo puts each back where it was.
class RemoveEditsCommand : public QUndoCommand {
public:
    // Each edit with its position in the memory before the removal.
    RemoveEditsCommand(UndoTarget* target, std::vector<std::pair<scalpel::Edit, int>> removed);
    void redo() override;
    void undo() override;

private:
    UndoTarget* m_target;
    std::vector<std::pair<scalpel::Edit, int>> m_removed; // ascending positions
};

// A changed prompt, answer or enabled flag of one edit.
class ModifyEditCommand : public QUndoCommand {
public:
    ModifyEditCommand(UndoTarget* target, scalpel::Edit before, scalpel::Edit after);
    void redo() override;
    void undo() override;

private:
    UndoTarget* m_target;
    scalpel::Edit m_before;
    scalpel::Edit m_after;
};

// Replaces the whole memory (import).
class ReplaceEditsCommand : public QUndoCommand {
public:
    ReplaceEditsCommand(UndoTarget* target, std::vector<scalpel::Edit> before,
                        std::vector<scalpel::Edit> after, const QString& text);
    void redo() override;
    void undo() override;

private:
    UndoTarget* m_target;
    std::vector<scalpel::Edit> m_before;
    std::vector<scalpel::Edit> m_after;
};

// Update fact / erase relation on the weights; undo restores the rows the
// change touched, bit for bit.
class WeightChangeCommand : public QUndoCommand {
public:
    WeightChangeCommand(UndoTarget* target, WeightOp op);
    void redo() override;
    void undo() override;
    const WeightOp& op() const { return m_op; }

private:
    UndoTarget* m_target;
    WeightOp m_op;
};

// Back to the weights as loaded: undoes every weight change at once; undo
// applies them again in their order.
class RevertWeightsCommand : public QUndoCommand {
public:
    RevertWeightsCommand(UndoTarget* target, QVector<WeightOp> applied);
    void redo() override;
    void undo() override;

private:
    UndoTarget* m_target;
    QVector<WeightOp> m_applied;
};
