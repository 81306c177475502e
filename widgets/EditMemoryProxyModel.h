#pragma once

#include <QSortFilterProxyModel>

// Sorts and filters an EditMemoryModel. The Scope column sorts by the
// probability itself, with unscored edits (NaN) last in either direction so
// the relevant edits stay on top; the text columns sort case-insensitively.
class EditMemoryProxyModel : public QSortFilterProxyModel {
    Q_OBJECT

public:
    explicit EditMemoryProxyModel(QObject* parent = nullptr);

protected:
    bool lessThan(const QModelIndex& left, const QModelIndex& right) const override;
};
