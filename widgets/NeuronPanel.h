#pragma once

#include "WidgetTypes.h"

#include <QStringList>
#include <QVector>
#include <QWidget>

class QCPGraph;
class QCPItemTracer;
class QCustomPlot;
class QGridLayout;
class QLabel;
class QPushButton;
class QSlider;
class QToolButton;

// Sliders that scale the activation of the selected (refined) neurons, one per
// neuron plus a master slider that sets them all, from 0 (suppress) through 1
// (untouched) to 3 (amplify). Every move emits the full set of scales so the
// prediction view updates live; drags are bracketed by dragStarted() and
// dragFinished() so the owner can record one undo step per drag. A small plot
// shows how the correct answer's probability responds to the master scale.
class NeuronPanel : public QWidget {
    Q_OBJECT

public:
    static constexpr int kSliderMax = 300;
    static constexpr double kSliderStepsPerUnit = 100.0;

    explicit NeuronPanel(QWidget* parent = nullptr);

    // One row per neuron, all at factor 1. A non-empty label i is shown next
    // to neuron i's "L3 · N1021" caption.
    void setNeurons(const QVector<NeuronRef>& neurons, const QStringList& labels = {});
    QVector<NeuronRef> neurons() const { return m_neurons; }
    // What the neurons write (their value vectors' top tokens), shown under
    // each caption; neurons missing from the hash show nothing yet.
    void setNeuronWrites(const NeuronWrites& writes);
    // The caption of row i as shown and, on a second line, what it writes.
    QString rowCaption(int index) const;

    QVector<NeuronScale> scales() const;
    // Applies factors for the listed neurons without emitting anything; for
    // undo and for restoring a session. Neurons not shown are ignored.
    void setScales(const QVector<NeuronScale>& scales);
    double masterFactor() const;

    // The answer's probability at each master scale; the marker follows the
    // master slider along this curve.
    void setCurve(const QVector<double>& scales, const QVector<double>& probs,
                  const QString& answer);

    // Which fact the neurons came from ("“The capital of Ireland is” →
    // Dublin"); shown above the sliders, so neurons kept across prompts are
    // never mistaken for the current prompt's.
    void setSource(const QString& source);
    QString source() const { return m_source; }

    // Caption for a neuron row: "L3 · N1021".
    static QString neuronCaption(const NeuronRef& neuron);

    QSlider* masterSlider() const { return m_masterSlider; }
    QSlider* neuronSlider(int index) const;
    QCustomPlot* curvePlot() const { return m_plot; }

Q_SIGNALS:
    void scalesChanged(const QVector<NeuronScale>& scales);
    void dragStarted();
    void dragFinished();
    void updateFactRequested();
    void eraseRelationRequested();

private:
    struct Row {
        QLabel* caption = nullptr;
        QLabel* writes = nullptr;
        QSlider* slider = nullptr;
        QLabel* value = nullptr;
        QVector<QToolButton*> presets;
    };

    QSlider* makeSlider();
    void clearRows();
    void setFactor(int index, double factor);
    void showFactor(int index);
    void setMasterFromUser(double factor);
    void syncMasterToRows();
    void updateMarker();
    static int sliderValue(double factor);

    void showCaption(int index);

    QVector<NeuronRef> m_neurons;
    QStringList m_labels;
    NeuronWrites m_writes;
    QVector<double> m_factors;
    QVector<Row> m_rows;
    QWidget* m_rowArea = nullptr;
    QGridLayout* m_rowLayout = nullptr;
    QLabel* m_emptyLabel = nullptr;
    QLabel* m_sourceLabel = nullptr;
    QString m_source;
    QSlider* m_masterSlider = nullptr;
    QLabel* m_masterValue = nullptr;
    QPushButton* m_updateFactButton = nullptr;
    QPushButton* m_eraseRelationButton = nullptr;
    QCustomPlot* m_plot = nullptr;
    QCPGraph* m_curve = nullptr;
    QCPItemTracer* m_marker = nullptr;
};
