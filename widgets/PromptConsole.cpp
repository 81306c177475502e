#include "PromptConsole.h"

#include "FlowLayout.h"

#include <QScrollArea>

#include <algorithm>

#include <QEvent>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QStyle>
#include <QTimer>
#include <QVBoxLayout>

namespace {

// One style sheet on the chip area styles every chip; the "unknown" dynamic
// property switches a chip to the warning look without per-chip style sheets.
const char* const kChipStyle = R"(
QLabel[chip="true"] {
    background: #eef2f7;
    color: #1f2933;
    border: 1px solid #b8c2cc;
    border-radius: 7px;
    padding: 1px 6px;
}
QLabel[chip="true"][dropped="true"] {
    background: transparent;
    color: #757575;
    border: 1px dashed #9e9e9e;
    font-style: italic;
}
QLabel[chip="true"][unknown="true"] {
    background: #fdecea;
    color: #b71c1c;
    border: 2px solid #d32f2f;
}
QLabel[chip="true"][mask="true"] {
    background: #e3f2fd;
    color: #0d47a1;
    border: 2px dashed #1976d2;
    font-weight: bold;
}
)";

} // namespace

PromptConsole::PromptConsole(QWidget* parent) : QWidget(parent) {
    m_edit = new QLineEdit(this);
    m_edit->setObjectName(QStringLiteral("promptEdit"));
    m_edit->setPlaceholderText(tr("Type a prompt, e.g. “The capital of France is”"));
    m_edit->setClearButtonEnabled(true);
    m_edit->installEventFilter(this);

    m_chipArea = new QWidget(this);
    m_chipArea->setObjectName(QStringLiteral("tokenChips"));
    m_chipArea->setStyleSheet(QString::fromLatin1(kChipStyle));
    m_chipLayout = new FlowLayout(m_chipArea, 4);
    m_droppedChip = new QLabel(m_chipArea);
    m_droppedChip->setObjectName(QStringLiteral("droppedTokens"));
    m_droppedChip->setProperty("chip", true);
    m_droppedChip->setProperty("dropped", true);
    m_droppedChip->hide();
    m_chipLayout->addWidget(m_droppedChip);
    // A long prompt's chips scroll instead of pushing the panel taller.
    m_chipScroll = new QScrollArea(this);
    m_chipScroll->setObjectName(QStringLiteral("tokenChipScroll"));
    m_chipScroll->setWidget(m_chipArea);
    m_chipScroll->setWidgetResizable(true);
    m_chipScroll->setFrameShape(QFrame::NoFrame);
    m_chipScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_chipScroll->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Maximum);

    m_clozeHint = new QPushButton(this);
    m_clozeHint->setObjectName(QStringLiteral("clozeHint"));
    m_clozeHint->setFlat(true);
    m_clozeHint->setCursor(Qt::PointingHandCursor);
    m_clozeHint->hide();
    connect(m_clozeHint, &QPushButton::clicked, this, [this] {
        QString text = m_edit->text();
        while (!text.isEmpty() && text.back().isSpace())
            text.chop(1);
        setPrompt(text + QLatin1Char(' ') + m_maskToken + QLatin1Char('.'));
        m_edit->setFocus();
    });

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(4);
    layout->addWidget(m_edit);
    layout->addWidget(m_clozeHint, 0, Qt::AlignLeft);
    layout->addWidget(m_chipScroll);
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Maximum);
    fitChips();

    m_debounce = new QTimer(this);
    m_debounce->setSingleShot(true);
    // A precise timer so the pause the user must make is the interval, not up
    // to 5 % less as with a coarse timer.
    m_debounce->setTimerType(Qt::PreciseTimer);
    m_debounce->setInterval(kDefaultDebounceMs);
    connect(m_debounce, &QTimer::timeout, this, [this] { Q_EMIT promptChanged(m_edit->text()); });

    connect(m_edit, &QLineEdit::textChanged, this, [this] {
        updateClozeHint();
        m_debounce->start();
    });
    connect(m_edit, &QLineEdit::textEdited, this, [this] {
        // Typing leaves history navigation: the edited line is the new draft.
        m_historyIndex = m_history.size();
    });
    connect(m_edit, &QLineEdit::returnPressed, this, &PromptConsole::submit);
}

QString PromptConsole::prompt() const {
    return m_edit->text();
}

void PromptConsole::setPrompt(const QString& text) {
    m_edit->setText(text);
    m_historyIndex = m_history.size();
}

int PromptConsole::debounceIntervalMs() const {
    return m_debounce->interval();
}

void PromptConsole::setDebounceIntervalMs(int intervalMs) {
    m_debounce->setInterval(qMax(0, intervalMs));
}

QStringList PromptConsole::history() const {
    return m_history;
}

void PromptConsole::setHistory(const QStringList& history) {
    m_history = history;
    m_historyIndex = m_history.size();
}

void PromptConsole::setClozeMaskToken(const QString& maskToken) {
    m_maskToken = maskToken;
    m_clozeHint->setText(tr("Append “ %1.”: a masked model fills the %1 slot").arg(maskToken));
    m_clozeHint->setToolTip(
        tr("This model answers fill-in-the-blank prompts: it predicts the token at %1.")
            .arg(maskToken));
    updateClozeHint();
}

void PromptConsole::updateClozeHint() {
    const QString text = m_edit->text();
    const bool show =
        !m_maskToken.isEmpty() && !text.trimmed().isEmpty() && !text.contains(m_maskToken);
    if (show == m_clozeHint->isVisibleTo(this))
        return;
    m_clozeHint->setVisible(show);
    // The hint is a row of its own: the console grows for it and shrinks
    // back, so the chips below are never cut off.
    fitHeight();
}

void PromptConsole::fitHeight() {
    int height = m_edit->sizeHint().height() + layout()->spacing() + m_chipScroll->minimumHeight();
    if (m_clozeHint->isVisibleTo(this))
        height += layout()->spacing() + m_clozeHint->sizeHint().height();
    if (maximumHeight() != height) {
        setMaximumHeight(height);
        Q_EMIT chipRowsChanged();
    }
}

QString PromptConsole::chipText(const QString& token) {
    QString text = token;
    text.replace(QLatin1Char('\n'), QChar(0x21B5));
    text.replace(QLatin1Char('\t'), QChar(0x21E5));
    if (text.startsWith(QLatin1Char(' ')))
        text[0] = QChar(0x00B7);
    return text.isEmpty() ? QStringLiteral("∅") : text;
}

QString PromptConsole::unknownTokenToolTip(const QString& word) {
    return tr("The model does not know the word “%1”; it reads as the unknown token.")
        .arg(word.trimmed());
}

void PromptConsole::setTokens(const QVector<TokenChip>& tokens, int dropped) {
    m_tokens = tokens;
    m_droppedChip->setVisible(dropped > 0);
    if (dropped > 0) {
        m_droppedChip->setText(tr("… %n earlier token(s) not read", nullptr, dropped));
        m_droppedChip->setToolTip(
            tr("The prompt is longer than the model's context: the model reads only the last "
               "%n token(s), shown here.",
               nullptr, tokens.size()));
    }
    while (m_chips.size() < tokens.size()) {
        auto* chip = new QLabel(m_chipArea);
        chip->setProperty("chip", true);
        chip->setTextFormat(Qt::PlainText);
        m_chipLayout->addWidget(chip);
        m_chips.append(chip);
    }
    for (int i = 0; i < m_chips.size(); ++i) {
        QLabel* chip = m_chips.at(i);
        if (i >= tokens.size()) {
            chip->hide();
            continue;
        }
        const TokenChip& token = tokens.at(i);
        chip->setText(chipText(token.text));
        chip->setToolTip(token.unknown ? unknownTokenToolTip(token.text)
                                       : tr("token %1").arg(token.id));
        if (token.mask)
            chip->setToolTip(tr("token %1: the mask, the slot the model fills").arg(token.id));
        if (chip->property("unknown").toBool() != token.unknown ||
            chip->property("mask").toBool() != token.mask) {
            chip->setProperty("unknown", token.unknown);
            chip->setProperty("mask", token.mask);
            // Dynamic properties only restyle after a re-polish.
            chip->style()->unpolish(chip);
            chip->style()->polish(chip);
        }
        chip->show();
    }
    m_chipArea->updateGeometry();
    fitChips();
}

void PromptConsole::fitChips() {
    // Up to three rows of chips show at once; more scroll.
    const int rowHeight = m_droppedChip->sizeHint().height() + 4;
    const int width = std::max(1, m_chipScroll->viewport()->width());
    const int wanted = m_chipLayout->heightForWidth(width);
    const int height = std::min(std::max(wanted, rowHeight), 3 * rowHeight);
    if (m_chipScroll->minimumHeight() != height) {
        m_chipScroll->setFixedHeight(height);
        // The line, the hint when shown and the chips' rows, never the
        // window's spare height.
        fitHeight();
    }
}

void PromptConsole::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    fitChips();
}

QLabel* PromptConsole::tokenChip(int index) const {
    return index >= 0 && index < m_tokens.size() ? m_chips.at(index) : nullptr;
}

bool PromptConsole::eventFilter(QObject* watched, QEvent* event) {
    if (watched == m_edit && event->type() == QEvent::KeyPress) {
        const auto* key = static_cast<QKeyEvent*>(event);
        if (key->key() == Qt::Key_Up) {
            walkHistory(-1);
            return true;
        }
        if (key->key() == Qt::Key_Down) {
            walkHistory(+1);
            return true;
        }
    }
    return QWidget::eventFilter(watched, event);
}

void PromptConsole::submit() {
    const QString text = m_edit->text();
    // Whoever handles the submission should already have seen this text as
    // the current prompt.
    emitPendingChange();
    remember(text);
    m_draft.clear();
    Q_EMIT promptSubmitted(text);
}

void PromptConsole::remember(const QString& text) {
    if (!text.trimmed().isEmpty() && (m_history.isEmpty() || m_history.constLast() != text))
        m_history.append(text);
    m_historyIndex = m_history.size();
}

void PromptConsole::walkHistory(int step) {
    const int target = m_historyIndex + step;
    if (target < 0 || target > m_history.size() || m_history.isEmpty())
        return;
    if (m_historyIndex == m_history.size())
        m_draft = m_edit->text();
    m_historyIndex = target;
    m_edit->setText(target == m_history.size() ? m_draft : m_history.at(target));
}

void PromptConsole::emitPendingChange() {
    if (m_debounce->isActive()) {
        m_debounce->stop();
        Q_EMIT promptChanged(m_edit->text());
    }
}
