#pragma once

#include "CurationTypes.h"

#include <QWidget>

class QLabel;
class QTableWidget;

// The result of *Check memory*: a summary line, then one row per problem
// (kind, edit, other edit, reason), sortable. Double-clicking a row asks to
// show its edit.
class MemoryCheckView : public QWidget {
    Q_OBJECT

public:
    explicit MemoryCheckView(QWidget* parent = nullptr);

    void setCheck(const MemoryCheckData& check);
    const MemoryCheckData& check() const { return m_check; }
    // "1,000 edits checked in 2.1 s: 3 duplicates, 1 conflict, ..."
    QString summary() const;
    QTableWidget* table() const { return m_table; }

Q_SIGNALS:
    void editActivated(const QString& id);

private:
    QLabel* m_summary = nullptr;
    QTableWidget* m_table = nullptr;
    MemoryCheckData m_check;
};
