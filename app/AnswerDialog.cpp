#include "AnswerDialog.h"

#include "PredictionView.h"

#include <QCompleter>
#include <QHeaderView>
#include <QTableWidget>
#include <QDialogButtonBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

AnswerDialog::AnswerDialog(Mode mode, const QString& title, const QString& question,
                           const QStringList& knownAnswers, QWidget* parent)
    : QDialog(parent), m_mode(mode), m_known(knownAnswers) {
    setWindowTitle(title);
    auto* layout = new QVBoxLayout(this);
    auto* label = new QLabel(question, this);
    label->setWordWrap(true);
    layout->addWidget(label);

    if (mode != Mode::ConfirmWithPreview) {
        m_edit = new QLineEdit(this);
        m_edit->setPlaceholderText(tr("an answer the model knows, e.g. Lisbon"));
        auto* completer = new QCompleter(knownAnswers, this);
        completer->setCaseSensitivity(Qt::CaseInsensitive);
        completer->setFilterMode(Qt::MatchContains);
        m_edit->setCompleter(completer);
        layout->addWidget(m_edit);
        m_warning = new QLabel(this);
        m_warning->setWordWrap(true);
        m_warning->setStyleSheet(QStringLiteral("color: #a04000;"));
        layout->addWidget(m_warning);
        connect(m_edit, &QLineEdit::textChanged, this, &AnswerDialog::updateButtons);
    }

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    m_okButton = buttons->button(QDialogButtonBox::Ok);
    if (mode != Mode::Answer) {
        m_preview = new PredictionView(this);
        m_preview->setVisibleRowCount(5);
        m_preview->setColumnVisible(PredictionView::IntervenedColumn, false);
        m_preview->setColumn(PredictionView::BaseColumn, tr("Before"), {}, {});
        m_preview->setColumn(PredictionView::EditedColumn, tr("After"), {}, {});
        layout->addWidget(m_preview, 1);
        m_others = new QTableWidget(0, 3, this);
        m_others->setObjectName(QStringLiteral("otherFacts"));
        m_others->setHorizontalHeaderLabels({tr("Other facts"), tr("Before"), tr("After")});
        m_others->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
        m_others->verticalHeader()->hide();
        m_others->setEditTriggers(QAbstractItemView::NoEditTriggers);
        m_others->setMaximumHeight(170);
        m_others->setVisible(false);
        layout->addWidget(m_others);
        m_previewButton = buttons->addButton(tr("Preview"), QDialogButtonBox::ActionRole);
        connect(m_previewButton, &QPushButton::clicked, this,
                [this] { Q_EMIT previewRequested(answer()); });
    }
    layout->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    updateButtons();
    resize(mode == Mode::Answer ? QSize(420, 150) : QSize(560, 420));
}

QString AnswerDialog::answer() const {
    return m_edit ? m_edit->text().trimmed() : QString();
}

void AnswerDialog::setAnswer(const QString& text) {
    if (m_edit)
        m_edit->setText(text);
}

void AnswerDialog::setPreview(const QVector<PredictionRow>& before,
                              const QVector<PredictionRow>& after, const QString& error,
                              const QVector<PreviewLine>& others) {
    if (!m_preview)
        return;
    m_preview->setColumn(PredictionView::BaseColumn, tr("Before"), {}, before);
    m_preview->setColumn(PredictionView::EditedColumn, tr("After"), error, after);
    auto cell = [](const PredictionRow& r) {
        return r.token.isEmpty()
                   ? QString()
                   : QStringLiteral("%1 (%2)").arg(r.token.trimmed()).arg(r.prob, 0, 'f', 2);
    };
    m_others->setRowCount(others.size());
    for (int i = 0; i < others.size(); ++i) {
        m_others->setItem(i, 0, new QTableWidgetItem(others[i].prompt));
        m_others->setItem(i, 1, new QTableWidgetItem(cell(others[i].before)));
        auto* after = new QTableWidgetItem(cell(others[i].after));
        if (others[i].before.token != others[i].after.token) {
            QFont bold = after->font();
            bold.setBold(true);
            after->setFont(bold);
        }
        m_others->setItem(i, 2, after);
    }
    m_others->setVisible(!others.isEmpty());
}

void AnswerDialog::updateButtons() {
    if (!m_edit)
        return;
    const QString a = answer();
    const bool known = m_known.isEmpty() || m_known.contains(a, Qt::CaseSensitive);
    // An unknown word is still allowed (a BPE model can spell anything), but
    // the built-in model would read it as its unknown token: say so.
    m_warning->setText(
        a.isEmpty() || known
            ? QString()
            : tr("“%1” is not a word this model knows; it will read it as unknown.").arg(a));
    m_okButton->setEnabled(!a.isEmpty());
    if (m_previewButton)
        m_previewButton->setEnabled(!a.isEmpty());
}
