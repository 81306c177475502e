#pragma once

#include "WidgetTypes.h"

#include <QStringList>
#include <QVector>
#include <QWidget>

class FlowLayout;
class QScrollArea;
class QLabel;
class QLineEdit;
class QPushButton;
class QTimer;

// The prompt line. Typing emits promptChanged() once the user pauses for the
// debounce interval, so a burst of keystrokes costs one forward pass. Enter
// submits the prompt and records it in a shell-like history that Up and Down
// walk. Under the line, the prompt's tokens show as chips; words the model's
// vocabulary lacks are outlined in red, and a masked model's mask tokens (the
// slots it fills) are dashed blue. For a masked model a prompt without its
// mask token offers, under the line, to append " [MASK]." (a hint the user
// clicks, never a silent rewrite).
class PromptConsole : public QWidget {
    Q_OBJECT

public:
    static constexpr int kDefaultDebounceMs = 50;

    explicit PromptConsole(QWidget* parent = nullptr);

    QString prompt() const;
    // Replaces the text without touching the history; promptChanged() follows
    // after the debounce interval as for typed text.
    void setPrompt(const QString& text);

    int debounceIntervalMs() const;
    void setDebounceIntervalMs(int intervalMs);

    QStringList history() const;
    void setHistory(const QStringList& history);
    // Appends `text` to the history (not twice in a row, never blank)
    // without submitting it.
    void remember(const QString& text);

    // `dropped` earlier tokens were cut to fit the model's context: a chip
    // before the others says so.
    void setTokens(const QVector<TokenChip>& tokens, int dropped = 0);
    // The chip that counts the dropped tokens (hidden when none were).
    QLabel* droppedChip() const { return m_droppedChip; }
    QVector<TokenChip> tokens() const { return m_tokens; }
    int tokenChipCount() const { return m_tokens.size(); }
    // The chip showing token `index`, for inspection; nullptr when out of range.
    QLabel* tokenChip(int index) const;

    QLineEdit* lineEdit() const { return m_edit; }

    // The mask token of a masked model ("[MASK]"), or empty for a causal
    // model: with one, a non-blank prompt without it shows the cloze hint.
    void setClozeMaskToken(const QString& maskToken);
    QString clozeMaskToken() const { return m_maskToken; }
    // The hint's button (hidden unless it applies); clicking it appends
    // " <mask>." to the prompt.
    QPushButton* clozeHint() const { return m_clozeHint; }

    // The text a chip shows for a token: a leading space becomes a visible dot
    // so word starts stand out, line breaks become a return symbol.
    static QString chipText(const QString& token);
    static QString unknownTokenToolTip(const QString& word);

Q_SIGNALS:
    void promptChanged(const QString& text);
    void promptSubmitted(const QString& text);
    // The chips took more or fewer rows: the console's size hint changed.
    void chipRowsChanged();

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;

private:
    void submit();
    void walkHistory(int step);
    void fitChips();
    void fitHeight(); // the line, the hint when shown, the chips
    void emitPendingChange();
    void updateClozeHint();

    QLineEdit* m_edit = nullptr;
    QPushButton* m_clozeHint = nullptr;
    QString m_maskToken;
    QWidget* m_chipArea = nullptr;
    QScrollArea* m_chipScroll = nullptr;
    QLabel* m_droppedChip = nullptr;
    FlowLayout* m_chipLayout = nullptr;
    QTimer* m_debounce = nullptr;
    // Chips are reused across calls because setTokens() runs on every keystroke.
    QVector<QLabel*> m_chips;
    QVector<TokenChip> m_tokens;
    QStringList m_history;
    // Position while walking the history; equal to m_history.size() when the
    // line shows the user's own draft.
    int m_historyIndex = 0;
    QString m_draft;
};
