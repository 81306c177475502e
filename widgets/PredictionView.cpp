#include "PredictionView.h"

#include <QHelpEvent>
#include <QPainter>
#include <QToolTip>

#include <algorithm>
#include <cmath>

namespace {
constexpr int kPadding = 8;
constexpr int kColumnGap = 12;
constexpr int kRowGap = 4;
} // namespace

PredictionView::PredictionView(QWidget* parent) : QWidget(parent) {
    m_columns[BaseColumn].title = tr("Base");
    m_columns[BaseColumn].barColor = QColor(0x5b, 0x7d, 0xb1);
    m_columns[EditedColumn].title = tr("With edits");
    m_columns[EditedColumn].barColor = QColor(0x3f, 0x9b, 0x6b);
    m_columns[IntervenedColumn].title = tr("With interventions");
    m_columns[IntervenedColumn].barColor = QColor(0xd9, 0x82, 0x2b);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
}

void PredictionView::setColumn(int index, const QString& title, const QString& subtitle,
                               const QVector<PredictionRow>& rows) {
    if (!validIndex(index))
        return;
    Column& column = m_columns[index];
    column.title = title;
    column.subtitle = subtitle;
    column.rows = rows;
    update();
}

void PredictionView::setColumnVisible(int index, bool visible) {
    if (!validIndex(index) || m_columns[index].visible == visible)
        return;
    m_columns[index].visible = visible;
    update();
}

void PredictionView::clearColumn(int index) {
    if (!validIndex(index))
        return;
    m_columns[index].subtitle.clear();
    m_columns[index].rows.clear();
    update();
}

QVector<PredictionRow> PredictionView::rows(int column) const {
    return validIndex(column) ? m_columns[column].rows : QVector<PredictionRow>();
}

QString PredictionView::title(int column) const {
    return validIndex(column) ? m_columns[column].title : QString();
}

QString PredictionView::subtitle(int column) const {
    return validIndex(column) ? m_columns[column].subtitle : QString();
}

bool PredictionView::isColumnVisible(int column) const {
    return validIndex(column) && m_columns[column].visible;
}

void PredictionView::setVisibleRowCount(int rows) {
    m_visibleRows = std::max(1, rows);
    updateGeometry();
}

QString PredictionView::displayToken(const QString& token) {
    QString text = token;
    text.replace(QLatin1Char('\n'), QChar(0x21B5));
    text.replace(QLatin1Char('\t'), QChar(0x21E5));
    // A GPT-2 token usually starts with a space; a middle dot keeps " Paris"
    // and "Paris" apart without quoting every row.
    if (text.startsWith(QLatin1Char(' ')))
        text[0] = QChar(0x00B7);
    if (text.endsWith(QLatin1Char(' ')))
        text[text.size() - 1] = QChar(0x00B7);
    return text.isEmpty() ? QStringLiteral("∅") : text;
}

int PredictionView::headerHeight() const {
    QFont small = font();
    small.setPointSizeF(small.pointSizeF() * 0.9);
    return fontMetrics().height() + QFontMetrics(small).height() + kRowGap * 2;
}

int PredictionView::rowHeight() const {
    return fontMetrics().height() + kRowGap;
}

QSize PredictionView::sizeHint() const {
    const int width = kColumnCount * 220 + (kColumnCount - 1) * kColumnGap + 2 * kPadding;
    return {width, 2 * kPadding + headerHeight() + m_visibleRows * rowHeight()};
}

QSize PredictionView::minimumSizeHint() const {
    return {kColumnCount * 120, 2 * kPadding + headerHeight() + 3 * rowHeight()};
}

QVector<int> PredictionView::visibleColumns() const {
    QVector<int> shown;
    for (int i = 0; i < kColumnCount; ++i) {
        if (m_columns[i].visible)
            shown.append(i);
    }
    return shown;
}

QRect PredictionView::columnRect(int position, int visibleCount) const {
    const QRect area = rect().adjusted(kPadding, kPadding, -kPadding, -kPadding);
    const int width = (area.width() - (visibleCount - 1) * kColumnGap) / std::max(1, visibleCount);
    return {area.x() + position * (width + kColumnGap), area.y(), width, area.height()};
}

void PredictionView::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    painter.fillRect(rect(), palette().base());

    const QVector<int> shown = visibleColumns();
    const QFontMetrics fm = fontMetrics();
    QFont bold = font();
    bold.setBold(true);
    QFont small = font();
    small.setPointSizeF(small.pointSizeF() * 0.9);
    const QFontMetrics smallFm(small);
    const QColor dim = palette().color(QPalette::PlaceholderText);
    const int percentWidth = fm.horizontalAdvance(QStringLiteral("100.0%"));

    for (int position = 0; position < shown.size(); ++position) {
        const Column& column = m_columns[shown[position]];
        const QRect area = columnRect(position, shown.size());
        int y = area.y();

        painter.setFont(bold);
        painter.setPen(palette().color(QPalette::Text));
        painter.drawText(QRect(area.x(), y, area.width(), fm.height()),
                         Qt::AlignLeft | Qt::AlignVCenter,
                         QFontMetrics(bold).elidedText(column.title, Qt::ElideRight, area.width()));
        y += fm.height() + kRowGap / 2;
        painter.setFont(small);
        painter.setPen(dim);
        painter.drawText(QRect(area.x(), y, area.width(), smallFm.height()),
                         Qt::AlignLeft | Qt::AlignVCenter,
                         smallFm.elidedText(column.subtitle, Qt::ElideRight, area.width()));
        y = area.y() + headerHeight();
        painter.setFont(font());

        if (column.rows.isEmpty()) {
            painter.setPen(dim);
            painter.drawText(QRect(area.x(), y, area.width(), rowHeight()),
                             Qt::AlignLeft | Qt::AlignVCenter, tr("no predictions"));
            continue;
        }

        // Tokens get the width the longest needs, up to 40 % of the column;
        // the bar gets what remains before the right-aligned percentage.
        int widestToken = 0;
        for (const PredictionRow& row : column.rows)
            widestToken = std::max(widestToken, fm.horizontalAdvance(displayToken(row.token)));
        const int tokenWidth = std::clamp(widestToken + 4, 40, area.width() * 2 / 5);
        const int barX = area.x() + tokenWidth + 6;
        const int barMax = std::max(0, area.right() - percentWidth - 6 - barX);
        for (const PredictionRow& row : column.rows) {
            if (y + rowHeight() > area.bottom() + kPadding)
                break;
            const QRect rowRect(area.x(), y, area.width(), rowHeight());
            painter.setPen(palette().color(QPalette::Text));
            painter.drawText(QRect(area.x(), y, tokenWidth, rowHeight()),
                             Qt::AlignLeft | Qt::AlignVCenter,
                             fm.elidedText(displayToken(row.token), Qt::ElideRight, tokenWidth));
            const double prob = std::clamp(std::isfinite(row.prob) ? row.prob : 0.0, 0.0, 1.0);
            const int barHeight = std::max(4, rowHeight() - 2 * kRowGap);
            const QRect track(barX, y + (rowHeight() - barHeight) / 2, barMax, barHeight);
            painter.fillRect(track, palette().color(QPalette::AlternateBase));
            painter.fillRect(
                QRect(track.topLeft(), QSize(int(std::lround(prob * barMax)), barHeight)),
                column.barColor);
            painter.drawText(QRect(rowRect.right() - percentWidth, y, percentWidth, rowHeight()),
                             Qt::AlignRight | Qt::AlignVCenter,
                             QStringLiteral("%1%").arg(prob * 100.0, 0, 'f', 1));
            y += rowHeight();
        }
    }
}

bool PredictionView::event(QEvent* event) {
    if (event->type() != QEvent::ToolTip)
        return QWidget::event(event);
    const auto* help = static_cast<QHelpEvent*>(event);
    const QVector<int> shown = visibleColumns();
    for (int position = 0; position < shown.size(); ++position) {
        const QRect area = columnRect(position, shown.size());
        if (!area.contains(help->pos()))
            continue;
        const Column& column = m_columns[shown[position]];
        const int rowIndex = (help->pos().y() - area.y() - headerHeight()) / rowHeight();
        if (help->pos().y() >= area.y() + headerHeight() && rowIndex < column.rows.size()) {
            const PredictionRow& row = column.rows.at(rowIndex);
            QToolTip::showText(
                help->globalPos(),
                tr("“%1” (token %2): p = %3").arg(row.token).arg(row.id).arg(row.prob, 0, 'g', 4),
                this);
            return true;
        }
        if (!column.subtitle.isEmpty()) {
            QToolTip::showText(help->globalPos(), column.subtitle, this);
            return true;
        }
    }
    QToolTip::hideText();
    event->ignore();
    return true;
}
