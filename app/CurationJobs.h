#pragma once
// Edit curation as worker jobs: the whole-memory check (EditChecks.h), one
// edit's test card, and paraphrases and neighbours the fact world proposes
// for an edit. Each reads the worker's copy of the edit memory (synced
// before the job runs, since the mailbox keeps a sync ahead of later jobs);
// none changes the memory or the model. None throws.
#include "CurationTypes.h"
#include "WorkerEngine.h"

#include <QStringList>

#include <memory>

namespace scalpel {
class EditMemory;
}

struct MemoryCheckResult {
    bool cancelled = false;
    QString error;
    MemoryCheckData check;
};

struct EditCardRequest {
    QString editId;
};

struct EditCardResult {
    QString error;
    EditCardData card;
};

struct EditCardsResult {
    bool cancelled = false;
    QString error;
    QVector<EditCardData> cards; // summaries only: rows left empty
};

struct ProposeRequest {
    QString editId;
    int paraphrases = 4;
    int neighbours = 4;
};

struct ProposeResult {
    QString error;
    QStringList paraphrases; // not yet on the edit
    QStringList neighbours;
};

// An edit set read on the worker, so a large file neither freezes the window
// nor goes unreported: progress by records read, and cancel.
struct ImportEditsRequest {
    QString path;
};

struct ImportEditsResult {
    bool cancelled = false;
    QString error;
    QString format;  // "counterfact", ...
    int records = 0; // records read
    std::shared_ptr<const scalpel::EditMemory> memory;
};

namespace jobs {

MemoryCheckResult checkMemory(WorkerEngine& engine, JobContext& context);
// Each prompt of the card runs the base model and the routed SERAC
// prediction: a paraphrase (and the edit's own prompt) passes when the
// edited top answer is the edit's answer (its first token), a neighbour
// when the edited top answer is the base model's.
EditCardResult editCard(WorkerEngine& engine, const EditCardRequest& request);
// Every enabled edit's card, with progress and cancel.
EditCardsResult editCards(WorkerEngine& engine, JobContext& context);
// For an edit whose prompt states a fact of the fact world: the fact's other
// wordings (held-out wording first) and the same wording about other
// subjects of the relation.
ProposeResult propose(WorkerEngine& engine, const ProposeRequest& request);
ImportEditsResult importEdits(WorkerEngine& engine, const ImportEditsRequest& request,
                              JobContext& context);

} // namespace jobs
