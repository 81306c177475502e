#pragma once
// The edit memory of memory-based editing: an ordered list of edit
// descriptors ("The capital of Ireland is" -> "Lisbon"), each with a unique
// id, an enabled flag and timestamps. The base model is never changed; the
// memory is what a router consults.
//
// Promises: ids are unique within a memory (add() makes new ones, insert()
// and loading refuse duplicates); every change bumps revision(); save() is
// atomic; a file that cannot be read or parsed is a scalpel::Error and leaves
// the memory it would have replaced untouched (loading builds a new memory);
// fields this version does not know are kept and written back. Torch-free.
//
// An edit may carry a descriptor: what a curator or an edit data set says
// about it (subject, relation, the old answer, prompts that test it). The
// scope classifier and the router read only the prompt and the answer, so a
// descriptor change never changes routing. Files are version 2; version 1
// files (no descriptors) still load; a newer version is an Error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace scalpel {

// A prompt that tests an edit, with the answers expected of it (the first is
// the answer, the rest aliases; none when only "unchanged from the base
// model" is expected) and a category (KnowEdit's "reasoning", ...).
struct EditCheck {
    std::string prompt;
    std::vector<std::string> answers;
    std::string category;
    bool operator==(const EditCheck& o) const {
        return prompt == o.prompt && answers == o.answers && category == o.category;
    }
};

struct EditDescriptor {
    std::string subject;                  // as it appears in the prompt
    std::string relationId;               // "P36", "capital", ...
    std::string trueAnswer;               // the answer before the edit
    std::vector<std::string> paraphrases; // should take the new answer
    std::vector<EditCheck> neighbourhood; // must keep their answer
    std::vector<EditCheck> portability;   // should follow from the edit
    std::string note;
    std::string sourceFile;   // where the edit was imported from
    std::string sourceRecord; // the record there (a case id or an index)
    bool empty() const {
        return subject.empty() && relationId.empty() && trueAnswer.empty() && paraphrases.empty() &&
               neighbourhood.empty() && portability.empty() && note.empty() && sourceFile.empty() &&
               sourceRecord.empty();
    }
    bool operator==(const EditDescriptor& o) const {
        return subject == o.subject && relationId == o.relationId && trueAnswer == o.trueAnswer &&
               paraphrases == o.paraphrases && neighbourhood == o.neighbourhood &&
               portability == o.portability && note == o.note && sourceFile == o.sourceFile &&
               sourceRecord == o.sourceRecord;
    }
};

struct Edit {
    std::string id;
    std::string prompt;
    std::string answer;
    bool enabled = true;
    int64_t createdMs = 0; // milliseconds since the Unix epoch
    int64_t modifiedMs = 0;
    std::string extraJson; // a JSON object of unknown fields, kept on save ("" = none)
    EditDescriptor descriptor;
};

class EditMemory {
public:
    // A million edits of ordinary length with descriptors fit; files are
    // read and written a record at a time, never held whole.
    static constexpr std::size_t kMaxFileBytes = std::size_t(2) * 1024 * 1024 * 1024;
    static constexpr std::size_t kMaxEdits = 4000000;
    static constexpr int kFormatVersion = 2; // files of versions 1 and 2 load

    // A new edit with a fresh id, enabled, timestamped now. An empty prompt
    // or answer is an Error.
    const Edit& add(const std::string& prompt, const std::string& answer,
                    const EditDescriptor& descriptor = {});
    // Puts back a complete edit (the undo of remove); a duplicate id is an
    // Error. `position` < 0 or past the end appends.
    const Edit& insert(const Edit& edit, int position = -1);
    bool remove(const std::string& id);
    bool setEnabled(const std::string& id, bool enabled);
    bool update(const std::string& id, const std::string& prompt, const std::string& answer);
    // Replaces the edit's descriptor (a change like any other: journalled,
    // modifiedMs bumped). False when there is no such edit.
    bool setDescriptor(const std::string& id, const EditDescriptor& descriptor);
    void clear();

    const std::vector<Edit>& edits() const { return m_edits; }
    const Edit* find(const std::string& id) const;
    int indexOf(const std::string& id) const; // -1 when absent
    std::size_t size() const { return m_edits.size(); }
    bool empty() const { return m_edits.empty(); }
    // Changes on every modification; equal revisions mean equal content.
    uint64_t revision() const { return m_revision; }
    // The ids of edits added, changed, enabled, disabled or removed since this
    // memory (or the one it was copied from) had revision `since`, appended
    // to `ids` (possibly repeated). False when `since` is not in its recent
    // history (another memory, a clear() or load since, or more than
    // kJournalMax changes ago): then compare everything. Lets a consumer
    // such as SeracEditor::sync follow one change in O(changes), not O(size).
    bool changedSince(uint64_t since, std::vector<std::string>& ids) const;
    static constexpr std::size_t kJournalMax = 4096;

    std::string toJson() const;
    static EditMemory fromJson(const std::string& text, const std::string& nameForErrors);
    static EditMemory loadFile(const std::string& path);
    void save(const std::string& path) const;

private:
    struct Loader;
    friend struct Loader;
    std::string newId();
    // A new revision; `id` names the one edit changed, "" a change of the
    // whole memory (the journal restarts there).
    void touch(const std::string& id);
    std::vector<Edit> m_edits;
    std::unordered_map<std::string, std::size_t> m_index; // id -> position
    uint64_t m_revision = 0;
    uint64_t m_nextId = 1;
    // (revision, id changed to reach it), oldest first; "" = a restart.
    std::vector<std::pair<uint64_t, std::string>> m_journal;
};

} // namespace scalpel
