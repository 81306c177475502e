#pragma once

#include "AnalysisTypes.h"

#include <QPoint>
#include <QVector>
#include <QWidget>

class QCPAxisRect;
class QCPColorMap;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QSpinBox;

// A causal trace (ROME, Meng et al. 2022) as ROME draws it: one tokens x
// layers heat map per kind with ROME's colour scales (purple for hidden
// states, green for MLP, red for attention), subject tokens marked with '*',
// the colour range from the corrupted to the clean score. Hovering shows a
// cell's value; clicking emits it, and the cell's restoration (what the
// corrupted run predicts with that state restored) shows below the grids. An approximate trace is
// labelled as such until the exact one replaces it. A row above the grids
// holds the settings the next trace runs with (samples, window, noise,
// seed) and a button that asks for it; showing a trace shows its settings.
class TraceView : public QWidget {
    Q_OBJECT

public:
    explicit TraceView(QWidget* parent = nullptr);

    // A new trace clears the restoration shown.
    void setTrace(const TraceData& trace);
    void clear();
    const TraceData& trace() const { return m_trace; }
    // What a clicked cell predicts; ignored unless it belongs to this trace's
    // tokens and layers.
    void setRestoration(const TraceRestorationData& restoration);
    // "Restoring the hidden state at 'ireland'*, layer 2: P(dublin) 0.412 —
    // dublin 0.412 · paris 0.101 · …"; empty when no cell was clicked.
    QString restorationText() const;
    // Waiting for a clicked cell's restoration.
    void showRestorationPending(const QString& kind, int token, int layer);

    // "token 'Ireland'*, layer 2, hidden: P(Dublin) = 0.412"
    QString cellDescription(int grid, int token, int layer) const;
    // The grid, token and layer under a point of plot(); false outside.
    bool cellAt(const QPoint& plotPos, int* grid, int* token, int* layer) const;
    QString summary() const;

    bool exportPng(const QString& path) const;
    bool exportPdf(const QString& path) const;
    // "kind,token_index,token,layer,score" then one line per cell.
    bool exportCsv(const QString& path) const;

    QCustomPlot* plot() const { return m_plot; }

    TraceSettings settings() const;
    void setSettings(const TraceSettings& settings);

Q_SIGNALS:
    void cellClicked(const QString& kind, int token, int layer);
    // The row's Trace button.
    void traceRequested();

private:
    void rebuild();
    void onMouseMove(QMouseEvent* event);
    void onMouseRelease(QMouseEvent* event);

    QCustomPlot* m_plot = nullptr;
    // "*" for a subject token, else empty: how the grids mark the subject.
    QString subjectMark(int token) const;
    bool isCell(int token, int layer) const;
    QString restoredWhat(const QString& kind, int token, int layer, int first, int last) const;

    QSpinBox* m_samples = nullptr;
    QSpinBox* m_window = nullptr;
    QDoubleSpinBox* m_noise = nullptr;
    QSpinBox* m_seed = nullptr;
    QLabel* m_summary = nullptr;
    QLabel* m_restoration = nullptr;
    TraceRestorationData m_restored;
    QVector<QCPAxisRect*> m_rects;
    QVector<QCPColorMap*> m_maps;
    TraceData m_trace;
};
