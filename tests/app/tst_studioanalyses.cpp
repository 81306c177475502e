// The Trace and Lens docks end to end on the built-in model: tracing
// "Ireland" in "The capital of Ireland is" shows the attribution-patching
// preview first and then the exact trace, whose last-layer hidden state at
// the last token restores the clean score; the logit lens fills a layers x
// positions grid whose last cell is the model's own answer; a subject not in
// the prompt is reported and leaves the trace as it was.
#include "LensView.h"
#include "ProgressStrip.h"
#include "StudioFixture.h"
#include "TraceView.h"

#include <QTableWidget>
#include <QtTest>

using namespace fixture;

class TestStudioAnalyses : public QObject {
    Q_OBJECT

    std::unique_ptr<MainWindow> m_w;

private Q_SLOTS:
    void initTestCase() {
        isolateSettings(QStringLiteral("tst_studioanalyses"));
        QVERIFY2(modelPresent(), qPrintable(QStringLiteral("no model at %1").arg(modelDir())));
        m_w = makeWindow();
        QTRY_VERIFY_WITH_TIMEOUT(m_w->modelReady(), 60000);
        // The window opens on the Ireland prompt.
        QTRY_VERIFY_WITH_TIMEOUT(m_w->lastPrediction().prompt == "The capital of Ireland is" &&
                                     !m_w->lastPrediction().base.isEmpty(),
                                 30000);
    }

    void tracesIreland() {
        QSignalSpy shown(m_w.get(), &MainWindow::traceShown);
        m_w->runTrace(QStringLiteral("Ireland"));
        QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty() && shown.last()[0].toBool(), 60000);
        // The preview came first.
        QCOMPARE(shown.size(), 2);
        QCOMPARE(shown[0][0].toBool(), false);
        const TraceData& t = m_w->traceView()->trace();
        QCOMPARE(t.method, QString("fast"));
        QCOMPARE(t.answer, QString("Dublin"));
        // The built-in tokenizer reads lower case; entities keep their spelling.
        QCOMPARE(t.tokens, QStringList({"the", "capital", "of", "Ireland", "is"}));
        QCOMPARE(t.subjectBegin, 3);
        QCOMPARE(t.grids.size(), 3);
        QCOMPARE(t.grids[0].kind, QString("hidden"));
        QVERIFY(t.cleanScore > 0.5);
        QVERIFY(t.corruptedScore < 0.5 * t.cleanScore);
        const int last = (t.tokens.size() - 1) * t.layers + t.layers - 1;
        QVERIFY(std::abs(t.grids[0].scores[last] - t.cleanScore) < 1e-5);
        QVERIFY(m_w->traceView()->cellDescription(0, 3, 0).startsWith("token 'Ireland'*"));
    }

    // Without a subject, the fact world's subject of the prompt.
    void tracesTheFactsSubjectByDefault() {
        QSignalSpy shown(m_w.get(), &MainWindow::traceShown);
        m_w->runTrace();
        QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty() && shown.last()[0].toBool(), 60000);
        QCOMPARE(m_w->traceView()->trace().subjectBegin, 3);
        QCOMPARE(m_w->traceView()->trace().subjectEnd, 4);
    }

    void aBadSubjectIsReported() {
        const TraceData before = m_w->traceView()->trace();
        QSignalSpy shown(m_w.get(), &MainWindow::traceShown);
        m_w->runTrace(QStringLiteral("France"));
        QTRY_VERIFY_WITH_TIMEOUT(
            m_w->progressStrip()->message().contains("'France' is not in the prompt"), 60000);
        QTest::qWait(200);
        QVERIFY(shown.isEmpty());
        QCOMPARE(m_w->traceView()->trace().grids[0].scores, before.grids[0].scores);
    }

    void lensShowsTheAnswer() {
        QSignalSpy shown(m_w.get(), &MainWindow::lensShown);
        m_w->runLens();
        QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty(), 60000);
        const LensData& l = m_w->lensView()->lens();
        QCOMPARE(l.layers, 4);
        QCOMPARE(l.answer, QString("Dublin"));
        QCOMPARE(l.answerRank.last(), 1);
        auto* table = m_w->lensView()->table();
        QCOMPARE(table->rowCount(), 4);
        QCOMPARE(table->columnCount(), 5);
        QVERIFY(table->item(3, 4)->text().startsWith("Dublin"));
    }

    void cleanupTestCase() { m_w.reset(); }
};

QTEST_MAIN(TestStudioAnalyses)
#include "tst_studioanalyses.moc"
