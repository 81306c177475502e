#include "PredictionView.h"

#include <QElapsedTimer>
#include <QImage>
#include <QTest>

class TestPredictionView : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void defaultTitles();
    void setColumnKeepsRows();
    void outOfRangeColumnsAreIgnored();
    void clearColumnKeepsTitle();
    void barsAreProportional_data();
    void barsAreProportional();
    void hiddenColumnGivesWidthToOthers();
    void displayToken_data();
    void displayToken();
    void repaintIsFast();
};

namespace {

QVector<PredictionRow> sampleRows() {
    return {{QStringLiteral(" Paris"), 6342, 0.62},
            {QStringLiteral(" Lyon"), 31900, 0.21},
            {QStringLiteral(" France"), 4881, 0.05}};
}

// Counts pixels of exactly `color` on row y between x0 and x1.
int countColor(const QImage& image, int y, int x0, int x1, const QColor& color) {
    int count = 0;
    for (int x = x0; x < x1; ++x)
        count += image.pixelColor(x, y) == color ? 1 : 0;
    return count;
}

} // namespace

void TestPredictionView::defaultTitles() {
    PredictionView view;
    QCOMPARE(view.title(PredictionView::BaseColumn), QStringLiteral("Base"));
    QCOMPARE(view.title(PredictionView::EditedColumn), QStringLiteral("With edits"));
    QCOMPARE(view.title(PredictionView::IntervenedColumn), QStringLiteral("With interventions"));
    for (int i = 0; i < PredictionView::kColumnCount; ++i) {
        QVERIFY(view.isColumnVisible(i));
        QVERIFY(view.rows(i).isEmpty());
    }
}

void TestPredictionView::setColumnKeepsRows() {
    PredictionView view;
    view.setColumn(1, QStringLiteral("With edits"), QStringLiteral("routed to edit #3 (p = 0.97)"),
                   sampleRows());
    QCOMPARE(view.subtitle(1), QStringLiteral("routed to edit #3 (p = 0.97)"));
    const QVector<PredictionRow> rows = view.rows(1);
    QCOMPARE(rows.size(), 3);
    QCOMPARE(rows[0].token, QStringLiteral(" Paris"));
    QCOMPARE(rows[0].id, 6342);
    QCOMPARE(rows[2].prob, 0.05);
    QVERIFY(view.rows(0).isEmpty());
}

void TestPredictionView::outOfRangeColumnsAreIgnored() {
    PredictionView view;
    view.setColumn(3, QStringLiteral("x"), {}, sampleRows());
    view.setColumn(-1, QStringLiteral("x"), {}, sampleRows());
    view.clearColumn(7);
    view.setColumnVisible(5, false);
    QVERIFY(view.rows(3).isEmpty());
    QVERIFY(view.title(3).isEmpty());
    QVERIFY(!view.isColumnVisible(3));
}

void TestPredictionView::clearColumnKeepsTitle() {
    PredictionView view;
    view.setColumn(2, QStringLiteral("With interventions"), QStringLiteral("2 neurons scaled"),
                   sampleRows());
    view.clearColumn(2);
    QVERIFY(view.rows(2).isEmpty());
    QVERIFY(view.subtitle(2).isEmpty());
    QCOMPARE(view.title(2), QStringLiteral("With interventions"));
}

void TestPredictionView::barsAreProportional_data() {
    QTest::addColumn<double>("prob");
    QTest::newRow("quarter") << 0.25;
    QTest::newRow("half") << 0.5;
    QTest::newRow("all") << 1.0;
    QTest::newRow("out of range clamps to full") << 1.7;
}

void TestPredictionView::barsAreProportional() {
    QFETCH(double, prob);
    PredictionView view;
    view.resize(900, 200);
    view.setColumnVisible(1, false);
    view.setColumnVisible(2, false);
    view.setColumn(0, QStringLiteral("Base"), {}, {{QStringLiteral("a"), 1, prob}});
    const QImage image = view.grab().toImage();

    // Find the bar's row: the first row holding the base column's bar colour.
    const QColor barColor(0x5b, 0x7d, 0xb1);
    int barRow = -1;
    for (int y = 0; y < image.height() && barRow < 0; ++y) {
        if (countColor(image, y, 0, image.width(), barColor) > 0)
            barRow = y;
    }
    QVERIFY(barRow >= 0);
    // Bar plus the empty track behind it, both on that row.
    const int filled = countColor(image, barRow + 2, 0, image.width(), barColor);
    const QColor track = view.palette().color(QPalette::AlternateBase);
    const int empty = countColor(image, barRow + 2, 0, image.width(), track);
    const double shown = double(filled) / (filled + empty);
    QVERIFY2(qAbs(shown - qMin(prob, 1.0)) < 0.02, qPrintable(QString::number(shown)));
}

void TestPredictionView::hiddenColumnGivesWidthToOthers() {
    PredictionView view;
    view.resize(900, 200);
    const QColor baseBar(0x5b, 0x7d, 0xb1);
    const QColor editBar(0x3f, 0x9b, 0x6b);
    for (int i = 0; i < PredictionView::kColumnCount; ++i)
        view.setColumn(i, view.title(i), {}, {{QStringLiteral("a"), 1, 1.0}});

    auto widest = [&](const QColor& color) {
        const QImage image = view.grab().toImage();
        int best = 0;
        for (int y = 0; y < image.height(); ++y)
            best = qMax(best, countColor(image, y, 0, image.width(), color));
        return best;
    };
    const int before = widest(baseBar);
    QVERIFY(widest(editBar) > 0);
    view.setColumnVisible(PredictionView::EditedColumn, false);
    QVERIFY(!view.isColumnVisible(PredictionView::EditedColumn));
    QCOMPARE(widest(editBar), 0);
    QVERIFY(widest(baseBar) > before);
}

void TestPredictionView::displayToken_data() {
    QTest::addColumn<QString>("token");
    QTest::addColumn<QString>("shown");
    QTest::newRow("word start") << " Paris" << QStringLiteral("·Paris");
    QTest::newRow("inner spaces stay") << "New York"
                                       << "New York";
    QTest::newRow("trailing space") << "a " << QStringLiteral("a·");
    QTest::newRow("newline") << "\n" << QStringLiteral("↵");
    QTest::newRow("empty") << "" << QStringLiteral("∅");
}

void TestPredictionView::displayToken() {
    QFETCH(QString, token);
    QFETCH(QString, shown);
    QCOMPARE(PredictionView::displayToken(token), shown);
}

void TestPredictionView::repaintIsFast() {
    PredictionView view;
    view.resize(900, 300);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    QVector<PredictionRow> rows;
    for (int i = 0; i < 10; ++i)
        rows.append({QStringLiteral(" token%1").arg(i), i, 1.0 / (i + 2)});

    QElapsedTimer timer;
    timer.start();
    const int frames = 50;
    for (int frame = 0; frame < frames; ++frame) {
        for (int column = 0; column < PredictionView::kColumnCount; ++column)
            view.setColumn(column, view.title(column), QStringLiteral("frame %1").arg(frame), rows);
        view.repaint();
    }
    const double perFrameMs = double(timer.elapsed()) / frames;
    qInfo("PredictionView: %.2f ms per update + repaint of 3 x 10 rows", perFrameMs);
    // A keystroke budget, loose enough for a loaded machine.
    QVERIFY2(perFrameMs < 30.0, qPrintable(QString::number(perFrameMs)));
}

QTEST_MAIN(TestPredictionView)
#include "tst_predictionview.moc"
