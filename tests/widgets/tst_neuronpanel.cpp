#include "NeuronPanel.h"
#include "QCustomPlotCompat.h"

#include <QLabel>
#include <QPushButton>
#include <QSignalSpy>
#include <QSlider>
#include <QStyle>
#include <QStyleOptionSlider>
#include <QTest>
#include <QToolButton>

class TestNeuronPanel : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void captions_data();
    void captions();
    void rowsStartAtOne();
    void sliderMoveEmitsFactor_data();
    void sliderMoveEmitsFactor();
    void presetButtonsSetFactor_data();
    void presetButtonsSetFactor();
    void masterSliderSetsAll();
    void setScalesDoesNotEmit();
    void dragIsBracketed();
    void actionButtonsEmit_data();
    void actionButtonsEmit();
    void curveMarkerFollowsMaster();

private:
    static const QVector<NeuronRef> kNeurons;
};

const QVector<NeuronRef> TestNeuronPanel::kNeurons{{3, 1021}, {5, 77}, {11, 3071}};

namespace {

QToolButton* presetButton(NeuronPanel& panel, int row, const QString& text) {
    // Buttons are laid out per row; find the one on the row's slider line.
    const QSlider* slider = panel.neuronSlider(row);
    for (QToolButton* button : panel.findChildren<QToolButton*>()) {
        if (button->text() == text && qAbs(button->geometry().center().y() -
                                           slider->geometry().center().y()) < slider->height())
            return button;
    }
    return nullptr;
}

QPoint handleCentre(QSlider* slider) {
    QStyleOptionSlider option;
    option.initFrom(slider);
    option.orientation = slider->orientation();
    option.minimum = slider->minimum();
    option.maximum = slider->maximum();
    option.sliderPosition = slider->sliderPosition();
    option.sliderValue = slider->value();
    option.subControls = QStyle::SC_SliderHandle;
    return slider->style()
        ->subControlRect(QStyle::CC_Slider, &option, QStyle::SC_SliderHandle, slider)
        .center();
}

} // namespace

void TestNeuronPanel::captions_data() {
    QTest::addColumn<int>("layer");
    QTest::addColumn<int>("neuron");
    QTest::addColumn<QString>("caption");
    QTest::newRow("small") << 0 << 7 << QStringLiteral("L0 · N7");
    QTest::newRow("gpt2 small") << 3 << 1021 << QStringLiteral("L3 · N1021");
}

void TestNeuronPanel::captions() {
    QFETCH(int, layer);
    QFETCH(int, neuron);
    QFETCH(QString, caption);
    QCOMPARE(NeuronPanel::neuronCaption({layer, neuron}), caption);
}

void TestNeuronPanel::rowsStartAtOne() {
    NeuronPanel panel;
    panel.setNeurons(kNeurons, {QStringLiteral("capital"), {}, {}});
    QCOMPARE(panel.neurons(), kNeurons);
    const QVector<NeuronScale> scales = panel.scales();
    QCOMPARE(scales.size(), 3);
    for (int i = 0; i < scales.size(); ++i) {
        QCOMPARE(scales[i].layer, kNeurons[i].layer);
        QCOMPARE(scales[i].neuron, kNeurons[i].neuron);
        QCOMPARE(scales[i].factor, 1.0);
        QCOMPARE(panel.neuronSlider(i)->value(), 100);
    }
    QVERIFY(!panel.neuronSlider(3));
    bool labelShown = false;
    for (const QLabel* label : panel.findChildren<QLabel*>())
        labelShown |= label->text() == QStringLiteral("L3 · N1021  capital");
    QVERIFY(labelShown);
}

void TestNeuronPanel::sliderMoveEmitsFactor_data() {
    QTest::addColumn<int>("row");
    QTest::addColumn<int>("value");
    QTest::addColumn<double>("factor");
    QTest::newRow("suppress first") << 0 << 0 << 0.0;
    QTest::newRow("halve second") << 1 << 50 << 0.5;
    QTest::newRow("amplify third") << 2 << 250 << 2.5;
    QTest::newRow("maximum") << 0 << 300 << 3.0;
}

void TestNeuronPanel::sliderMoveEmitsFactor() {
    QFETCH(int, row);
    QFETCH(int, value);
    QFETCH(double, factor);
    NeuronPanel panel;
    panel.setNeurons(kNeurons);
    QSignalSpy changed(&panel, &NeuronPanel::scalesChanged);

    panel.neuronSlider(row)->setValue(value);
    QCOMPARE(changed.count(), 1);
    const auto scales = changed.at(0).at(0).value<QVector<NeuronScale>>();
    QCOMPARE(scales.size(), kNeurons.size());
    for (int i = 0; i < scales.size(); ++i)
        QCOMPARE(scales[i].factor, i == row ? factor : 1.0);
    QCOMPARE(panel.scales(), scales);
}

void TestNeuronPanel::presetButtonsSetFactor_data() {
    QTest::addColumn<QString>("button");
    QTest::addColumn<double>("factor");
    QTest::newRow("×0") << QStringLiteral("×0") << 0.0;
    QTest::newRow("×2") << QStringLiteral("×2") << 2.0;
}

void TestNeuronPanel::presetButtonsSetFactor() {
    QFETCH(QString, button);
    QFETCH(double, factor);
    NeuronPanel panel;
    panel.resize(500, 400);
    panel.setNeurons(kNeurons);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    QSignalSpy changed(&panel, &NeuronPanel::scalesChanged);

    QToolButton* preset = presetButton(panel, 1, button);
    QVERIFY(preset);
    QTest::mouseClick(preset, Qt::LeftButton);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(panel.scales()[1].factor, factor);
    QCOMPARE(panel.scales()[0].factor, 1.0);
    QCOMPARE(panel.neuronSlider(1)->value(), int(factor * 100));

    // ×1 brings it back; pressing it again changes nothing.
    QToolButton* reset = presetButton(panel, 1, QStringLiteral("×1"));
    QVERIFY(reset);
    QTest::mouseClick(reset, Qt::LeftButton);
    QTest::mouseClick(reset, Qt::LeftButton);
    QCOMPARE(changed.count(), 2);
    QCOMPARE(panel.scales()[1].factor, 1.0);
}

void TestNeuronPanel::masterSliderSetsAll() {
    NeuronPanel panel;
    panel.setNeurons(kNeurons);
    panel.neuronSlider(0)->setValue(10);
    QSignalSpy changed(&panel, &NeuronPanel::scalesChanged);

    panel.masterSlider()->setValue(0);
    // One emission for the whole set, not one per neuron.
    QCOMPARE(changed.count(), 1);
    for (const NeuronScale& scale : changed.at(0).at(0).value<QVector<NeuronScale>>())
        QCOMPARE(scale.factor, 0.0);
    for (int i = 0; i < kNeurons.size(); ++i)
        QCOMPARE(panel.neuronSlider(i)->value(), 0);
    QCOMPARE(panel.masterFactor(), 0.0);

    panel.masterSlider()->setValue(175);
    QCOMPARE(changed.count(), 2);
    for (const NeuronScale& scale : panel.scales())
        QCOMPARE(scale.factor, 1.75);
}

void TestNeuronPanel::setScalesDoesNotEmit() {
    NeuronPanel panel;
    panel.setNeurons(kNeurons);
    QSignalSpy changed(&panel, &NeuronPanel::scalesChanged);
    QSignalSpy started(&panel, &NeuronPanel::dragStarted);

    // Factors off the slider's grid are kept exactly; unknown neurons are ignored.
    panel.setScales({{5, 77, 0.333}, {3, 1021, 2.0}, {99, 1, 0.0}});
    QCOMPARE(changed.count(), 0);
    QCOMPARE(started.count(), 0);
    const QVector<NeuronScale> scales = panel.scales();
    QCOMPARE(scales[0].factor, 2.0);
    QCOMPARE(scales[1].factor, 0.333);
    QCOMPARE(scales[2].factor, 1.0);
    QCOMPARE(panel.neuronSlider(0)->value(), 200);
    QCOMPARE(panel.neuronSlider(1)->value(), 33);

    // A uniform set moves the master slider too, still silently.
    panel.setScales({{3, 1021, 0.0}, {5, 77, 0.0}, {11, 3071, 0.0}});
    QCOMPARE(panel.masterFactor(), 0.0);
    QCOMPARE(changed.count(), 0);
}

void TestNeuronPanel::dragIsBracketed() {
    NeuronPanel panel;
    panel.resize(500, 400);
    panel.setNeurons(kNeurons);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    QSignalSpy started(&panel, &NeuronPanel::dragStarted);
    QSignalSpy finished(&panel, &NeuronPanel::dragFinished);
    QSignalSpy changed(&panel, &NeuronPanel::scalesChanged);

    QSlider* slider = panel.neuronSlider(2);
    const QPoint handle = handleCentre(slider);
    QTest::mousePress(slider, Qt::LeftButton, {}, handle);
    QCOMPARE(started.count(), 1);
    QCOMPARE(finished.count(), 0);
    for (int step = 1; step <= 4; ++step)
        QTest::mouseMove(slider, handle + QPoint(10 * step, 0));
    QTest::mouseRelease(slider, Qt::LeftButton, {}, handle + QPoint(40, 0));
    QCOMPARE(finished.count(), 1);
    QCOMPARE(started.count(), 1);
    // The drag moved the factor live, with several updates in between.
    QVERIFY(changed.count() >= 2);
    QVERIFY(panel.scales()[2].factor > 1.0);
}

void TestNeuronPanel::actionButtonsEmit_data() {
    QTest::addColumn<QString>("button");
    QTest::addColumn<QByteArray>("signal");
    QTest::newRow("update fact") << "updateFactButton" << QByteArray(SIGNAL(updateFactRequested()));
    QTest::newRow("erase relation")
        << "eraseRelationButton" << QByteArray(SIGNAL(eraseRelationRequested()));
}

void TestNeuronPanel::actionButtonsEmit() {
    QFETCH(QString, button);
    QFETCH(QByteArray, signal);
    NeuronPanel panel;
    auto* widget = panel.findChild<QPushButton*>(button);
    QVERIFY(widget);
    // Without neurons there is nothing to update or erase.
    QVERIFY(!widget->isEnabled());
    panel.setNeurons(kNeurons);
    QVERIFY(widget->isEnabled());
    QSignalSpy spy(&panel, signal.constData());
    QTest::mouseClick(widget, Qt::LeftButton);
    QCOMPARE(spy.count(), 1);
}

void TestNeuronPanel::curveMarkerFollowsMaster() {
    NeuronPanel panel;
    panel.setNeurons(kNeurons);
    QVector<double> scales;
    QVector<double> probs;
    for (int i = 0; i <= 30; ++i) {
        scales.append(i / 10.0);
        probs.append(i / 30.0); // linear: p = scale / 3
    }
    panel.setCurve(scales, probs, QStringLiteral(" Paris"));
    QCustomPlot* plot = panel.curvePlot();
    QCOMPARE(plot->graph(0)->dataCount(), 31);
    QCOMPARE(plot->yAxis->label(), QStringLiteral("P(“Paris”)"));

    auto* marker = qobject_cast<QCPItemTracer*>(plot->item(0));
    QVERIFY(marker);
    QVERIFY(marker->visible());
    panel.masterSlider()->setValue(150);
    marker->updatePosition();
    QCOMPARE(marker->position->key(), 1.5);
    QVERIFY(qAbs(marker->position->value() - 0.5) < 1e-9);

    panel.setCurve({}, {}, {});
    QVERIFY(!marker->visible());
}

QTEST_MAIN(TestNeuronPanel)
#include "tst_neuronpanel.moc"
