#include "LensView.h"

#include "QCustomPlotCompat.h"

#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>

LensView::LensView(QWidget* parent) : QWidget(parent) {
    m_summary = new QLabel(this);
    m_summary->setObjectName(QStringLiteral("lensSummary"));
    m_summary->setWordWrap(true);
    m_table = new QTableWidget(this);
    m_table->setObjectName(QStringLiteral("lensTable"));
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_plot = new QCustomPlot(this);
    m_plot->setObjectName(QStringLiteral("lensPlot"));
    m_plot->setMinimumHeight(120);
    m_plot->addGraph();
    m_plot->xAxis->setLabel(tr("layer"));
    m_plot->yAxis->setRange(0, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_summary);
    layout->addWidget(m_table, 3);
    layout->addWidget(m_plot, 1);
    clear();
}

void LensView::clear() {
    setLens(LensData());
}

void LensView::setLens(const LensData& lens) {
    m_lens = lens;
    const int L = lens.layers, T = lens.tokens.size();
    m_table->clear();
    m_table->setRowCount(lens.isEmpty() ? 0 : L);
    m_table->setColumnCount(lens.isEmpty() ? 0 : T);
    if (lens.isEmpty()) {
        m_summary->setText(tr("No lens yet: Analysis ▸ Logit lens."));
        m_plot->graph(0)->data()->clear();
        m_plot->replot();
        return;
    }
    m_summary->setText(tr("Each layer's top token after the final norm and unembedding; "
                          "P(%1) at the last position: %2 after the last layer")
                           .arg(lens.answer)
                           .arg(lens.answerProb.value(L - 1), 0, 'f', 3));
    m_table->setHorizontalHeaderLabels(lens.tokens);
    QStringList rows;
    for (int l = 0; l < L; ++l)
        rows << tr("layer %1").arg(l);
    m_table->setVerticalHeaderLabels(rows);
    for (int l = 0; l < L; ++l)
        for (int t = 0; t < T; ++t) {
            const auto& cell = lens.top.value(l * T + t);
            if (cell.isEmpty())
                continue;
            auto* item = new QTableWidgetItem(
                QStringLiteral("%1 %2").arg(cell[0].token).arg(cell[0].prob, 0, 'f', 2));
            const int shade = 255 - int(140 * std::min(1.0, std::max(0.0, cell[0].prob)));
            item->setBackground(QColor(shade, shade, 255));
            QStringList tip;
            for (const auto& row : cell)
                tip << QStringLiteral("%1  %2").arg(row.token).arg(row.prob, 0, 'f', 3);
            item->setToolTip(tip.join(QLatin1Char('\n')));
            m_table->setItem(l, t, item);
        }
    QVector<double> x, y;
    for (int l = 0; l < lens.answerProb.size(); ++l) {
        x << l;
        y << lens.answerProb[l];
    }
    m_plot->graph(0)->setData(x, y);
    m_plot->graph(0)->setName(tr("P(%1)").arg(lens.answer));
    m_plot->xAxis->setRange(0, std::max(1, L - 1));
    m_plot->yAxis->setLabel(tr("P(%1)").arg(lens.answer));
    m_plot->replot();
}
