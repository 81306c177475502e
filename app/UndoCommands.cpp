#include "UndoCommands.h"

#include <algorithm>

namespace {

QString editLabel(const scalpel::Edit& e) {
    return QStringLiteral("“%1” → %2")
        .arg(QString::fromStdString(e.prompt), QString::fromStdString(e.answer));
}

} // namespace

ScalesCommand::ScalesCommand(UndoTarget* target, QVector<NeuronScale> before,
                             QVector<NeuronScale> after, int dragId, QUndoCommand* parent)
    : QUndoCommand(QStringLiteral("Scale neurons"), parent), m_target(target),
      m_before(std::move(before)), m_after(std::move(after)), m_dragId(dragId) {}

void ScalesCommand::redo() {
    m_target->applyScales(m_after);
}

void ScalesCommand::undo() {
    m_target->applyScales(m_before);
}

bool ScalesCommand::mergeWith(const QUndoCommand* other) {
    if (other->id() != id())
        return false;
    const auto* o = static_cast<const ScalesCommand*>(other);
    // Only the steps of one drag merge; separate clicks stay separate steps.
    if (m_dragId == 0 || o->m_dragId != m_dragId)
        return false;
    m_after = o->m_after;
    // A drag that ends where it started changes nothing worth undoing.
    setObsolete(m_after == m_before);
    return true;
}

NeuronSetCommand::NeuronSetCommand(UndoTarget* target, State before, State after,
                                   const QString& text)
    : QUndoCommand(text), m_target(target), m_before(std::move(before)), m_after(std::move(after)) {
}

void NeuronSetCommand::redo() {
    m_target->applyNeuronSet(m_after.neurons, m_after.labels, m_after.scales, m_after.source);
}

void NeuronSetCommand::undo() {
    m_target->applyNeuronSet(m_before.neurons, m_before.labels, m_before.scales, m_before.source);
}

AddEditCommand::AddEditCommand(UndoTarget* target, scalpel::Edit edit, int position)
    : QUndoCommand(QStringLiteral("Add edit %1").arg(editLabel(edit))), m_target(target),
      m_edit(std::move(edit)), m_position(position) {}

void AddEditCommand::redo() {
    m_target->insertEdit(m_edit, m_position);
}

void AddEditCommand::undo() {
    m_target->removeEdit(QString::fromStdString(m_edit.id));
}

RemoveEditsCommand::RemoveEditsCommand(UndoTarget* target,
                                       std::vector<std::pair<scalpel::Edit, int>> removed)
    : QUndoCommand(removed.size() == 1
                       ? QStringLiteral("Delete edit %1").arg(editLabel(removed.front().first))
                       : QStringLiteral("Delete %1 edits").arg(removed.size())),
      m_target(target), m_removed(std::move(removed)) {
    std::sort(m_removed.begin(), m_removed.end(),
              [](const auto& a, const auto& b) { return a.second < b.second; });
}

void RemoveEditsCommand::redo() {
    for (const auto& [edit, position] : m_removed)
        m_target->removeEdit(QString::fromStdString(edit.id));
}

void RemoveEditsCommand::undo() {
    // Ascending order: each edit goes back at its old index because every
    // edit before it is already back.
    for (const auto& [edit, position] : m_removed)
        m_target->insertEdit(edit, position);
}

ModifyEditCommand::ModifyEditCommand(UndoTarget* target, scalpel::Edit before, scalpel::Edit after)
    : QUndoCommand(
          before.enabled != after.enabled
              ? QStringLiteral("%1 edit %2")
                    .arg(after.enabled ? QStringLiteral("Enable") : QStringLiteral("Disable"),
                         editLabel(after))
              : QStringLiteral("Change edit %1").arg(editLabel(after))),
      m_target(target), m_before(std::move(before)), m_after(std::move(after)) {}

void ModifyEditCommand::redo() {
    m_target->replaceEdit(m_after);
}

void ModifyEditCommand::undo() {
    m_target->replaceEdit(m_before);
}

ReplaceEditsCommand::ReplaceEditsCommand(UndoTarget* target, std::vector<scalpel::Edit> before,
                                         std::vector<scalpel::Edit> after, const QString& text)
    : QUndoCommand(text), m_target(target), m_before(std::move(before)), m_after(std::move(after)) {
}

void ReplaceEditsCommand::redo() {
    m_target->replaceAllEdits(m_after);
}

void ReplaceEditsCommand::undo() {
    m_target->replaceAllEdits(m_before);
}

WeightChangeCommand::WeightChangeCommand(UndoTarget* target, WeightOp op)
    : QUndoCommand(op.description.isEmpty() ? QStringLiteral("Change weights") : op.description),
      m_target(target), m_op(std::move(op)) {}

void WeightChangeCommand::redo() {
    m_target->applyWeightChange(m_op);
}

void WeightChangeCommand::undo() {
    m_target->restoreWeightChange(m_op.token);
}

RevertWeightsCommand::RevertWeightsCommand(UndoTarget* target, QVector<WeightOp> applied)
    : QUndoCommand(QStringLiteral("Revert weights (%1 change(s))").arg(applied.size())),
      m_target(target), m_applied(std::move(applied)) {}

void RevertWeightsCommand::redo() {
    // Restoring the first change restores every later one too.
    if (!m_applied.isEmpty())
        m_target->restoreWeightChange(m_applied.front().token);
}

void RevertWeightsCommand::undo() {
    for (const auto& op : m_applied)
        m_target->applyWeightChange(op);
}
