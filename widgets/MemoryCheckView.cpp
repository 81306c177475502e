#include "MemoryCheckView.h"

#include "CompactTable.h"

#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QMap>
#include <QTableWidget>
#include <QVBoxLayout>

namespace {

enum Column { KindColumn = 0, EditColumn, OtherColumn, ReasonColumn, ColumnCount };

QString kindTitle(const QString& kind) {
    if (kind == QLatin1String("duplicate"))
        return QObject::tr("duplicate");
    if (kind == QLatin1String("conflict"))
        return QObject::tr("conflict");
    if (kind == QLatin1String("scope-capture"))
        return QObject::tr("scope capture");
    if (kind == QLatin1String("unknown-answer"))
        return QObject::tr("unknown answer");
    return kind;
}

} // namespace

MemoryCheckView::MemoryCheckView(QWidget* parent) : QWidget(parent) {
    m_summary = new QLabel(tr("Edit ▸ Check the edit memory lists duplicate and conflicting "
                              "edits, edits whose scope captures another's prompt, and answers "
                              "the model cannot say."),
                           this);
    m_summary->setObjectName(QStringLiteral("memoryCheckSummary"));
    m_summary->setWordWrap(true);
    m_table = makeCompactTable({tr("Problem"), tr("Edit"), tr("Other"), tr("Reason")},
                               QStringLiteral("memoryCheckTable"), this);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->setToolTip(tr("Double-click a problem to show its edit"));
    connect(m_table, &QTableWidget::cellDoubleClicked, this, [this](int row, int column) {
        const QTableWidgetItem* item =
            m_table->item(row, column == OtherColumn ? OtherColumn : EditColumn);
        if (item && !item->text().isEmpty())
            Q_EMIT editActivated(item->text());
    });
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_summary);
    layout->addWidget(m_table, 1);
}

QString MemoryCheckView::summary() const {
    QMap<QString, int> counts;
    for (const auto& p : m_check.problems)
        ++counts[p.kind];
    QStringList parts;
    for (auto it = counts.constBegin(); it != counts.constEnd(); ++it)
        parts << QStringLiteral("%1 %2").arg(it.value()).arg(kindTitle(it.key()));
    QString s = tr("%n enabled edit(s) checked in %1 s: ", nullptr, m_check.edits)
                    .arg(QLocale().toString(m_check.seconds, 'f', 1));
    s += parts.isEmpty() ? tr("no problems") : parts.join(QStringLiteral(", "));
    if (!m_check.scopeChecked)
        s += tr(" (scope captures not checked: SERAC is not loaded)");
    return s;
}

void MemoryCheckView::setCheck(const MemoryCheckData& check) {
    m_check = check;
    m_summary->setText(summary());
    m_table->setSortingEnabled(false);
    m_table->setRowCount(check.problems.size());
    for (int row = 0; row < check.problems.size(); ++row) {
        const MemoryProblemRow& p = check.problems[row];
        auto* kind = new QTableWidgetItem(kindTitle(p.kind));
        kind->setData(Qt::UserRole, p.kind);
        m_table->setItem(row, KindColumn, kind);
        m_table->setItem(row, EditColumn, new QTableWidgetItem(p.editId));
        m_table->setItem(row, OtherColumn, new QTableWidgetItem(p.otherId));
        auto* reason = new QTableWidgetItem(p.reason);
        reason->setToolTip(p.reason);
        m_table->setItem(row, ReasonColumn, reason);
    }
    m_table->setSortingEnabled(true);
}
