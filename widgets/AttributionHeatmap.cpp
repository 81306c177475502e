#include "AttributionHeatmap.h"

#include "QCustomPlotCompat.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QSaveFile>
#include <QSlider>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace {

constexpr int kSliderSteps = 100;
// Outlines never shrink below this many pixels, so candidates stay visible
// when thousands of neurons share the width.
constexpr double kMinMarkerPx = 3.0;

QCPColorGradient sequentialGradient() {
    QCPColorGradient gradient;
    gradient.clearColorStops();
    gradient.setColorStopAt(0.0, QColor(255, 251, 235));
    gradient.setColorStopAt(0.25, QColor(254, 217, 118));
    gradient.setColorStopAt(0.5, QColor(253, 141, 60));
    gradient.setColorStopAt(0.75, QColor(227, 26, 28));
    gradient.setColorStopAt(1.0, QColor(103, 0, 13));
    gradient.setColorInterpolation(QCPColorGradient::ciRGB);
    return gradient;
}

// Blue below zero, white at zero, red above: negative attribution (a neuron
// working against the answer) stays distinguishable from none.
QCPColorGradient divergingGradient() {
    QCPColorGradient gradient;
    gradient.clearColorStops();
    gradient.setColorStopAt(0.0, QColor(5, 48, 97));
    gradient.setColorStopAt(0.25, QColor(103, 169, 207));
    gradient.setColorStopAt(0.5, QColor(247, 247, 247));
    gradient.setColorStopAt(0.75, QColor(239, 138, 98));
    gradient.setColorStopAt(1.0, QColor(103, 0, 31));
    gradient.setColorInterpolation(QCPColorGradient::ciRGB);
    return gradient;
}

QPainterPath cellOutline(double widthPx, double heightPx) {
    // A custom scatter path is drawn scaled by size / 6; with size 6 its
    // units are pixels, so the outline can match the cell's aspect ratio.
    QPainterPath path;
    path.addRect(QRectF(-widthPx / 2, -heightPx / 2, widthPx, heightPx));
    return path;
}

} // namespace

AttributionHeatmap::AttributionHeatmap(QWidget* parent) : QWidget(parent) {
    m_thresholdSlider = new QSlider(Qt::Horizontal, this);
    m_thresholdSlider->setObjectName(QStringLiteral("thresholdSlider"));
    m_thresholdSlider->setRange(0, kSliderSteps);
    m_thresholdSlider->setValue(int(std::lround(kDefaultThreshold * kSliderSteps)));
    m_thresholdSlider->setToolTip(
        tr("Cells scoring at least this fraction of the highest score are candidates"));
    m_thresholdLabel = new QLabel(this);
    m_countLabel = new QLabel(this);
    m_countLabel->setObjectName(QStringLiteral("candidateCount"));
    connect(m_thresholdSlider, &QSlider::valueChanged, this,
            [this](int value) { setThreshold(double(value) / kSliderSteps); });

    m_plot = new QCustomPlot(this);
    m_plot->setObjectName(QStringLiteral("heatmapPlot"));
    m_plot->setMinimumSize(320, 200);
    m_plot->setMouseTracking(true);
    buildPlot();

    m_thresholdSlider->setMaximumWidth(260);
    auto* controls = new QHBoxLayout;
    controls->setContentsMargins(4, 2, 4, 0);
    controls->addWidget(new QLabel(tr("Candidate threshold"), this));
    controls->addWidget(m_thresholdSlider, 1);
    controls->addWidget(m_thresholdLabel);
    controls->addSpacing(12);
    controls->addWidget(m_countLabel);
    controls->addStretch(1);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(4);
    layout->addLayout(controls);
    layout->addWidget(m_plot, 1);

    clear();
}

void AttributionHeatmap::buildPlot() {
    m_plot->plotLayout()->clear();
    m_plot->setNoAntialiasingOnDrag(true);

    m_titleElement = new QCPTextElement(m_plot, QString(), QFont(font().family(), -1, QFont::Bold));
    m_plot->plotLayout()->addElement(0, 0, m_titleElement);
    auto* body = new QCPLayoutGrid;
    m_plot->plotLayout()->addElement(1, 0, body);

    m_heatRect = new QCPAxisRect(m_plot);
    m_sumRect = new QCPAxisRect(m_plot);
    m_colorScale = new QCPColorScale(m_plot);
    body->addElement(0, 0, m_heatRect);
    body->addElement(0, 1, m_sumRect);
    body->addElement(0, 2, m_colorScale);
    body->setColumnStretchFactors({6.0, 1.2, 0.01});
    body->setColumnSpacing(4);

    // Shared top and bottom margins keep the summary bars level with their
    // layer's row.
    auto* margins = new QCPMarginGroup(m_plot);
    m_heatRect->setMarginGroup(QCP::msTop | QCP::msBottom, margins);
    m_sumRect->setMarginGroup(QCP::msTop | QCP::msBottom, margins);
    m_colorScale->setMarginGroup(QCP::msTop | QCP::msBottom, margins);

    QSharedPointer<QCPAxisTickerFixed> integerTicks(new QCPAxisTickerFixed);
    integerTicks->setTickStep(1.0);
    integerTicks->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);

    QCPAxis* neuronAxis = m_heatRect->axis(QCPAxis::atBottom);
    QCPAxis* layerAxis = m_heatRect->axis(QCPAxis::atLeft);
    neuronAxis->setLabel(tr("neuron"));
    layerAxis->setLabel(tr("layer"));
    neuronAxis->setTicker(integerTicks);
    layerAxis->setTicker(integerTicks);
    neuronAxis->grid()->setVisible(false);
    layerAxis->grid()->setVisible(false);
    layerAxis->setRangeReversed(false);
    m_heatRect->setRangeDrag(Qt::Horizontal);
    m_heatRect->setRangeZoom(Qt::Horizontal);
    m_heatRect->setRangeDragAxes(neuronAxis, layerAxis);
    m_heatRect->setRangeZoomAxes(neuronAxis, layerAxis);
    connect(neuronAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this,
            &AttributionHeatmap::clampNeuronRange);

    m_map = new QCPColorMap(neuronAxis, layerAxis);
    m_map->setInterpolate(false);
    m_map->setTightBoundary(false);
    m_map->setColorScale(m_colorScale);
    m_colorScale->setType(QCPAxis::atRight);
    m_colorScale->setBarWidth(12);
    m_colorScale->axis()->setLabel(tr("score"));
    m_colorScale->setRangeDrag(false);
    m_colorScale->setRangeZoom(false);

    auto makeMarkers = [this, neuronAxis, layerAxis](const QPen& pen) {
        auto* graph = new QCPGraph(neuronAxis, layerAxis);
        graph->setLineStyle(QCPGraph::lsNone);
        graph->setAdaptiveSampling(false);
        graph->setScatterStyle(QCPScatterStyle(cellOutline(6, 6), pen, Qt::NoBrush, 6));
        graph->setSelectable(QCP::stNone);
        return graph;
    };
    m_candidateGraph = makeMarkers(QPen(QColor(20, 20, 20), 1.0));
    m_knowledgeGraph = makeMarkers(QPen(QColor(0, 140, 255), 2.5));

    QCPAxis* sumAxis = m_sumRect->axis(QCPAxis::atBottom);
    QCPAxis* sumLayerAxis = m_sumRect->axis(QCPAxis::atLeft);
    sumAxis->setLabel(tr("Σ positive"));
    // The panel is narrow: two ticks keep their labels apart.
    sumAxis->ticker()->setTickCount(2);
    sumLayerAxis->setTicker(integerTicks);
    sumLayerAxis->setTickLabels(false);
    sumLayerAxis->grid()->setVisible(false);
    m_sumRect->setRangeDrag({});
    m_sumRect->setRangeZoom({});
    m_sumBars = new QCPBars(sumLayerAxis, sumAxis);
    m_sumBars->setWidth(0.7);
    m_sumBars->setPen(Qt::NoPen);
    m_sumBars->setBrush(QColor(227, 26, 28, 170));
    m_sumBars->setSelectable(QCP::stNone);

    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    connect(m_plot, &QCustomPlot::afterLayout, this, &AttributionHeatmap::updateMarkerShapes);
    connect(m_plot, &QCustomPlot::mouseMove, this, &AttributionHeatmap::onMouseMove);
    connect(m_plot, &QCustomPlot::mousePress, this,
            [this](QMouseEvent* event) { m_pressPos = event->pos(); });
    connect(m_plot, &QCustomPlot::mouseRelease, this, &AttributionHeatmap::onMouseRelease);
    connect(m_plot, &QCustomPlot::mouseDoubleClick, this, [this] {
        resetView();
        m_plot->replot(QCustomPlot::rpQueuedReplot);
    });
}

bool AttributionHeatmap::setGrid(int layers, int neurons, const QVector<float>& scores,
                                 const QString& title) {
    if (layers <= 0 || neurons <= 0 || qsizetype(layers) * neurons != scores.size()) {
        clear();
        return false;
    }
    m_layers = layers;
    m_neurons = neurons;
    m_scores = scores;
    m_title = title;
    m_maxScore = 0;
    m_layerSums.fill(0.0, layers);

    QCPColorMapData* data = m_map->data();
    data->setSize(neurons, layers);
    data->setRange(QCPRange(0, neurons - 1), QCPRange(0, layers - 1));
    const float* score = m_scores.constData();
    for (int layer = 0; layer < layers; ++layer) {
        double positive = 0;
        for (int neuron = 0; neuron < neurons; ++neuron, ++score) {
            const float value = *score;
            data->setCell(neuron, layer, value);
            if (std::isfinite(value) && value > 0) {
                positive += value;
                m_maxScore = std::max(m_maxScore, value);
            }
        }
        m_layerSums[layer] = positive;
    }
    m_map->setVisible(true);
    m_colorScale->setVisible(true);

    QVector<double> layerKeys(layers);
    for (int layer = 0; layer < layers; ++layer)
        layerKeys[layer] = layer;
    m_sumBars->setData(layerKeys, m_layerSums, true);

    m_titleElement->setText(title);
    updateColorRange();
    updateCandidates();
    resetView();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
    return true;
}

void AttributionHeatmap::clear() {
    m_layers = 0;
    m_neurons = 0;
    m_scores.clear();
    m_layerSums.clear();
    m_title.clear();
    m_maxScore = 0;
    m_candidates.clear();
    m_map->data()->clear();
    m_map->setVisible(false);
    // No scores, no scale: a bar reading 0 to some number would claim data.
    m_colorScale->setVisible(false);
    m_sumBars->data()->clear();
    m_candidateGraph->data()->clear();
    m_knowledgeGraph->data()->clear();
    m_titleElement->setText(tr("No attribution yet: attribute a prompt to fill this map"));
    updateCandidates();
    resetView();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

bool AttributionHeatmap::colourBarShown() const {
    return m_colorScale->visible();
}

float AttributionHeatmap::scoreAt(int layer, int neuron) const {
    if (layer < 0 || layer >= m_layers || neuron < 0 || neuron >= m_neurons)
        return qQNaN();
    return m_scores.at(layer * m_neurons + neuron);
}

void AttributionHeatmap::setThreshold(double fraction) {
    fraction = std::clamp(fraction, 0.0, 1.0);
    {
        const QSignalBlocker blocker(m_thresholdSlider);
        m_thresholdSlider->setValue(int(std::lround(fraction * kSliderSteps)));
    }
    if (fraction == m_threshold)
        return;
    m_threshold = fraction;
    updateCandidates();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
    Q_EMIT thresholdChanged(m_threshold);
}

void AttributionHeatmap::setKnowledgeNeurons(const QVector<NeuronRef>& neurons) {
    m_knowledge = neurons;
    QVector<double> keys;
    QVector<double> values;
    keys.reserve(neurons.size());
    values.reserve(neurons.size());
    for (const NeuronRef& ref : neurons) {
        keys.append(ref.neuron);
        values.append(ref.layer);
    }
    m_knowledgeGraph->setData(keys, values);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void AttributionHeatmap::updateCandidates() {
    m_candidates.clear();
    m_thresholdLabel->setText(tr("%1 × max").arg(m_threshold, 0, 'f', 2));
    if (m_maxScore > 0) {
        const float cut = float(m_threshold) * m_maxScore;
        for (int layer = 0; layer < m_layers; ++layer) {
            const float* row = m_scores.constData() + qsizetype(layer) * m_neurons;
            for (int neuron = 0; neuron < m_neurons; ++neuron) {
                if (row[neuron] >= cut)
                    m_candidates.append({layer, neuron});
            }
        }
    }
    // The graph wants its points sorted by key (neuron); sorting here lets it
    // skip its own sort.
    QVector<NeuronRef> byNeuron = m_candidates;
    std::stable_sort(byNeuron.begin(), byNeuron.end(),
                     [](const NeuronRef& a, const NeuronRef& b) { return a.neuron < b.neuron; });
    QVector<double> keys(byNeuron.size());
    QVector<double> values(byNeuron.size());
    for (int i = 0; i < byNeuron.size(); ++i) {
        keys[i] = byNeuron[i].neuron;
        values[i] = byNeuron[i].layer;
    }
    m_candidateGraph->setData(keys, values, true);
    m_countLabel->setText(m_layers == 0 ? QString()
                                        : tr("%n candidate(s)", nullptr, int(m_candidates.size())));
}

void AttributionHeatmap::updateColorRange() {
    float minScore = 0;
    for (float value : qAsConst(m_scores)) {
        if (std::isfinite(value))
            minScore = std::min(minScore, value);
    }
    if (minScore < 0) {
        const double extent = std::max(double(m_maxScore), double(-minScore));
        m_map->setGradient(divergingGradient());
        m_map->setDataRange(QCPRange(-extent, extent));
    } else {
        m_map->setGradient(sequentialGradient());
        m_map->setDataRange(QCPRange(0, m_maxScore > 0 ? double(m_maxScore) : 1.0));
    }
}

void AttributionHeatmap::updateMarkerShapes() {
    const QCPAxis* neuronAxis = m_heatRect->axis(QCPAxis::atBottom);
    const QCPAxis* layerAxis = m_heatRect->axis(QCPAxis::atLeft);
    const double width = std::abs(neuronAxis->coordToPixel(1) - neuronAxis->coordToPixel(0));
    const double height = std::abs(layerAxis->coordToPixel(1) - layerAxis->coordToPixel(0));
    const QSizeF cell(std::max(width, kMinMarkerPx), std::max(height, kMinMarkerPx));
    if (cell == m_markerCell)
        return;
    m_markerCell = cell;
    // Candidates trace the cell's border; knowledge neurons get a thicker
    // outline just inside it, so a neuron that is both shows both and
    // neither is clipped at the edge of the map.
    QCPScatterStyle candidate = m_candidateGraph->scatterStyle();
    candidate.setCustomPath(cellOutline(cell.width() - 1, cell.height() - 1));
    // Cells narrower than the outline overlap; a lighter pen keeps the scores
    // readable underneath until the user zooms in.
    QColor candidateColor = candidate.pen().color();
    candidateColor.setAlpha(width < kMinMarkerPx ? 110 : 255);
    candidate.setPen(QPen(candidateColor, 1.0));
    m_candidateGraph->setScatterStyle(candidate);
    QCPScatterStyle knowledge = m_knowledgeGraph->scatterStyle();
    knowledge.setCustomPath(cellOutline(std::max(cell.width() - 4, kMinMarkerPx + 1),
                                        std::max(cell.height() - 4, kMinMarkerPx + 1)));
    m_knowledgeGraph->setScatterStyle(knowledge);
}

void AttributionHeatmap::resetView() {
    const double neurons = std::max(1, m_neurons);
    const double layers = std::max(1, m_layers);
    m_heatRect->axis(QCPAxis::atBottom)->setRange(-0.5, neurons - 0.5);
    m_heatRect->axis(QCPAxis::atLeft)->setRange(-0.5, layers - 0.5);
    m_sumRect->axis(QCPAxis::atLeft)->setRange(-0.5, layers - 0.5);
    double maxSum = 0;
    for (double sum : qAsConst(m_layerSums))
        maxSum = std::max(maxSum, sum);
    m_sumRect->axis(QCPAxis::atBottom)->setRange(0, maxSum > 0 ? maxSum * 1.05 : 1.0);
}

void AttributionHeatmap::clampNeuronRange() {
    // Keep zoom and pan inside the grid: there is nothing to see beyond it.
    QCPAxis* axis = m_heatRect->axis(QCPAxis::atBottom);
    const double lower = -0.5;
    const double upper = std::max(1, m_neurons) - 0.5;
    QCPRange range = axis->range();
    const double size = std::min(std::max(range.size(), 2.0), upper - lower);
    if (range.lower < lower)
        range = QCPRange(lower, lower + size);
    if (range.upper > upper)
        range = QCPRange(upper - size, upper);
    if (range.size() != size)
        range = QCPRange(range.center() - size / 2, range.center() + size / 2);
    if (range.lower != axis->range().lower || range.upper != axis->range().upper)
        axis->setRange(range);
}

bool AttributionHeatmap::cellAt(const QPoint& plotPos, int* layer, int* neuron) const {
    if (m_layers == 0 || !m_heatRect->rect().contains(plotPos))
        return false;
    const double key = m_heatRect->axis(QCPAxis::atBottom)->pixelToCoord(plotPos.x());
    const double value = m_heatRect->axis(QCPAxis::atLeft)->pixelToCoord(plotPos.y());
    const int n = int(std::floor(key + 0.5));
    const int l = int(std::floor(value + 0.5));
    if (n < 0 || n >= m_neurons || l < 0 || l >= m_layers)
        return false;
    if (layer)
        *layer = l;
    if (neuron)
        *neuron = n;
    return true;
}

QString AttributionHeatmap::cellDescription(int layer, int neuron) const {
    QString s = tr("layer %1, neuron %2: %3")
                    .arg(layer)
                    .arg(neuron)
                    .arg(double(scoreAt(layer, neuron)), 0, 'g', 4);
    const auto it = m_writes.constFind(NeuronRef{layer, neuron});
    if (it != m_writes.constEnd() && !it->isEmpty())
        s += tr("\nwrites: %1").arg(writesText(*it, 5));
    return s;
}

void AttributionHeatmap::setNeuronWrites(const NeuronWrites& writes) {
    m_writes = writes;
    // The neuron under the mouse may have just become known.
    if (m_hovered.layer >= 0 && QToolTip::isVisible())
        QToolTip::showText(m_hoverGlobal, cellDescription(m_hovered.layer, m_hovered.neuron),
                           m_plot);
}

void AttributionHeatmap::onMouseMove(QMouseEvent* event) {
    int layer = 0;
    int neuron = 0;
    if (event->buttons() == Qt::NoButton && cellAt(event->pos(), &layer, &neuron)) {
        m_hoverGlobal = event->globalPosition().toPoint();
        QToolTip::showText(m_hoverGlobal, cellDescription(layer, neuron), m_plot);
        const NeuronRef here{layer, neuron};
        if (here != m_hovered) {
            m_hovered = here;
            if (!m_writes.contains(here))
                Q_EMIT neuronHovered(layer, neuron);
        }
    } else {
        m_hovered = {-1, -1};
        QToolTip::hideText();
    }
}

void AttributionHeatmap::onMouseRelease(QMouseEvent* event) {
    // A release far from the press ends a pan, not a click.
    if (event->button() != Qt::LeftButton || (event->pos() - m_pressPos).manhattanLength() > 3)
        return;
    int layer = 0;
    int neuron = 0;
    if (cellAt(event->pos(), &layer, &neuron))
        Q_EMIT neuronClicked(layer, neuron);
}

QSize AttributionHeatmap::exportSize(int width, int height) const {
    // The on-screen size when it is large enough for a figure; a small dock
    // (or an unshown widget) exports at least 1200 x 480 logical pixels.
    const bool laidOut = m_plot->isVisible() && m_plot->width() > 100 && m_plot->height() > 100;
    return {width > 0 ? width : std::max(laidOut ? m_plot->width() : 0, 1200),
            height > 0 ? height : std::max(laidOut ? m_plot->height() : 0, 480)};
}

bool AttributionHeatmap::exportPng(const QString& path, int width, int height) const {
    const QSize size = exportSize(width, height);
    // Without a size asked for: twice the pixels of the logical size, crisp
    // in a paper or on a high-density screen.
    const bool chosen = width > 0 && height > 0;
    return m_plot->savePng(path, size.width(), size.height(), chosen ? 1.0 : 2.0);
}

bool AttributionHeatmap::exportPdf(const QString& path, int width, int height) const {
    const QSize size = exportSize(width, height);
    return m_plot->savePdf(path, size.width(), size.height(), QCP::epAllowCosmetic,
                           QStringLiteral("Scalpel"), m_title);
}

bool AttributionHeatmap::exportCsv(const QString& path) const {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text))
        return false;
    QByteArray text("layer,neuron,score\n");
    text.reserve(text.size() + m_scores.size() * 20);
    char number[32];
    for (int layer = 0; layer < m_layers; ++layer) {
        for (int neuron = 0; neuron < m_neurons; ++neuron) {
            // Shortest text that reads back as the same float.
            const float score = m_scores.at(layer * m_neurons + neuron);
            const auto result = std::to_chars(number, number + sizeof number, score);
            text += QByteArray::number(layer) + ',' + QByteArray::number(neuron) + ',' +
                    QByteArray(number, int(result.ptr - number)) + '\n';
        }
    }
    file.write(text);
    return file.commit();
}
