#include "RefinePanel.h"

#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>

namespace {

enum ResultColumn {
    LayerColumn = 0,
    NeuronColumn,
    PromptsColumn,
    ScoreColumn,
    WritesColumn,
    ResultColumnCount
};

// Sorts by its number, not its text, so 10 comes after 9.
class NumericItem : public QTableWidgetItem {
public:
    NumericItem(double value, const QString& text) : QTableWidgetItem(text), m_value(value) {
        setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
        setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    }
    bool operator<(const QTableWidgetItem& other) const override {
        const auto* numeric = dynamic_cast<const NumericItem*>(&other);
        return numeric ? m_value < numeric->m_value : QTableWidgetItem::operator<(other);
    }

private:
    double m_value;
};

} // namespace

RefinePanel::RefinePanel(QWidget* parent) : QWidget(parent) {
    m_promptList = new QListWidget(this);
    m_promptList->setObjectName(QStringLiteral("promptList"));
    m_promptList->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_promptList->setEditTriggers(QAbstractItemView::DoubleClicked |
                                  QAbstractItemView::EditKeyPressed |
                                  QAbstractItemView::SelectedClicked);
    m_promptList->setToolTip(tr("Paraphrases of one fact; double-click to edit"));

    m_addButton = new QPushButton(tr("Add"), this);
    m_addButton->setObjectName(QStringLiteral("addPromptButton"));
    m_removeButton = new QPushButton(tr("Remove"), this);
    m_removeButton->setObjectName(QStringLiteral("removePromptButton"));
    connect(m_addButton, &QPushButton::clicked, this, &RefinePanel::addPrompt);
    connect(m_removeButton, &QPushButton::clicked, this, &RefinePanel::removeSelectedPrompts);

    m_targetEdit = new QLineEdit(this);
    m_targetEdit->setObjectName(QStringLiteral("targetEdit"));
    m_targetEdit->setPlaceholderText(tr("The answer every prompt shares, e.g. “ Paris”"));

    m_shareSpin = new QDoubleSpinBox(this);
    m_shareSpin->setObjectName(QStringLiteral("shareSpin"));
    m_shareSpin->setRange(0.0, 1.0);
    m_shareSpin->setSingleStep(0.05);
    m_shareSpin->setDecimals(2);
    m_shareSpin->setValue(kDefaultShare);
    m_shareSpin->setToolTip(
        tr("Keep neurons that are candidates in at least this share of prompts"));

    m_thresholdSpin = new QDoubleSpinBox(this);
    m_thresholdSpin->setObjectName(QStringLiteral("thresholdSpin"));
    m_thresholdSpin->setRange(0.0, 1.0);
    m_thresholdSpin->setSingleStep(0.05);
    m_thresholdSpin->setDecimals(2);
    m_thresholdSpin->setValue(kDefaultThreshold);
    m_thresholdSpin->setToolTip(
        tr("Within one prompt, a neuron is a candidate when it scores at least this fraction "
           "of the highest score"));

    m_stepsSpin = new QSpinBox(this);
    m_stepsSpin->setObjectName(QStringLiteral("stepsSpin"));
    m_stepsSpin->setRange(1, 1000);
    m_stepsSpin->setValue(kDefaultSteps);
    m_stepsSpin->setToolTip(
        tr("Integrated-gradients steps per prompt; more is slower and smoother"));

    m_runButton = new QPushButton(tr("Refine"), this);
    m_runButton->setObjectName(QStringLiteral("runButton"));
    m_runButton->setDefault(true);
    connect(m_runButton, &QPushButton::clicked, this, &RefinePanel::requestRun);

    m_resultTable = new QTableWidget(0, ResultColumnCount, this);
    m_resultTable->setObjectName(QStringLiteral("resultTable"));
    m_resultTable->setHorizontalHeaderLabels(
        {tr("Layer"), tr("Neuron"), tr("Prompts"), tr("Mean score"), tr("Writes")});
    m_resultTable->horizontalHeaderItem(WritesColumn)
        ->setToolTip(tr("The tokens each neuron's value vector promotes most"));
    m_resultTable->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_resultTable->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_resultTable->verticalHeader()->hide();
    m_resultTable->setWordWrap(false);
    m_resultTable->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_resultTable->horizontalHeader()->setStretchLastSection(true);
    m_resultTable->setToolTip(tr("Double-click a neuron to select it"));
    // Strongest neurons first until the user picks another order.
    m_resultTable->horizontalHeader()->setSortIndicator(ScoreColumn, Qt::DescendingOrder);
    connect(m_resultTable, &QTableWidget::cellDoubleClicked, this, [this](int row, int) {
        const QTableWidgetItem* layer = m_resultTable->item(row, LayerColumn);
        const QTableWidgetItem* neuron = m_resultTable->item(row, NeuronColumn);
        if (layer && neuron)
            Q_EMIT neuronActivated(layer->data(Qt::UserRole).toInt(),
                                   neuron->data(Qt::UserRole).toInt());
    });

    connect(m_promptList->model(), &QAbstractItemModel::dataChanged, this,
            &RefinePanel::updateButtons);
    connect(m_promptList->model(), &QAbstractItemModel::rowsInserted, this,
            &RefinePanel::updateButtons);
    connect(m_promptList->model(), &QAbstractItemModel::rowsRemoved, this,
            &RefinePanel::updateButtons);
    connect(m_promptList, &QListWidget::itemSelectionChanged, this, &RefinePanel::updateButtons);
    connect(m_targetEdit, &QLineEdit::textChanged, this, &RefinePanel::updateButtons);
    connect(m_promptList->model(), &QAbstractItemModel::dataChanged, this,
            &RefinePanel::setupChanged);
    connect(m_promptList->model(), &QAbstractItemModel::rowsInserted, this,
            &RefinePanel::setupChanged);
    connect(m_promptList->model(), &QAbstractItemModel::rowsRemoved, this,
            &RefinePanel::setupChanged);
    connect(m_targetEdit, &QLineEdit::textChanged, this, &RefinePanel::setupChanged);
    connect(m_shareSpin, &QDoubleSpinBox::valueChanged, this, &RefinePanel::setupChanged);
    connect(m_thresholdSpin, &QDoubleSpinBox::valueChanged, this, &RefinePanel::setupChanged);
    connect(m_stepsSpin, &QSpinBox::valueChanged, this, &RefinePanel::setupChanged);

    auto* promptButtons = new QHBoxLayout;
    promptButtons->addWidget(m_addButton);
    promptButtons->addWidget(m_removeButton);
    promptButtons->addStretch(1);

    auto* form = new QFormLayout;
    form->addRow(tr("Answer"), m_targetEdit);
    form->addRow(tr("Prompt share"), m_shareSpin);
    form->addRow(tr("Candidate threshold"), m_thresholdSpin);
    form->addRow(tr("Steps"), m_stepsSpin);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(4);
    layout->addWidget(new QLabel(tr("Prompts"), this));
    layout->addWidget(m_promptList, 1);
    layout->addLayout(promptButtons);
    layout->addLayout(form);
    layout->addWidget(m_runButton);
    m_resultLabel = new QLabel(tr("Refined neurons"), this);
    m_resultLabel->setObjectName(QStringLiteral("resultLabel"));
    m_resultLabel->setWordWrap(true);
    layout->addWidget(m_resultLabel);
    layout->addWidget(m_resultTable, 1);
    updateButtons();
}

void RefinePanel::setPrompts(const QStringList& prompts, const QString& target) {
    m_promptList->clear();
    for (const QString& prompt : prompts) {
        auto* item = new QListWidgetItem(prompt, m_promptList);
        item->setFlags(item->flags() | Qt::ItemIsEditable);
    }
    m_targetEdit->setText(target);
    updateButtons();
}

QStringList RefinePanel::prompts() const {
    QStringList result;
    for (int i = 0; i < m_promptList->count(); ++i) {
        const QString text = m_promptList->item(i)->text();
        if (!text.trimmed().isEmpty())
            result.append(text);
    }
    return result;
}

QString RefinePanel::target() const {
    return m_targetEdit->text();
}

double RefinePanel::share() const {
    return m_shareSpin->value();
}

void RefinePanel::setShare(double share) {
    m_shareSpin->setValue(share);
}

double RefinePanel::threshold() const {
    return m_thresholdSpin->value();
}

void RefinePanel::setThreshold(double threshold) {
    m_thresholdSpin->setValue(threshold);
}

int RefinePanel::steps() const {
    return m_stepsSpin->value();
}

void RefinePanel::setSteps(int steps) {
    m_stepsSpin->setValue(steps);
}

void RefinePanel::setResult(const QVector<RefinedNeuron>& neurons, const QString& source) {
    m_result = neurons;
    m_resultSource = neurons.isEmpty() ? QString() : source;
    m_resultLabel->setText(m_resultSource.isEmpty()
                               ? tr("Refined neurons")
                               : tr("Refined neurons of %1").arg(m_resultSource));
    m_resultTable->setSortingEnabled(false);
    m_resultTable->setRowCount(neurons.size());
    for (int row = 0; row < neurons.size(); ++row) {
        const RefinedNeuron& n = neurons[row];
        auto* layer = new NumericItem(n.layer, QString::number(n.layer));
        layer->setData(Qt::UserRole, n.layer);
        auto* neuron = new NumericItem(n.neuron, QString::number(n.neuron));
        neuron->setData(Qt::UserRole, n.neuron);
        m_resultTable->setItem(row, LayerColumn, layer);
        m_resultTable->setItem(row, NeuronColumn, neuron);
        m_resultTable->setItem(row, PromptsColumn,
                               new NumericItem(n.prompts, QString::number(n.prompts)));
        m_resultTable->setItem(row, ScoreColumn,
                               new NumericItem(n.meanScore, QString::number(n.meanScore, 'g', 4)));
        m_resultTable->setItem(row, WritesColumn, new QTableWidgetItem);
    }
    showWrites();
    m_resultTable->setSortingEnabled(true);
}

void RefinePanel::setNeuronWrites(const NeuronWrites& writes) {
    m_writes = writes;
    showWrites();
}

void RefinePanel::showWrites() {
    // Rows must not move while their texts change.
    const bool sorting = m_resultTable->isSortingEnabled();
    m_resultTable->setSortingEnabled(false);
    for (int row = 0; row < m_resultTable->rowCount(); ++row) {
        const NeuronRef n{m_resultTable->item(row, LayerColumn)->data(Qt::UserRole).toInt(),
                          m_resultTable->item(row, NeuronColumn)->data(Qt::UserRole).toInt()};
        const QStringList tokens = m_writes.value(n);
        QTableWidgetItem* item = m_resultTable->item(row, WritesColumn);
        item->setText(writesText(tokens));
        item->setToolTip(writesText(tokens, tokens.size()));
    }
    m_resultTable->setSortingEnabled(sorting);
}

void RefinePanel::setBusy(bool busy) {
    m_busy = busy;
    updateButtons();
}

void RefinePanel::addPrompt() {
    auto* item = new QListWidgetItem(m_promptList);
    item->setFlags(item->flags() | Qt::ItemIsEditable);
    m_promptList->setCurrentItem(item);
    m_promptList->editItem(item);
}

void RefinePanel::removeSelectedPrompts() {
    qDeleteAll(m_promptList->selectedItems());
}

void RefinePanel::requestRun() {
    const QStringList list = prompts();
    if (list.isEmpty() || target().trimmed().isEmpty() || m_busy)
        return;
    Q_EMIT runRequested(list, target(), share(), threshold(), steps());
}

void RefinePanel::updateButtons() {
    m_removeButton->setEnabled(!m_promptList->selectedItems().isEmpty());
    m_runButton->setEnabled(!m_busy && !prompts().isEmpty() && !target().trimmed().isEmpty());
}
