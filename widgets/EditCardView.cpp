#include "EditCardView.h"

#include "CompactTable.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace {

enum Column {
    KindColumn = 0,
    PromptColumn,
    ScopeColumn,
    BaseColumn,
    EditedColumn,
    PassColumn,
    ColumnCount
};

QString kindTitle(const QString& kind) {
    if (kind == QLatin1String("paraphrase"))
        return QObject::tr("paraphrase");
    if (kind == QLatin1String("neighbour"))
        return QObject::tr("neighbour");
    return QObject::tr("prompt");
}

} // namespace

EditCardView::EditCardView(QWidget* parent) : QWidget(parent) {
    m_title = new QLabel(this);
    m_title->setObjectName(QStringLiteral("editCardTitle"));
    m_title->setWordWrap(true);
    m_title->setTextFormat(Qt::PlainText);
    m_summary = new QLabel(this);
    m_summary->setObjectName(QStringLiteral("editCardSummary"));
    m_table = makeCompactTable(
        {tr("Test"), tr("Prompt"), tr("Scope"), tr("Base"), tr("Edited"), tr("Result")},
        QStringLiteral("editCardTable"), this);
    m_table->horizontalHeader()->setSectionResizeMode(PromptColumn, QHeaderView::Stretch);
    m_addParaphrase = new QPushButton(tr("Add paraphrase…"), this);
    m_addParaphrase->setToolTip(tr("A prompt that should take the edit's answer"));
    m_addNeighbour = new QPushButton(tr("Add neighbour…"), this);
    m_addNeighbour->setToolTip(tr("A prompt whose answer the edit must not change"));
    m_propose = new QPushButton(tr("Propose"), this);
    m_propose->setToolTip(tr("For a fact the fact world knows: its other phrasings as "
                             "paraphrases, the same question about other subjects as neighbours"));
    connect(m_addParaphrase, &QPushButton::clicked, this,
            [this] { Q_EMIT addParaphraseRequested(m_card.editId); });
    connect(m_addNeighbour, &QPushButton::clicked, this,
            [this] { Q_EMIT addNeighbourRequested(m_card.editId); });
    connect(m_propose, &QPushButton::clicked, this,
            [this] { Q_EMIT proposeRequested(m_card.editId); });
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_addParaphrase);
    buttons->addWidget(m_addNeighbour);
    buttons->addWidget(m_propose);
    buttons->addStretch(1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_title);
    layout->addWidget(m_summary);
    layout->addWidget(m_table, 1);
    layout->addLayout(buttons);
    clear();
}

void EditCardView::clear(const QString& why) {
    m_card = EditCardData();
    m_title->setText(why.isEmpty() ? tr("Select one edit to see its test card.") : why);
    m_summary->clear();
    m_table->setRowCount(0);
    for (QPushButton* b : {m_addParaphrase, m_addNeighbour, m_propose})
        b->setEnabled(false);
}

QString EditCardView::summary() const {
    if (m_card.isEmpty())
        return {};
    if (m_card.paraphrases + m_card.neighbours == 0)
        return tr("No paraphrases or neighbours to test yet: add some, or Propose.");
    return tr("paraphrases %1/%2 take the new answer · neighbours %3/%4 kept")
        .arg(m_card.paraphrasesPassed)
        .arg(m_card.paraphrases)
        .arg(m_card.neighboursKept)
        .arg(m_card.neighbours);
}

void EditCardView::setCard(const EditCardData& card) {
    m_card = card;
    m_title->setText(tr("%1: “%2” → %3").arg(card.editId, card.prompt, card.answer));
    m_summary->setText(summary());
    m_table->setRowCount(card.rows.size());
    for (int row = 0; row < card.rows.size(); ++row) {
        const EditCardRow& r = card.rows[row];
        m_table->setItem(row, KindColumn, new QTableWidgetItem(kindTitle(r.kind)));
        auto* prompt = new QTableWidgetItem(r.prompt);
        prompt->setToolTip(r.prompt);
        m_table->setItem(row, PromptColumn, prompt);
        m_table->setItem(row, ScopeColumn, new QTableWidgetItem(QString::number(r.scope, 'f', 2)));
        m_table->setItem(row, BaseColumn, new QTableWidgetItem(r.base));
        auto* edited = new QTableWidgetItem(r.edited);
        if (r.routedTo != QLatin1String("base") && r.routedTo != card.editId)
            edited->setToolTip(tr("answered by edit %1").arg(r.routedTo));
        m_table->setItem(row, EditedColumn, edited);
        auto* pass = new QTableWidgetItem(r.pass ? tr("✓ pass") : tr("✗ fail"));
        pass->setForeground(r.pass ? QColor(0, 110, 40) : QColor(180, 20, 20));
        pass->setData(Qt::UserRole, r.pass);
        m_table->setItem(row, PassColumn, pass);
    }
    for (QPushButton* b : {m_addParaphrase, m_addNeighbour})
        b->setEnabled(true);
    m_propose->setEnabled(true);
}
