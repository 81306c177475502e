#pragma once
// Conflict and overlap checks over a whole edit memory:
//
// - duplicate: the same prompt (case and spacing aside) with the same answer
//   as an earlier edit;
// - conflict: the same prompt, or the same subject and relation, as an
//   earlier edit with a different answer (subject and relation from the
//   descriptor, else from the fact world when the prompt is one of its
//   templates);
// - scope-capture: an edit's scope fires (probability above the editor's
//   threshold) on the prompt or a paraphrase of another edit with another
//   answer, so that input would be answered by the wrong edit (pairs
//   already reported as duplicates or conflicts are not repeated); candidates come from the
//   embedding stage over all edits at once, only the best few per input go through cross-attention
//   (SeracEditor::captures);
// - unknown-answer: the answer is not in the base model's vocabulary.
//
// Every enabled edit is checked (disabled ones are left out). Each problem
// names the edit and, where there is one, the other edit, with a reason a
// person can act on. Deterministic. Torch-free header.
#include "EditMemory.h"
#include "SeracEditor.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace scalpel {

class FactWorld;

struct EditProblem {
    std::string kind; // "duplicate", "conflict", "scope-capture", "unknown-answer"
    std::string editId;
    int editIndex = -1;  // position in the memory
    std::string otherId; // "" when the problem involves one edit
    int otherIndex = -1;
    std::string text; // the input captured (scope-capture)
    double prob = 0;  // the scope probability (scope-capture)
    std::string reason;
};

struct EditCheckOptions {
    // Scope captures need the editor; without one they are not looked for.
    const SeracEditor* editor = nullptr;
    // Unknown answers need a model; the editor's base model when not given.
    const LanguageModel* model = nullptr;
    // Infers subject and relation of descriptor-less fact-world prompts.
    const FactWorld* world = nullptr;
    int topK = 4; // cross-attention candidates per input
    // Of those, only the ones whose embedding probability is at least this
    // go through cross-attention (SeracEditor::captures).
    double candidateFloor = 0.05;
    std::function<bool(double)> progress; // false cancels (Cancelled)
};

struct EditCheckReport {
    int edits = 0;  // enabled edits checked
    int inputs = 0; // prompts and paraphrases scored for captures
    std::vector<EditProblem> problems;
    std::map<std::string, int> counts; // problems per kind
    double seconds = 0;
    double scopeSeconds = 0; // of which in SeracEditor::captures
};

// `editor` must have been synced with `memory` (sync() is the caller's, so
// a studio's editor is not changed behind its back).
EditCheckReport checkEdits(const EditMemory& memory, const EditCheckOptions& options);

} // namespace scalpel
