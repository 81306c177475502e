#pragma once
// Shared by the studio tests: the model they run on and small waits.
// SCALPEL_TEST_MODEL_DIR / SCALPEL_TEST_SERAC_DIR point them at another model
// (for working before the built-in one is trained); by default they use the
// built-in model and SERAC weights under SCALPEL_RESOURCE_DIR.
#include "MainWindow.h"
#include "ModelWorker.h"
#include "PredictionView.h"
#include "PromptConsole.h"
#include "Resources.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTest>

#include <cmath>
#include <functional>
#include <memory>

namespace fixture {

inline QString modelDir() {
    return qEnvironmentVariable("SCALPEL_TEST_MODEL_DIR",
                                QString::fromStdString(scalpel::defaultModelDir()));
}

inline QString seracDir() {
    return qEnvironmentVariable("SCALPEL_TEST_SERAC_DIR");
}

inline bool modelPresent() {
    return QFileInfo::exists(modelDir() + QStringLiteral("/config.json"));
}

inline void isolateSettings(const QString& name) {
    // Settings, autosaves and crash markers go to test locations.
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("ScalpelTest"));
    QCoreApplication::setApplicationName(name);
    // Test locations live under ~/.qttest and outlast the run: an autosave or
    // crash marker left by an earlier run must not stand in for this run's.
    QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)).removeRecursively();
    QFile::remove(QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation) +
                  QStringLiteral("/ScalpelTest/") + name + QStringLiteral(".conf"));
}

inline std::unique_ptr<MainWindow>
makeWindow(const std::function<void(MainWindow::Options&)>& tweak = {}) {
    MainWindow::Options o;
    o.modelDir = modelDir();
    o.seracDir = seracDir();
    o.restoreWindowState = false;
    o.offerRecovery = false;
    o.autosaveIntervalMs = 60 * 60 * 1000; // tests save on purpose only
    if (tweak)
        tweak(o);
    auto w = std::make_unique<MainWindow>(o);
    w->resize(1600, 1000);
    w->show();
    return w;
}

// Runs `action` and waits for the predictions it causes to be on screen.
inline bool settle(MainWindow* w, const std::function<void()>& action, int timeoutMs = 60000) {
    QSignalSpy spy(w, &MainWindow::predictionShown);
    action();
    QElapsedTimer t;
    t.start();
    while ((spy.isEmpty() || w->pendingWeightOps() > 0) && t.elapsed() < timeoutMs)
        QTest::qWait(5);
    // A weight op may have finished after the prediction that followed it
    // was requested but before it was shown; one more round settles that.
    return !spy.isEmpty() && w->pendingWeightOps() == 0;
}

inline bool setPromptAndWait(MainWindow* w, const QString& text, int timeoutMs = 60000) {
    // On a loaded machine the prediction of an earlier prompt can still be
    // on its way; wait for the one of this prompt.
    QElapsedTimer t;
    t.start();
    if (!settle(
            w, [&] { w->promptConsole()->setPrompt(text); }, timeoutMs))
        return false;
    while (w->lastPrediction().prompt != text && t.elapsed() < timeoutMs)
        QTest::qWait(5);
    return w->lastPrediction().prompt == text && w->pendingWeightOps() == 0;
}

inline double probOf(const QVector<PredictionRow>& rows, const QString& token) {
    for (const auto& r : rows)
        if (r.token.trimmed() == token)
            return r.prob;
    return -1;
}

inline QString top(const QVector<PredictionRow>& rows) {
    return rows.isEmpty() ? QString() : rows.front().token.trimmed();
}

struct Figures {
    QVector<PredictionRow> columns[PredictionView::kColumnCount];
};

inline Figures figures(MainWindow* w) {
    Figures f;
    for (int c = 0; c < PredictionView::kColumnCount; ++c)
        f.columns[c] = w->predictionView()->rows(c);
    return f;
}

// Exact: the same weights and inputs give the same bits.
// The same tokens in the same order with the same probabilities. A
// probability may differ by float rounding only (1e-6, three orders below
// the 0.1% the columns show): the worker reuses a prompt's cached prefix,
// and a pass that continues a cache rounds differently from one over the
// whole prompt (tst_families checks the two agree).
inline bool sameFigures(const Figures& a, const Figures& b, QString* why) {
    for (int c = 0; c < PredictionView::kColumnCount; ++c) {
        if (a.columns[c].size() != b.columns[c].size()) {
            *why = QStringLiteral("column %1 has %2 rows, expected %3")
                       .arg(c)
                       .arg(b.columns[c].size())
                       .arg(a.columns[c].size());
            return false;
        }
        for (int i = 0; i < a.columns[c].size(); ++i) {
            const auto& x = a.columns[c][i];
            const auto& y = b.columns[c][i];
            if (x.token != y.token || std::abs(x.prob - y.prob) > 1e-6) {
                *why = QStringLiteral("column %1 row %2: %3 %4 vs %5 %6")
                           .arg(c)
                           .arg(i)
                           .arg(x.token)
                           .arg(x.prob, 0, 'g', 17)
                           .arg(y.token)
                           .arg(y.prob, 0, 'g', 17);
                return false;
            }
        }
    }
    return true;
}

} // namespace fixture
