#pragma once
// A studio session as one JSON file: the prompt and its history, the edit
// memory, the weight changes in the order they were made, the selected
// neurons with their factors, the refining setup and result, the last
// attribution grid, causal trace and logit lens. Writes go through QSaveFile, so a failed save
// leaves the previous file whole; reads check every field and report the first problem.
#include "AnalysisTypes.h"
#include "WidgetTypes.h"
#include "WorkerTypes.h"

#include <QByteArray>
#include <QString>
#include <QStringList>
#include <QVector>

struct SessionState {
    QString modelPath;
    QString prompt;
    QStringList history;
    QByteArray editsJson; // the edit memory's own JSON (EditMemory::toJson)
    QVector<WeightOp> weightChanges;
    QVector<NeuronRef> neurons;
    QStringList neuronLabels;
    QString neuronSource; // the fact the neurons came from: "“prompt” → answer"
    QVector<NeuronScale> scales;
    QStringList refinePrompts;
    QString refineTarget;
    double refineShare = 0.7;
    double refineThreshold = 0.2;
    int refineSteps = 20;
    QVector<RefinedNeuron> refined;
    AttributionData attribution;
    double heatmapThreshold = 0.2;
    TraceData trace; // the exact trace shown, with its setup
    LensData lens;
};

class Session {
public:
    static constexpr int kFormatVersion = 1;
    static constexpr qint64 kMaxFileBytes = 256LL * 1024 * 1024;

    static QByteArray toJson(const SessionState& state);
    // False with *error set when the text is not a session this version reads.
    static bool fromJson(const QByteArray& json, SessionState* state, QString* error);

    static bool save(const QString& path, const SessionState& state, QString* error);
    static bool load(const QString& path, SessionState* state, QString* error);
};
