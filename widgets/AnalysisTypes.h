#pragma once

// Plain values of the locating analyses (causal trace, logit lens) as the
// widgets show them; no engine types, so the widgets build without LibTorch.

#include "WidgetTypes.h"

#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>

// One causal-trace grid: P(answer) with one state restored, tokens x layers,
// row-major. kind: "hidden", "mlp" or "attn".
struct TraceGridData {
    QString kind;
    QVector<float> scores;
};

// How a causal trace runs: ROME's defaults (10 corrupted copies, a window
// of 10 layers, noise 3 x sigma), and the seed of its noise.
struct TraceSettings {
    int samples = 10;
    int window = 10;
    double noise = 3;
    quint64 seed = 1;
};

struct TraceData {
    // What was traced: enough to run any of its restorations again.
    QString prompt;
    QString subject; // the subject's text in the prompt
    int answerId = -1;
    double sigma = 0; // the noise is noise x sigma
    double noise = 0;
    quint64 seed = 0;
    QStringList tokens;
    int layers = 0;
    int subjectBegin = 0; // subject tokens [subjectBegin, subjectEnd)
    int subjectEnd = 0;
    QString answer;
    double cleanScore = 0;
    double corruptedScore = 0;
    int samples = 0;
    int window = 0;
    QString method; // "fast", "naive" or "approximate"
    double elapsedMs = 0;
    QVector<TraceGridData> grids;

    bool isEmpty() const { return grids.isEmpty(); }
};

// One cell of a trace run again: what the corrupted copies predict, on
// average, with that state restored. Its P(answer) is the cell's score.
struct TraceRestorationData {
    QString kind; // "hidden", "mlp" or "attn"
    int token = -1;
    int layer = 0;
    int firstLayer = 0, lastLayer = 0; // restored blocks [firstLayer, lastLayer)
    QString answer;
    double score = 0;
    QVector<PredictionRow> top;

    bool isEmpty() const { return token < 0; }
};

// The logit lens: each layer's top tokens at each position (layers x
// positions, row-major) and the answer across layers at the last position.
struct LensData {
    QString prompt;
    int topK = 0;
    QStringList tokens;
    int layers = 0;
    QVector<QVector<PredictionRow>> top;
    QString answer;
    QVector<double> answerProb;
    QVector<int> answerRank;

    bool isEmpty() const { return top.isEmpty(); }
};

Q_DECLARE_METATYPE(TraceData)
Q_DECLARE_METATYPE(LensData)
Q_DECLARE_METATYPE(TraceRestorationData)
