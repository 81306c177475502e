#include "EditMemoryProxyModel.h"

#include "EditMemoryModel.h"

EditMemoryProxyModel::EditMemoryProxyModel(QObject* parent) : QSortFilterProxyModel(parent) {
    setFilterCaseSensitivity(Qt::CaseInsensitive);
    setSortCaseSensitivity(Qt::CaseInsensitive);
    setFilterKeyColumn(-1);
    setDynamicSortFilter(true);
}

bool EditMemoryProxyModel::lessThan(const QModelIndex& left, const QModelIndex& right) const {
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
