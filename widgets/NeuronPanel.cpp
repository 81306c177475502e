#include "NeuronPanel.h"

#include "QCustomPlotCompat.h"

#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QSlider>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace {
constexpr double kPresets[] = {0.0, 1.0, 2.0};
} // namespace

NeuronPanel::NeuronPanel(QWidget* parent) : QWidget(parent) {
    m_masterSlider = makeSlider();
    m_masterSlider->setObjectName(QStringLiteral("masterSlider"));
    m_masterSlider->setToolTip(tr("Scale every neuron listed below at once"));
    m_masterValue = new QLabel(this);
    m_masterValue->setMinimumWidth(fontMetrics().horizontalAdvance(QStringLiteral("×3.00")) + 4);
    connect(m_masterSlider, &QSlider::valueChanged, this,
            [this](int value) { setMasterFromUser(value / kSliderStepsPerUnit); });

    m_rowArea = new QWidget;
    m_rowLayout = new QGridLayout(m_rowArea);
    m_rowLayout->setContentsMargins(0, 0, 0, 0);
    m_rowLayout->setHorizontalSpacing(6);
    m_rowLayout->setVerticalSpacing(2);
    m_rowLayout->setColumnStretch(1, 1);
    m_emptyLabel = new QLabel(tr("No neurons selected. Attribute or refine a fact, then pick "
                                 "neurons to scale them here."),
                              this);
    m_emptyLabel->setWordWrap(true);
    m_emptyLabel->setForegroundRole(QPalette::PlaceholderText);
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(m_rowArea);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    // A narrow dock scrolls the rows sideways rather than cutting off the
    // preset buttons; a short one keeps at least two rows in view.
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAsNeeded);
    scroll->setMinimumHeight(2 * fontMetrics().height() + 24);
    m_sourceLabel = new QLabel(this);
    m_sourceLabel->setObjectName(QStringLiteral("neuronSourceLabel"));
    m_sourceLabel->setWordWrap(true);
    m_sourceLabel->setVisible(false);

    m_plot = new QCustomPlot(this);
    m_plot->setObjectName(QStringLiteral("curvePlot"));
    m_plot->setMinimumHeight(130);
    m_plot->setMaximumHeight(180);
    m_plot->xAxis->setRange(0, kSliderMax / kSliderStepsPerUnit);
    m_plot->yAxis->setRange(0, 1);
    m_plot->xAxis->setLabel(tr("master scale"));
    m_plot->yAxis->setLabel(tr("P(answer)"));
    m_curve = m_plot->addGraph();
    m_curve->setPen(QPen(QColor(91, 125, 177), 2));
    m_plot->yAxis->ticker()->setTickCount(3);
    m_marker = new QCPItemTracer(m_plot);
    m_marker->setInterpolating(true);
    m_marker->setStyle(QCPItemTracer::tsCircle);
    m_marker->setSize(8);
    m_marker->setPen(QPen(QColor(217, 130, 43), 2));
    m_marker->setBrush(QColor(217, 130, 43));
    m_marker->setVisible(false);

    m_updateFactButton = new QPushButton(tr("Update fact…"), this);
    m_updateFactButton->setObjectName(QStringLiteral("updateFactButton"));
    m_updateFactButton->setToolTip(
        tr("Rewrite these neurons' output weights so the prompt gives a new answer"));
    m_eraseRelationButton = new QPushButton(tr("Erase relation…"), this);
    m_eraseRelationButton->setObjectName(QStringLiteral("eraseRelationButton"));
    m_eraseRelationButton->setToolTip(
        tr("Silence these neurons' weights for every fact of this relation"));
    connect(m_updateFactButton, &QPushButton::clicked, this, &NeuronPanel::updateFactRequested);
    connect(m_eraseRelationButton, &QPushButton::clicked, this,
            &NeuronPanel::eraseRelationRequested);

    auto* master = new QHBoxLayout;
    auto* masterCaption = new QLabel(tr("All neurons"), this);
    QFont bold = masterCaption->font();
    bold.setBold(true);
    masterCaption->setFont(bold);
    master->addWidget(masterCaption);
    master->addWidget(m_masterSlider, 1);
    master->addWidget(m_masterValue);

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_updateFactButton);
    buttons->addWidget(m_eraseRelationButton);
    buttons->addStretch(1);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(4);
    layout->addWidget(m_sourceLabel);
    layout->addLayout(master);
    layout->addWidget(m_emptyLabel);
    layout->addWidget(scroll, 1);
    layout->addWidget(m_plot);
    layout->addLayout(buttons);

    setNeurons({});
}

void NeuronPanel::setSource(const QString& source) {
    m_source = source;
    m_sourceLabel->setText(source.isEmpty() ? QString() : tr("Neurons of %1").arg(source));
    m_sourceLabel->setVisible(!source.isEmpty() && !m_neurons.isEmpty());
}

QSlider* NeuronPanel::makeSlider() {
    auto* slider = new QSlider(Qt::Horizontal, this);
    slider->setRange(0, kSliderMax);
    slider->setValue(sliderValue(1.0));
    slider->setPageStep(25);
    slider->setTickPosition(QSlider::NoTicks);
    // Drags bracket their moves so the owner can merge them into one undo step.
    connect(slider, &QSlider::sliderPressed, this, &NeuronPanel::dragStarted);
    connect(slider, &QSlider::sliderReleased, this, &NeuronPanel::dragFinished);
    return slider;
}

int NeuronPanel::sliderValue(double factor) {
    return int(std::lround(std::clamp(factor, 0.0, kSliderMax / kSliderStepsPerUnit) *
                           kSliderStepsPerUnit));
}

QString NeuronPanel::neuronCaption(const NeuronRef& neuron) {
    return tr("L%1 · N%2").arg(neuron.layer).arg(neuron.neuron);
}

void NeuronPanel::setNeuronWrites(const NeuronWrites& writes) {
    m_writes = writes;
    for (int i = 0; i < m_rows.size(); ++i)
        showCaption(i);
}

QString NeuronPanel::rowCaption(int index) const {
    if (index < 0 || index >= m_rows.size())
        return {};
    const QString writes = m_rows[index].writes->text();
    return m_rows[index].caption->text() +
           (writes.isEmpty() ? QString() : QStringLiteral("\n") + writes.trimmed());
}

void NeuronPanel::showCaption(int i) {
    QString caption = neuronCaption(m_neurons[i]);
    if (i < m_labels.size() && !m_labels[i].isEmpty())
        caption += QStringLiteral("  ") + m_labels[i];
    m_rows[i].caption->setText(caption);
    const auto it = m_writes.constFind(m_neurons[i]);
    const bool known = it != m_writes.constEnd() && !it->isEmpty();
    m_rows[i].writes->setText(known ? QStringLiteral("  → ") + writesText(*it) : QString());
    m_rows[i].writes->setToolTip(
        known ? tr("What %1 writes (its value vector's top tokens): %2")
                    .arg(neuronCaption(m_neurons[i]), writesText(*it, it->size()))
              : QString());
    m_rows[i].writes->setVisible(known);
}

void NeuronPanel::clearRows() {
    for (const Row& row : qAsConst(m_rows)) {
        delete row.caption;
        delete row.writes;
        delete row.slider;
        delete row.value;
        qDeleteAll(row.presets);
    }
    m_rows.clear();
}

void NeuronPanel::setNeurons(const QVector<NeuronRef>& neurons, const QStringList& labels) {
    clearRows();
    m_neurons = neurons;
    m_factors.fill(1.0, neurons.size());
    m_labels = labels;
    for (int i = 0; i < neurons.size(); ++i) {
        Row row;
        row.caption = new QLabel(m_rowArea);
        row.caption->setTextFormat(Qt::PlainText);
        // What the neuron writes, on its own line under the slider row, so a
        // long token never pushes the slider out of sight.
        row.writes = new QLabel(m_rowArea);
        row.writes->setTextFormat(Qt::PlainText);
        row.writes->setObjectName(QStringLiteral("neuronWrites%1").arg(i));
        row.writes->setForegroundRole(QPalette::PlaceholderText);
        row.writes->setMinimumWidth(0);
        row.writes->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
        row.slider = makeSlider();
        row.slider->setParent(m_rowArea);
        row.slider->setObjectName(QStringLiteral("neuronSlider%1").arg(i));
        row.slider->setMinimumWidth(80);
        row.slider->setToolTip(tr("Scale the activation of %1").arg(neuronCaption(neurons[i])));
        row.value = new QLabel(m_rowArea);
        row.value->setMinimumWidth(fontMetrics().horizontalAdvance(QStringLiteral("×3.00")) + 4);
        connect(row.slider, &QSlider::valueChanged, this, [this, i](int value) {
            m_factors[i] = value / kSliderStepsPerUnit;
            showFactor(i);
            Q_EMIT scalesChanged(scales());
        });
        m_rowLayout->addWidget(row.caption, 2 * i, 0);
        m_rowLayout->addWidget(row.slider, 2 * i, 1);
        m_rowLayout->addWidget(row.value, 2 * i, 2);
        m_rowLayout->addWidget(row.writes, 2 * i + 1, 0, 1, -1);
        int column = 3;
        for (double preset : kPresets) {
            auto* button = new QToolButton(m_rowArea);
            button->setText(QStringLiteral("×%1").arg(preset));
            button->setToolTip(preset == 0.0   ? tr("Suppress this neuron")
                               : preset == 1.0 ? tr("Leave this neuron as trained")
                                               : tr("Double this neuron's activation"));
            connect(button, &QToolButton::clicked, this, [this, i, preset] {
                if (m_factors[i] == preset)
                    return;
                setFactor(i, preset);
                Q_EMIT scalesChanged(scales());
            });
            m_rowLayout->addWidget(button, 2 * i, column++);
            row.presets.append(button);
        }
        m_rows.append(row);
        showCaption(i);
        showFactor(i);
    }
    m_rowLayout->setRowStretch(2 * neurons.size(), 1);
    m_emptyLabel->setVisible(neurons.isEmpty());
    m_sourceLabel->setVisible(!m_source.isEmpty() && !neurons.isEmpty());
    m_masterSlider->setEnabled(!neurons.isEmpty());
    m_updateFactButton->setEnabled(!neurons.isEmpty());
    m_eraseRelationButton->setEnabled(!neurons.isEmpty());
    syncMasterToRows();
}

QSlider* NeuronPanel::neuronSlider(int index) const {
    return index >= 0 && index < m_rows.size() ? m_rows[index].slider : nullptr;
}

QVector<NeuronScale> NeuronPanel::scales() const {
    QVector<NeuronScale> result;
    result.reserve(m_neurons.size());
    for (int i = 0; i < m_neurons.size(); ++i)
        result.append({m_neurons[i].layer, m_neurons[i].neuron, m_factors[i]});
    return result;
}

void NeuronPanel::setScales(const QVector<NeuronScale>& scales) {
    for (const NeuronScale& scale : scales) {
        for (int i = 0; i < m_neurons.size(); ++i) {
            if (m_neurons[i].layer == scale.layer && m_neurons[i].neuron == scale.neuron)
                setFactor(i, scale.factor);
        }
    }
    syncMasterToRows();
}

double NeuronPanel::masterFactor() const {
    return m_masterSlider->value() / kSliderStepsPerUnit;
}

void NeuronPanel::setFactor(int index, double factor) {
    m_factors[index] = factor;
    const QSignalBlocker blocker(m_rows[index].slider);
    m_rows[index].slider->setValue(sliderValue(factor));
    showFactor(index);
}

void NeuronPanel::showFactor(int index) {
    m_rows[index].value->setText(QStringLiteral("×%1").arg(m_factors[index], 0, 'f', 2));
}

void NeuronPanel::setMasterFromUser(double factor) {
    m_masterValue->setText(QStringLiteral("×%1").arg(factor, 0, 'f', 2));
    updateMarker();
    for (int i = 0; i < m_neurons.size(); ++i)
        setFactor(i, factor);
    if (!m_neurons.isEmpty())
        Q_EMIT scalesChanged(scales());
}

void NeuronPanel::syncMasterToRows() {
    // The master shows the common factor when there is one; mixed factors
    // leave it where it was.
    const bool uniform =
        !m_factors.isEmpty() && std::all_of(m_factors.cbegin(), m_factors.cend(),
                                            [this](double f) { return f == m_factors.first(); });
    if (uniform || m_factors.isEmpty()) {
        const QSignalBlocker blocker(m_masterSlider);
        m_masterSlider->setValue(sliderValue(uniform ? m_factors.first() : 1.0));
    }
    m_masterValue->setText(QStringLiteral("×%1").arg(masterFactor(), 0, 'f', 2));
    updateMarker();
}

void NeuronPanel::setCurve(const QVector<double>& scales, const QVector<double>& probs,
                           const QString& answer) {
    m_curve->setData(scales, probs);
    m_plot->yAxis->setLabel(answer.isEmpty() ? tr("P(answer)")
                                             : tr("P(“%1”)").arg(answer.trimmed()));
    if (!scales.isEmpty()) {
        const auto [low, high] = std::minmax_element(scales.cbegin(), scales.cend());
        m_plot->xAxis->setRange(std::min(0.0, *low), std::max(*high, 1.0));
    }
    updateMarker();
}

void NeuronPanel::updateMarker() {
    // A tracer on an empty graph complains on every replot; detach it instead.
    const bool hasCurve = !m_curve->data()->isEmpty();
    m_marker->setGraph(hasCurve ? m_curve : nullptr);
    m_marker->setVisible(hasCurve);
    if (hasCurve)
        m_marker->setGraphKey(masterFactor());
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}
