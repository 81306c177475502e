// bench/table: the edit table at scale, widgets only (offscreen): how long
// the window is blocked while a user loads, filters, sorts, rescoring the
// scope column and scrolls an edit memory of 100,000 and 1,000,000 rows.
// Each size runs twice in the same process: with the order computed on the
// UI thread (the baseline: every row count below the proxy's background
// threshold) and with the order computed in the background (the proxy's
// default from 50,000 rows). Each figure is "blocked / shown": the longest
// the event loop is stuck during the action (the action, the repaint it
// causes, and the swap of a background order when it lands, as the largest
// gap between ticks of a 2 ms timer), and the time until the table shows
// the new order. Prints figures, never fails.
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
#include <QTimer>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

namespace {

// One user action: the longest the event loop is stuck (ms) and the time
// until the table shows its result (ms).
struct Figures {
    double blocked = 0, shown = 0;
};

Figures measure(EditMemoryView* view, const std::function<void()>& action) {
    QElapsedTimer t;
    t.start();
    action();
    QCoreApplication::processEvents();
    view->repaint();
    QCoreApplication::processEvents();
    Figures f;
    f.blocked = t.nsecsElapsed() / 1e6;
    // Waiting for a background order: the largest gap between ticks.
    QElapsedTimer tick;
    tick.start();
    QTimer probe;
    probe.setInterval(2);
    QObject::connect(&probe, &QTimer::timeout, [&] {
        f.blocked = std::max(f.blocked, tick.nsecsElapsed() / 1e6);
        tick.restart();
    });
    probe.start();
    while (view->proxyModel()->isBusy())
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    view->repaint();
    QCoreApplication::processEvents();
    f.blocked = std::max(f.blocked, tick.nsecsElapsed() / 1e6);
    f.shown = t.nsecsElapsed() / 1e6;
    return f;
}

void print(const char* what, const Figures& f) {
    std::printf("  %-52s %7.0f / %7.0f ms\n", what, f.blocked, f.shown);
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

void run(int n, bool background) {
    std::printf("\n%d edits, order computed %s (blocked / shown)\n", n,
                background ? "in the background" : "on the UI thread");
    EditMemoryView view;
    view.proxyModel()->setBackgroundThreshold(background ? 50000 : INT_MAX);
    view.resize(900, 600);
    view.show();
    if (!QTest::qWaitForWindowExposed(&view))
        std::printf("  (the window was not exposed)\n");
    // As the studio does: the model's rows are their only copy (a copy
    // kept here would make the first change to the model copy them all).
    auto data = rows(n);
    print("loading the table", measure(&view, [&] {
              view.model()->setEdits(data);
              data = {};
          }));
    // Typing a filter one key at a time, the next key as soon as the table
    // is free: the worst keystroke is the worst frame a user sees.
    Figures worst;
    const QString word = QStringLiteral("ireland");
    for (const QChar c : word) {
        const Figures f = measure(&view, [&] { QTest::keyClick(view.filterEdit(), c.toLatin1()); });
        worst.blocked = std::max(worst.blocked, f.blocked);
        worst.shown = std::max(worst.shown, f.shown);
    }
    print("typing \"ireland\" into the filter (worst key)", worst);
    std::printf("  %d rows shown\n", view.proxyModel()->rowCount());
    print("clearing the filter", measure(&view, [&] { view.filterEdit()->clear(); }));
    QHeaderView* header = view.tableView()->horizontalHeader();
    print("sorting by prompt", measure(&view, [&] {
              view.tableView()->sortByColumn(EditMemoryModel::PromptColumn, Qt::AscendingOrder);
          }));
    print("sorting by scope", measure(&view, [&] {
              view.tableView()->sortByColumn(EditMemoryModel::ScopeColumn, Qt::DescendingOrder);
          }));
    // A keystroke's new scope scores (the best 100 edits), sorted by scope.
    QHash<QString, QPair<double, QString>> scores;
    for (int i = 0; i < 100; ++i)
        scores.insert(view.model()->rowAt((i * 7919) % n).id,
                      {0.5 + i / 250.0, QStringLiteral("cross-attention")});
    print("new scope scores (100 edits), sorted by scope",
          measure(&view, [&] { view.model()->setScopes(scores); }));
    print("scrolling to the end", measure(&view, [&] { view.tableView()->scrollToBottom(); }));
    header->setSortIndicator(-1, Qt::AscendingOrder);
    print("back to memory order", measure(&view, [&] { view.proxyModel()->sort(-1); }));
    view.tableView()->sortByColumn(EditMemoryModel::PromptColumn, Qt::AscendingOrder);
    while (view.proxyModel()->isBusy())
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    // Ten edits one after another: the first one grows the model's array of
    // rows (capacity doubles), which costs what the allocator makes of it.
    std::vector<double> blocked;
    Figures first;
    for (int i = 0; i < 10; ++i) {
        EditRow added;
        added.id = QStringLiteral("new%1").arg(i);
        added.prompt = QStringLiteral("The capital of Ireland is");
        added.answer = QStringLiteral("Cork");
        const Figures f = measure(&view, [&] { view.model()->addEdit(added); });
        if (i == 0)
            first = f;
        blocked.push_back(f.blocked);
    }
    print("adding one edit, sorted by prompt: the first", first);
    std::sort(blocked.begin() + 1, blocked.end());
    std::printf("  %-52s %7.0f ms\n", "  the next nine, median blocked", blocked[5]);
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
    for (const int n : sizes) {
        run(n, false);
        run(n, true);
    }
    return 0;
}
