#include "ScopeBarDelegate.h"

#include "EditMemoryModel.h"

#include <QApplication>
#include <QPainter>

#include <algorithm>
#include <cmath>

ScopeBarDelegate::ScopeBarDelegate(QObject* parent) : QStyledItemDelegate(parent) {}

void ScopeBarDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option,
                             const QModelIndex& index) const {
    QStyleOptionViewItem opt = option;
    initStyleOption(&opt, index);
    const QString text = opt.text;
    opt.text.clear();
    // Let the style draw background, selection and focus as for any cell.
    const QWidget* widget = opt.widget;
    QStyle* style = widget ? widget->style() : QApplication::style();
    style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, widget);

    const double prob = index.data(EditMemoryModel::ScopeValueRole).toDouble();
    const QRect area = opt.rect.adjusted(3, 3, -3, -3);
    painter->save();
    if (!std::isnan(prob)) {
        const double clamped = std::clamp(prob, 0.0, 1.0);
        const QColor color =
            clamped >= m_routeThreshold ? QColor(217, 130, 43, 170) : QColor(91, 125, 177, 110);
        painter->fillRect(
            QRect(area.topLeft(), QSize(int(std::lround(clamped * area.width())), area.height())),
            color);
    }
    const bool selected = opt.state & QStyle::State_Selected;
    QColor pen =
        selected ? opt.palette.color(QPalette::HighlightedText) : opt.palette.color(QPalette::Text);
    const QVariant foreground = index.data(Qt::ForegroundRole);
    if (!selected && foreground.canConvert<QColor>())
        pen = foreground.value<QColor>();
    painter->setPen(pen);
    painter->setFont(opt.font);
    painter->drawText(area.adjusted(4, 0, -4, 0), Qt::AlignLeft | Qt::AlignVCenter,
                      opt.fontMetrics.elidedText(text, Qt::ElideRight, area.width() - 8));
    painter->restore();
}

QSize ScopeBarDelegate::sizeHint(const QStyleOptionViewItem& option,
                                 const QModelIndex& index) const {
    QSize size = QStyledItemDelegate::sizeHint(option, index);
    size.setWidth(std::max(size.width() + 16, 150));
    return size;
}
