#pragma once
// The read-only result tables of the docks (an edit's test card, the memory
// check): whole rows selected, no editing, no row numbers, one text line per
// row at the font's height, columns sized to their contents.
#include <QHeaderView>
#include <QStringList>
#include <QTableWidget>

inline QTableWidget* makeCompactTable(const QStringList& headers, const QString& objectName,
                                      QWidget* parent) {
    auto* table = new QTableWidget(0, static_cast<int>(headers.size()), parent);
    table->setObjectName(objectName);
    table->setHorizontalHeaderLabels(headers);
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->verticalHeader()->hide();
    table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    table->verticalHeader()->setDefaultSectionSize(table->fontMetrics().height() + 8);
    table->setWordWrap(false);
    table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    return table;
}
