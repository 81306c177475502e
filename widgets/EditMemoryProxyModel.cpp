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
    const EditMemoryModel* model = m_edits;
    if (!model)
        return QSortFilterProxyModel::filterAcceptsRow(sourceRow, sourceParent);
    const EditRow& row = model->rowAt(sourceRow);
    return re.match(row.prompt).hasMatch() || re.match(row.answer).hasMatch();
}

bool EditMemoryProxyModel::lessThan(const QModelIndex& left, const QModelIndex& right) const {
    const EditMemoryModel* model = m_edits;
    if (model && left.column() != EditMemoryModel::TestsColumn) {
        const EditRow& a = model->rowAt(left.row());
        const EditRow& b = model->rowAt(right.row());
        switch (left.column()) {
        case EditMemoryModel::EnabledColumn:
            return a.enabled < b.enabled;
        case EditMemoryModel::PromptColumn:
            return a.prompt.compare(b.prompt, sortCaseSensitivity()) < 0;
        case EditMemoryModel::AnswerColumn:
            return a.answer.compare(b.answer, sortCaseSensitivity()) < 0;
        case EditMemoryModel::ScopeColumn:
            if (qIsNaN(a.scopeProb) || qIsNaN(b.scopeProb)) {
                if (qIsNaN(a.scopeProb) && qIsNaN(b.scopeProb))
                    return false;
                return qIsNaN(a.scopeProb) == (sortOrder() == Qt::DescendingOrder);
            }
            return a.scopeProb < b.scopeProb;
        default:
            break;
        }
    }
    return lessThanByData(left, right);
}

bool EditMemoryProxyModel::lessThanByData(const QModelIndex& left, const QModelIndex& right) const {
    switch (left.column()) {
    case EditMemoryModel::EnabledColumn:
        return left.data(Qt::CheckStateRole).toInt() < right.data(Qt::CheckStateRole).toInt();
    case EditMemoryModel::ScopeColumn:
    case EditMemoryModel::TestsColumn: {
        const int role = left.column() == EditMemoryModel::ScopeColumn
                             ? EditMemoryModel::ScopeValueRole
                             : EditMemoryModel::TestsValueRole;
        const double a = left.data(role).toDouble();
        const double b = right.data(role).toDouble();
        if (qIsNaN(a) || qIsNaN(b)) {
            if (qIsNaN(a) && qIsNaN(b))
                return false;
            // The view reverses lessThan for a descending sort; answer so that
            // NaN lands last after that reversal too.
            return qIsNaN(a) == (sortOrder() == Qt::DescendingOrder);
        }
        return a < b;
    }
    default:
        return left.data(Qt::DisplayRole)
                   .toString()
                   .compare(right.data(Qt::DisplayRole).toString(), sortCaseSensitivity()) < 0;
    }
}
