// The Trace and Lens docks end to end on the built-in model: tracing
// "Ireland" in "The capital of Ireland is" shows the attribution-patching
// preview first and then the exact trace, whose last-layer hidden state at
// the last token restores the clean score; the logit lens fills a layers x
// positions grid whose last cell is the model's own answer; a subject not in
// the prompt is reported and leaves the trace as it was; clicking a cell
// shows that restoration's top tokens; a saved session keeps both; neurons
// show what they write (their value vectors' top tokens) in the neuron panel
// and the heat map, read again after a weight change; and the neurons that
// promote a token fill the neuron panel.
#include "AttributionHeatmap.h"
#include "LanguageModel.h"
#include "LensView.h"
#include "NeuronPanel.h"
#include "ProgressStrip.h"
#include "QCustomPlotCompat.h"
#include "StudioFixture.h"
#include "TraceView.h"
#include "ValueProjection.h"

#include <QApplication>
#include <QTableWidget>
#include <QTemporaryDir>
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

    // A click on a cell of the exact trace runs that restoration again: its
    // P(answer) is the cell's score, and it lists what the restored run says.
    void clickingACellShowsItsTopTokens() {
        TraceView* view = m_w->traceView();
        const TraceData t = view->trace();
        QVERIFY(!t.isEmpty());
        view->resize(900, 500);
        view->show();
        QVERIFY(QTest::qWaitForWindowExposed(view));
        view->plot()->replot();
        // The pixel in the middle of cell (token 'Ireland', layer 1) of the MLP
        // grid, found by scanning for it as a user aims the mouse.
        QPoint target;
        for (int x = 0; x < view->plot()->width() && target.isNull(); x += 2)
            for (int y = 0; y < view->plot()->height() && target.isNull(); y += 2) {
                int g = -1, tok = -1, l = -1;
                if (view->cellAt({x, y}, &g, &tok, &l) && g == 1 && tok == 3 && l == 1)
                    target = QPoint(x + 4, y + 4);
            }
        QVERIFY(!target.isNull());
        QSignalSpy shown(m_w.get(), &MainWindow::traceCellShown);
        QTest::mouseClick(view->plot(), Qt::LeftButton, {}, target);
        QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty(), 30000);
        const QString text = view->restorationText();
        QVERIFY2(text.startsWith("Restoring the MLP output at 'Ireland'*, layers 0–"),
                 qPrintable(text));
        const float cell = t.grids[1].scores[3 * t.layers + 1];
        QVERIFY2(text.contains(QStringLiteral("P(Dublin) %1").arg(cell, 0, 'f', 3)),
                 qPrintable(text + QStringLiteral(" / cell %1").arg(cell)));
        QCOMPARE(text.count(QStringLiteral(" · ")), 4); // five tokens
        // A new trace clears it.
        QSignalSpy traced(m_w.get(), &MainWindow::traceShown);
        m_w->runTrace(QStringLiteral("Ireland"));
        QTRY_VERIFY_WITH_TIMEOUT(!traced.isEmpty() && traced.last()[0].toBool(), 60000);
        QVERIFY(view->restorationText().isEmpty());
        view->hide();
    }

    // The trace and the lens are part of the session: a reopened session
    // shows the same grids and can rerun a cell without tracing again.
    void aSessionKeepsTheTraceAndTheLens() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("traced.scalpel"));
        QString error;
        QVERIFY2(m_w->saveSession(path, &error), qPrintable(error));
        const TraceData trace = m_w->traceView()->trace();
        const LensData lens = m_w->lensView()->lens();
        QVERIFY(!trace.isEmpty() && !lens.isEmpty());

        auto other = makeWindow();
        QTRY_VERIFY_WITH_TIMEOUT(other->modelReady(), 60000);
        QVERIFY(other->traceView()->trace().isEmpty());
        QSignalSpy restored(other.get(), &MainWindow::sessionRestored);
        QVERIFY2(other->openSession(path, &error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(!restored.isEmpty(), 60000);
        const TraceData t = other->traceView()->trace();
        QCOMPARE(t.tokens, trace.tokens);
        QCOMPARE(t.subject, QString("Ireland"));
        QCOMPARE(t.seed, trace.seed);
        QCOMPARE(t.sigma, trace.sigma);
        QCOMPARE(t.grids.size(), trace.grids.size());
        for (int k = 0; k < t.grids.size(); ++k)
            QCOMPARE(t.grids[k].scores, trace.grids[k].scores);
        QCOMPARE(other->lensView()->lens().answerProb, lens.answerProb);
        QCOMPARE(other->lensView()->table()->item(3, 4)->text(),
                 m_w->lensView()->table()->item(3, 4)->text());
        // Its cells rerun as they did in the session that traced them.
        QSignalSpy cell(other.get(), &MainWindow::traceCellShown);
        other->runTraceCell(QStringLiteral("hidden"), 3, 0);
        QTRY_VERIFY_WITH_TIMEOUT(!cell.isEmpty(), 30000);
        const float score = t.grids[0].scores[3 * t.layers];
        QVERIFY2(other->traceView()->restorationText().contains(
                     QStringLiteral("P(Dublin) %1").arg(score, 0, 'f', 3)),
                 qPrintable(other->traceView()->restorationText()));
    }

    // Analysis > Find neurons that promote: the neurons pushing "Dublin"
    // hardest on the prompt fill the neuron panel (one undo step), and each
    // shows what it writes, the same tokens the engine reads off the weights.
    void promotedNeuronsShowWhatTheyWrite() {
        const QVector<NeuronRef> before = m_w->neuronPanel()->neurons();
        QSignalSpy done(m_w.get(), &MainWindow::promoteFinished);
        m_w->runPromote(QStringLiteral("Dublin"));
        QTRY_VERIFY_WITH_TIMEOUT(!done.isEmpty(), 30000);
        QCOMPARE(done[0][0].toString(), QString());
        const QVector<NeuronRef> neurons = m_w->neuronPanel()->neurons();
        QCOMPARE(neurons.size(), 10);
        QVERIFY(m_w->neuronPanel()->source().contains("pushes Dublin"));
        QTRY_VERIFY_WITH_TIMEOUT(
            std::all_of(neurons.begin(), neurons.end(),
                        [&](const NeuronRef& n) { return m_w->neuronWrites().contains(n); }),
            30000);
        auto model = scalpel::LanguageModel::load(modelDir().toStdString(), "cpu");
        double lastPush = 1e9;
        for (int i = 0; i < neurons.size(); ++i) {
            const QStringList writes = m_w->neuronWrites().value(neurons[i]);
            const auto p = scalpel::projectValueVector(*model, neurons[i].layer, neurons[i].neuron,
                                                       writes.size());
            QCOMPARE(writes.size(), 10);
            for (int k = 0; k < writes.size(); ++k)
                QCOMPARE(writes[k],
                         QString::fromStdString(model->tokenizer().tokenText(p.top[k].id)));
            const QString caption = m_w->neuronPanel()->rowCaption(i);
            QVERIFY2(caption.contains(QStringLiteral("\n→ ") + writesText(writes)),
                     qPrintable(caption));
            // Strongest push first.
            const double push = caption.section("push ", 1).section('\n', 0, 0).toDouble();
            QVERIFY2(push <= lastPush, qPrintable(caption));
            lastPush = push;
        }
        m_w->undoStack()->undo();
        QCOMPARE(m_w->neuronPanel()->neurons(), before);
        m_w->undoStack()->redo();
        QCOMPARE(m_w->neuronPanel()->neurons(), neurons);

        done.clear();
        m_w->runPromote(QStringLiteral("Qwxzland"));
        QTRY_VERIFY_WITH_TIMEOUT(!done.isEmpty(), 30000);
        QVERIFY2(done[0][0].toString().contains("Qwxzland"), qPrintable(done[0][0].toString()));
        QCOMPARE(m_w->neuronPanel()->neurons(), neurons); // unchanged
    }

    // Hovering a heat-map cell looks up what that neuron writes.
    void hoveringTheHeatmapShowsWhatANeuronWrites() {
        QSignalSpy shown(m_w.get(), &MainWindow::attributionShown);
        m_w->runAttribution();
        QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty(), 60000);
        AttributionHeatmap* heat = m_w->heatmap();
        heat->resize(900, 400);
        heat->show();
        QVERIFY(QTest::qWaitForWindowExposed(heat));
        heat->plot()->replot();
        const QRect r = heat->heatmapRect()->rect();
        const QPoint at = r.center();
        int layer = -1, neuron = -1;
        QVERIFY(heat->cellAt(at, &layer, &neuron));
        QVERIFY(!m_w->neuronWrites().contains(NeuronRef{layer, neuron}));
        QMouseEvent move(QEvent::MouseMove, QPointF(at), QPointF(heat->plot()->mapToGlobal(at)),
                         Qt::NoButton, Qt::NoButton, Qt::NoModifier);
        QApplication::sendEvent(heat->plot(), &move);
        QTRY_VERIFY_WITH_TIMEOUT(m_w->neuronWrites().contains(NeuronRef{layer, neuron}), 30000);
        QVERIFY2(heat->cellDescription(layer, neuron).contains("\nwrites: "),
                 qPrintable(heat->cellDescription(layer, neuron)));
        heat->hide();
    }

    // A weight change rewrites value vectors: what the neurons write is read
    // again, and reverting brings the old reading back.
    void aWeightChangeRereadsWhatNeuronsWrite() {
        const QVector<NeuronRef> neurons = m_w->neuronPanel()->neurons();
        QVERIFY(!neurons.isEmpty());
        const NeuronWrites before = m_w->neuronWrites();
        QVERIFY(before.contains(neurons[0]));
        QSignalSpy done(m_w.get(), &MainWindow::weightOpFinished);
        m_w->updateFact(QStringLiteral("Lisbon"));
        QTRY_VERIFY_WITH_TIMEOUT(!done.isEmpty(), 60000);
        QVERIFY2(done[0][0].toBool(), qPrintable(done[0][1].toString()));
        QTRY_VERIFY_WITH_TIMEOUT(m_w->neuronWrites().contains(neurons[0]) &&
                                     m_w->neuronWrites().value(neurons[0]) != before[neurons[0]],
                                 30000);
        QVERIFY(m_w->neuronWrites().value(neurons[0]).contains("Lisbon"));
        done.clear();
        m_w->revertWeights();
        QTRY_VERIFY_WITH_TIMEOUT(!done.isEmpty(), 60000);
        QTRY_VERIFY_WITH_TIMEOUT(m_w->neuronWrites().value(neurons[0]) == before[neurons[0]],
                                 30000);
    }

    void cleanupTestCase() { m_w.reset(); }
};

QTEST_MAIN(TestStudioAnalyses)
#include "tst_studioanalyses.moc"
