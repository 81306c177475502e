#include "EditMemoryModel.h"
#include "EditMemoryProxyModel.h"
#include "EditMemoryView.h"

#include <QElapsedTimer>
#include <QHeaderView>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableView>
#include <QTest>

class TestEditMemoryView : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void buttonsEmitRequests_data();
    void buttonsEmitRequests();
    void deleteSendsSelectedIds();
    void deleteKeyAsksToo();
    void filterNarrowsRows();
    void backgroundFilterShowsBusyThenTheRows();
    void headerClickSortsByScope();
    void editingThroughTheTableReportsChange();
    void scopeCellPaintsBar();
    void setScopesWithSortedViewStaysCheap();
};

namespace {

QVector<EditRow> fiveEdits() {
    QVector<EditRow> edits;
    const char* prompts[] = {"The Eiffel Tower is in", "Paris is the capital of",
                             "The Colosseum is in", "Tokyo is in", "The Louvre is in"};
    const char* answers[] = {" Rome", " Italy", " Paris", " Korea", " Berlin"};
    for (int i = 0; i < 5; ++i) {
        EditRow edit;
        edit.id = QString::number(i + 1);
        edit.prompt = QString::fromLatin1(prompts[i]);
        edit.answer = QString::fromLatin1(answers[i]);
        edits.append(edit);
    }
    return edits;
}

QStringList idsInViewOrder(const EditMemoryView& view) {
    QStringList ids;
    const QAbstractItemModel* model = view.tableView()->model();
    for (int row = 0; row < model->rowCount(); ++row)
        ids.append(model->index(row, 0).data(EditMemoryModel::IdRole).toString());
    return ids;
}

} // namespace

void TestEditMemoryView::buttonsEmitRequests_data() {
    QTest::addColumn<QString>("button");
    QTest::addColumn<QByteArray>("signal");
    QTest::newRow("add") << "addButton" << QByteArray(SIGNAL(addRequested()));
    QTest::newRow("import") << "importButton" << QByteArray(SIGNAL(importRequested()));
    QTest::newRow("export") << "exportButton" << QByteArray(SIGNAL(exportRequested()));
}

void TestEditMemoryView::buttonsEmitRequests() {
    QFETCH(QString, button);
    QFETCH(QByteArray, signal);
    EditMemoryView view;
    QSignalSpy spy(&view, signal.constData());
    auto* widget = view.findChild<QPushButton*>(button);
    QVERIFY(widget);
    QTest::mouseClick(widget, Qt::LeftButton);
    QCOMPARE(spy.count(), 1);
}

void TestEditMemoryView::deleteSendsSelectedIds() {
    EditMemoryView view;
    view.model()->setEdits(fiveEdits());
    QSignalSpy deleted(&view, &EditMemoryView::deleteRequested);
    auto* deleteButton = view.findChild<QPushButton*>("deleteButton");
    QVERIFY(deleteButton);
    QVERIFY(!deleteButton->isEnabled()); // nothing selected yet

    QItemSelectionModel* selection = view.tableView()->selectionModel();
    const QAbstractItemModel* model = view.tableView()->model();
    selection->select(model->index(1, 0), QItemSelectionModel::Select | QItemSelectionModel::Rows);
    selection->select(model->index(3, 0), QItemSelectionModel::Select | QItemSelectionModel::Rows);
    QVERIFY(deleteButton->isEnabled());
    QTest::mouseClick(deleteButton, Qt::LeftButton);
    QCOMPARE(deleted.count(), 1);
    QCOMPARE(deleted.at(0).at(0).toStringList(), (QStringList{"2", "4"}));
    // The view only asks: the owner removes.
    QCOMPARE(view.model()->rowCount(), 5);

    QVERIFY(view.selectEdit("5"));
    QCOMPARE(view.selectedIds(), QStringList{"5"});
    QVERIFY(!view.selectEdit("missing"));
}

void TestEditMemoryView::deleteKeyAsksToo() {
    EditMemoryView view;
    view.model()->setEdits(fiveEdits());
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    QSignalSpy deleted(&view, &EditMemoryView::deleteRequested);
    QVERIFY(view.selectEdit("3"));
    view.tableView()->setFocus();
    QTest::keyClick(view.tableView(), Qt::Key_Delete);
    QCOMPARE(deleted.count(), 1);
    QCOMPARE(deleted.at(0).at(0).toStringList(), QStringList{"3"});
}

void TestEditMemoryView::filterNarrowsRows() {
    EditMemoryView view;
    view.model()->setEdits(fiveEdits());
    QTest::keyClicks(view.filterEdit(), QStringLiteral("paris"));
    // " Paris" answer (edit 3) and the "Paris is the capital of" prompt (edit 2).
    QCOMPARE(idsInViewOrder(view), (QStringList{"2", "3"}));
    view.filterEdit()->clear();
    QCOMPARE(view.tableView()->model()->rowCount(), 5);
}

// The same filter on a memory large enough to be filtered in the background:
// the table says it is busy, keeps the rows it had, then shows the matches
// with row headers to match and the selected edit still selected.
void TestEditMemoryView::backgroundFilterShowsBusyThenTheRows() {
    EditMemoryView view;
    view.resize(700, 300);
    view.proxyModel()->setBackgroundThreshold(0);
    view.model()->setEdits(fiveEdits());
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    auto* busy = view.findChild<QWidget*>(QStringLiteral("orderBusy"));
    QVERIFY(busy);
    QVERIFY(!busy->isVisible());
    QVERIFY(view.selectEdit("3"));
    QTest::keyClicks(view.filterEdit(), QStringLiteral("paris"));
    QVERIFY(busy->isVisible());
    QCOMPARE(view.tableView()->model()->rowCount(), 5);
    QTRY_VERIFY(!busy->isVisible());
    QCOMPARE(idsInViewOrder(view), (QStringList{"2", "3"}));
    QCOMPARE(view.tableView()->verticalHeader()->count(), 2);
    QCOMPARE(view.selectedIds(), QStringList{"3"});
    view.filterEdit()->clear();
    QTRY_COMPARE(view.tableView()->verticalHeader()->count(), 5);
    QCOMPARE(view.selectedIds(), QStringList{"3"});
}

void TestEditMemoryView::headerClickSortsByScope() {
    EditMemoryView view;
    view.resize(700, 300);
    view.model()->setEdits(fiveEdits());
    view.model()->setScopes(
        {{"1", {0.2, "embedding"}}, {"3", {0.97, "cross-attention"}}, {"4", {0.5, "embedding"}}});
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    // Memory order until the user asks for a sort.
    QCOMPARE(idsInViewOrder(view), (QStringList{"1", "2", "3", "4", "5"}));

    QHeaderView* header = view.tableView()->horizontalHeader();
    const int x = header->sectionViewportPosition(EditMemoryModel::ScopeColumn) +
                  header->sectionSize(EditMemoryModel::ScopeColumn) / 2;
    QTest::mouseClick(header->viewport(), Qt::LeftButton, {}, QPoint(x, header->height() / 2));
    const QStringList first = idsInViewOrder(view);
    QTest::mouseClick(header->viewport(), Qt::LeftButton, {}, QPoint(x, header->height() / 2));
    const QStringList second = idsInViewOrder(view);
    // One click sorts ascending, the next descending; unscored edits stay last both times.
    const QStringList ascending{"1", "4", "3", "2", "5"};
    const QStringList descending{"3", "4", "1", "2", "5"};
    QVERIFY2((first == ascending && second == descending) ||
                 (first == descending && second == ascending),
             qPrintable(first.join(',') + " / " + second.join(',')));
}

void TestEditMemoryView::editingThroughTheTableReportsChange() {
    EditMemoryView view;
    view.model()->setEdits(fiveEdits());
    view.tableView()->sortByColumn(EditMemoryModel::PromptColumn, Qt::AscendingOrder);
    QSignalSpy changed(view.model(), &EditMemoryModel::editChanged);

    // Row 0 of the sorted view is "Paris is the capital of" (edit 2).
    QAbstractItemModel* shown = view.tableView()->model();
    QCOMPARE(shown->index(0, 0).data(EditMemoryModel::IdRole).toString(), QStringLiteral("2"));
    QVERIFY(
        shown->setData(shown->index(0, EditMemoryModel::AnswerColumn), QStringLiteral(" Spain")));
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(0).toString(), QStringLiteral("2"));
    QCOMPARE(changed.at(0).at(1).value<EditRow>().answer, QStringLiteral(" Spain"));
    QCOMPARE(changed.at(0).at(2).value<EditRow>().answer, QStringLiteral(" Italy"));
    QCOMPARE(view.model()->edit(view.model()->rowOfId("2")).answer, QStringLiteral(" Spain"));
}

void TestEditMemoryView::scopeCellPaintsBar() {
    EditMemoryView view;
    view.resize(700, 250);
    QVector<EditRow> edits = fiveEdits();
    view.model()->setEdits(edits);
    view.model()->setScopes({{"1", {1.0, "cross-attention"}}, {"2", {0.0, "embedding"}}});
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));

    QTableView* table = view.tableView();
    const QImage image = table->viewport()->grab().toImage();
    auto colouredShare = [&](int row) {
        const QRect cell =
            table->visualRect(table->model()->index(row, EditMemoryModel::ScopeColumn));
        int coloured = 0;
        const int y = cell.top() + 4;
        for (int x = cell.left() + 4; x < cell.right() - 4; ++x) {
            const QColor c = image.pixelColor(x, y);
            // The bar is tinted; a plain cell background is grey-ish.
            if (qAbs(c.red() - c.blue()) > 25)
                ++coloured;
        }
        return double(coloured) / (cell.width() - 8);
    };
    QVERIFY2(colouredShare(0) > 0.9, qPrintable(QString::number(colouredShare(0))));
    QVERIFY2(colouredShare(1) < 0.05, qPrintable(QString::number(colouredShare(1))));
    QVERIFY2(colouredShare(2) < 0.05, qPrintable(QString::number(colouredShare(2))));
}

void TestEditMemoryView::setScopesWithSortedViewStaysCheap() {
    EditMemoryView view;
    view.resize(800, 500);
    QVector<EditRow> edits;
    for (int i = 0; i < 10000; ++i)
        edits.append({QString::number(i),
                      true,
                      QStringLiteral("prompt %1").arg(i),
                      QStringLiteral(" answer%1").arg(i),
                      qQNaN(),
                      {}});
    view.model()->setEdits(edits);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.tableView()->sortByColumn(EditMemoryModel::ScopeColumn, Qt::DescendingOrder);

    QHash<QString, QPair<double, QString>> scores;
    for (int i = 0; i < 10000; i += 2)
        scores.insert(QString::number(i),
                      {double((i * 7919) % 10000) / 10000.0, QStringLiteral("embedding")});
    QElapsedTimer timer;
    timer.start();
    view.model()->setScopes(scores);
    const double elapsedMs = timer.nsecsElapsed() / 1e6;
    qInfo("setScopes on 10,000 edits with a view sorted by scope: %.2f ms", elapsedMs);
    QVERIFY2(elapsedMs < 500.0, qPrintable(QString::number(elapsedMs)));

    // The best-scored edit is on top, the unscored half at the bottom.
    const QAbstractItemModel* shown = view.tableView()->model();
    const double top = shown->index(0, EditMemoryModel::ScopeColumn)
                           .data(EditMemoryModel::ScopeValueRole)
                           .toDouble();
    QCOMPARE(top, 0.9998);
    QVERIFY(qIsNaN(shown->index(9999, EditMemoryModel::ScopeColumn)
                       .data(EditMemoryModel::ScopeValueRole)
                       .toDouble()));
    QVERIFY(!qIsNaN(shown->index(4999, EditMemoryModel::ScopeColumn)
                        .data(EditMemoryModel::ScopeValueRole)
                        .toDouble()));
}

QTEST_MAIN(TestEditMemoryView)
#include "tst_editmemoryview.moc"
