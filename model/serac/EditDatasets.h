#pragma once
// The field's edit data sets, in and out, record for record:
//
// - CounterFact (Meng et al. 2022, ROME): one edit per record, from
//   requested_rewrite (prompt with the "{}" subject placeholder, subject,
//   relation_id, target_new.str, target_true.str); paraphrase_prompts and
//   neighborhood_prompts become the edit's paraphrases and neighbourhood.
// - zsRE, the MEND split (Mitchell et al. 2022): src -> alt, answers[0] the
//   old answer, rephrase a paraphrase, loc / loc_ans a neighbour.
// - MQuAKE (Zhong et al. 2023): each requested_rewrite entry is one edit;
//   the case's questions with new_answer (and its aliases) become the
//   portability checks of its first edit.
// - KnowEdit (Zhang et al. 2024, EasyEdit): subject, prompt, target_new,
//   ground_truth, rephrase, portability and locality {category: [{prompt,
//   ground_truth}]}.
// - Scalpel's own edit-memory file (EditMemory::toJson).
//
// Promises: importing is all or nothing (a bad record is an Error naming
// its index and field, or, with skipBadRecords, reported and left out; the
// file itself being none of the formats, empty, or holding duplicate case
// ids is always an Error); when no format is given, the one that fits is
// detected, and when none fits the Error says why each was ruled out. The
// fields of a record that the edit descriptor has no place for are kept in
// the edit's extra JSON (under "<format>_record"), so importing a file and
// exporting it to the same format gives back the same records. Exporting
// to a format drops what it cannot hold and counts it. Torch-free.
#include "EditMemory.h"

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace scalpel {

enum class EditFormat { Scalpel, CounterFact, Zsre, Mquake, KnowEdit };

// "scalpel", "counterfact", "zsre", "mquake", "knowedit".
std::string editFormatName(EditFormat format);
// The inverse; an unknown name is an Error listing the names.
EditFormat parseEditFormat(const std::string& name);
const std::vector<EditFormat>& allEditFormats();

struct EditImportOptions {
    std::optional<EditFormat> format; // detected when not given
    // Leave bad records out (each reported in ImportResult::skipped) instead
    // of failing the whole import.
    bool skipBadRecords = false;
    // Whether a new answer gives at least one token (a tokenizer's view);
    // without it only blank answers are refused.
    std::function<bool(const std::string&)> tokenizesToSomething;
    // Fraction of records read; returning false cancels (Cancelled).
    std::function<bool(double)> progress;
};

struct SkippedRecord {
    std::size_t index = 0; // 1-based record number in the file
    std::string field;     // "requested_rewrite.prompt", ...
    std::string message;
};

struct EditImportResult {
    EditFormat format = EditFormat::Scalpel;
    bool detected = false; // the format was detected, not given
    EditMemory memory;
    std::size_t records = 0; // records read (an MQuAKE case may give several edits)
    std::vector<SkippedRecord> skipped;
};

EditImportResult importEdits(const std::string& text, const std::string& nameForErrors,
                             const EditImportOptions& options = {});
EditImportResult importEditsFile(const std::string& path, const EditImportOptions& options = {});

// Which format `text` is in; an Error says why each format was ruled out.
EditFormat detectEditFormat(const std::string& text, const std::string& nameForErrors);

struct EditExportResult {
    std::string text;        // the file's content
    std::size_t records = 0; // records written
    // Values the format has no place for, by field ("portability": 3, ...).
    std::map<std::string, std::size_t> dropped;
    std::size_t droppedTotal() const {
        std::size_t n = 0;
        for (const auto& [k, v] : dropped)
            n += v;
        return n;
    }
};

// Every edit of the memory (enabled or not) in `format`. An edit the format
// cannot express at all (CounterFact and MQuAKE need a subject inside the
// prompt) is an Error naming it; nothing is returned half-done.
EditExportResult exportEdits(const EditMemory& memory, EditFormat format);

} // namespace scalpel
