#include "EditMemoryModel.h"

#include <QColor>
#include <QFont>

#include <algorithm>

namespace {
// Warm amber that reads as "this one is active" on light and dark palettes.
const QColor kRoutedBackground(255, 224, 140);
const QColor kRoutedForeground(30, 30, 30);
} // namespace

EditMemoryModel::EditMemoryModel(QObject* parent) : QAbstractTableModel(parent) {}

int EditMemoryModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : m_edits.size();
}

int EditMemoryModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QString EditMemoryModel::scopeText(double prob, const QString& stage) {
    if (qIsNaN(prob))
        return QStringLiteral("—");
    const QString number = QString::number(prob, 'f', 2);
    return stage.isEmpty() ? number : number + QStringLiteral(" · ") + stage;
}

QVariant EditMemoryModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() ||
        !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const EditRow& edit = m_edits.at(index.row());
    const bool routed = !m_routedId.isEmpty() && edit.id == m_routedId;

    switch (role) {
    case IdRole:
        return edit.id;
    case RoutedRole:
        return routed;
    case ScopeValueRole:
        return edit.scopeProb;
    case ScopeStageRole:
        return edit.stage;
    case TestsValueRole:
        return testsValue(index.row());
    case Qt::BackgroundRole:
        return routed ? QVariant(kRoutedBackground) : QVariant();
    case Qt::FontRole:
        if (routed) {
            QFont font;
            font.setBold(true);
            return font;
        }
        return {};
    case Qt::ForegroundRole:
        if (routed)
            return kRoutedForeground;
        // A disabled edit never routes; grey it out so the table says so.
        return edit.enabled ? QVariant() : QVariant(QColor(140, 140, 140));
    default:
        break;
    }

    switch (index.column()) {
    case EnabledColumn:
        if (role == Qt::CheckStateRole)
            return edit.enabled ? Qt::Checked : Qt::Unchecked;
        if (role == Qt::ToolTipRole)
            return edit.enabled ? tr("Edit #%1 is active").arg(edit.id)
                                : tr("Edit #%1 is disabled and never routes").arg(edit.id);
        return {};
    case PromptColumn:
        if (role == Qt::DisplayRole || role == Qt::EditRole || role == Qt::ToolTipRole)
            return edit.prompt;
        return {};
    case AnswerColumn:
        if (role == Qt::DisplayRole || role == Qt::EditRole || role == Qt::ToolTipRole)
            return edit.answer;
        return {};
    case ScopeColumn:
        if (role == Qt::DisplayRole)
            return scopeText(edit.scopeProb, edit.stage);
        if (role == Qt::ToolTipRole)
            return qIsNaN(edit.scopeProb)
                       ? tr("Not scored against the current prompt")
                       : tr("Probability that the current prompt is in this edit's scope: %1 "
                            "(decided by the %2 stage)")
                             .arg(edit.scopeProb, 0, 'f', 3)
                             .arg(edit.stage.isEmpty() ? tr("scope") : edit.stage);
        if (role == Qt::TextAlignmentRole)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case TestsColumn: {
        const auto it = m_cards.constFind(edit.id);
        if (it == m_cards.constEnd())
            return role == Qt::ToolTipRole ? QVariant(tr("Its test card has not run yet"))
                                           : QVariant();
        if (it->paraphrases + it->neighbours == 0)
            return role == Qt::DisplayRole ? QVariant(QStringLiteral("—"))
                   : role == Qt::ToolTipRole
                       ? QVariant(tr("No paraphrases or neighbours to test yet: add some, or "
                                     "have the fact world propose them (Edit card)"))
                       : QVariant();
        if (role == Qt::DisplayRole)
            return QStringLiteral("%1/%2 · %3/%4")
                .arg(it->passed)
                .arg(it->paraphrases)
                .arg(it->kept)
                .arg(it->neighbours);
        if (role == Qt::ToolTipRole)
            return tr("When its card last ran, %1 of %2 paraphrases took the new answer and %3 "
                      "of %4 neighbours kept theirs")
                .arg(it->passed)
                .arg(it->paraphrases)
                .arg(it->kept)
                .arg(it->neighbours);
        return {};
    }
    default:
        return {};
    }
}

void EditMemoryModel::clearCardSummaries() {
    if (m_cards.isEmpty())
        return;
    m_cards.clear();
    if (!m_edits.isEmpty())
        Q_EMIT dataChanged(index(0, TestsColumn), index(m_edits.size() - 1, TestsColumn));
}

void EditMemoryModel::setCardSummary(const QString& id, int paraphrases, int paraphrasesPassed,
                                     int neighbours, int neighboursKept) {
    const int row = rowOfId(id);
    if (row < 0)
        return;
    m_cards.insert(id, {paraphrases, paraphrasesPassed, neighbours, neighboursKept});
    Q_EMIT dataChanged(index(row, TestsColumn), index(row, TestsColumn));
}

bool EditMemoryModel::setData(const QModelIndex& index, const QVariant& value, int role) {
    if (!index.isValid() ||
        !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return false;
    const EditRow oldValue = m_edits.at(index.row());
    EditRow newValue = oldValue;

    switch (index.column()) {
    case EnabledColumn:
        if (role != Qt::CheckStateRole)
            return false;
        newValue.enabled = value.value<Qt::CheckState>() == Qt::Checked;
        break;
    case PromptColumn:
    case AnswerColumn: {
        if (role != Qt::EditRole)
            return false;
        // An edit without a prompt or an answer cannot be trained or routed.
        const QString text = value.toString();
        if (text.trimmed().isEmpty())
            return false;
        (index.column() == PromptColumn ? newValue.prompt : newValue.answer) = text;
        break;
    }
    default:
        return false;
    }

    if (newValue == oldValue)
        return true;
    m_edits[index.row()] = newValue;
    Q_EMIT dataChanged(index.siblingAtColumn(0), index.siblingAtColumn(ColumnCount - 1));
    Q_EMIT editChanged(newValue.id, newValue, oldValue);
    return true;
}

Qt::ItemFlags EditMemoryModel::flags(const QModelIndex& index) const {
    if (!index.isValid() ||
        !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return Qt::NoItemFlags;
    Qt::ItemFlags flags = Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemNeverHasChildren;
    switch (index.column()) {
    case EnabledColumn:
        return flags | Qt::ItemIsUserCheckable;
    case PromptColumn:
    case AnswerColumn:
        return flags | Qt::ItemIsEditable;
    default:
        return flags;
    }
}

QVariant EditMemoryModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation == Qt::Vertical) {
        if (role == Qt::DisplayRole && section >= 0 && section < m_edits.size())
            return m_edits.at(section).id;
        return {};
    }
    if (role == Qt::DisplayRole) {
        switch (section) {
        case EnabledColumn:
            return tr("On");
        case PromptColumn:
            return tr("Prompt");
        case AnswerColumn:
            return tr("New answer");
        case ScopeColumn:
            return tr("Scope");
        case TestsColumn:
            return tr("Tests");
        default:
            return {};
        }
    }
    if (role == Qt::ToolTipRole && section == TestsColumn)
        return tr("Test card: paraphrases that take the new answer · neighbours kept");
    if (role == Qt::ToolTipRole && section == ScopeColumn)
        return tr("How strongly the scope classifier places the current prompt in each edit's "
                  "scope; the router applies the best edit above its threshold");
    return {};
}

QHash<int, QByteArray> EditMemoryModel::roleNames() const {
    QHash<int, QByteArray> names = QAbstractTableModel::roleNames();
    names.insert(IdRole, "editId");
    names.insert(ScopeValueRole, "scopeValue");
    names.insert(ScopeStageRole, "scopeStage");
    names.insert(RoutedRole, "routed");
    names.insert(TestsValueRole, "testsValue");
    return names;
}

void EditMemoryModel::setEdits(const QVector<EditRow>& edits) {
    beginResetModel();
    m_edits = edits;
    m_cards.clear();
    m_rowOfId.clear();
    m_rowOfId.reserve(m_edits.size());
    reindexFrom(0);
    m_scored.clear();
    for (const EditRow& edit : std::as_const(m_edits))
        noteScore(edit);
    if (!m_rowOfId.contains(m_routedId))
        m_routedId.clear();
    endResetModel();
}

bool EditMemoryModel::addEdit(const EditRow& edit) {
    if (m_rowOfId.contains(edit.id))
        return false;
    const int row = m_edits.size();
    beginInsertRows({}, row, row);
    m_edits.append(edit);
    m_rowOfId.insert(edit.id, row);
    noteScore(edit);
    endInsertRows();
    return true;
}

bool EditMemoryModel::removeEdit(const QString& id) {
    const int row = rowOfId(id);
    if (row < 0)
        return false;
    beginRemoveRows({}, row, row);
    m_edits.removeAt(row);
    m_rowOfId.remove(id);
    m_cards.remove(id);
    m_scored.remove(id);
    reindexFrom(row);
    if (m_routedId == id)
        m_routedId.clear();
    endRemoveRows();
    return true;
}

bool EditMemoryModel::updateEdit(const EditRow& edit) {
    const int row = rowOfId(edit.id);
    if (row < 0)
        return false;
    m_edits[row] = edit;
    noteScore(edit);
    m_cards.remove(edit.id); // its card tested the edit as it was
    Q_EMIT dataChanged(index(row, 0), index(row, ColumnCount - 1));
    return true;
}

void EditMemoryModel::setScopes(const QHash<QString, QPair<double, QString>>& probAndStage) {
    if (m_edits.isEmpty())
        return;
    // Only the rows scored before and the rows scored now are touched: with
    // a scope index a keystroke scores a few hundred edits of a million.
    for (const QString& id : std::as_const(m_scored)) {
        if (probAndStage.contains(id))
            continue;
        EditRow& edit = m_edits[m_rowOfId.value(id)];
        edit.scopeProb = qQNaN();
        edit.stage.clear();
    }
    m_scored.clear();
    for (auto it = probAndStage.constBegin(); it != probAndStage.constEnd(); ++it) {
        const int row = m_rowOfId.value(it.key(), -1);
        if (row < 0)
            continue;
        EditRow& edit = m_edits[row];
        edit.scopeProb = it->first;
        edit.stage = it->second;
        m_scored.insert(it.key());
    }
    Q_EMIT dataChanged(index(0, ScopeColumn), index(m_edits.size() - 1, ScopeColumn),
                       {Qt::DisplayRole, Qt::ToolTipRole, ScopeValueRole, ScopeStageRole});
}

void EditMemoryModel::noteScore(const EditRow& edit) {
    if (!qIsNaN(edit.scopeProb) || !edit.stage.isEmpty())
        m_scored.insert(edit.id);
    else
        m_scored.remove(edit.id);
}

void EditMemoryModel::setRoutedEdit(const QString& id) {
    const QString newId = m_rowOfId.contains(id) ? id : QString();
    if (newId == m_routedId)
        return;
    const int oldRow = rowOfId(m_routedId);
    m_routedId = newId;
    const QList<int> roles{Qt::BackgroundRole, Qt::FontRole, Qt::ForegroundRole, RoutedRole};
    if (oldRow >= 0)
        Q_EMIT dataChanged(index(oldRow, 0), index(oldRow, ColumnCount - 1), roles);
    const int newRow = rowOfId(newId);
    if (newRow >= 0)
        Q_EMIT dataChanged(index(newRow, 0), index(newRow, ColumnCount - 1), roles);
}

double EditMemoryModel::testsValue(int row) const {
    const auto it = m_cards.constFind(m_edits.at(row).id);
    if (it == m_cards.constEnd() || it->paraphrases + it->neighbours == 0)
        return qQNaN();
    double rate = 1;
    if (it->paraphrases > 0)
        rate = std::min(rate, double(it->passed) / it->paraphrases);
    if (it->neighbours > 0)
        rate = std::min(rate, double(it->kept) / it->neighbours);
    return rate;
}

EditRow EditMemoryModel::edit(int row) const {
    return row >= 0 && row < m_edits.size() ? m_edits.at(row) : EditRow();
}

void EditMemoryModel::reindexFrom(int row) {
    for (int i = row; i < m_edits.size(); ++i)
        m_rowOfId.insert(m_edits.at(i).id, i);
}
