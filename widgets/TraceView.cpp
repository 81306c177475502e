#include "TraceView.h"

#include "QCustomPlotCompat.h"

#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QPushButton>
#include <QSaveFile>
#include <QSpinBox>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>

namespace {

// ROME's colour scales: white to purple (hidden states), green (MLP) and red
// (attention).
QCPColorGradient gradientFor(const QString& kind) {
    QColor strong = kind == QLatin1String("mlp")    ? QColor(0, 109, 44)
                    : kind == QLatin1String("attn") ? QColor(165, 15, 21)
                                                    : QColor(63, 0, 125);
    QCPColorGradient g;
    g.clearColorStops();
    g.setColorStopAt(0.0, QColor(255, 255, 255));
    g.setColorStopAt(1.0, strong);
    g.setColorInterpolation(QCPColorGradient::ciRGB);
    return g;
}

QString kindTitle(const QString& kind) {
    if (kind == QLatin1String("mlp"))
        return QObject::tr("MLP");
    if (kind == QLatin1String("attn"))
        return QObject::tr("Attention");
    return QObject::tr("Hidden state");
}

} // namespace

TraceView::TraceView(QWidget* parent) : QWidget(parent) {
    m_summary = new QLabel(this);
    m_summary->setObjectName(QStringLiteral("traceSummary"));
    m_summary->setWordWrap(true);
    m_plot = new QCustomPlot(this);
    m_plot->setObjectName(QStringLiteral("tracePlot"));
    m_plot->setMinimumSize(360, 200);
    m_plot->setMouseTracking(true);
    m_restoration = new QLabel(this);
    m_restoration->setObjectName(QStringLiteral("traceRestoration"));
    m_restoration->setWordWrap(true);
    m_restoration->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_samples = new QSpinBox(this);
    m_samples->setObjectName(QStringLiteral("traceSamples"));
    m_samples->setRange(1, 1000);
    m_samples->setToolTip(tr("Corrupted copies of the prompt; each score is their mean"));
    m_window = new QSpinBox(this);
    m_window->setObjectName(QStringLiteral("traceWindow"));
    m_window->setRange(1, 256);
    m_window->setToolTip(tr("Layers restored together around each MLP and attention cell"));
    m_noise = new QDoubleSpinBox(this);
    m_noise->setObjectName(QStringLiteral("traceNoise"));
    m_noise->setRange(0, 100);
    m_noise->setSingleStep(0.5);
    m_noise->setDecimals(2);
    m_noise->setToolTip(tr("The noise added to the subject's embeddings, in multiples of the "
                           "embeddings' standard deviation"));
    m_seed = new QSpinBox(this);
    m_seed->setObjectName(QStringLiteral("traceSeed"));
    m_seed->setRange(0, std::numeric_limits<int>::max());
    m_seed->setToolTip(tr("The noise's seed: the same seed, the same trace"));
    auto* run = new QPushButton(tr("Trace…"), this);
    run->setObjectName(QStringLiteral("traceRun"));
    run->setToolTip(tr("Trace the subject of the console's prompt with these settings"));
    connect(run, &QPushButton::clicked, this, &TraceView::traceRequested);
    auto* row = new QHBoxLayout;
    row->setContentsMargins(0, 0, 0, 0);
    auto labelled = [&](const QString& text, QWidget* w) {
        auto* label = new QLabel(text, this);
        label->setBuddy(w);
        row->addWidget(label);
        row->addWidget(w);
    };
    labelled(tr("&Samples"), m_samples);
    labelled(tr("&Window"), m_window);
    labelled(tr("&Noise ×σ"), m_noise);
    labelled(tr("S&eed"), m_seed);
    row->addStretch(1);
    row->addWidget(run);
    setSettings(TraceSettings());
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(row);
    layout->addWidget(m_summary);
    layout->addWidget(m_plot, 1);
    layout->addWidget(m_restoration);
    connect(m_plot, &QCustomPlot::mouseMove, this, &TraceView::onMouseMove);
    connect(m_plot, &QCustomPlot::mouseRelease, this, &TraceView::onMouseRelease);
    clear();
}

void TraceView::clear() {
    m_trace = TraceData();
    rebuild();
}

void TraceView::setTrace(const TraceData& trace) {
    m_trace = trace;
    m_restored = TraceRestorationData();
    if (!trace.isEmpty() && trace.samples > 0 && trace.window > 0)
        setSettings({trace.samples, trace.window, trace.noise, trace.seed});
    rebuild();
}

TraceSettings TraceView::settings() const {
    return {m_samples->value(), m_window->value(), m_noise->value(),
            static_cast<quint64>(m_seed->value())};
}

void TraceView::setSettings(const TraceSettings& s) {
    m_samples->setValue(s.samples);
    m_window->setValue(s.window);
    m_noise->setValue(s.noise);
    m_seed->setValue(static_cast<int>(
        std::min<quint64>(s.seed, static_cast<quint64>(std::numeric_limits<int>::max()))));
}

QString TraceView::subjectMark(int token) const {
    return token >= m_trace.subjectBegin && token < m_trace.subjectEnd ? QStringLiteral("*")
                                                                       : QString();
}

bool TraceView::isCell(int token, int layer) const {
    return token >= 0 && token < m_trace.tokens.size() && layer >= 0 && layer < m_trace.layers;
}

QString TraceView::restoredWhat(const QString& kind, int token, int layer, int first,
                                int last) const {
    const QString at =
        QStringLiteral("'%1'%2").arg(m_trace.tokens.value(token), subjectMark(token));
    if (kind == QLatin1String("hidden"))
        return tr("Restoring the hidden state at %1, layer %2").arg(at).arg(layer);
    const QString what = kind == QLatin1String("mlp") ? tr("MLP") : tr("attention");
    if (last - first <= 1)
        return tr("Restoring the %1 output at %2, layer %3").arg(what, at).arg(first);
    return tr("Restoring the %1 output at %2, layers %3–%4 (window around %5)")
        .arg(what, at)
        .arg(first)
        .arg(last - 1)
        .arg(layer);
}

void TraceView::showRestorationPending(const QString& kind, int token, int layer) {
    if (!isCell(token, layer))
        return;
    m_restored = TraceRestorationData();
    m_restoration->setText(tr("Running the %1 restoration at '%2'%3, layer %4…")
                               .arg(kind, m_trace.tokens.value(token), subjectMark(token))
                               .arg(layer));
}

void TraceView::setRestoration(const TraceRestorationData& r) {
    if (!isCell(r.token, r.layer))
        return;
    m_restored = r;
    m_restoration->setText(restorationText());
}

QString TraceView::restorationText() const {
    if (m_restored.isEmpty())
        return {};
    QStringList top;
    for (const auto& row : m_restored.top)
        top << QStringLiteral("%1 %2").arg(row.token).arg(row.prob, 0, 'f', 3);
    return restoredWhat(m_restored.kind, m_restored.token, m_restored.layer, m_restored.firstLayer,
                        m_restored.lastLayer) +
           tr(": P(%1) %2 — %3")
               .arg(m_restored.answer)
               .arg(m_restored.score, 0, 'f', 3)
               .arg(top.join(QStringLiteral(" · ")));
}

QString TraceView::summary() const {
    if (m_trace.isEmpty())
        return tr("No trace yet: Trace… above, or Analysis ▸ Trace the subject.");
    QString s = tr("P(%1): clean %2, subject corrupted %3 (%4 samples, window %5)")
                    .arg(m_trace.answer)
                    .arg(m_trace.cleanScore, 0, 'f', 3)
                    .arg(m_trace.corruptedScore, 0, 'f', 3)
                    .arg(m_trace.samples)
                    .arg(m_trace.window);
    if (m_trace.method == QLatin1String("approximate"))
        s += tr(" — approximate (attribution patching); the exact trace follows");
    else
        s += tr(" — exact, %1 ms").arg(m_trace.elapsedMs, 0, 'f', 0);
    return s;
}

void TraceView::rebuild() {
    m_summary->setText(summary());
    m_restoration->setText(
        m_trace.isEmpty() || m_trace.method == QLatin1String("approximate") ? QString()
        : restorationText().isEmpty() ? tr("Click a cell to see what its restoration predicts.")
                                      : restorationText());
    m_plot->clearPlottables();
    m_plot->plotLayout()->clear();
    m_rects.clear();
    m_maps.clear();
    const int T = m_trace.tokens.size(), L = m_trace.layers;
    if (m_trace.isEmpty() || T == 0 || L == 0) {
        m_plot->replot();
        return;
    }
    double lo = std::min(m_trace.corruptedScore, m_trace.cleanScore);
    double hi = std::max(m_trace.corruptedScore, m_trace.cleanScore);
    if (hi - lo < 1e-9)
        hi = lo + 1e-9;
    QSharedPointer<QCPAxisTickerText> tokens(new QCPAxisTickerText);
    for (int t = 0; t < T; ++t)
        tokens->addTick(t, m_trace.tokens[t] + subjectMark(t));
    for (int k = 0; k < m_trace.grids.size(); ++k) {
        const auto& grid = m_trace.grids[k];
        auto* rect = new QCPAxisRect(m_plot);
        m_plot->plotLayout()->addElement(0, k, rect);
        auto* map = new QCPColorMap(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
        map->data()->setSize(L, T);
        map->data()->setRange(QCPRange(0, L - 1), QCPRange(0, T - 1));
        for (int t = 0; t < T; ++t)
            for (int l = 0; l < L; ++l)
                if (t * L + l < grid.scores.size())
                    map->data()->setCell(l, t, grid.scores[t * L + l]);
        map->setGradient(gradientFor(grid.kind));
        map->setDataRange(QCPRange(lo, hi));
        map->setInterpolate(false);
        rect->axis(QCPAxis::atLeft)->setRangeReversed(true);
        rect->axis(QCPAxis::atLeft)->setRange(-0.5, T - 0.5);
        rect->axis(QCPAxis::atBottom)->setRange(-0.5, L - 0.5);
        rect->axis(QCPAxis::atBottom)->setLabel(kindTitle(grid.kind) + tr(" — layer"));
        if (k == 0)
            rect->axis(QCPAxis::atLeft)->setTicker(tokens);
        else
            rect->axis(QCPAxis::atLeft)->setTickLabels(false);
        m_rects.push_back(rect);
        m_maps.push_back(map);
    }
    m_plot->replot();
}

QString TraceView::cellDescription(int grid, int token, int layer) const {
    if (grid < 0 || grid >= m_trace.grids.size() || !isCell(token, layer))
        return {};
    const auto& g = m_trace.grids[grid];
    return tr("token '%1'%2, layer %3, %4: P(%5) = %6")
        .arg(m_trace.tokens[token], subjectMark(token))
        .arg(layer)
        .arg(g.kind, m_trace.answer)
        .arg(g.scores.value(token * m_trace.layers + layer), 0, 'f', 3);
}

bool TraceView::cellAt(const QPoint& pos, int* grid, int* token, int* layer) const {
    for (int k = 0; k < m_rects.size(); ++k) {
        if (!m_rects[k]->rect().contains(pos))
            continue;
        const int l = int(std::lround(m_rects[k]->axis(QCPAxis::atBottom)->pixelToCoord(pos.x())));
        const int t = int(std::lround(m_rects[k]->axis(QCPAxis::atLeft)->pixelToCoord(pos.y())));
        if (l < 0 || l >= m_trace.layers || t < 0 || t >= m_trace.tokens.size())
            return false;
        *grid = k;
        *token = t;
        *layer = l;
        return true;
    }
    return false;
}

void TraceView::onMouseMove(QMouseEvent* event) {
    int g = 0, t = 0, l = 0;
    if (cellAt(event->pos(), &g, &t, &l))
        QToolTip::showText(event->globalPosition().toPoint(), cellDescription(g, t, l), m_plot);
    else
        QToolTip::hideText();
}

void TraceView::onMouseRelease(QMouseEvent* event) {
    int g = 0, t = 0, l = 0;
    if (event->button() == Qt::LeftButton && cellAt(event->pos(), &g, &t, &l))
        Q_EMIT cellClicked(m_trace.grids[g].kind, t, l);
}

bool TraceView::exportPng(const QString& path) const {
    return m_plot->savePng(path);
}

bool TraceView::exportPdf(const QString& path) const {
    return m_plot->savePdf(path);
}

bool TraceView::exportCsv(const QString& path) const {
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Text))
        return false;
    QByteArray out = "kind,token_index,token,layer,score\n";
    for (const auto& g : m_trace.grids)
        for (int t = 0; t < m_trace.tokens.size(); ++t)
            for (int l = 0; l < m_trace.layers; ++l) {
                QString token = m_trace.tokens[t];
                token.replace(QLatin1Char('"'), QStringLiteral("\"\""));
                out += QStringLiteral("%1,%2,\"%3\",%4,%5\n")
                           .arg(g.kind)
                           .arg(t)
                           .arg(token)
                           .arg(l)
                           .arg(double(g.scores.value(t * m_trace.layers + l)), 0, 'g', 9)
                           .toUtf8();
            }
    f.write(out);
    return f.commit();
}
