#pragma once

#include "AnalysisTypes.h"

#include <QWidget>

class QCustomPlot;
class QLabel;
class QTableWidget;

// The logit lens (nostalgebraist 2020): a layers x positions grid of each
// layer's top token at each position, coloured by its probability (hover for
// the top-k), and the answer's probability across layers at the last
// position as a plot.
class LensView : public QWidget {
    Q_OBJECT

public:
    explicit LensView(QWidget* parent = nullptr);

    void setLens(const LensData& lens);
    void clear();
    const LensData& lens() const { return m_lens; }

    QTableWidget* table() const { return m_table; }
    QCustomPlot* plot() const { return m_plot; }

private:
    QLabel* m_summary = nullptr;
    QTableWidget* m_table = nullptr;
    QCustomPlot* m_plot = nullptr;
    LensData m_lens;
};
