// bench/table: the edit table at scale, widgets only (offscreen): how long
// the window is blocked while a user loads, filters, sorts, rescoring the
// scope column and scrolls an edit memory of 100,000 and 1,000,000 rows.
// Each figure is the time one user action keeps the event loop busy (the
// action plus the repaint it causes), so the worst of a typed filter's
// keystrokes is the worst frame a user sees while filtering. Prints
// figures, never fails.
//
// usage: table [ROWS...]   (default: 100000 1000000)
#include "EditMemoryModel.h"
#include "EditMemoryProxyModel.h"
#include "EditMemoryView.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QHeaderView>
#include <QLineEdit>
#include <QTableView>
#include <QTest>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

namespace {

// ms the event loop is busy with `action` and what it causes (repaints
// included).
double busy(QWidget* w, const std::function<void()>& action) {
    QElapsedTimer t;
    t.start();
    action();
    QCoreApplication::processEvents();
    w->repaint();
    QCoreApplication::processEvents();
    return t.nsecsElapsed() / 1e6;
}

QVector<EditRow> rows(int n) {
    static const char* const frames[] = {
        "The capital of %1 is", "The currency of %1 is", "The official language of %1 is",
        "A person from %1 is called", "%1 lies in the continent of"};
    static const char* const answers[] = {"Dublin", "Lisbon", "Euro",   "Yen",  "Spanish",
                                          "Kenyan", "Asia",   "Europe", "Oslo", "Peso"};
    std::mt19937 rng(1);
    QVector<EditRow> out;
    out.reserve(n);
    for (int i = 0; i < n; ++i) {
        EditRow r;
        r.id = QStringLiteral("e%1").arg(i + 1);
        r.prompt = QString::fromLatin1(frames[rng() % 5])
                       .arg(i % 997 == 0 ? QStringLiteral("Ireland")
                                         : QStringLiteral("Country%1").arg(rng() % 20000));
        r.answer = QString::fromLatin1(answers[rng() % 10]);
        out.push_back(r);
    }
    return out;
}

void run(int n) {
    std::printf("\n%d edits\n", n);
    EditMemoryView view;
    view.resize(900, 600);
    view.show();
    QTest::qWaitForWindowExposed(&view);
    const auto data = rows(n);
    std::printf("  loading the table: %.0f ms\n",
                busy(&view, [&] { view.model()->setEdits(data); }));
    // Typing a filter one key at a time: each keystroke's busy time.
    std::vector<double> keys;
    const QString word = QStringLiteral("ireland");
    for (const QChar c : word)
        keys.push_back(busy(&view, [&] { QTest::keyClick(view.filterEdit(), c.toLatin1()); }));
    std::printf("  typing \"ireland\" into the filter, per keystroke:");
    for (const double k : keys)
        std::printf(" %.0f", k);
    std::printf(" ms (worst %.0f ms); %d rows shown\n", *std::max_element(keys.begin(), keys.end()),
                view.proxyModel()->rowCount());
    std::printf("  clearing the filter: %.0f ms\n",
                busy(&view, [&] { view.filterEdit()->clear(); }));
    QHeaderView* header = view.tableView()->horizontalHeader();
    std::printf("  sorting by prompt: %.0f ms\n", busy(&view, [&] {
                    view.tableView()->sortByColumn(EditMemoryModel::PromptColumn,
                                                   Qt::AscendingOrder);
                }));
    std::printf("  sorting by scope: %.0f ms\n", busy(&view, [&] {
                    view.tableView()->sortByColumn(EditMemoryModel::ScopeColumn,
                                                   Qt::DescendingOrder);
                }));
    // A keystroke's new scope scores (the best 100 edits), sorted by scope.
    QHash<QString, QPair<double, QString>> scores;
    for (int i = 0; i < 100; ++i)
        scores.insert(data[(i * 7919) % n].id,
                      {0.5 + i / 250.0, QStringLiteral("cross-attention")});
    std::printf("  new scope scores (100 edits) while sorted by scope: %.0f ms\n",
                busy(&view, [&] { view.model()->setScopes(scores); }));
    std::printf("  scrolling to the end: %.0f ms\n",
                busy(&view, [&] { view.tableView()->scrollToBottom(); }));
    header->setSortIndicator(-1, Qt::AscendingOrder);
    std::printf("  back to memory order: %.0f ms\n",
                busy(&view, [&] { view.proxyModel()->sort(-1); }));
    EditRow added;
    added.id = QStringLiteral("new");
    added.prompt = QStringLiteral("The capital of Ireland is");
    added.answer = QStringLiteral("Cork");
    std::printf("  adding one edit: %.0f ms\n", busy(&view, [&] { view.model()->addEdit(added); }));
}

} // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    std::vector<int> sizes;
    for (int i = 1; i < argc; ++i)
        sizes.push_back(std::atoi(argv[i]));
    if (sizes.empty())
        sizes = {100000, 1000000};
    for (const int n : sizes)
        run(n);
    return 0;
}
