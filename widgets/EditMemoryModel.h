#pragma once

#include "WidgetTypes.h"

#include <QAbstractTableModel>
#include <QHash>
#include <QPair>
#include <QSet>
#include <QVector>

// The SERAC edit memory as a table: whether each edit is enabled, its prompt,
// its new answer, the scope classifier's probability for the prompt being
// typed, and the summary of its test card once the card has run. Built to stay cheap at 10,000
// edits: lookups by id are O(1), a new set of scope scores is one dataChanged over one column, and
// moving the routed highlight touches two rows.
//
// Edits the user makes in the table (checkbox, prompt, answer) are applied and
// reported by editChanged() with the old and new row, so the caller can wrap
// them in an undo command. The programmatic setters never emit editChanged().
class EditMemoryModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column {
        EnabledColumn = 0,
        PromptColumn,
        AnswerColumn,
        ScopeColumn,
        TestsColumn,
        ColumnCount
    };
    enum Role {
        IdRole = Qt::UserRole + 1,
        // The scope probability as a double (NaN when unscored), for sorting
        // and for the bar delegate.
        ScopeValueRole,
        ScopeStageRole,
        RoutedRole,
        // The weaker of the edit's test-card rates (paraphrases passed,
        // neighbours kept) as a double, NaN when its card has not run or has
        // no tests: sorting ascending puts the weakest edits first.
        TestsValueRole,
    };

    explicit EditMemoryModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

    void setEdits(const QVector<EditRow>& edits);
    // Returns false (and changes nothing) when the id is already present.
    bool addEdit(const EditRow& edit);
    bool removeEdit(const QString& id);
    // Replaces the row with edit.id; false when no such edit.
    bool updateEdit(const EditRow& edit);
    // Scores every edit at once; edits missing from the hash become unscored.
    void setScopes(const QHash<QString, QPair<double, QString>>& probAndStage);
    // Highlights the edit the router picked; an empty or unknown id clears it.
    void setRoutedEdit(const QString& id);
    QString routedEdit() const { return m_routedId; }
    // The summary of an edit's test card; a change to the edit forgets it.
    void setCardSummary(const QString& id, int paraphrases, int paraphrasesPassed, int neighbours,
                        int neighboursKept);
    // Every card is stale (the weights or the model changed).
    void clearCardSummaries();

    EditRow edit(int row) const;
    // The row itself, without a copy (row in range), for the proxy's
    // filter and sort over many rows.
    const EditRow& rowAt(int row) const { return m_edits[row]; }
    int rowOfId(const QString& id) const { return m_rowOfId.value(id, -1); }
    // TestsValueRole of a row without a QVariant (row in range).
    double testsValue(int row) const;
    QVector<EditRow> edits() const { return m_edits; }

    // "0.97 · cross-attention", or "—" when unscored.
    static QString scopeText(double prob, const QString& stage);

Q_SIGNALS:
    void editChanged(const QString& id, const EditRow& newValue, const EditRow& oldValue);

private:
    void reindexFrom(int row);
    // Keeps m_scored up to date with one row's score.
    void noteScore(const EditRow& edit);

    struct CardSummary {
        int paraphrases = 0, passed = 0, neighbours = 0, kept = 0;
    };

    QVector<EditRow> m_edits;
    QHash<QString, CardSummary> m_cards;
    QHash<QString, int> m_rowOfId;
    QSet<QString> m_scored; // ids of the rows with a score
    QString m_routedId;
};
