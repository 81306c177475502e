#include "EditMemoryProxyModel.h"

#include "EditMemoryModel.h"

#include <QRegularExpression>

EditMemoryProxyModel::EditMemoryProxyModel(QObject* parent) : QSortFilterProxyModel(parent) {
    setFilterCaseSensitivity(Qt::CaseInsensitive);
    setSortCaseSensitivity(Qt::CaseInsensitive);
    setFilterKeyColumn(-1);
    setDynamicSortFilter(true);
}

void EditMemoryProxyModel::setSourceModel(QAbstractItemModel* model) {
    m_edits = qobject_cast<const EditMemoryModel*>(model);
    QSortFilterProxyModel::setSourceModel(model);
}

bool EditMemoryProxyModel::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const {
    const QRegularExpression& re = filterRegularExpression();
    if (re.pattern().isEmpty())
        return true;
    if (!m_edits)
        return QSortFilterProxyModel::filterAcceptsRow(sourceRow, sourceParent);
    const EditRow& row = m_edits->rowAt(sourceRow);
    return re.match(row.prompt).hasMatch() || re.match(row.answer).hasMatch();
}

namespace {

// a < b with unscored values (NaN) last: the view reverses lessThan for a
// descending sort, so the answer for NaN depends on the order.
bool lessUnscoredLast(double a, double b, Qt::SortOrder order) {
    if (qIsNaN(a) || qIsNaN(b)) {
        if (qIsNaN(a) && qIsNaN(b))
            return false;
        return qIsNaN(a) == (order == Qt::DescendingOrder);
    }
    return a < b;
}

} // namespace

bool EditMemoryProxyModel::lessThan(const QModelIndex& left, const QModelIndex& right) const {
    if (!m_edits)
        return QSortFilterProxyModel::lessThan(left, right);
    const EditRow& a = m_edits->rowAt(left.row());
    const EditRow& b = m_edits->rowAt(right.row());
    switch (left.column()) {
    case EditMemoryModel::EnabledColumn:
        return a.enabled < b.enabled;
    case EditMemoryModel::ScopeColumn:
        return lessUnscoredLast(a.scopeProb, b.scopeProb, sortOrder());
    case EditMemoryModel::TestsColumn:
        return lessUnscoredLast(left.data(EditMemoryModel::TestsValueRole).toDouble(),
                                right.data(EditMemoryModel::TestsValueRole).toDouble(),
                                sortOrder());
    case EditMemoryModel::AnswerColumn:
        return a.answer.compare(b.answer, sortCaseSensitivity()) < 0;
    default:
        return a.prompt.compare(b.prompt, sortCaseSensitivity()) < 0;
    }
}
