// The trace and lens docks with plain data: a trace's cells are found under
// the mouse and described with their token, layer, kind and value, subject
// tokens are marked, a click emits the cell, the settings row shows what a
// trace ran with, the approximate preview says so,
// CSV export writes every cell, and the lens grid shows each layer's top
// token with its top-k on hover.
#include "LensView.h"
#include "QCustomPlotCompat.h"
#include "TraceView.h"

#include <QDoubleSpinBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

namespace {

TraceData sampleTrace(const QString& method) {
    TraceData t;
    t.tokens = {"The", "capital", "of", "Ireland", "is"};
    t.layers = 4;
    t.subjectBegin = 3;
    t.subjectEnd = 4;
    t.answer = "Dublin";
    t.cleanScore = 0.9;
    t.corruptedScore = 0.02;
    t.samples = 10;
    t.window = 10;
    t.method = method;
    for (const char* kind : {"hidden", "mlp", "attn"}) {
        TraceGridData g;
        g.kind = kind;
        for (int i = 0; i < 5 * 4; ++i)
            g.scores << float(0.02 + 0.01 * i);
        t.grids << g;
    }
    return t;
}

} // namespace

class TestTraceView : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void cellsUnderTheMouse() {
        TraceView v;
        v.resize(900, 400);
        v.show();
        QVERIFY(QTest::qWaitForWindowExposed(&v));
        v.setTrace(sampleTrace("fast"));
        v.plot()->replot();
        QCOMPARE(v.cellDescription(0, 3, 2),
                 QString("token 'Ireland'*, layer 2, hidden: P(Dublin) = 0.160"));
        QCOMPARE(v.cellDescription(2, 4, 3),
                 QString("token 'is', layer 3, attn: P(Dublin) = 0.210"));
        QVERIFY(v.cellDescription(3, 0, 0).isEmpty());
        // The centre of cell (token 3, layer 2) of the MLP map.
        auto* rect = v.plot()->axisRect(1);
        const QPoint centre(int(rect->axis(QCPAxis::atBottom)->coordToPixel(2)),
                            int(rect->axis(QCPAxis::atLeft)->coordToPixel(3)));
        int g = -1, t = -1, l = -1;
        QVERIFY(v.cellAt(centre, &g, &t, &l));
        QCOMPARE(g, 1);
        QCOMPARE(t, 3);
        QCOMPARE(l, 2);
        QSignalSpy clicked(&v, &TraceView::cellClicked);
        QTest::mouseClick(v.plot(), Qt::LeftButton, {}, centre);
        QCOMPARE(clicked.count(), 1);
        QCOMPARE(clicked[0][0].toString(), QString("mlp"));
        QCOMPARE(clicked[0][1].toInt(), 3);
        QCOMPARE(clicked[0][2].toInt(), 2);
    }

    void previewSaysItIsApproximate() {
        TraceView v;
        v.setTrace(sampleTrace("approximate"));
        QVERIFY(v.summary().contains("approximate"));
        v.setTrace(sampleTrace("fast"));
        QVERIFY(!v.summary().contains("approximate"));
        QVERIFY(v.summary().contains("clean 0.900"));
        v.clear();
        QVERIFY(v.summary().contains("No trace"));
    }

    // The settings row: what the next trace runs with, ROME's defaults at
    // first; a trace shown (a restored session's) shows its own settings;
    // the button asks for a trace.
    void settingsRowShowsWhatATraceRanWith() {
        TraceView v;
        const TraceSettings first = v.settings();
        QCOMPARE(first.samples, 10);
        QCOMPARE(first.window, 10);
        QCOMPARE(first.noise, 3.0);
        auto* samples = v.findChild<QSpinBox*>("traceSamples");
        auto* noise = v.findChild<QDoubleSpinBox*>("traceNoise");
        QVERIFY(samples && noise);
        samples->setValue(50);
        noise->setValue(4.5);
        QCOMPARE(v.settings().samples, 50);
        QCOMPARE(v.settings().noise, 4.5);
        TraceData t = sampleTrace("fast");
        t.samples = 25;
        t.window = 3;
        t.noise = 2;
        t.seed = 7;
        v.setTrace(t);
        const TraceSettings shown = v.settings();
        QCOMPARE(shown.samples, 25);
        QCOMPARE(shown.window, 3);
        QCOMPARE(shown.noise, 2.0);
        QCOMPARE(shown.seed, quint64(7));
        QSignalSpy asked(&v, &TraceView::traceRequested);
        auto* run = v.findChild<QPushButton*>("traceRun");
        QVERIFY(run);
        QTest::mouseClick(run, Qt::LeftButton);
        QCOMPARE(asked.count(), 1);
    }

    void exportsEveryCell() {
        TraceView v;
        v.setTrace(sampleTrace("fast"));
        QTemporaryDir dir;
        const QString path = dir.filePath("trace.csv");
        QVERIFY(v.exportCsv(path));
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const auto lines = QString::fromUtf8(f.readAll()).trimmed().split('\n');
        QCOMPARE(lines.size(), 1 + 3 * 5 * 4);
        QCOMPARE(lines[0], QString("kind,token_index,token,layer,score"));
        QVERIFY(lines.contains("mlp,3,\"Ireland\",2,0.159999996"));
    }

    void lensShowsTopTokens() {
        LensData d;
        d.tokens = {"The", "capital"};
        d.layers = 2;
        for (int i = 0; i < 4; ++i)
            d.top << QVector<PredictionRow>{{QString("t%1").arg(i), i, 0.5}, {"x", 99, 0.1}};
        d.answer = "t3";
        d.answerProb = {0.2, 0.5};
        d.answerRank = {2, 1};
        LensView v;
        v.setLens(d);
        QCOMPARE(v.table()->rowCount(), 2);
        QCOMPARE(v.table()->columnCount(), 2);
        QCOMPARE(v.table()->item(1, 0)->text(), QString("t2 0.50"));
        QVERIFY(v.table()->item(1, 1)->toolTip().contains("x  0.100"));
        v.clear();
        QCOMPARE(v.table()->rowCount(), 0);
    }
};

QTEST_MAIN(TestTraceView)
#include "tst_traceview.moc"
