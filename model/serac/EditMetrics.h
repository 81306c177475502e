#pragma once
// An edit set evaluated under the names the field uses.
//
// EasyEdit's metrics (Zhang et al. 2024), each a teacher-forced token
// accuracy: the prompt followed by the first k answer tokens, is the
// edited model's top-1 next token answer token k?
// - reliability: the edit prompt, the new answer;
// - generalization: the paraphrases, the new answer;
// - locality: the neighbourhood prompts, teacher-forced with their answer
//   (else the edit's old answer): the share of positions whose top-1 token
//   is the unedited model's top-1 token there;
// - portability: the portability prompts, their first expected answer.
// CounterFact's (Meng et al. 2022), comparing mean per-token log
// probabilities of the new and the old answer: rewrite_success (the prompt,
// P(new) > P(true)), paraphrase_success (share of paraphrases),
// neighborhood_success (share of neighbours with P(their answer, else
// true) > P(new)); only for edits with an old answer.
//
// Methods: SERAC with its trained counterfactual model or in context, and
// the knowledge-neuron fact update (Dai et al. 2022: the fact's neurons are
// found on its prompt and paraphrases with the old answer, then their value
// slots are rewritten; needs single-token old and new answers).
// Modes: batch (every edit applied, then each evaluated; the fact update
// finds every edit's neurons on the unedited model first) and sequential
// (edit i located and applied after edits 1..i-1, then evaluated at once). Weight edits
// are restored before returning. Each total is the mean over the records
// that have the metric. Deterministic. Torch-free header.
#include "EditMemory.h"
#include "LanguageModel.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace scalpel {

enum class EditMethod { Serac, SeracInContext, KnUpdate };
enum class EditEvalMode { Batch, Sequential };

std::string editMethodName(EditMethod m); // "serac", "serac-in-context", "kn-update"
EditMethod parseEditMethod(const std::string& name);
std::string editEvalModeName(EditEvalMode m); // "batch", "sequential"
EditEvalMode parseEditEvalMode(const std::string& name);

struct EditMetricsOptions {
    EditMethod method = EditMethod::Serac;
    EditEvalMode mode = EditEvalMode::Batch;
    std::string seracDir;     // SERAC's folder (the serac methods)
    double threshold = -1;    // SERAC's routing threshold; < 0: its calibrated one
    int limit = -1;           // only the first `limit` enabled edits
    int knSteps = 20;         // attribution steps of the neuron search
    double knThreshold = 0.2; // candidate threshold and share, as kn-edit
    double knShare = 0.7;
    std::function<bool(double)> progress; // false cancels (Cancelled)
};

struct EditRecordMetrics {
    std::string editId;
    std::string prompt;
    double reliability = 0;
    std::optional<double> generalization, locality, portability;
    std::optional<bool> rewriteSuccess;
    std::optional<double> paraphraseSuccess, neighborhoodSuccess;
    std::string note; // why the method could not apply the edit, if so
};

struct EditMetricsTotals {
    int records = 0;
    double reliability = 0;
    std::optional<double> generalization, locality, portability;
    std::optional<double> rewriteSuccess, paraphraseSuccess, neighborhoodSuccess;
    int notApplied = 0; // records the method could not edit (a note says why)
};

struct EditMetricsResult {
    std::string method, mode;
    std::vector<EditRecordMetrics> records;
    EditMetricsTotals totals;
    double seconds = 0;
};

EditMetricsResult evaluateEditMetrics(const std::shared_ptr<LanguageModel>& model,
                                      const EditMemory& memory, const EditMetricsOptions& options);

} // namespace scalpel
