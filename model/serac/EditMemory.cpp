#include "EditMemory.h"

#include "AtomicFile.h"
#include "Error.h"
#include "JsonFields.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>

namespace scalpel {

namespace {

int64_t nowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Revisions are unique across all memories of the process, so a consumer
// that caches by revision cannot confuse a reloaded memory with the old one.
uint64_t nextRevision() {
    static std::atomic<uint64_t> counter{1};
    return counter++;
}

void checkText(const std::string& prompt, const std::string& answer) {
    auto blank = [](const std::string& s) {
        return s.find_first_not_of(" \t\r\n") == std::string::npos;
    };
    if (blank(prompt))
        throw Error("an edit needs a prompt");
    if (blank(answer))
        throw Error("an edit needs an answer");
}

const char* const kKnownKeys[] = {"id", "prompt", "answer", "enabled", "created_ms", "modified_ms"};
// The descriptor's keys (version 2). A key of these holding another type
// than the descriptor's (a version 1 file's own "note" object, say) is an
// unknown field, kept as it is, so every file this reads it can write back.
const char* const kDescriptorKeys[] = {"subject",       "relation_id", "true_answer", "paraphrases",
                                       "neighbourhood", "portability", "note",        "source"};

using ojson = nlohmann::ordered_json;

ojson checksJson(const std::vector<EditCheck>& checks) {
    ojson list = ojson::array();
    for (const EditCheck& c : checks) {
        ojson j = {{"prompt", c.prompt}};
        if (!c.answers.empty())
            j["answers"] = c.answers;
        if (!c.category.empty())
            j["category"] = c.category;
        list.push_back(std::move(j));
    }
    return list;
}

void putDescriptor(ojson& j, const EditDescriptor& d) {
    auto str = [&](const char* key, const std::string& v) {
        if (!v.empty())
            j[key] = v;
    };
    str("subject", d.subject);
    str("relation_id", d.relationId);
    str("true_answer", d.trueAnswer);
    if (!d.paraphrases.empty())
        j["paraphrases"] = d.paraphrases;
    if (!d.neighbourhood.empty())
        j["neighbourhood"] = checksJson(d.neighbourhood);
    if (!d.portability.empty())
        j["portability"] = checksJson(d.portability);
    str("note", d.note);
    if (!d.sourceFile.empty() || !d.sourceRecord.empty())
        j["source"] = {{"file", d.sourceFile}, {"record", d.sourceRecord}};
}

bool isStringList(const ojson& v) {
    if (!v.is_array())
        return false;
    for (const auto& x : v)
        if (!x.is_string())
            return false;
    return true;
}

bool isCheckList(const ojson& v) {
    if (!v.is_array())
        return false;
    for (const auto& c : v) {
        if (!c.is_object() || !c.contains("prompt") || !c["prompt"].is_string())
            return false;
        if (c.contains("answers") && !isStringList(c["answers"]))
            return false;
        if (c.contains("category") && !c["category"].is_string())
            return false;
    }
    return true;
}

// Whether `v` has the type the descriptor's `key` needs.
bool descriptorTypeFits(const std::string& key, const ojson& v) {
    if (key == "paraphrases")
        return isStringList(v);
    if (key == "neighbourhood" || key == "portability")
        return isCheckList(v);
    if (key == "source")
        return v.is_object() && (!v.contains("file") || v["file"].is_string()) &&
               (!v.contains("record") || v["record"].is_string());
    return v.is_string();
}

void readDescriptorKey(EditDescriptor& d, const std::string& key, const ojson& v) {
    auto checks = [&](std::vector<EditCheck>& out) {
        for (const auto& c : v)
            out.push_back({c["prompt"].get<std::string>(),
                           c.contains("answers") ? c["answers"].get<std::vector<std::string>>()
                                                 : std::vector<std::string>{},
                           c.contains("category") ? c["category"].get<std::string>() : ""});
    };
    if (key == "subject")
        d.subject = v.get<std::string>();
    else if (key == "relation_id")
        d.relationId = v.get<std::string>();
    else if (key == "true_answer")
        d.trueAnswer = v.get<std::string>();
    else if (key == "paraphrases")
        d.paraphrases = v.get<std::vector<std::string>>();
    else if (key == "neighbourhood")
        checks(d.neighbourhood);
    else if (key == "portability")
        checks(d.portability);
    else if (key == "note")
        d.note = v.get<std::string>();
    else if (key == "source") {
        d.sourceFile = v.contains("file") ? v["file"].get<std::string>() : "";
        d.sourceRecord = v.contains("record") ? v["record"].get<std::string>() : "";
    }
}

} // namespace

void EditMemory::touch(const std::string& id) {
    m_revision = nextRevision();
    if (id.empty())
        m_journal.clear();
    else if (m_journal.size() >= 2 * kJournalMax) // trimmed in halves: O(1) amortised
        m_journal.erase(m_journal.begin(),
                        m_journal.begin() + static_cast<std::ptrdiff_t>(kJournalMax));
    m_journal.emplace_back(m_revision, id);
}

bool EditMemory::changedSince(uint64_t since, std::vector<std::string>& ids) const {
    if (since == m_revision)
        return true;
    // Revisions only grow, so the journal is sorted by them.
    auto it = std::lower_bound(m_journal.begin(), m_journal.end(), since,
                               [](const auto& entry, uint64_t r) { return entry.first < r; });
    if (it == m_journal.end() || it->first != since)
        return false;
    for (++it; it != m_journal.end(); ++it) {
        if (it->second.empty())
            return false;
        ids.push_back(it->second);
    }
    return true;
}

std::string EditMemory::newId() {
    for (;;) {
        std::string id = "e" + std::to_string(m_nextId++);
        if (!m_index.count(id))
            return id;
    }
}

const Edit& EditMemory::add(const std::string& prompt, const std::string& answer,
                            const EditDescriptor& descriptor) {
    checkText(prompt, answer);
    if (m_edits.size() >= kMaxEdits)
        throw Error("the edit memory is full (" + std::to_string(kMaxEdits) + " edits)");
    Edit e;
    e.id = newId();
    e.prompt = prompt;
    e.answer = answer;
    e.descriptor = descriptor;
    e.createdMs = e.modifiedMs = nowMs();
    m_index.emplace(e.id, m_edits.size());
    m_edits.push_back(std::move(e));
    touch(m_edits.back().id);
    return m_edits.back();
}

const Edit& EditMemory::insert(const Edit& edit, int position) {
    if (edit.id.empty())
        throw Error("an edit needs an id");
    if (m_index.count(edit.id))
        throw Error("the edit memory already has an edit with id '" + edit.id + "'");
    checkText(edit.prompt, edit.answer);
    std::size_t at = position < 0 || static_cast<std::size_t>(position) > m_edits.size()
                         ? m_edits.size()
                         : static_cast<std::size_t>(position);
    m_edits.insert(m_edits.begin() + static_cast<std::ptrdiff_t>(at), edit);
    if (at + 1 == m_edits.size()) {
        m_index.emplace(edit.id, at);
    } else {
        for (std::size_t i = at; i < m_edits.size(); ++i)
            m_index[m_edits[i].id] = i;
    }
    touch(m_edits[at].id);
    return m_edits[at];
}

bool EditMemory::remove(const std::string& id) {
    auto it = m_index.find(id);
    if (it == m_index.end())
        return false;
    const std::size_t at = it->second;
    const std::string removed = id; // `id` may live in the edit erased below
    m_index.erase(it);
    m_edits.erase(m_edits.begin() + static_cast<std::ptrdiff_t>(at));
    for (std::size_t i = at; i < m_edits.size(); ++i)
        m_index[m_edits[i].id] = i;
    touch(removed);
    return true;
}

bool EditMemory::setEnabled(const std::string& id, bool enabled) {
    auto it = m_index.find(id);
    if (it == m_index.end())
        return false;
    Edit& e = m_edits[it->second];
    if (e.enabled != enabled) {
        e.enabled = enabled;
        e.modifiedMs = nowMs();
        touch(id);
    }
    return true;
}

bool EditMemory::update(const std::string& id, const std::string& prompt,
                        const std::string& answer) {
    auto it = m_index.find(id);
    if (it == m_index.end())
        return false;
    checkText(prompt, answer);
    Edit& e = m_edits[it->second];
    e.prompt = prompt;
    e.answer = answer;
    e.modifiedMs = nowMs();
    touch(id);
    return true;
}

bool EditMemory::setDescriptor(const std::string& id, const EditDescriptor& descriptor) {
    auto it = m_index.find(id);
    if (it == m_index.end())
        return false;
    Edit& e = m_edits[it->second];
    e.descriptor = descriptor;
    e.modifiedMs = nowMs();
    touch(id);
    return true;
}

void EditMemory::clear() {
    m_edits.clear();
    m_index.clear();
    touch("");
}

const Edit* EditMemory::find(const std::string& id) const {
    auto it = m_index.find(id);
    return it == m_index.end() ? nullptr : &m_edits[it->second];
}

int EditMemory::indexOf(const std::string& id) const {
    auto it = m_index.find(id);
    return it == m_index.end() ? -1 : static_cast<int>(it->second);
}

namespace {

nlohmann::ordered_json editToJson(const Edit& e) {
    nlohmann::ordered_json j = {
        {"id", e.id},           {"prompt", e.prompt},        {"answer", e.answer},
        {"enabled", e.enabled}, {"created_ms", e.createdMs}, {"modified_ms", e.modifiedMs}};
    putDescriptor(j, e.descriptor);
    if (!e.extraJson.empty()) {
        auto extra = nlohmann::ordered_json::parse(e.extraJson, nullptr, false);
        if (extra.is_object())
            for (auto& [k, v] : extra.items())
                if (!j.contains(k))
                    j[k] = v;
    }
    return j;
}

// The document a record at a time, laid out as ordered_json::dump(2) lays
// out the whole of it.
void writeMemory(const std::vector<Edit>& edits, int version, const AtomicSink& sink) {
    auto put = [&](const std::string& s) { sink(s.data(), s.size()); };
    put("{\n  \"format\": \"scalpel-edits\",\n  \"version\": " + std::to_string(version) +
        ",\n  \"edits\": [");
    if (edits.empty()) {
        put("]\n}\n");
        return;
    }
    for (std::size_t i = 0; i < edits.size(); ++i) {
        std::string text = editToJson(edits[i]).dump(2);
        std::string indented = i ? ",\n    " : "\n    ";
        indented.reserve(text.size() + 64);
        for (char c : text) { // raw newlines only come from the layout
            indented += c;
            if (c == '\n')
                indented += "    ";
        }
        put(indented);
    }
    put("\n  ]\n}\n");
}

} // namespace

std::string EditMemory::toJson() const {
    std::string out;
    writeMemory(m_edits, kFormatVersion, [&](const char* d, std::size_t n) { out.append(d, n); });
    return out;
}

// Reads a memory one edit record at a time: the parser hands each record of
// the "edits" list (or of a bare list) over as soon as it is complete and
// drops it from the document, so only the edits themselves stay in memory.
struct EditMemory::Loader {
    using Json = nlohmann::ordered_json;
    using Event = Json::parse_event_t;
    const std::string& name;
    EditMemory m;
    uint64_t maxNumeric = 0;
    std::size_t count = 0;
    bool bare = false, inEdits = false, editsKey = false;
    int recordDepth = -1;

    bool onEvent(int depth, Event ev, Json& parsed) {
        if (depth == 0 && ev == Event::array_start) {
            bare = inEdits = true;
            recordDepth = 1;
        } else if (!bare && depth == 1 && ev == Event::key) {
            editsKey = parsed == "edits";
        } else if (!bare && depth == 1 && ev == Event::array_start && editsKey) {
            inEdits = true;
            recordDepth = 2;
        } else if (inEdits && depth == recordDepth - 1 && ev == Event::array_end) {
            inEdits = false;
        } else if (inEdits && depth == recordDepth) {
            if (ev == Event::value || ev == Event::array_start)
                throw Error(name + ": edit " + std::to_string(count + 1) + " is not an object");
            if (ev == Event::object_end) {
                add(parsed);
                return false; // handed over: not kept in the document
            }
        }
        return true;
    }

    void add(const Json& j) {
        if (++count > kMaxEdits)
            throw Error(name + ": more than " + std::to_string(kMaxEdits) + " edits");
        const std::string where = name + ": edit " + std::to_string(count);
        auto str = [&](const char* key, bool required) -> std::string {
            if (!j.contains(key)) {
                if (required)
                    throw Error(where + " has no \"" + key + "\"");
                return {};
            }
            if (!j[key].is_string())
                throw Error(where + ": \"" + key + "\" must be a string");
            return j[key].get<std::string>();
        };
        auto integer = [&](const char* key) -> int64_t {
            if (!j.contains(key))
                return 0;
            if (!j[key].is_number_integer())
                throw Error(where + ": \"" + key + "\" must be an integer");
            return j[key].get<int64_t>();
        };
        Edit e;
        e.id = str("id", true);
        e.prompt = str("prompt", true);
        e.answer = str("answer", true);
        if (j.contains("enabled")) {
            if (!j["enabled"].is_boolean())
                throw Error(where + ": \"enabled\" must be true or false");
            e.enabled = j["enabled"].get<bool>();
        }
        e.createdMs = integer("created_ms");
        e.modifiedMs = integer("modified_ms");
        Json extra = Json::object();
        for (auto& [k, v] : j.items()) {
            bool known = false, descriptorKey = false;
            for (const char* kk : kKnownKeys)
                known = known || k == kk;
            for (const char* kk : kDescriptorKeys)
                descriptorKey = descriptorKey || k == kk;
            if (descriptorKey && descriptorTypeFits(k, v)) {
                readDescriptorKey(e.descriptor, k, v);
            } else if (!known) {
                extra[k] = v;
            }
        }
        if (!extra.empty())
            e.extraJson = extra.dump();
        if (e.id.empty())
            throw Error(where + " has an empty id");
        if (m.m_index.count(e.id))
            throw Error(name + ": the id '" + e.id + "' is used by more than one edit");
        try {
            checkText(e.prompt, e.answer);
        } catch (const Error& ex) {
            throw Error(where + ": " + ex.what());
        }
        if (e.id.size() > 1 && e.id[0] == 'e' &&
            e.id.find_first_not_of("0123456789", 1) == std::string::npos && e.id.size() < 19)
            maxNumeric = std::max<uint64_t>(maxNumeric, std::stoull(e.id.substr(1)));
        m.m_index.emplace(e.id, m.m_edits.size());
        m.m_edits.push_back(std::move(e));
    }

    // What is left of the document once the records are handed over.
    EditMemory finish(const Json& doc) {
        if (doc.is_object()) {
            if (doc.contains("version")) {
                if (!doc["version"].is_number_integer())
                    throw Error(name + ": \"version\" must be an integer");
                const auto v = doc["version"].get<int64_t>();
                if (v < 1 || v > kFormatVersion)
                    throw Error(name + ": edit-memory format version " + std::to_string(v) +
                                " is not one this Scalpel reads (1 to " +
                                std::to_string(kFormatVersion) + ")");
            }
            if (!doc.contains("edits"))
                throw Error(name + ": no \"edits\" list; not an edit memory");
            if (!doc["edits"].is_array())
                throw Error(name + ": \"edits\" must be a list");
        } else if (!doc.is_array()) {
            throw Error(name + ": \"edits\" must be a list");
        }
        m.m_nextId = maxNumeric + 1;
        m.touch("");
        return std::move(m);
    }

    template <typename Input> EditMemory run(Input&& input) {
        Json doc;
        try {
            doc =
                Json::parse(std::forward<Input>(input), [this](int depth, Event ev, Json& parsed) {
                    return onEvent(depth, ev, parsed);
                });
        } catch (const nlohmann::json::exception& ex) {
            throw Error(name + ": not valid JSON (" + jsonMessage(ex) + ")");
        }
        return finish(doc);
    }
};

EditMemory EditMemory::fromJson(const std::string& text, const std::string& name) {
    if (text.size() > kMaxFileBytes)
        throw Error(name + ": larger than " + std::to_string(kMaxFileBytes >> 20) +
                    " MB; not an edit memory");
    Loader loader{name, {}};
    return loader.run(text);
}

EditMemory EditMemory::loadFile(const std::string& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec)
        throw Error("cannot open " + path + ": " + ec.message());
    if (size > kMaxFileBytes)
        throw Error(path + ": larger than " + std::to_string(kMaxFileBytes >> 20) +
                    " MB; not an edit memory");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("cannot open " + path);
    Loader loader{path, {}};
    return loader.run(in);
}

void EditMemory::save(const std::string& path) const {
    writeFileAtomically(
        path, [&](const AtomicSink& sink) { writeMemory(m_edits, kFormatVersion, sink); });
}

} // namespace scalpel
