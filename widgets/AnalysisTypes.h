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

struct TraceData {
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

// The logit lens: each layer's top tokens at each position (layers x
// positions, row-major) and the answer across layers at the last position.
struct LensData {
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
