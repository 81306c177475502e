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
    case EditMemoryModel::ScopeColumn: {
        const double a = left.data(EditMemoryModel::ScopeValueRole).toDouble();
        const double b = right.data(EditMemoryModel::ScopeValueRole).toDouble();
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
