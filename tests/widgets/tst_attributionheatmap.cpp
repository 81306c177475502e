#include "AttributionHeatmap.h"
#include "QCustomPlotCompat.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QSlider>
#include <QTemporaryDir>
#include <QTest>
#include <QToolTip>

class TestAttributionHeatmap : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void showsTheGridItWasGiven();
    void rejectsMismatchedSizes();
    void candidatesFollowThreshold_data();
    void candidatesFollowThreshold();
    void sliderChangesThreshold();
    void clickEmitsNeuron_data();
    void clickEmitsNeuron();
    void dragIsNotAClick();
    void hoverTextDescribesCell();
    void layerSummarySumsPositiveScores();
    void negativeScoresGetSymmetricRange();
    void zoomStaysInsideGrid();
    void outlinesAreDrawn();
    void csvExportIsExact();
    void pngAndPdfExportsAreValid();
    void gpt2SmallGridIsFast();

private:
    static QVector<float> smallScores();
    static void showAndLayOut(AttributionHeatmap& heatmap);
    static QPoint cellPixel(const AttributionHeatmap& heatmap, int layer, int neuron);
};

// 3 layers x 4 neurons; max 2.0 at layer 1, neuron 2.
QVector<float> TestAttributionHeatmap::smallScores() {
    return {0.1f, 0.5f,  -0.25f, 0.0f, //
            0.3f, 1.0f,  2.0f,   0.4f, //
            0.0f, 0.41f, 0.39f,  1.5f};
}

void TestAttributionHeatmap::showAndLayOut(AttributionHeatmap& heatmap) {
    heatmap.resize(800, 420);
    heatmap.show();
    QVERIFY(QTest::qWaitForWindowExposed(&heatmap));
    heatmap.plot()->replot(QCustomPlot::rpImmediateRefresh);
}

QPoint TestAttributionHeatmap::cellPixel(const AttributionHeatmap& heatmap, int layer, int neuron) {
    const QCPAxisRect* rect = heatmap.heatmapRect();
    return {int(std::lround(rect->axis(QCPAxis::atBottom)->coordToPixel(neuron))),
            int(std::lround(rect->axis(QCPAxis::atLeft)->coordToPixel(layer)))};
}

void TestAttributionHeatmap::showsTheGridItWasGiven() {
    AttributionHeatmap heatmap;
    const QVector<float> scores = smallScores();
    QVERIFY(heatmap.setGrid(3, 4, scores, QStringLiteral("The capital of France is → Paris")));
    QCOMPARE(heatmap.layers(), 3);
    QCOMPARE(heatmap.neurons(), 4);
    QCOMPARE(heatmap.title(), QStringLiteral("The capital of France is → Paris"));

    QCPColorMapData* data = heatmap.colorMap()->data();
    QCOMPARE(data->keySize(), 4);
    QCOMPARE(data->valueSize(), 3);
    for (int layer = 0; layer < 3; ++layer) {
        for (int neuron = 0; neuron < 4; ++neuron) {
            QCOMPARE(float(data->cell(neuron, layer)), scores[layer * 4 + neuron]);
            QCOMPARE(heatmap.scoreAt(layer, neuron), scores[layer * 4 + neuron]);
            // The cell sits at its integer coordinates: neuron on x, layer on y.
            double key = 0;
            double value = 0;
            data->cellToCoord(neuron, layer, &key, &value);
            QCOMPARE(key, double(neuron));
            QCOMPARE(value, double(layer));
        }
    }
    QVERIFY(qIsNaN(heatmap.scoreAt(3, 0)));
}

void TestAttributionHeatmap::rejectsMismatchedSizes() {
    AttributionHeatmap heatmap;
    QVERIFY(heatmap.setGrid(3, 4, smallScores(), "ok"));
    QVERIFY(!heatmap.setGrid(3, 5, smallScores(), "wrong"));
    QCOMPARE(heatmap.layers(), 0);
    QVERIFY(heatmap.candidates().isEmpty());
    QVERIFY(!heatmap.setGrid(0, 0, {}, "empty"));
}

void TestAttributionHeatmap::candidatesFollowThreshold_data() {
    QTest::addColumn<double>("threshold");
    QTest::addColumn<QVector<NeuronRef>>("expected");

    // max = 2.0
    QTest::newRow("default 0.2 -> >= 0.4")
        << 0.2 << QVector<NeuronRef>{{0, 1}, {1, 1}, {1, 2}, {1, 3}, {2, 1}, {2, 3}};
    QTest::newRow("0.5 -> >= 1.0") << 0.5 << QVector<NeuronRef>{{1, 1}, {1, 2}, {2, 3}};
    QTest::newRow("1.0 -> only the max") << 1.0 << QVector<NeuronRef>{{1, 2}};
    QTest::newRow("0 -> every non-negative cell")
        << 0.0 << QVector<NeuronRef>{{0, 0}, {0, 1}, {0, 3}, {1, 0}, {1, 1}, {1, 2},
                                     {1, 3}, {2, 0}, {2, 1}, {2, 2}, {2, 3}};
}

void TestAttributionHeatmap::candidatesFollowThreshold() {
    QFETCH(double, threshold);
    QFETCH(QVector<NeuronRef>, expected);
    AttributionHeatmap heatmap;
    QCOMPARE(heatmap.threshold(), AttributionHeatmap::kDefaultThreshold);
    heatmap.setGrid(3, 4, smallScores(), "t");
    heatmap.setThreshold(threshold);
    QCOMPARE(heatmap.candidates(), expected);

    // Cross-check against the definition on the same data.
    const QVector<float> scores = smallScores();
    const float max = *std::max_element(scores.begin(), scores.end());
    for (int i = 0; i < scores.size(); ++i) {
        const NeuronRef ref{i / 4, i % 4};
        QCOMPARE(heatmap.candidates().contains(ref), scores[i] >= float(threshold) * max);
    }
}

void TestAttributionHeatmap::sliderChangesThreshold() {
    AttributionHeatmap heatmap;
    heatmap.setGrid(3, 4, smallScores(), "t");
    QSignalSpy changed(&heatmap, &AttributionHeatmap::thresholdChanged);
    auto* slider = heatmap.findChild<QSlider*>("thresholdSlider");
    QVERIFY(slider);
    QCOMPARE(slider->value(), 20);
    slider->setValue(50);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(0).toDouble(), 0.5);
    QCOMPARE(heatmap.threshold(), 0.5);
    QCOMPARE(heatmap.candidates().size(), 3);
    // Setting it in code moves the slider too, and repeating a value is no change.
    heatmap.setThreshold(0.8);
    QCOMPARE(slider->value(), 80);
    heatmap.setThreshold(0.8);
    QCOMPARE(changed.count(), 2);
}

void TestAttributionHeatmap::clickEmitsNeuron_data() {
    QTest::addColumn<int>("layer");
    QTest::addColumn<int>("neuron");
    QTest::newRow("origin") << 0 << 0;
    QTest::newRow("max cell") << 1 << 2;
    QTest::newRow("far corner") << 2 << 3;
}

void TestAttributionHeatmap::clickEmitsNeuron() {
    QFETCH(int, layer);
    QFETCH(int, neuron);
    AttributionHeatmap heatmap;
    heatmap.setGrid(3, 4, smallScores(), "click");
    showAndLayOut(heatmap);
    QSignalSpy clicked(&heatmap, &AttributionHeatmap::neuronClicked);

    QTest::mouseClick(heatmap.plot(), Qt::LeftButton, {}, cellPixel(heatmap, layer, neuron));
    QCOMPARE(clicked.count(), 1);
    QCOMPARE(clicked.at(0).at(0).toInt(), layer);
    QCOMPARE(clicked.at(0).at(1).toInt(), neuron);

    // Outside the map (on the title) nothing is emitted.
    QTest::mouseClick(heatmap.plot(), Qt::LeftButton, {}, QPoint(heatmap.plot()->width() / 2, 3));
    QCOMPARE(clicked.count(), 1);
}

void TestAttributionHeatmap::dragIsNotAClick() {
    AttributionHeatmap heatmap;
    heatmap.setGrid(3, 4, smallScores(), "drag");
    showAndLayOut(heatmap);
    QSignalSpy clicked(&heatmap, &AttributionHeatmap::neuronClicked);
    const QPoint from = cellPixel(heatmap, 1, 1);
    QTest::mousePress(heatmap.plot(), Qt::LeftButton, {}, from);
    QTest::mouseMove(heatmap.plot(), from + QPoint(40, 0));
    QTest::mouseRelease(heatmap.plot(), Qt::LeftButton, {}, from + QPoint(40, 0));
    QCOMPARE(clicked.count(), 0);
}

void TestAttributionHeatmap::hoverTextDescribesCell() {
    AttributionHeatmap heatmap;
    heatmap.setGrid(3, 4, smallScores(), "hover");
    showAndLayOut(heatmap);
    QCOMPARE(heatmap.cellDescription(1, 2), QStringLiteral("layer 1, neuron 2: 2"));
    QCOMPARE(heatmap.cellDescription(0, 2), QStringLiteral("layer 0, neuron 2: -0.25"));
    int layer = -1;
    int neuron = -1;
    QVERIFY(heatmap.cellAt(cellPixel(heatmap, 2, 1), &layer, &neuron));
    QCOMPARE(layer, 2);
    QCOMPARE(neuron, 1);
    QVERIFY(!heatmap.cellAt(QPoint(1, 1), &layer, &neuron));

    // Moving the mouse over a cell shows its description as a tool tip.
    QTest::mouseMove(heatmap.plot(), cellPixel(heatmap, 1, 2));
    QTRY_VERIFY(QToolTip::isVisible());
    QCOMPARE(QToolTip::text(), QStringLiteral("layer 1, neuron 2: 2"));
    QTest::mouseMove(heatmap.plot(), cellPixel(heatmap, 0, 2));
    QTRY_COMPARE(QToolTip::text(), QStringLiteral("layer 0, neuron 2: -0.25"));
}

void TestAttributionHeatmap::layerSummarySumsPositiveScores() {
    AttributionHeatmap heatmap;
    heatmap.setGrid(3, 4, smallScores(), "sum");
    const QVector<double> sums = heatmap.layerSummary();
    QCOMPARE(sums.size(), 3);
    QVERIFY(qAbs(sums[0] - 0.6) < 1e-6); // the -0.25 is left out
    QVERIFY(qAbs(sums[1] - 3.7) < 1e-6);
    QVERIFY(qAbs(sums[2] - 2.3) < 1e-6);
}

void TestAttributionHeatmap::negativeScoresGetSymmetricRange() {
    AttributionHeatmap heatmap;
    heatmap.setGrid(1, 3, {-3.0f, 0.0f, 1.0f}, "neg");
    QCOMPARE(heatmap.colorMap()->dataRange().lower, -3.0);
    QCOMPARE(heatmap.colorMap()->dataRange().upper, 3.0);
    // A zero score sits mid-gradient, so it looks neutral.
    const QRgb zero = heatmap.colorMap()->gradient().color(0.0, heatmap.colorMap()->dataRange());
    QVERIFY(qRed(zero) > 200 && qGreen(zero) > 200 && qBlue(zero) > 200);

    heatmap.setGrid(1, 3, {0.5f, 0.0f, 2.0f}, "pos");
    QCOMPARE(heatmap.colorMap()->dataRange().lower, 0.0);
    QCOMPARE(heatmap.colorMap()->dataRange().upper, 2.0);
}

void TestAttributionHeatmap::zoomStaysInsideGrid() {
    AttributionHeatmap heatmap;
    heatmap.setGrid(2, 100, QVector<float>(200, 1.0f), "zoom");
    QCPAxis* x = heatmap.heatmapRect()->axis(QCPAxis::atBottom);
    QCOMPARE(x->range().lower, -0.5);
    QCOMPARE(x->range().upper, 99.5);
    x->setRange(-50, 20);
    QVERIFY(x->range().lower >= -0.5);
    QVERIFY(qAbs(x->range().size() - 70) < 1e-9);
    x->setRange(90, 130);
    QVERIFY(x->range().upper <= 99.5);
    x->setRange(-1000, 1000);
    QCOMPARE(x->range().lower, -0.5);
    QCOMPARE(x->range().upper, 99.5);

    showAndLayOut(heatmap);
    x->setRange(10, 20);
    QTest::mouseDClick(heatmap.plot(), Qt::LeftButton, {}, cellPixel(heatmap, 0, 15));
    QCOMPARE(x->range().lower, -0.5);
    QCOMPARE(x->range().upper, 99.5);
}

void TestAttributionHeatmap::outlinesAreDrawn() {
    AttributionHeatmap heatmap;
    heatmap.setGrid(3, 4, smallScores(), "outlines");
    heatmap.setThreshold(0.9); // only (1, 2) is a candidate
    heatmap.setKnowledgeNeurons({{0, 0}});
    QCOMPARE(heatmap.knowledgeNeurons(), (QVector<NeuronRef>{{0, 0}}));
    showAndLayOut(heatmap);
    heatmap.plot()->replot(QCustomPlot::rpImmediateRefresh);
    const QImage image = heatmap.plot()->toPixmap().toImage();

    auto hasColourNearEdge = [&](int layer, int neuron, auto predicate) {
        const QPoint centre = cellPixel(heatmap, layer, neuron);
        const QCPAxis* x = heatmap.heatmapRect()->axis(QCPAxis::atBottom);
        const int halfWidth =
            int(std::abs(x->coordToPixel(neuron + 0.5) - x->coordToPixel(neuron)));
        for (int dx = halfWidth - 4; dx <= halfWidth + 4; ++dx) {
            if (predicate(image.pixelColor(centre.x() - dx, centre.y())))
                return true;
        }
        return false;
    };
    auto isBlue = [](const QColor& c) { return c.blue() > 200 && c.red() < 60; };
    auto isDark = [](const QColor& c) { return c.lightness() < 50; };
    QVERIFY(hasColourNearEdge(0, 0, isBlue));
    QVERIFY(!hasColourNearEdge(2, 0, isBlue));
    QVERIFY(hasColourNearEdge(1, 2, isDark));
    QVERIFY(!hasColourNearEdge(2, 1, isDark));
}

void TestAttributionHeatmap::csvExportIsExact() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    AttributionHeatmap heatmap;
    heatmap.setGrid(2, 3, {0.5f, -0.25f, 1.0f, 0.0f, 0.1f, 3e-5f}, "csv");
    const QString path = dir.filePath("scores.csv");
    QVERIFY(heatmap.exportCsv(path));
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(file.readAll(), QByteArray("layer,neuron,score\n"
                                        "0,0,0.5\n"
                                        "0,1,-0.25\n"
                                        "0,2,1\n"
                                        "1,0,0\n"
                                        "1,1,0.1\n"
                                        "1,2,3e-05\n"));
    QVERIFY(!heatmap.exportCsv(dir.filePath("missing/dir/scores.csv")));
}

void TestAttributionHeatmap::pngAndPdfExportsAreValid() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    AttributionHeatmap heatmap;
    QVERIFY(!heatmap.colourBarShown()); // nothing to read off it yet
    heatmap.setGrid(3, 4, smallScores(), "export");
    QVERIFY(heatmap.colourBarShown());
    const QString png = dir.filePath("map.png");
    QVERIFY(heatmap.exportPng(png, 640, 320));
    const QImage image(png);
    QVERIFY(!image.isNull());
    QCOMPARE(image.size(), QSize(640, 320));
    // Not blank: the map puts several colours on the page.
    QSet<QRgb> colours;
    for (int y = 0; y < image.height(); y += 8)
        for (int x = 0; x < image.width(); x += 8)
            colours.insert(image.pixel(x, y));
    QVERIFY(colours.size() > 5);
    // A map in a small dock still exports a figure-sized picture.
    heatmap.resize(400, 150);
    heatmap.show();
    QVERIFY(QTest::qWaitForWindowExposed(&heatmap));
    const QString small = dir.filePath("small.png");
    QVERIFY(heatmap.exportPng(small));
    const QImage big(small);
    QVERIFY2(big.width() >= 2400 && big.height() >= 960,
             qPrintable(QStringLiteral("%1 x %2").arg(big.width()).arg(big.height())));

    const QString pdf = dir.filePath("map.pdf");
    QVERIFY(heatmap.exportPdf(pdf));
    QFile file(pdf);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QVERIFY(file.read(5) == "%PDF-");
}

void TestAttributionHeatmap::gpt2SmallGridIsFast() {
    const int layers = 12;
    const int neurons = 3072;
    QVector<float> scores(layers * neurons);
    QRandomGenerator random(42);
    for (float& score : scores)
        score = float(random.generateDouble() * 2.0 - 0.2);
    AttributionHeatmap heatmap;
    showAndLayOut(heatmap);

    QElapsedTimer timer;
    timer.start();
    QVERIFY(heatmap.setGrid(layers, neurons, scores, "GPT-2 small"));
    const double setGridMs = timer.nsecsElapsed() / 1e6;
    timer.restart();
    heatmap.plot()->replot(QCustomPlot::rpImmediateRefresh);
    const double replotMs = timer.nsecsElapsed() / 1e6;
    qInfo("12 x 3072 grid: setGrid %.2f ms, replot %.2f ms, %d candidates", setGridMs, replotMs,
          int(heatmap.candidates().size()));
    QCOMPARE(heatmap.colorMap()->data()->cell(3071, 11), double(scores.last()));
    // Target < 50 ms; the bound allows for a loaded machine.
    QVERIFY2(setGridMs < 250.0, qPrintable(QString::number(setGridMs)));
}

QTEST_MAIN(TestAttributionHeatmap)
#include "tst_attributionheatmap.moc"
