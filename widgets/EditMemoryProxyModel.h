#pragma once

#include <QAbstractProxyModel>
#include <QThreadPool>
#include <QVector>

#include <atomic>
#include <memory>

class EditMemoryModel;

// Sorts and filters an EditMemoryModel, and stays responsive at a million
// edits.
//
// The order: the Scope and Tests columns sort by the number itself, with
// unscored edits (NaN) last in either direction so the relevant edits stay on
// top; the text columns sort case-insensitively; ties keep memory order. The
// filter keeps the edits whose prompt or answer contains the text, ignoring
// case. Column -1 is memory order.
//
// Below backgroundThreshold() rows every change of filter, sort or sorted
// data is applied at once. From that size on the order is computed on a
// thread of the proxy's own from a snapshot of the keys, and swapped in as
// one layout change that keeps the selection and the current edit; until
// then the table shows the previous order and busy() is true. A newer
// request makes an older one's result void. Adding, removing and editing
// single edits never waits: those rows are placed at once in either mode.
class EditMemoryProxyModel : public QAbstractProxyModel {
    Q_OBJECT

public:
    explicit EditMemoryProxyModel(QObject* parent = nullptr);
    ~EditMemoryProxyModel() override;

    // The source must be an EditMemoryModel (or null).
    void setSourceModel(QAbstractItemModel* model) override;

    void setFilterFixedString(const QString& text);
    QString filterText() const { return m_filter; }
    void sort(int column, Qt::SortOrder order = Qt::AscendingOrder) override;
    int sortColumn() const { return m_sortColumn; }
    Qt::SortOrder sortOrder() const { return m_sortOrder; }

    // Row count from which the order is computed in the background
    // (default 50,000; 0 puts every computation there).
    void setBackgroundThreshold(int rows) { m_threshold = rows; }
    int backgroundThreshold() const { return m_threshold; }
    // True while a background order is being computed.
    bool isBusy() const { return m_busy; }

    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    QModelIndex sibling(int row, int column, const QModelIndex& idx) const override;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    bool hasChildren(const QModelIndex& parent = {}) const override;
    QModelIndex mapToSource(const QModelIndex& proxyIndex) const override;
    QModelIndex mapFromSource(const QModelIndex& sourceIndex) const override;

Q_SIGNALS:
    // busy() changed: a background order started, or the last one arrived.
    void busyChanged(bool busy);

private:
    struct Job;
    void reorder();
    QVector<int> orderNow();
    void applyOrder(QVector<int> rows);
    bool accepts(int sourceRow) const;
    bool sortsBefore(int sourceA, int sourceB) const;
    void rebuildReverse();
    void setBusy(bool busy);

    void sourceAboutToBeReset();
    void sourceReset();
    void sourceRowsInserted(const QModelIndex& parent, int first, int last);
    void sourceRowsAboutToBeRemoved(const QModelIndex& parent, int first, int last);
    void sourceRowsRemoved(const QModelIndex& parent, int first, int last);
    void sourceDataChanged(const QModelIndex& topLeft, const QModelIndex& bottomRight,
                           const QList<int>& roles);

    const EditMemoryModel* m_edits = nullptr;
    QString m_filter;
    int m_sortColumn = -1;
    Qt::SortOrder m_sortOrder = Qt::AscendingOrder;
    int m_threshold = 50000;

    QVector<int> m_rows;          // proxy row -> source row
    QVector<int> m_proxyOfSource; // source row -> proxy row, -1 when filtered out

    // Background orders: one thread; each request takes a ticket and a
    // result counts only if its ticket is still the latest and no row was
    // added or removed since its snapshot.
    QThreadPool m_pool;
    std::shared_ptr<std::atomic<int>> m_latestTicket = std::make_shared<std::atomic<int>>(0);
    int m_structureRevision = 0;
    bool m_busy = false;
};
