#pragma once

#include "CurationTypes.h"

#include <QWidget>

class QLabel;
class QPushButton;
class QTableWidget;

// An edit's test card: its prompt, its paraphrases (should take the new
// answer) and its neighbourhood prompts (must keep the base model's), each
// with this edit's scope probability, the base and the edited answer and a
// pass or fail mark, under a summary ("paraphrases 3/4 · neighbours 5/5
// kept"). The buttons only ask: the owner adds a paraphrase or neighbour to
// the edit (one undo step each) or has the fact world propose them.
class EditCardView : public QWidget {
    Q_OBJECT

public:
    explicit EditCardView(QWidget* parent = nullptr);

    void setCard(const EditCardData& card);
    // No edit selected (or several).
    void clear(const QString& why = {});
    const EditCardData& card() const { return m_card; }
    QString summary() const;
    QTableWidget* table() const { return m_table; }
    QPushButton* proposeButton() const { return m_propose; }

Q_SIGNALS:
    void addParaphraseRequested(const QString& editId);
    void addNeighbourRequested(const QString& editId);
    void proposeRequested(const QString& editId);

private:
    QLabel* m_title = nullptr;
    QLabel* m_summary = nullptr;
    QTableWidget* m_table = nullptr;
    QPushButton* m_addParaphrase = nullptr;
    QPushButton* m_addNeighbour = nullptr;
    QPushButton* m_propose = nullptr;
    EditCardData m_card;
};
