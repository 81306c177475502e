#pragma once

#include "WidgetTypes.h"

#include <QColor>
#include <QVector>
#include <QWidget>

#include <array>

// Top-k next-token lists side by side: the base model, the model with the
// edit memory applied, and the model with neuron interventions. Each row shows
// the token, a bar as long as its probability and the percentage. Painted in
// one paintEvent because it refreshes on every keystroke.
class PredictionView : public QWidget {
    Q_OBJECT

public:
    static constexpr int kColumnCount = 3;
    enum ColumnIndex { BaseColumn = 0, EditedColumn = 1, IntervenedColumn = 2 };

    explicit PredictionView(QWidget* parent = nullptr);

    void setColumn(int index, const QString& title, const QString& subtitle,
                   const QVector<PredictionRow>& rows);
    void setColumnVisible(int index, bool visible);
    // Empties the rows and the subtitle; the title stays.
    void clearColumn(int index);

    QVector<PredictionRow> rows(int column) const;
    QString title(int column) const;
    QString subtitle(int column) const;
    bool isColumnVisible(int column) const;

    // Rows the size hint makes room for; longer lists still paint, clipped.
    void setVisibleRowCount(int rows);
    int visibleRowCount() const { return m_visibleRows; }

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

    // A token as a row shows it: spaces at the ends made visible, line breaks
    // as a return symbol.
    static QString displayToken(const QString& token);

protected:
    void paintEvent(QPaintEvent* event) override;
    bool event(QEvent* event) override;

private:
    struct Column {
        QString title;
        QString subtitle;
        QVector<PredictionRow> rows;
        bool visible = true;
        QColor barColor;
    };

    bool validIndex(int index) const { return index >= 0 && index < kColumnCount; }
    // Geometry shared by painting and tool tips.
    QVector<int> visibleColumns() const;
    QRect columnRect(int position, int visibleCount) const;
    int headerHeight() const;
    int rowHeight() const;

    std::array<Column, kColumnCount> m_columns;
    int m_visibleRows = 10;
};
