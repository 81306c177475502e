#include "EditMemoryView.h"

#include "EditMemoryModel.h"
#include "EditMemoryProxyModel.h"
#include "ScopeBarDelegate.h"

#include <QAction>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>

EditMemoryView::EditMemoryView(QWidget* parent) : QWidget(parent) {
    m_model = new EditMemoryModel(this);
    m_proxy = new EditMemoryProxyModel(this);
    m_proxy->setSourceModel(m_model);

    m_filter = new QLineEdit(this);
    m_filter->setObjectName(QStringLiteral("filterEdit"));
    m_filter->setPlaceholderText(tr("Filter edits…"));
    m_filter->setClearButtonEnabled(true);
    connect(m_filter, &QLineEdit::textChanged, m_proxy,
            &EditMemoryProxyModel::setFilterFixedString);
    // A million edits are filtered and sorted in the background: say so
    // while the table still shows the previous order.
    m_busy = new QLabel(tr("Sorting…"), this);
    m_busy->setObjectName(QStringLiteral("orderBusy"));
    m_busy->setToolTip(tr("The table shows the previous order until the new one is ready"));
    m_busy->setVisible(false);
    connect(m_proxy, &EditMemoryProxyModel::busyChanged, m_busy, &QLabel::setVisible);

    auto makeButton = [this](const QString& text, const char* name, const QString& tip) {
        auto* button = new QPushButton(text, this);
        button->setObjectName(QLatin1String(name));
        button->setToolTip(tip);
        return button;
    };
    m_addButton = makeButton(tr("Add"), "addButton", tr("Add an edit to the memory"));
    m_deleteButton =
        makeButton(tr("Delete"), "deleteButton", tr("Delete the selected edits (Del)"));
    m_importButton =
        makeButton(tr("Import…"), "importButton", tr("Add edits from a JSON or CSV file"));
    m_exportButton =
        makeButton(tr("Export…"), "exportButton", tr("Save the edit memory to a file"));
    connect(m_addButton, &QPushButton::clicked, this, &EditMemoryView::addRequested);
    connect(m_deleteButton, &QPushButton::clicked, this, &EditMemoryView::requestDelete);
    connect(m_importButton, &QPushButton::clicked, this, &EditMemoryView::importRequested);
    connect(m_exportButton, &QPushButton::clicked, this, &EditMemoryView::exportRequested);

    m_table = new QTableView(this);
    m_table->setObjectName(QStringLiteral("editTable"));
    m_table->setModel(m_proxy);
    m_delegate = new ScopeBarDelegate(m_table);
    m_table->setItemDelegateForColumn(EditMemoryModel::ScopeColumn, m_delegate);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_table->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed |
                             QAbstractItemView::AnyKeyPressed);
    m_table->setAlternatingRowColors(true);
    m_table->setWordWrap(false);
    m_table->setSortingEnabled(true);
    // Start in memory order; setSortingEnabled() would otherwise sort by column 0.
    m_table->horizontalHeader()->setSortIndicator(-1, Qt::AscendingOrder);
    m_proxy->sort(-1);

    // Fixed and stretch modes only: ResizeToContents would measure rows on every
    // change, which is slow with thousands of edits.
    QHeaderView* header = m_table->horizontalHeader();
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setSectionResizeMode(EditMemoryModel::EnabledColumn, QHeaderView::Fixed);
    header->setSectionResizeMode(EditMemoryModel::PromptColumn, QHeaderView::Stretch);
    header->resizeSection(EditMemoryModel::EnabledColumn, 44);
    // Narrow enough that the prompt, which stretches, keeps a readable width.
    header->resizeSection(EditMemoryModel::AnswerColumn, 100);
    header->resizeSection(EditMemoryModel::ScopeColumn, 150);
    header->resizeSection(EditMemoryModel::TestsColumn, 64);
    QHeaderView* rows = m_table->verticalHeader();
    rows->setSectionResizeMode(QHeaderView::Fixed);
    rows->setDefaultSectionSize(m_table->fontMetrics().height() + 8);
    rows->setDefaultAlignment(Qt::AlignRight | Qt::AlignVCenter);

    auto* deleteAction = new QAction(tr("Delete"), m_table);
    deleteAction->setShortcut(QKeySequence::Delete);
    deleteAction->setShortcutContext(Qt::WidgetShortcut);
    connect(deleteAction, &QAction::triggered, this, &EditMemoryView::requestDelete);
    m_table->addAction(deleteAction);

    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &EditMemoryView::updateButtons);
    connect(m_proxy, &QAbstractItemModel::modelReset, this, &EditMemoryView::updateButtons);
    connect(m_proxy, &QAbstractItemModel::rowsRemoved, this, &EditMemoryView::updateButtons);

    auto* buttons = new QHBoxLayout;
    buttons->setSpacing(4);
    buttons->addWidget(m_filter, 1);
    buttons->addWidget(m_busy);
    buttons->addWidget(m_addButton);
    buttons->addWidget(m_deleteButton);
    buttons->addWidget(m_importButton);
    buttons->addWidget(m_exportButton);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(4);
    layout->addLayout(buttons);
    layout->addWidget(m_table);
    // What the scope column's scores come from while a large memory's index
    // is being built (empty, and hidden, otherwise).
    m_scopeNote = new QLabel(this);
    m_scopeNote->setObjectName(QStringLiteral("scopeSearchNote"));
    m_scopeNote->setWordWrap(true);
    m_scopeNote->setVisible(false);
    layout->addWidget(m_scopeNote);
    updateButtons();
}

void EditMemoryView::setScopeSearchNote(const QString& note) {
    m_scopeNote->setText(note);
    m_scopeNote->setVisible(!note.isEmpty());
}

QString EditMemoryView::scopeSearchNote() const {
    return m_scopeNote->text();
}

QStringList EditMemoryView::selectedIds() const {
    QModelIndexList selected = m_table->selectionModel()->selectedRows();
    std::sort(selected.begin(), selected.end(),
              [](const QModelIndex& a, const QModelIndex& b) { return a.row() < b.row(); });
    QStringList ids;
    ids.reserve(selected.size());
    for (const QModelIndex& index : selected)
        ids.append(index.data(EditMemoryModel::IdRole).toString());
    return ids;
}

bool EditMemoryView::selectEdit(const QString& id) {
    const int sourceRow = m_model->rowOfId(id);
    if (sourceRow < 0)
        return false;
    const QModelIndex index = m_proxy->mapFromSource(m_model->index(sourceRow, 0));
    if (!index.isValid())
        return false;
    m_table->selectionModel()->select(index, QItemSelectionModel::ClearAndSelect |
                                                 QItemSelectionModel::Rows);
    m_table->setCurrentIndex(index);
    m_table->scrollTo(index);
    return true;
}

void EditMemoryView::requestDelete() {
    const QStringList ids = selectedIds();
    if (!ids.isEmpty())
        Q_EMIT deleteRequested(ids);
}

void EditMemoryView::updateButtons() {
    m_deleteButton->setEnabled(m_table->selectionModel()->hasSelection());
}
