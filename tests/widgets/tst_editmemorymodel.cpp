#include "EditMemoryModel.h"
#include "EditMemoryProxyModel.h"

#include <QAbstractItemModelTester>
#include <QColor>
#include <QElapsedTimer>
#include <QFont>
#include <QItemSelectionModel>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTest>

class TestEditMemoryModel : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void passesModelTester();
    void passesModelTesterWithTenThousandRows();
    void addRemoveUpdate();
    void rowOfIdFollowsRemovals();
    void userEditsEmitOldAndNew_data();
    void userEditsEmitOldAndNew();
    void rejectedEditsChangeNothing_data();
    void rejectedEditsChangeNothing();
    void programmaticChangesDoNotEmitEditChanged();
    void scopesShowAsText_data();
    void scopesShowAsText();
    void setScopesIsOneColumnChange();
    void setScopesOnTenThousandRowsIsCheap();
    void routedRowIsHighlighted();
    void sortByScopeKeepsUnscoredLast_data();
    void sortByScopeKeepsUnscoredLast();
    void sortByText();
    void testsColumnSortsTheWeakestEditsFirst();
    void backgroundOrderMatchesImmediateOrder();
    void onlyTheNewestBackgroundOrderIsShown();
    void selectionFollowsEditsThroughABackgroundOrder();
    void editsChangedDuringABackgroundOrderLandInPlace();
};

namespace {

EditRow makeEdit(const QString& id, const QString& prompt = {}, const QString& answer = {}) {
    EditRow edit;
    edit.id = id;
    edit.prompt =
        prompt.isEmpty() ? QStringLiteral("The capital of country %1 is").arg(id) : prompt;
    edit.answer = answer.isEmpty() ? QStringLiteral(" City%1").arg(id) : answer;
    return edit;
}

QVector<EditRow> manyEdits(int count) {
    QVector<EditRow> edits;
    edits.reserve(count);
    for (int i = 0; i < count; ++i)
        edits.append(makeEdit(QString::number(i)));
    return edits;
}

QHash<QString, QPair<double, QString>> scoresFor(int count) {
    QHash<QString, QPair<double, QString>> scores;
    scores.reserve(count);
    for (int i = 0; i < count; ++i)
        scores.insert(QString::number(i), {double(i % 100) / 100.0, QStringLiteral("embedding")});
    return scores;
}

} // namespace

void TestEditMemoryModel::passesModelTester() {
    EditMemoryModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setEdits({makeEdit("1"), makeEdit("2"), makeEdit("3")});
    model.addEdit(makeEdit("4"));
    model.removeEdit("2");
    model.updateEdit(makeEdit("3", "changed", "answer"));
    model.setScopes({{"1", {0.9, "cross-attention"}}});
    model.setRoutedEdit("1");
    model.setRoutedEdit("4");
    QVERIFY(model.setData(model.index(0, EditMemoryModel::PromptColumn), "new prompt"));
    QVERIFY(model.setData(model.index(0, EditMemoryModel::EnabledColumn), Qt::Unchecked,
                          Qt::CheckStateRole));
    model.setEdits({});
    QCOMPARE(model.rowCount(), 0);
}

void TestEditMemoryModel::passesModelTesterWithTenThousandRows() {
    EditMemoryModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setEdits(manyEdits(10000));
    QCOMPARE(model.rowCount(), 10000);
    model.setScopes(scoresFor(10000));
    model.setRoutedEdit("9999");
    model.removeEdit("0");
    QCOMPARE(model.rowCount(), 9999);
    QCOMPARE(model.rowOfId("9999"), 9998);
}

void TestEditMemoryModel::addRemoveUpdate() {
    EditMemoryModel model;
    QVERIFY(model.addEdit(makeEdit("a")));
    QVERIFY(!model.addEdit(makeEdit("a", "duplicate id")));
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.edit(0).prompt, makeEdit("a").prompt);

    EditRow changed = makeEdit("a", "The Eiffel Tower is in", " Rome");
    changed.enabled = false;
    QVERIFY(model.updateEdit(changed));
    QCOMPARE(model.edit(0), changed);
    QCOMPARE(model.index(0, EditMemoryModel::EnabledColumn).data(Qt::CheckStateRole).toInt(),
             int(Qt::Unchecked));
    QCOMPARE(model.index(0, EditMemoryModel::AnswerColumn).data().toString(),
             QStringLiteral(" Rome"));
    QVERIFY(!model.updateEdit(makeEdit("missing")));

    QVERIFY(model.removeEdit("a"));
    QVERIFY(!model.removeEdit("a"));
    QCOMPARE(model.rowCount(), 0);
    QVERIFY(model.edit(0).id.isEmpty());
}

void TestEditMemoryModel::rowOfIdFollowsRemovals() {
    EditMemoryModel model;
    model.setEdits({makeEdit("x"), makeEdit("y"), makeEdit("z")});
    QCOMPARE(model.rowOfId("z"), 2);
    model.removeEdit("x");
    QCOMPARE(model.rowOfId("x"), -1);
    QCOMPARE(model.rowOfId("y"), 0);
    QCOMPARE(model.rowOfId("z"), 1);
    model.addEdit(makeEdit("w"));
    QCOMPARE(model.rowOfId("w"), 2);
    QCOMPARE(model.index(1, 0).data(EditMemoryModel::IdRole).toString(), QStringLiteral("z"));
    QCOMPARE(model.headerData(1, Qt::Vertical).toString(), QStringLiteral("z"));
}

void TestEditMemoryModel::userEditsEmitOldAndNew_data() {
    QTest::addColumn<int>("column");
    QTest::addColumn<int>("role");
    QTest::addColumn<QVariant>("value");
    QTest::addColumn<QString>("field");

    QTest::newRow("prompt") << int(EditMemoryModel::PromptColumn) << int(Qt::EditRole)
                            << QVariant("The Louvre is in") << "prompt";
    QTest::newRow("answer") << int(EditMemoryModel::AnswerColumn) << int(Qt::EditRole)
                            << QVariant(" Berlin") << "answer";
    QTest::newRow("disable") << int(EditMemoryModel::EnabledColumn) << int(Qt::CheckStateRole)
                             << QVariant(int(Qt::Unchecked)) << "enabled";
}

void TestEditMemoryModel::userEditsEmitOldAndNew() {
    QFETCH(int, column);
    QFETCH(int, role);
    QFETCH(QVariant, value);
    QFETCH(QString, field);

    EditMemoryModel model;
    model.setEdits({makeEdit("1"), makeEdit("2", "The Eiffel Tower is in", " Paris")});
    QSignalSpy changed(&model, &EditMemoryModel::editChanged);
    QSignalSpy dataChanged(&model, &QAbstractItemModel::dataChanged);
    const EditRow before = model.edit(1);

    QVERIFY(model.setData(model.index(1, column), value, role));
    QCOMPARE(changed.count(), 1);
    QCOMPARE(dataChanged.count(), 1);
    const QString id = changed.at(0).at(0).toString();
    const auto newValue = changed.at(0).at(1).value<EditRow>();
    const auto oldValue = changed.at(0).at(2).value<EditRow>();
    QCOMPARE(id, QStringLiteral("2"));
    QCOMPARE(oldValue, before);
    QCOMPARE(model.edit(1), newValue); // applied, not only reported

    EditRow expected = before;
    if (field == "prompt")
        expected.prompt = value.toString();
    else if (field == "answer")
        expected.answer = value.toString();
    else
        expected.enabled = false;
    QCOMPARE(newValue, expected);

    // Writing the same value again is not a change.
    QVERIFY(model.setData(model.index(1, column), value, role));
    QCOMPARE(changed.count(), 1);
}

void TestEditMemoryModel::rejectedEditsChangeNothing_data() {
    QTest::addColumn<int>("column");
    QTest::addColumn<int>("role");
    QTest::addColumn<QVariant>("value");

    QTest::newRow("blank prompt") << int(EditMemoryModel::PromptColumn) << int(Qt::EditRole)
                                  << QVariant("   ");
    QTest::newRow("empty answer") << int(EditMemoryModel::AnswerColumn) << int(Qt::EditRole)
                                  << QVariant("");
    QTest::newRow("scope is read-only")
        << int(EditMemoryModel::ScopeColumn) << int(Qt::EditRole) << QVariant(0.5);
    QTest::newRow("enabled wants a check state")
        << int(EditMemoryModel::EnabledColumn) << int(Qt::EditRole) << QVariant(false);
}

void TestEditMemoryModel::rejectedEditsChangeNothing() {
    QFETCH(int, column);
    QFETCH(int, role);
    QFETCH(QVariant, value);

    EditMemoryModel model;
    model.setEdits({makeEdit("1")});
    QSignalSpy changed(&model, &EditMemoryModel::editChanged);
    const EditRow before = model.edit(0);
    QVERIFY(!model.setData(model.index(0, column), value, role));
    QCOMPARE(changed.count(), 0);
    QCOMPARE(model.edit(0), before);
}

void TestEditMemoryModel::programmaticChangesDoNotEmitEditChanged() {
    EditMemoryModel model;
    QSignalSpy changed(&model, &EditMemoryModel::editChanged);
    model.setEdits({makeEdit("1")});
    model.addEdit(makeEdit("2"));
    model.updateEdit(makeEdit("2", "other", "thing"));
    model.setScopes({{"1", {0.3, "embedding"}}});
    model.setRoutedEdit("1");
    model.removeEdit("1");
    QCOMPARE(changed.count(), 0);
}

void TestEditMemoryModel::scopesShowAsText_data() {
    QTest::addColumn<double>("prob");
    QTest::addColumn<QString>("stage");
    QTest::addColumn<QString>("text");
    QTest::newRow("cross-attention")
        << 0.9712 << "cross-attention" << QStringLiteral("0.97 · cross-attention");
    QTest::newRow("embedding") << 0.05 << "embedding" << QStringLiteral("0.05 · embedding");
    QTest::newRow("no stage") << 1.0 << ""
                              << "1.00";
    QTest::newRow("unscored") << qQNaN() << "" << QStringLiteral("—");
}

void TestEditMemoryModel::scopesShowAsText() {
    QFETCH(double, prob);
    QFETCH(QString, stage);
    QFETCH(QString, text);
    EditMemoryModel model;
    EditRow edit = makeEdit("1");
    edit.scopeProb = prob;
    edit.stage = stage;
    model.setEdits({edit});
    const QModelIndex scope = model.index(0, EditMemoryModel::ScopeColumn);
    QCOMPARE(scope.data().toString(), text);
    const double value = scope.data(EditMemoryModel::ScopeValueRole).toDouble();
    QCOMPARE(qIsNaN(value), qIsNaN(prob));
    if (!qIsNaN(prob))
        QCOMPARE(value, prob);
}

void TestEditMemoryModel::setScopesIsOneColumnChange() {
    EditMemoryModel model;
    model.setEdits({makeEdit("1"), makeEdit("2"), makeEdit("3")});
    model.setScopes(
        {{"1", {0.2, "embedding"}}, {"2", {0.4, "embedding"}}, {"3", {0.6, "embedding"}}});
    QSignalSpy dataChanged(&model, &QAbstractItemModel::dataChanged);

    model.setScopes({{"2", {0.97, "cross-attention"}}});
    QCOMPARE(dataChanged.count(), 1);
    const auto topLeft = dataChanged.at(0).at(0).toModelIndex();
    const auto bottomRight = dataChanged.at(0).at(1).toModelIndex();
    QCOMPARE(topLeft, model.index(0, EditMemoryModel::ScopeColumn));
    QCOMPARE(bottomRight, model.index(2, EditMemoryModel::ScopeColumn));
    // Edits missing from the new scores become unscored.
    QVERIFY(qIsNaN(model.edit(0).scopeProb));
    QVERIFY(model.edit(0).stage.isEmpty());
    QCOMPARE(model.edit(1).scopeProb, 0.97);
    QCOMPARE(model.edit(1).stage, QStringLiteral("cross-attention"));
    QCOMPARE(model.index(2, EditMemoryModel::ScopeColumn).data().toString(), QStringLiteral("—"));
}

void TestEditMemoryModel::setScopesOnTenThousandRowsIsCheap() {
    EditMemoryModel model;
    model.setEdits(manyEdits(10000));
    const auto scores = scoresFor(10000);
    QSignalSpy dataChanged(&model, &QAbstractItemModel::dataChanged);

    QElapsedTimer timer;
    qint64 bestNs = std::numeric_limits<qint64>::max();
    for (int round = 0; round < 5; ++round) {
        timer.start();
        model.setScopes(scores);
        bestNs = qMin(bestNs, timer.nsecsElapsed());
    }
    qInfo("setScopes on 10,000 edits: %.3f ms (best of 5)", bestNs / 1e6);
    QCOMPARE(dataChanged.count(), 5);
    QCOMPARE(model.edit(1234).scopeProb, 0.34);
    // The budget is ~10 ms; the bound leaves room for a loaded machine.
    QVERIFY2(bestNs < 200'000'000, qPrintable(QString::number(bestNs / 1e6)));
}

void TestEditMemoryModel::routedRowIsHighlighted() {
    EditMemoryModel model;
    model.setEdits({makeEdit("1"), makeEdit("2"), makeEdit("3"), makeEdit("4")});
    QSignalSpy dataChanged(&model, &QAbstractItemModel::dataChanged);

    auto isHighlighted = [&](int row) {
        const QModelIndex index = model.index(row, EditMemoryModel::PromptColumn);
        return index.data(Qt::BackgroundRole).canConvert<QColor>() &&
               index.data(Qt::FontRole).value<QFont>().bold() &&
               index.data(EditMemoryModel::RoutedRole).toBool();
    };

    model.setRoutedEdit("2");
    QCOMPARE(model.routedEdit(), QStringLiteral("2"));
    QVERIFY(isHighlighted(1));
    QVERIFY(!isHighlighted(0) && !isHighlighted(2) && !isHighlighted(3));
    QCOMPARE(dataChanged.count(), 1);
    QCOMPARE(dataChanged.at(0).at(0).toModelIndex().row(), 1);
    QCOMPARE(dataChanged.at(0).at(1).toModelIndex().row(), 1);

    // Moving the highlight repaints exactly the old and the new row.
    dataChanged.clear();
    model.setRoutedEdit("4");
    QVERIFY(isHighlighted(3));
    QVERIFY(!isHighlighted(1));
    QCOMPARE(dataChanged.count(), 2);
    QSet<int> rows;
    for (const QList<QVariant>& args : dataChanged) {
        QCOMPARE(args.at(0).toModelIndex().row(), args.at(1).toModelIndex().row());
        rows.insert(args.at(0).toModelIndex().row());
    }
    QCOMPARE(rows, (QSet<int>{1, 3}));

    // Same id again: nothing to repaint. Unknown id: highlight cleared.
    dataChanged.clear();
    model.setRoutedEdit("4");
    QCOMPARE(dataChanged.count(), 0);
    model.setRoutedEdit("nope");
    QVERIFY(model.routedEdit().isEmpty());
    QVERIFY(!isHighlighted(3));
    QCOMPARE(dataChanged.count(), 1);

    // Removing the routed edit drops the highlight.
    model.setRoutedEdit("3");
    model.removeEdit("3");
    QVERIFY(model.routedEdit().isEmpty());
}

void TestEditMemoryModel::sortByScopeKeepsUnscoredLast_data() {
    QTest::addColumn<int>("order");
    QTest::addColumn<QStringList>("expected");
    QTest::newRow("ascending") << int(Qt::AscendingOrder) << QStringList{"c", "a", "e", "b", "d"};
    QTest::newRow("descending") << int(Qt::DescendingOrder) << QStringList{"e", "a", "c", "b", "d"};
}

void TestEditMemoryModel::sortByScopeKeepsUnscoredLast() {
    QFETCH(int, order);
    QFETCH(QStringList, expected);

    EditMemoryModel model;
    model.setEdits({makeEdit("a"), makeEdit("b"), makeEdit("c"), makeEdit("d"), makeEdit("e")});
    model.setScopes(
        {{"a", {0.5, "embedding"}}, {"c", {0.1, "embedding"}}, {"e", {0.97, "cross-attention"}}});
    EditMemoryProxyModel proxy;
    QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
    proxy.setSourceModel(&model);
    proxy.sort(EditMemoryModel::ScopeColumn, Qt::SortOrder(order));

    auto idsInOrder = [&] {
        QStringList ids;
        for (int row = 0; row < proxy.rowCount(); ++row)
            ids.append(proxy.index(row, 0).data(EditMemoryModel::IdRole).toString());
        return ids;
    };
    // b and d are unscored; they keep their relative order at the end.
    QCOMPARE(idsInOrder(), expected);

    // New scores re-sort live, and the still-unscored stay last.
    model.setScopes({{"b", {0.8, "embedding"}}, {"d", {0.2, "embedding"}}});
    const QStringList resorted = idsInOrder();
    QCOMPARE(resorted.mid(2), (QStringList{"a", "c", "e"}));
    const QStringList newlyScored =
        order == Qt::AscendingOrder ? QStringList{"d", "b"} : QStringList{"b", "d"};
    QCOMPARE(resorted.mid(0, 2), newlyScored);
}

void TestEditMemoryModel::sortByText() {
    EditMemoryModel model;
    EditRow disabled = makeEdit("1", "banana", "x");
    disabled.enabled = false;
    model.setEdits({makeEdit("0", "cherry", "z"), disabled, makeEdit("2", "Apple", "y")});
    EditMemoryProxyModel proxy;
    proxy.setSourceModel(&model);

    proxy.sort(EditMemoryModel::PromptColumn, Qt::AscendingOrder);
    QCOMPARE(proxy.index(0, EditMemoryModel::PromptColumn).data().toString(),
             QStringLiteral("Apple"));
    QCOMPARE(proxy.index(2, EditMemoryModel::PromptColumn).data().toString(),
             QStringLiteral("cherry"));
    proxy.sort(EditMemoryModel::AnswerColumn, Qt::DescendingOrder);
    QCOMPARE(proxy.index(0, EditMemoryModel::AnswerColumn).data().toString(), QStringLiteral("z"));
    proxy.sort(EditMemoryModel::EnabledColumn, Qt::AscendingOrder);
    QCOMPARE(proxy.index(0, 0).data(EditMemoryModel::IdRole).toString(), QStringLiteral("1"));

    // Filtering matches prompt or answer text, ignoring case.
    proxy.setFilterFixedString(QStringLiteral("APP"));
    QCOMPARE(proxy.rowCount(), 1);
    QCOMPARE(proxy.index(0, 0).data(EditMemoryModel::IdRole).toString(), QStringLiteral("2"));
}

// The Tests column: a curator sorts by it to find the weakest edits. The
// weaker rate counts (paraphrases passed or neighbours kept), untested edits
// go last, and a card no longer describes an edit once the edit changes.
void TestEditMemoryModel::testsColumnSortsTheWeakestEditsFirst() {
    EditMemoryModel model;
    model.setEdits({makeEdit("a"), makeEdit("b"), makeEdit("c"), makeEdit("d")});
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.setCardSummary("a", 4, 4, 4, 1); // neighbours 1/4: the weakest
    QCOMPARE(changed.size(), 1);
    QCOMPARE(changed[0][0].toModelIndex().column(), int(EditMemoryModel::TestsColumn));
    model.setCardSummary("b", 4, 2, 4, 4); // paraphrases 2/4
    model.setCardSummary("c", 4, 4, 4, 4);
    const QModelIndex a = model.index(0, EditMemoryModel::TestsColumn);
    QCOMPARE(a.data().toString(), QString("4/4 · 1/4"));
    QCOMPARE(a.data(EditMemoryModel::TestsValueRole).toDouble(), 0.25);
    QVERIFY(qIsNaN(model.index(3, EditMemoryModel::TestsColumn)
                       .data(EditMemoryModel::TestsValueRole)
                       .toDouble()));

    EditMemoryProxyModel proxy;
    proxy.setSourceModel(&model);
    proxy.sort(EditMemoryModel::TestsColumn, Qt::AscendingOrder);
    QStringList ids;
    for (int row = 0; row < proxy.rowCount(); ++row)
        ids << proxy.index(row, 0).data(EditMemoryModel::IdRole).toString();
    QCOMPARE(ids, (QStringList{"a", "b", "c", "d"}));

    // A card with nothing to test says so.
    model.setCardSummary("d", 0, 0, 0, 0);
    QCOMPARE(model.index(3, EditMemoryModel::TestsColumn).data().toString(), QString("—"));

    // Changing b forgets its card; clearing forgets them all.
    EditRow b = makeEdit("b");
    b.answer = QStringLiteral("Elsewhere");
    QVERIFY(model.updateEdit(b));
    QVERIFY(model.index(1, EditMemoryModel::TestsColumn).data().toString().isEmpty());
    model.clearCardSummaries();
    QVERIFY(model.index(0, EditMemoryModel::TestsColumn).data().toString().isEmpty());
    // An unknown id changes nothing.
    changed.clear();
    model.setCardSummary("zz", 1, 1, 1, 1);
    QVERIFY(changed.isEmpty());
}

namespace {

// A memory of n edits with prompts and answers from a small alphabet (many
// ties, mixed case) and scopes of which about a third are unscored.
QVector<EditRow> randomEdits(int n, quint32 seed) {
    QRandomGenerator rng(seed);
    const QStringList words{"Paris", "paris", "Rome", "apple", "Apple",
                            "zebra", "Ärger", "arm",  "Oslo",  "b"};
    QVector<EditRow> edits;
    for (int i = 0; i < n; ++i) {
        EditRow e =
            makeEdit(QString::number(i),
                     words[rng.bounded(words.size())] + " " + words[rng.bounded(words.size())],
                     words[rng.bounded(words.size())]);
        e.enabled = rng.bounded(2) == 1;
        e.scopeProb = rng.bounded(3) == 0 ? qQNaN() : rng.bounded(10) / 10.0;
        edits.append(e);
    }
    return edits;
}

// The ids a table shows for a filter and sort, worked out directly from the
// rows: contains-ignoring-case on prompt or answer, a stable sort with
// QString's own case-insensitive comparison, unscored last either way.
QStringList expectedIds(const EditMemoryModel& model, const QString& filter, int column,
                        Qt::SortOrder order) {
    QVector<EditRow> rows;
    for (int i = 0; i < model.rowCount(); ++i) {
        const EditRow r = model.edit(i);
        if (r.prompt.contains(filter, Qt::CaseInsensitive) ||
            r.answer.contains(filter, Qt::CaseInsensitive))
            rows.append(r);
    }
    auto less = [&](const EditRow& a, const EditRow& b) {
        switch (column) {
        case EditMemoryModel::EnabledColumn:
            return a.enabled < b.enabled;
        case EditMemoryModel::PromptColumn:
            return a.prompt.compare(b.prompt, Qt::CaseInsensitive) < 0;
        case EditMemoryModel::AnswerColumn:
            return a.answer.compare(b.answer, Qt::CaseInsensitive) < 0;
        default:
            if (qIsNaN(a.scopeProb) != qIsNaN(b.scopeProb))
                return qIsNaN(b.scopeProb) == (order == Qt::AscendingOrder);
            return !qIsNaN(a.scopeProb) && a.scopeProb < b.scopeProb;
        }
    };
    if (column >= 0)
        std::stable_sort(rows.begin(), rows.end(), [&](const EditRow& a, const EditRow& b) {
            return order == Qt::AscendingOrder ? less(a, b) : less(b, a);
        });
    QStringList ids;
    for (const EditRow& r : rows)
        ids.append(r.id);
    return ids;
}

QStringList shownIds(const QAbstractItemModel& proxy) {
    QStringList ids;
    for (int row = 0; row < proxy.rowCount(); ++row)
        ids.append(proxy.index(row, 0).data(EditMemoryModel::IdRole).toString());
    return ids;
}

} // namespace

// A large memory is filtered and sorted on the proxy's thread: whatever the
// filter and column, the rows it swaps in are the ones the immediate path
// shows and the ones worked out directly from the edits.
void TestEditMemoryModel::backgroundOrderMatchesImmediateOrder() {
    EditMemoryModel model;
    model.setEdits(randomEdits(3000, 7));
    EditMemoryProxyModel now, later;
    QAbstractItemModelTester testNow(&now, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QAbstractItemModelTester testLater(&later,
                                       QAbstractItemModelTester::FailureReportingMode::QtTest);
    later.setBackgroundThreshold(0);
    now.setSourceModel(&model);
    later.setSourceModel(&model);
    QTRY_VERIFY(!later.isBusy());
    for (const QString filter : {"", "ar", "ÄRG", "nothing at all"}) {
        for (int column = -1; column <= EditMemoryModel::ScopeColumn; ++column) {
            for (const Qt::SortOrder order : {Qt::AscendingOrder, Qt::DescendingOrder}) {
                const QString what = QString("filter '%1' column %2 order %3")
                                         .arg(filter)
                                         .arg(column)
                                         .arg(int(order));
                now.setFilterFixedString(filter);
                now.sort(column, order);
                later.setFilterFixedString(filter);
                later.sort(column, order);
                QTRY_VERIFY2(!later.isBusy(), qPrintable(what));
                const QStringList expected = expectedIds(model, filter, column, order);
                QVERIFY2(shownIds(now) == expected, qPrintable(what));
                QVERIFY2(shownIds(later) == expected, qPrintable(what));
            }
        }
    }
}

// Typing into the filter of a large memory: each keystroke voids the order
// still being computed, and only the last one's rows are swapped in, once.
void TestEditMemoryModel::onlyTheNewestBackgroundOrderIsShown() {
    EditMemoryModel model;
    model.setEdits(randomEdits(3000, 11));
    EditMemoryProxyModel proxy;
    QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
    proxy.setBackgroundThreshold(0);
    proxy.setSourceModel(&model);
    proxy.sort(EditMemoryModel::PromptColumn, Qt::AscendingOrder);
    QTRY_VERIFY(!proxy.isBusy());
    QSignalSpy layouts(&proxy, &QAbstractItemModel::layoutChanged);
    QSignalSpy busy(&proxy, &EditMemoryProxyModel::busyChanged);
    for (const QString text : {"p", "pa", "par", "pari"})
        proxy.setFilterFixedString(text);
    QVERIFY(proxy.isBusy());
    QTRY_VERIFY(!proxy.isBusy());
    QCOMPARE(layouts.size(), 1);
    QCOMPARE(busy.size(), 2); // on, then off once
    QCOMPARE(shownIds(proxy), expectedIds(model, QStringLiteral("pari"),
                                          EditMemoryModel::PromptColumn, Qt::AscendingOrder));
}

// The user's selection and current edit stay on the same edits when a
// background sort swaps the rows, and an edit the filter hides leaves them.
void TestEditMemoryModel::selectionFollowsEditsThroughABackgroundOrder() {
    EditMemoryModel model;
    model.setEdits(randomEdits(2000, 3));
    EditMemoryProxyModel proxy;
    proxy.setBackgroundThreshold(0);
    proxy.setSourceModel(&model);
    QTRY_VERIFY(!proxy.isBusy());
    QItemSelectionModel selection(&proxy);
    const QString kept = proxy.index(10, 0).data(EditMemoryModel::IdRole).toString();
    selection.select(proxy.index(10, 0), QItemSelectionModel::Select | QItemSelectionModel::Rows);
    selection.setCurrentIndex(proxy.index(10, 0), QItemSelectionModel::NoUpdate);

    proxy.sort(EditMemoryModel::AnswerColumn, Qt::DescendingOrder);
    QTRY_VERIFY(!proxy.isBusy());
    QCOMPARE(selection.selectedRows().size(), 1);
    QCOMPARE(selection.selectedRows().first().data(EditMemoryModel::IdRole).toString(), kept);
    QCOMPARE(selection.currentIndex().data(EditMemoryModel::IdRole).toString(), kept);

    const EditRow row = model.edit(model.rowOfId(kept));
    proxy.setFilterFixedString(row.prompt + row.answer + QStringLiteral("#"));
    QTRY_VERIFY(!proxy.isBusy());
    QCOMPARE(proxy.rowCount(), 0);
    QVERIFY(selection.selectedRows().isEmpty());
}

// Edits added, removed and rescored while a background order is being
// computed: the rows shown at once are right, and the order that finally
// lands includes them.
void TestEditMemoryModel::editsChangedDuringABackgroundOrderLandInPlace() {
    EditMemoryModel model;
    model.setEdits(randomEdits(2000, 5));
    EditMemoryProxyModel proxy;
    QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
    proxy.setBackgroundThreshold(0);
    proxy.setSourceModel(&model);
    proxy.setFilterFixedString(QStringLiteral("o"));
    proxy.sort(EditMemoryModel::ScopeColumn, Qt::DescendingOrder);
    QVERIFY(proxy.isBusy());
    QVERIFY(model.addEdit(makeEdit("new", "Oslo is in", "Norway")));
    QVERIFY(model.removeEdit("17"));
    QHash<QString, QPair<double, QString>> scores;
    for (int i = 0; i < 2000; i += 3)
        scores.insert(QString::number(i), {(i % 7) / 7.0, "embedding"});
    scores.insert("new", {0.99, "embedding"});
    model.setScopes(scores);
    // The new edit is shown at once, before the order lands.
    QVERIFY(shownIds(proxy).contains("new"));
    QVERIFY(!shownIds(proxy).contains("17"));
    QTRY_VERIFY(!proxy.isBusy());
    const QStringList expected =
        expectedIds(model, QStringLiteral("o"), EditMemoryModel::ScopeColumn, Qt::DescendingOrder);
    QCOMPARE(shownIds(proxy), expected);
    QCOMPARE(expected.first(), QStringLiteral("new"));

    // With nothing in flight an added edit goes straight to its place.
    QVERIFY(model.addEdit(makeEdit("late", "Rome of old", "x")));
    QVERIFY(!proxy.isBusy());
    QCOMPARE(shownIds(proxy), expectedIds(model, QStringLiteral("o"), EditMemoryModel::ScopeColumn,
                                          Qt::DescendingOrder));
}

QTEST_MAIN(TestEditMemoryModel)
#include "tst_editmemorymodel.moc"
