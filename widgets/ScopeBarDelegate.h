#pragma once

#include <QStyledItemDelegate>

// Paints a scope probability as a bar filling the cell in proportion to the
// probability, with the number and deciding stage written over it. Reads the
// value from EditMemoryModel::ScopeValueRole; NaN paints as a dash.
class ScopeBarDelegate : public QStyledItemDelegate {
    Q_OBJECT

public:
    explicit ScopeBarDelegate(QObject* parent = nullptr);

    // Probabilities at or above this draw in the stronger colour: the router
    // would pick such an edit.
    void setRouteThreshold(double threshold) { m_routeThreshold = threshold; }
    double routeThreshold() const { return m_routeThreshold; }

    void paint(QPainter* painter, const QStyleOptionViewItem& option,
               const QModelIndex& index) const override;
    QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override;

private:
    double m_routeThreshold = 0.5;
};
