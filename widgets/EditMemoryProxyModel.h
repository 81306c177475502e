#pragma once

#include <QSortFilterProxyModel>

class EditMemoryModel;

// Sorts and filters an EditMemoryModel. The Scope column sorts by the
// probability itself, with unscored edits (NaN) last in either direction so
// the relevant edits stay on top; the text columns sort case-insensitively.
// The filter matches the prompt or the answer. Both read the source rows
// directly (no QVariant per cell), as they run over every row of a large
// memory.
class EditMemoryProxyModel : public QSortFilterProxyModel {
    Q_OBJECT

public:
    explicit EditMemoryProxyModel(QObject* parent = nullptr);
    void setSourceModel(QAbstractItemModel* model) override;

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;
    bool lessThan(const QModelIndex& left, const QModelIndex& right) const override;

private:
    const EditMemoryModel* m_edits = nullptr; // the source, when it is one
};
