#pragma once

#include <QLayout>
#include <QVector>

// Lays its items left to right and wraps to a new line when the width runs
// out, like words in a paragraph. Used for the token chips under the prompt.
class FlowLayout : public QLayout {
public:
    explicit FlowLayout(QWidget* parent = nullptr, int spacing = 4);
    ~FlowLayout() override;

    void addItem(QLayoutItem* item) override;
    int count() const override;
    QLayoutItem* itemAt(int index) const override;
    QLayoutItem* takeAt(int index) override;

    Qt::Orientations expandingDirections() const override;
    bool hasHeightForWidth() const override;
    int heightForWidth(int width) const override;
    QSize minimumSize() const override;
    QSize sizeHint() const override;
    void setGeometry(const QRect& rect) override;

private:
    // Places the items inside `rect` (or only measures when `apply` is false)
    // and returns the height used.
    int arrange(const QRect& rect, bool apply) const;

    QVector<QLayoutItem*> m_items;
    int m_spacing;
};
