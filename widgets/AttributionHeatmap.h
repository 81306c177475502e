#pragma once

#include "WidgetTypes.h"

#include <QPoint>
#include <QVector>
#include <QWidget>

class QCPAxisRect;
class QCPBars;
class QCPColorMap;
class QCPColorScale;
class QCPGraph;
class QCPTextElement;
class QCustomPlot;
class QLabel;
class QSlider;

// Knowledge-neuron attribution scores as a layers x neurons heat map, with the
// per-layer total of positive attribution beside it. Cells scoring at least
// threshold x max are outlined as candidates; the knowledge neurons the caller
// names get a distinct outline. Hovering shows a cell's score, clicking emits
// it (with what the neuron writes, once known), the wheel zooms and dragging pans along the neuron
// axis, a double click shows the whole grid again.
class AttributionHeatmap : public QWidget {
    Q_OBJECT

public:
    static constexpr double kDefaultThreshold = 0.2;

    explicit AttributionHeatmap(QWidget* parent = nullptr);

    // `scores` is row-major, layers x neurons. Returns false (and shows an
    // empty map) when the sizes disagree.
    bool setGrid(int layers, int neurons, const QVector<float>& scores, const QString& title);
    void clear();

    int layers() const { return m_layers; }
    int neurons() const { return m_neurons; }
    QVector<float> scores() const { return m_scores; }
    QString title() const { return m_title; }
    // The colour bar shows only while there are scores to read off it.
    bool colourBarShown() const;
    float scoreAt(int layer, int neuron) const;
    // Sum of the positive scores of each layer, as the side plot shows.
    QVector<double> layerSummary() const { return m_layerSums; }

    double threshold() const { return m_threshold; }
    void setThreshold(double fraction);
    // Neurons scoring >= threshold() * max score, in layer then neuron order;
    // empty when no score is positive.
    QVector<NeuronRef> candidates() const { return m_candidates; }

    void setKnowledgeNeurons(const QVector<NeuronRef>& neurons);
    QVector<NeuronRef> knowledgeNeurons() const { return m_knowledge; }

    // Hover text for a cell: "layer L, neuron N: score", and on a second
    // line what the neuron writes once known.
    QString cellDescription(int layer, int neuron) const;
    // What neurons write (their value vectors' top tokens). Hovering a
    // neuron missing from it emits neuronHovered so the owner can look it up.
    void setNeuronWrites(const NeuronWrites& writes);
    // The cell under a point of plot() (its own coordinates); false outside the map.
    bool cellAt(const QPoint& plotPos, int* layer, int* neuron) const;

    // Width and height 0 export at the plot's on-screen size, at least
    // 1200 x 480, with twice the pixels for PNG; given, they are the size.
    bool exportPng(const QString& path, int width = 0, int height = 0) const;
    bool exportPdf(const QString& path, int width = 0, int height = 0) const;
    // "layer,neuron,score" then one line per cell, layer-major.
    bool exportCsv(const QString& path) const;

    QCustomPlot* plot() const { return m_plot; }
    QCPAxisRect* heatmapRect() const { return m_heatRect; }
    QCPColorMap* colorMap() const { return m_map; }

Q_SIGNALS:
    void thresholdChanged(double fraction);
    void neuronClicked(int layer, int neuron);
    // The mouse came to rest on a neuron whose writes are not known.
    void neuronHovered(int layer, int neuron);

private:
    void buildPlot();
    void updateCandidates();
    void updateColorRange();
    void updateMarkerShapes();
    void resetView();
    void clampNeuronRange();
    void onMouseMove(QMouseEvent* event);
    void onMouseRelease(QMouseEvent* event);
    QSize exportSize(int width, int height) const;

    QCustomPlot* m_plot = nullptr;
    QCPTextElement* m_titleElement = nullptr;
    QCPAxisRect* m_heatRect = nullptr;
    QCPAxisRect* m_sumRect = nullptr;
    QCPColorMap* m_map = nullptr;
    QCPColorScale* m_colorScale = nullptr;
    QCPGraph* m_candidateGraph = nullptr;
    QCPGraph* m_knowledgeGraph = nullptr;
    QCPBars* m_sumBars = nullptr;
    QSlider* m_thresholdSlider = nullptr;
    QLabel* m_thresholdLabel = nullptr;
    QLabel* m_countLabel = nullptr;

    int m_layers = 0;
    int m_neurons = 0;
    QVector<float> m_scores;
    QVector<double> m_layerSums;
    QString m_title;
    float m_maxScore = 0;
    double m_threshold = kDefaultThreshold;
    QVector<NeuronRef> m_candidates;
    QVector<NeuronRef> m_knowledge;
    QPoint m_pressPos;
    NeuronWrites m_writes;
    NeuronRef m_hovered{-1, -1};
    QPoint m_hoverGlobal;
    // Last marker size applied, so replots skip rebuilding identical shapes.
    QSizeF m_markerCell;
};
