#pragma once
// Plain values of edit curation as the widgets show them: the whole-memory
// check (duplicates, conflicts, scope captures, unknown answers) and one
// edit's test card. No engine types, so the widgets build without LibTorch.
#include <QMetaType>
#include <QString>
#include <QVector>

// One problem the memory check found; `otherId` empty when it involves one
// edit.
struct MemoryProblemRow {
    QString kind; // "duplicate", "conflict", "scope-capture", "unknown-answer"
    QString editId;
    QString otherId;
    QString text; // the input captured (scope-capture)
    double prob = 0;
    QString reason;
};

struct MemoryCheckData {
    int edits = 0;  // enabled edits checked
    int inputs = 0; // prompts and paraphrases scored for captures
    bool scopeChecked = false;
    QVector<MemoryProblemRow> problems;
    double seconds = 0;
};

// One prompt of an edit's test card: the edit's own prompt, a paraphrase
// (should take the new answer) or a neighbour (must keep the base model's).
struct EditCardRow {
    QString kind; // "prompt", "paraphrase", "neighbour"
    QString prompt;
    double scope = 0; // this edit's scope probability on the prompt
    QString base;     // the base model's top answer
    QString edited;   // the answer with the edit memory
    QString routedTo; // "base" or the edit that answered
    bool pass = false;
};

struct EditCardData {
    QString editId;
    QString prompt;
    QString answer;
    QVector<EditCardRow> rows;
    int paraphrases = 0;
    int paraphrasesPassed = 0;
    int neighbours = 0;
    int neighboursKept = 0;

    bool isEmpty() const { return editId.isEmpty(); }
};

Q_DECLARE_METATYPE(MemoryProblemRow)
Q_DECLARE_METATYPE(EditCardData)
