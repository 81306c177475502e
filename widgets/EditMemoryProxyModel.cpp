#include "EditMemoryProxyModel.h"

#include "EditMemoryModel.h"

#include <algorithm>
#include <numeric>
#include <utility>

namespace {

// The sort key of one row: a number (the check box, a probability, a rate)
// or, for the text columns, the case-folded text.
struct SortKey {
    double number = 0;
    QString text;
};

bool isTextColumn(int column) {
    return column == EditMemoryModel::PromptColumn || column == EditMemoryModel::AnswerColumn;
}

// The key of a row for every column but the tests column, whose value
// lives in the model's test cards.
SortKey keyOfRow(const EditRow& r, int column, bool fold) {
    switch (column) {
    case EditMemoryModel::EnabledColumn:
        return {r.enabled ? 1.0 : 0.0, {}};
    case EditMemoryModel::ScopeColumn:
        return {r.scopeProb, {}};
    case EditMemoryModel::AnswerColumn:
        return {0, fold ? r.answer.toCaseFolded() : r.answer};
    default:
        return {0, fold ? r.prompt.toCaseFolded() : r.prompt};
    }
}

SortKey keyOf(const EditMemoryModel& edits, int row, int column, bool fold) {
    if (column == EditMemoryModel::TestsColumn)
        return {edits.testsValue(row), {}};
    return keyOfRow(edits.rowAt(row), column, fold);
}

// a < b for the column, unscored (NaN) last whichever the direction: a
// descending sort asks less(b, a), so NaN's answer depends on the order.
bool keyLess(const SortKey& a, const SortKey& b, int column, Qt::SortOrder order) {
    if (isTextColumn(column))
        return a.text < b.text;
    if (qIsNaN(a.number) || qIsNaN(b.number)) {
        if (qIsNaN(a.number) && qIsNaN(b.number))
            return false;
        return qIsNaN(a.number) == (order == Qt::DescendingOrder);
    }
    return a.number < b.number;
}

// a before b by key in the sort's direction (ties are left to the caller).
bool keyBefore(const SortKey& a, const SortKey& b, int column, Qt::SortOrder order) {
    return order == Qt::AscendingOrder ? keyLess(a, b, column, order)
                                       : keyLess(b, a, column, order);
}

// Whether a row comes before another in the proxy: by key in the sort's
// direction, then in memory order (what the stable sort gives).
bool before(const SortKey& a, int rowA, const SortKey& b, int rowB, int column,
            Qt::SortOrder order) {
    if (keyBefore(a, b, column, order))
        return true;
    return !keyBefore(b, a, column, order) && rowA < rowB;
}

bool matches(const QString& prompt, const QString& answer, const QString& filter) {
    return filter.isEmpty() || prompt.contains(filter, Qt::CaseInsensitive) ||
           answer.contains(filter, Qt::CaseInsensitive);
}

} // namespace

// What one order computation needs, taken from the model on the UI thread
// without copying: the model's rows are shared (implicitly, as Qt's
// containers are), so the computation never touches the model. The job lets
// go of them as soon as it has run; a change to the model while it runs
// copies the model's rows once (Qt's copy on write), which is what taking a
// copy up front would have cost every time.
struct EditMemoryProxyModel::Job {
    int ticket = 0;
    int structureRevision = 0;
    QString filter;
    int column = -1;
    Qt::SortOrder order = Qt::AscendingOrder;
    QVector<EditRow> rows;
    QVector<double> tests; // the tests column's values, when sorted by it

    static std::shared_ptr<Job> snapshot(const EditMemoryModel& edits, const QString& filter,
                                         int column, Qt::SortOrder order) {
        auto job = std::make_shared<Job>();
        job->filter = filter;
        job->column = column;
        job->order = order;
        job->rows = edits.edits();
        if (column == EditMemoryModel::TestsColumn) {
            job->tests.reserve(job->rows.size());
            for (int row = 0; row < job->rows.size(); ++row)
                job->tests.append(edits.testsValue(row));
        }
        return job;
    }

    // The proxy's rows in order; *done is false when a newer request made
    // this one void midway (the rows are then of no use).
    QVector<int> run(const std::atomic<int>& latest, bool* done) {
        *done = false;
        const QVector<EditRow> source = std::exchange(rows, {});
        const int rowCount = source.size();
        QVector<int> out;
        out.reserve(rowCount);
        for (int row = 0; row < rowCount; ++row) {
            if (filter.isEmpty() || matches(source[row].prompt, source[row].answer, filter))
                out.append(row);
            if ((row & 0xffff) == 0 && latest.load() != ticket)
                return {};
        }
        if (column >= 0) {
            // Keys of the rows kept only, text folded once per row.
            QVector<SortKey> keys(rowCount);
            const bool fold = isTextColumn(column);
            for (int i = 0; i < out.size(); ++i) {
                const int row = out[i];
                keys[row] = column == EditMemoryModel::TestsColumn
                                ? SortKey{tests[row], {}}
                                : keyOfRow(source[row], column, fold);
                if ((i & 0xffff) == 0 && latest.load() != ticket)
                    return {};
            }
            std::stable_sort(out.begin(), out.end(), [&](int a, int b) {
                return keyBefore(keys[a], keys[b], column, order);
            });
        }
        *done = latest.load() == ticket;
        return out;
    }
};

EditMemoryProxyModel::EditMemoryProxyModel(QObject* parent) : QAbstractProxyModel(parent) {
    m_pool.setMaxThreadCount(1);
}

EditMemoryProxyModel::~EditMemoryProxyModel() {
    // A running order must not post its result to a proxy that is gone.
    ++*m_latestTicket;
    m_pool.waitForDone();
}

void EditMemoryProxyModel::setSourceModel(QAbstractItemModel* model) {
    Q_ASSERT(!model || qobject_cast<EditMemoryModel*>(model));
    beginResetModel();
    if (sourceModel())
        disconnect(sourceModel(), nullptr, this, nullptr);
    QAbstractProxyModel::setSourceModel(model);
    m_edits = qobject_cast<const EditMemoryModel*>(model);
    if (model) {
        connect(model, &QAbstractItemModel::modelAboutToBeReset, this,
                &EditMemoryProxyModel::sourceAboutToBeReset);
        connect(model, &QAbstractItemModel::modelReset, this, &EditMemoryProxyModel::sourceReset);
        connect(model, &QAbstractItemModel::rowsInserted, this,
                &EditMemoryProxyModel::sourceRowsInserted);
        connect(model, &QAbstractItemModel::rowsAboutToBeRemoved, this,
                &EditMemoryProxyModel::sourceRowsAboutToBeRemoved);
        connect(model, &QAbstractItemModel::rowsRemoved, this,
                &EditMemoryProxyModel::sourceRowsRemoved);
        connect(model, &QAbstractItemModel::dataChanged, this,
                &EditMemoryProxyModel::sourceDataChanged);
    }
    ++*m_latestTicket;
    ++m_structureRevision;
    m_rows.clear();
    m_proxyOfSource.clear();
    const int n = m_edits ? m_edits->rowCount() : 0;
    m_rows.resize(n);
    std::iota(m_rows.begin(), m_rows.end(), 0);
    rebuildReverse();
    endResetModel();
    reorder();
}

void EditMemoryProxyModel::setFilterFixedString(const QString& text) {
    if (text == m_filter)
        return;
    m_filter = text;
    reorder();
}

void EditMemoryProxyModel::sort(int column, Qt::SortOrder order) {
    if (column == m_sortColumn && order == m_sortOrder)
        return;
    m_sortColumn = column;
    m_sortOrder = order;
    reorder();
}

bool EditMemoryProxyModel::accepts(int sourceRow) const {
    const EditRow& row = m_edits->rowAt(sourceRow);
    return matches(row.prompt, row.answer, m_filter);
}

bool EditMemoryProxyModel::sortsBefore(int sourceA, int sourceB) const {
    if (m_sortColumn < 0)
        return sourceA < sourceB;
    const bool fold = isTextColumn(m_sortColumn);
    return before(keyOf(*m_edits, sourceA, m_sortColumn, fold), sourceA,
                  keyOf(*m_edits, sourceB, m_sortColumn, fold), sourceB, m_sortColumn, m_sortOrder);
}

QVector<int> EditMemoryProxyModel::orderNow() {
    const int ticket = ++*m_latestTicket;
    auto job = Job::snapshot(*m_edits, m_filter, m_sortColumn, m_sortOrder);
    job->ticket = ticket;
    bool done = false;
    return job->run(*m_latestTicket, &done);
}

void EditMemoryProxyModel::reorder() {
    if (!m_edits)
        return;
    if (m_edits->rowCount() < m_threshold) {
        applyOrder(orderNow());
        setBusy(false);
        return;
    }
    auto job = Job::snapshot(*m_edits, m_filter, m_sortColumn, m_sortOrder);
    job->ticket = ++*m_latestTicket;
    job->structureRevision = m_structureRevision;
    setBusy(true);
    std::shared_ptr<std::atomic<int>> latest = m_latestTicket;
    m_pool.start([job, latest, this] {
        bool done = false;
        QVector<int> rows = job->run(*latest, &done);
        if (!done)
            return;
        // Safe: the destructor voids every ticket and waits for this thread
        // before the proxy goes away, and the call runs on the proxy's thread.
        QMetaObject::invokeMethod(
            this,
            [this, ticket = job->ticket, revision = job->structureRevision,
             rows = std::move(rows)]() mutable {
                if (ticket != m_latestTicket->load())
                    return; // a newer request is on its way
                if (revision != m_structureRevision) {
                    reorder(); // rows came or went meanwhile: the snapshot is stale
                    return;
                }
                applyOrder(std::move(rows));
                setBusy(false);
            },
            Qt::QueuedConnection);
    });
}

void EditMemoryProxyModel::applyOrder(QVector<int> rows) {
    if (rows == m_rows)
        return;
    QVector<int> proxyOfSource(m_edits ? m_edits->rowCount() : 0, -1);
    for (int i = 0; i < rows.size(); ++i)
        proxyOfSource[rows[i]] = i;
    // One layout change, not a reset: the selection, the current edit and
    // the scroll position survive, and rows filtered out drop from them.
    Q_EMIT layoutAboutToBeChanged();
    const QModelIndexList before = persistentIndexList();
    QModelIndexList after;
    after.reserve(before.size());
    for (const QModelIndex& index : before) {
        const int newRow = proxyOfSource.value(m_rows.value(index.row(), -1), -1);
        after.append(newRow < 0 ? QModelIndex() : createIndex(newRow, index.column()));
    }
    m_rows = std::move(rows);
    m_proxyOfSource = std::move(proxyOfSource);
    changePersistentIndexList(before, after);
    Q_EMIT layoutChanged();
}

void EditMemoryProxyModel::rebuildReverse() {
    m_proxyOfSource.fill(-1, m_edits ? m_edits->rowCount() : 0);
    for (int i = 0; i < m_rows.size(); ++i)
        m_proxyOfSource[m_rows[i]] = i;
}

void EditMemoryProxyModel::setBusy(bool busy) {
    if (busy == m_busy)
        return;
    m_busy = busy;
    Q_EMIT busyChanged(busy);
}

void EditMemoryProxyModel::sourceAboutToBeReset() {
    beginResetModel();
}

void EditMemoryProxyModel::sourceReset() {
    ++*m_latestTicket;
    ++m_structureRevision;
    const int n = m_edits->rowCount();
    const bool ordered = !m_filter.isEmpty() || m_sortColumn >= 0;
    if (ordered && n < m_threshold) {
        m_rows = orderNow();
    } else {
        // Memory order now, the filtered and sorted order when it is ready.
        m_rows.resize(n);
        std::iota(m_rows.begin(), m_rows.end(), 0);
    }
    rebuildReverse();
    endResetModel();
    if (ordered && n >= m_threshold)
        reorder();
    else
        setBusy(false);
}

void EditMemoryProxyModel::sourceRowsInserted(const QModelIndex& parent, int first, int last) {
    if (parent.isValid())
        return;
    ++m_structureRevision;
    const int count = last - first + 1;
    for (int& row : m_rows)
        if (row >= first)
            row += count;
    rebuildReverse();
    // Each new row goes where the order puts it; memory order is the order
    // when unsorted, so the same search serves both.
    for (int source = first; source <= last; ++source) {
        if (!accepts(source))
            continue;
        const auto at = std::upper_bound(m_rows.begin(), m_rows.end(), source,
                                         [this](int a, int b) { return sortsBefore(a, b); });
        const int proxyRow = static_cast<int>(at - m_rows.begin());
        beginInsertRows({}, proxyRow, proxyRow);
        m_rows.insert(proxyRow, source);
        rebuildReverse();
        endInsertRows();
    }
    if (m_busy)
        reorder(); // the order being computed has not seen these rows
}

void EditMemoryProxyModel::sourceRowsAboutToBeRemoved(const QModelIndex& parent, int first,
                                                      int last) {
    if (parent.isValid())
        return;
    // While the source still holds the rows: proxy rows from the bottom up,
    // each run of neighbours at once.
    QVector<int> proxyRows;
    for (int source = first; source <= last; ++source)
        if (const int p = m_proxyOfSource.value(source, -1); p >= 0)
            proxyRows.append(p);
    std::sort(proxyRows.begin(), proxyRows.end(), std::greater<int>());
    for (int source = first; source <= last; ++source)
        m_proxyOfSource[source] = -1;
    for (int i = 0; i < proxyRows.size();) {
        int j = i;
        while (j + 1 < proxyRows.size() && proxyRows[j + 1] == proxyRows[j] - 1)
            ++j;
        const int top = proxyRows[j], bottom = proxyRows[i];
        beginRemoveRows({}, top, bottom);
        m_rows.remove(top, bottom - top + 1);
        for (int p = top; p < m_rows.size(); ++p)
            m_proxyOfSource[m_rows[p]] = p;
        endRemoveRows();
        i = j + 1;
    }
}

void EditMemoryProxyModel::sourceRowsRemoved(const QModelIndex& parent, int first, int last) {
    if (parent.isValid())
        return;
    ++m_structureRevision;
    const int count = last - first + 1;
    for (int& row : m_rows)
        if (row > last)
            row -= count;
    rebuildReverse();
    if (m_busy)
        reorder();
}

void EditMemoryProxyModel::sourceDataChanged(const QModelIndex& topLeft,
                                             const QModelIndex& bottomRight,
                                             const QList<int>& roles) {
    if (!topLeft.isValid() || m_rows.isEmpty())
        return;
    const int firstColumn = topLeft.column(), lastColumn = bottomRight.column();
    if (topLeft.row() == bottomRight.row()) {
        if (const int p = m_proxyOfSource.value(topLeft.row(), -1); p >= 0)
            Q_EMIT dataChanged(index(p, firstColumn), index(p, lastColumn), roles);
    } else {
        Q_EMIT dataChanged(index(0, firstColumn), index(m_rows.size() - 1, lastColumn), roles);
    }
    // Highlights and tooltips do not move rows; new text, check states and
    // numbers may.
    static const QList<int> orderRoles{Qt::DisplayRole, Qt::EditRole, Qt::CheckStateRole,
                                       EditMemoryModel::ScopeValueRole,
                                       EditMemoryModel::TestsValueRole};
    const bool orderRole = roles.isEmpty() || std::any_of(roles.begin(), roles.end(), [](int r) {
                               return orderRoles.contains(r);
                           });
    const auto touches = [&](int column) { return column >= firstColumn && column <= lastColumn; };
    const bool filterTouched = !m_filter.isEmpty() && (touches(EditMemoryModel::PromptColumn) ||
                                                       touches(EditMemoryModel::AnswerColumn));
    const bool sortTouched = m_sortColumn >= 0 && touches(m_sortColumn);
    if (orderRole && (filterTouched || sortTouched))
        reorder();
}

QModelIndex EditMemoryProxyModel::index(int row, int column, const QModelIndex& parent) const {
    if (parent.isValid() || row < 0 || row >= m_rows.size() || column < 0 ||
        column >= columnCount())
        return {};
    return createIndex(row, column);
}

QModelIndex EditMemoryProxyModel::parent(const QModelIndex&) const {
    return {};
}

QModelIndex EditMemoryProxyModel::sibling(int row, int column, const QModelIndex&) const {
    return index(row, column);
}

int EditMemoryProxyModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int EditMemoryProxyModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() || !sourceModel() ? 0 : sourceModel()->columnCount();
}

bool EditMemoryProxyModel::hasChildren(const QModelIndex& parent) const {
    return !parent.isValid() && !m_rows.isEmpty();
}

QModelIndex EditMemoryProxyModel::mapToSource(const QModelIndex& proxyIndex) const {
    if (!proxyIndex.isValid() || !sourceModel() || proxyIndex.row() >= m_rows.size())
        return {};
    return sourceModel()->index(m_rows[proxyIndex.row()], proxyIndex.column());
}

QModelIndex EditMemoryProxyModel::mapFromSource(const QModelIndex& sourceIndex) const {
    if (!sourceIndex.isValid())
        return {};
    const int p = m_proxyOfSource.value(sourceIndex.row(), -1);
    return p < 0 ? QModelIndex() : createIndex(p, sourceIndex.column());
}
