#include "EditDatasets.h"

#include "AtomicFile.h"
#include "Error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>

namespace scalpel {

namespace {

// Data-set files are parsed whole, so they keep a tighter limit than the
// edit memory's own file, which is read a record at a time.
constexpr std::size_t kMaxImportBytes = std::size_t(256) * 1024 * 1024;

using json = nlohmann::ordered_json;

// A problem with one field of one record.
struct RecordError {
    std::string field;
    std::string message;
};

[[noreturn]] void bad(const std::string& field, const std::string& message) {
    throw RecordError{field, message};
}

bool blank(const std::string& s) {
    return s.find_first_not_of(" \t\r\n") == std::string::npos;
}

std::string lower(std::string s) {
    for (auto& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool containsText(const std::string& text, const std::string& part) {
    return lower(text).find(lower(part)) != std::string::npos;
}

const json* member(const json& j, const char* key) {
    if (!j.is_object())
        return nullptr;
    auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
}

std::string str(const json& j, const char* key, const std::string& field, bool required) {
    const json* v = member(j, key);
    if (!v || v->is_null()) {
        if (required)
            bad(field, "missing");
        return {};
    }
    if (!v->is_string())
        bad(field, "must be a string");
    return v->get<std::string>();
}

std::vector<std::string> strList(const json& j, const char* key, const std::string& field) {
    const json* v = member(j, key);
    if (!v || v->is_null())
        return {};
    if (!v->is_array())
        bad(field, "must be a list of strings");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < v->size(); ++i) {
        if (!(*v)[i].is_string())
            bad(field + "[" + std::to_string(i) + "]", "must be a string");
        out.push_back((*v)[i].get<std::string>());
    }
    return out;
}

// Answers given as a string or a list of strings.
std::vector<std::string> answersOf(const json& v, const std::string& field) {
    if (v.is_string())
        return {v.get<std::string>()};
    if (v.is_array()) {
        std::vector<std::string> out;
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (!v[i].is_string())
                bad(field + "[" + std::to_string(i) + "]", "must be a string");
            out.push_back(v[i].get<std::string>());
        }
        return out;
    }
    bad(field, "must be a string or a list of strings");
}

json answersJson(const std::vector<std::string>& answers) {
    if (answers.size() == 1)
        return answers.front();
    return answers;
}

struct Context {
    const EditImportOptions& options;
    std::string file;
};

void checkTarget(const Context& c, const std::string& target, const std::string& field) {
    if (blank(target))
        bad(field, "is empty: it tokenizes to nothing");
    if (c.options.tokenizesToSomething && !c.options.tokenizesToSomething(target))
        bad(field, "\"" + target + "\" tokenizes to nothing");
}

// "{}" replaced by the subject; the placeholder must be there.
std::string fillPlaceholder(const std::string& prompt, const std::string& subject,
                            const std::string& field) {
    const auto at = prompt.find("{}");
    if (at == std::string::npos)
        bad(field, "has no \"{}\" subject placeholder: \"" + prompt + "\"");
    if (blank(subject))
        bad(field, "its subject is empty");
    std::string out = prompt;
    out.replace(at, 2, subject);
    return out;
}

// The prompt with the subject's first occurrence replaced by "{}".
std::string makeTemplate(const Edit& e, const char* format) {
    const std::string& s = e.descriptor.subject;
    const auto at = s.empty() ? std::string::npos : e.prompt.find(s);
    if (at == std::string::npos)
        throw Error("edit " + e.id + " (\"" + e.prompt + "\"): " + format +
                    " needs a subject that appears in the prompt" +
                    (s.empty() ? " and it has none" : ", and \"" + s + "\" does not"));
    std::string t = e.prompt;
    t.replace(at, s.size(), "{}");
    return t;
}

json extraOf(const Edit& e, const std::string& key) {
    if (e.extraJson.empty())
        return json::object();
    auto extra = json::parse(e.extraJson, nullptr, false);
    if (!extra.is_object() || !extra.contains(key) || !extra[key].is_object())
        return json::object();
    return extra[key];
}

void setExtra(Edit& e, const std::string& key, const json& value) {
    if (value.empty())
        return;
    json extra = e.extraJson.empty() ? json::object() : json::parse(e.extraJson, nullptr, false);
    if (!extra.is_object())
        extra = json::object();
    extra[key] = value;
    e.extraJson = extra.dump();
}

// The record's fields that `known` does not list.
json leftovers(const json& record, const std::set<std::string>& known) {
    json out = json::object();
    for (auto& [k, v] : record.items())
        if (!known.count(k))
            out[k] = v;
    return out;
}

std::string caseIdText(const json& record, const std::string& field) {
    const json* v = member(record, "case_id");
    if (!v)
        return {};
    if (!v->is_number_integer() && !v->is_string())
        bad(field, "must be an integer");
    return v->is_string() ? v->get<std::string>() : std::to_string(v->get<int64_t>());
}

// ---- CounterFact and MQuAKE's rewrites share requested_rewrite's shape.

struct Rewrite {
    std::string prompt, subject, relation, targetNew, targetTrue;
    json leftover; // target ids and other keys
};

Rewrite readRewrite(const Context& c, const json& rw, const std::string& at) {
    if (!rw.is_object())
        bad(at, "must be an object");
    Rewrite r;
    r.subject = str(rw, "subject", at + ".subject", true);
    if (blank(r.subject))
        bad(at + ".subject", "is empty");
    r.prompt = fillPlaceholder(str(rw, "prompt", at + ".prompt", true), r.subject, at + ".prompt");
    r.relation = str(rw, "relation_id", at + ".relation_id", false);
    auto target = [&](const char* key, bool required) {
        const json* t = member(rw, key);
        if (!t) {
            if (required)
                bad(at + "." + key, "missing");
            return std::string();
        }
        if (!t->is_object())
            bad(at + "." + key, "must be an object with \"str\"");
        return str(*t, "str", at + "." + key + ".str", required);
    };
    r.targetNew = target("target_new", true);
    checkTarget(c, r.targetNew, at + ".target_new.str");
    r.targetTrue = target("target_true", false);
    r.leftover = leftovers(rw, {"prompt", "subject", "relation_id"});
    for (const char* key : {"target_new", "target_true"})
        if (r.leftover.contains(key)) {
            json t = r.leftover[key];
            t.erase("str");
            if (t.empty())
                r.leftover.erase(key);
            else
                r.leftover[key] = t;
        }
    return r;
}

json writeRewrite(const Edit& e, const json& leftover, const char* format) {
    json rw = json::object();
    rw["prompt"] = makeTemplate(e, format);
    rw["relation_id"] = e.descriptor.relationId;
    json tn = {{"str", e.answer}}, tt = {{"str", e.descriptor.trueAnswer}};
    if (leftover.contains("target_new"))
        for (auto& [k, v] : leftover["target_new"].items())
            tn[k] = v;
    if (leftover.contains("target_true"))
        for (auto& [k, v] : leftover["target_true"].items())
            tt[k] = v;
    rw["target_new"] = tn;
    rw["target_true"] = tt;
    rw["subject"] = e.descriptor.subject;
    for (auto& [k, v] : leftover.items())
        if (!rw.contains(k))
            rw[k] = v;
    return rw;
}

void sourceOf(Edit& e, const Context& c, const std::string& record) {
    e.descriptor.sourceFile = c.file;
    e.descriptor.sourceRecord = record;
}

// ---- Per-format readers: one record -> edits.

std::vector<Edit> readCounterFact(const Context& c, const json& r, std::size_t index) {
    const json* rwj = member(r, "requested_rewrite");
    if (!rwj)
        bad("requested_rewrite", "missing");
    const Rewrite rw = readRewrite(c, *rwj, "requested_rewrite");
    Edit e;
    e.prompt = rw.prompt;
    e.answer = rw.targetNew;
    e.descriptor.subject = rw.subject;
    e.descriptor.relationId = rw.relation;
    e.descriptor.trueAnswer = rw.targetTrue;
    e.descriptor.paraphrases = strList(r, "paraphrase_prompts", "paraphrase_prompts");
    for (const auto& p : strList(r, "neighborhood_prompts", "neighborhood_prompts"))
        e.descriptor.neighbourhood.push_back({p, {}, ""});
    const std::string id = caseIdText(r, "case_id");
    sourceOf(e, c, id.empty() ? std::to_string(index) : id);
    json left = leftovers(r, {"requested_rewrite", "paraphrase_prompts", "neighborhood_prompts"});
    if (!rw.leftover.empty())
        left["requested_rewrite"] = rw.leftover;
    left["_order"] = json::array();
    for (auto& [k, v] : r.items())
        left["_order"].push_back(k);
    setExtra(e, "counterfact_record", left);
    return {e};
}

std::vector<Edit> readZsre(const Context& c, const json& r, std::size_t index) {
    Edit e;
    e.descriptor.subject = str(r, "subject", "subject", true);
    if (blank(e.descriptor.subject))
        bad("subject", "is empty");
    e.prompt = str(r, "src", "src", true);
    if (blank(e.prompt))
        bad("src", "is empty");
    if (!containsText(e.prompt, e.descriptor.subject))
        bad("subject",
            "\"" + e.descriptor.subject + "\" is not in its prompt \"" + e.prompt + "\"");
    e.answer = str(r, "alt", "alt", true);
    checkTarget(c, e.answer, "alt");
    json left = leftovers(r, {"subject", "src", "alt", "rephrase", "answers", "loc", "loc_ans"});
    const json* answers = member(r, "answers");
    if (answers) {
        const auto a = answersOf(*answers, "answers");
        if (!a.empty())
            e.descriptor.trueAnswer = a.front();
        if (!(answers->is_array() && a.size() == 1))
            left["answers"] = *answers;
    }
    const std::string rephrase = str(r, "rephrase", "rephrase", false);
    if (!rephrase.empty())
        e.descriptor.paraphrases.push_back(rephrase);
    const std::string loc = str(r, "loc", "loc", false);
    const std::string locAns = str(r, "loc_ans", "loc_ans", false);
    if (!loc.empty())
        e.descriptor.neighbourhood.push_back(
            {loc, locAns.empty() ? std::vector<std::string>{} : std::vector<std::string>{locAns},
             ""});
    sourceOf(e, c, std::to_string(index));
    left["_order"] = json::array();
    for (auto& [k, v] : r.items())
        left["_order"].push_back(k);
    setExtra(e, "zsre_record", left);
    return {e};
}

std::vector<Edit> readMquake(const Context& c, const json& r, std::size_t index) {
    const json* rws = member(r, "requested_rewrite");
    if (!rws)
        bad("requested_rewrite", "missing");
    if (!rws->is_array() || rws->empty())
        bad("requested_rewrite", "must be a non-empty list of rewrites");
    const std::string id = caseIdText(r, "case_id");
    const auto questions = strList(r, "questions", "questions");
    const std::string newAnswer = str(r, "new_answer", "new_answer", false);
    const auto aliases = strList(r, "new_answer_alias", "new_answer_alias");
    std::vector<Edit> out;
    for (std::size_t i = 0; i < rws->size(); ++i) {
        const std::string at = "requested_rewrite[" + std::to_string(i) + "]";
        Rewrite rw = readRewrite(c, (*rws)[i], at);
        Edit e;
        e.prompt = rw.prompt;
        e.answer = rw.targetNew;
        e.descriptor.subject = rw.subject;
        e.descriptor.relationId = rw.relation;
        e.descriptor.trueAnswer = rw.targetTrue;
        if (rw.leftover.contains("question") && rw.leftover["question"].is_string()) {
            e.descriptor.paraphrases.push_back(rw.leftover["question"].get<std::string>());
            rw.leftover.erase("question");
        }
        sourceOf(e, c, id.empty() ? std::to_string(index) : id);
        json left = json::object();
        left["rewrite"] = i;
        if (!rw.leftover.empty())
            left["requested_rewrite"] = rw.leftover;
        if (i == 0) {
            std::vector<std::string> expected;
            if (!newAnswer.empty() || !aliases.empty()) {
                expected.push_back(newAnswer);
                expected.insert(expected.end(), aliases.begin(), aliases.end());
            }
            for (const auto& q : questions)
                e.descriptor.portability.push_back({q, expected, "multi-hop"});
            left["case"] =
                leftovers(r, {"requested_rewrite", "questions", "new_answer", "new_answer_alias"});
            left["case_has"] = json::array();
            for (auto& [k, v] : r.items())
                left["case_has"].push_back(k);
        }
        setExtra(e, "mquake_record", left);
        out.push_back(std::move(e));
    }
    return out;
}

std::vector<EditCheck> readKnowEditChecks(const json& r, const char* key) {
    const json* v = member(r, key);
    std::vector<EditCheck> out;
    if (!v || v->is_null())
        return out;
    if (!v->is_object())
        bad(key, "must be an object of categories, each a list of {prompt, ground_truth}");
    for (auto& [category, list] : v->items()) {
        const std::string at = std::string(key) + "." + category;
        if (!list.is_array())
            bad(at, "must be a list of {prompt, ground_truth}");
        for (std::size_t i = 0; i < list.size(); ++i) {
            const std::string ati = at + "[" + std::to_string(i) + "]";
            const json& item = list[i];
            if (!item.is_object())
                bad(ati, "must be an object with \"prompt\" and \"ground_truth\"");
            EditCheck check;
            check.prompt = str(item, "prompt", ati + ".prompt", true);
            check.category = category;
            if (const json* gt = member(item, "ground_truth"))
                check.answers = answersOf(*gt, ati + ".ground_truth");
            out.push_back(std::move(check));
        }
    }
    return out;
}

std::vector<Edit> readKnowEdit(const Context& c, const json& r, std::size_t index) {
    Edit e;
    e.descriptor.subject = str(r, "subject", "subject", true);
    if (blank(e.descriptor.subject))
        bad("subject", "is empty");
    e.prompt = str(r, "prompt", "prompt", true);
    if (blank(e.prompt))
        bad("prompt", "is empty");
    if (!containsText(e.prompt, e.descriptor.subject))
        bad("subject",
            "\"" + e.descriptor.subject + "\" is not in its prompt \"" + e.prompt + "\"");
    const json* tn = member(r, "target_new");
    if (!tn)
        bad("target_new", "missing");
    const auto targets = answersOf(*tn, "target_new");
    if (targets.empty())
        bad("target_new", "is empty: it tokenizes to nothing");
    e.answer = targets.front();
    checkTarget(c, e.answer, "target_new");
    json left = leftovers(r, {"subject", "prompt", "target_new", "ground_truth", "rephrase",
                              "portability", "locality"});
    if (!tn->is_string())
        left["target_new"] = *tn;
    if (const json* gt = member(r, "ground_truth")) {
        const auto a = answersOf(*gt, "ground_truth");
        if (!a.empty())
            e.descriptor.trueAnswer = a.front();
        if (!gt->is_string())
            left["ground_truth"] = *gt;
    }
    if (const json* rp = member(r, "rephrase")) {
        if (rp->is_string())
            e.descriptor.paraphrases.push_back(rp->get<std::string>());
        else
            e.descriptor.paraphrases = strList(r, "rephrase", "rephrase");
        if (!rp->is_string())
            left["rephrase_is_list"] = true;
    }
    e.descriptor.portability = readKnowEditChecks(r, "portability");
    e.descriptor.neighbourhood = readKnowEditChecks(r, "locality");
    sourceOf(e, c, std::to_string(index));
    left["_order"] = json::array();
    for (auto& [k, v] : r.items())
        left["_order"].push_back(k);
    setExtra(e, "knowedit_record", left);
    return {e};
}

// ---- Detection: why `doc` is not in `format` ("" when it may be).

std::string whyNot(EditFormat f, const json& doc) {
    if (f == EditFormat::Scalpel) {
        if (doc.is_object()) {
            if (doc.contains("format") && doc["format"] != "scalpel-edits")
                return "its \"format\" is " + doc["format"].dump() + ", not \"scalpel-edits\"";
            if (!doc.contains("edits"))
                return "it is an object without \"edits\"";
            return {};
        }
        if (!doc.is_array() || doc.empty() || !doc[0].is_object())
            return "it is neither an object with \"edits\" nor a list of edits";
        if (!doc[0].contains("id") || !doc[0].contains("answer"))
            return "record 1 has no \"id\" and \"answer\"";
        return {};
    }
    if (!doc.is_array())
        return "it is not a list of records";
    if (doc.empty())
        return "it has no records";
    const json& r = doc[0];
    if (!r.is_object())
        return "record 1 is not an object";
    switch (f) {
    case EditFormat::CounterFact:
        if (!r.contains("requested_rewrite"))
            return "record 1 has no \"requested_rewrite\"";
        if (!r["requested_rewrite"].is_object())
            return "record 1's \"requested_rewrite\" is not an object";
        return {};
    case EditFormat::Mquake:
        if (!r.contains("requested_rewrite"))
            return "record 1 has no \"requested_rewrite\"";
        if (!r["requested_rewrite"].is_array())
            return "record 1's \"requested_rewrite\" is not a list";
        return {};
    case EditFormat::Zsre:
        if (!r.contains("src") || !r.contains("alt"))
            return "record 1 has no \"src\" and \"alt\"";
        return {};
    case EditFormat::KnowEdit:
        if (!r.contains("prompt") || !r.contains("target_new"))
            return "record 1 has no \"prompt\" and \"target_new\"";
        if (r.contains("requested_rewrite"))
            return "record 1 has a \"requested_rewrite\"";
        return {};
    default:
        return "unknown format";
    }
}

json parseDocument(const std::string& text, const std::string& name) {
    if (blank(text))
        throw Error(name + " is empty; no edits to import");
    try {
        return json::parse(text);
    } catch (const std::exception& ex) {
        throw Error(name + " is none of the edit formats (" +
                    [] {
                        std::string all;
                        for (EditFormat f : allEditFormats())
                            all += (all.empty() ? "" : ", ") + editFormatName(f);
                        return all;
                    }() +
                    " were tried): all are JSON, and it is not (" + ex.what() + ")");
    }
}

EditFormat detect(const json& doc, const std::string& name) {
    std::string why;
    for (EditFormat f : allEditFormats()) {
        const std::string reason = whyNot(f, doc);
        if (reason.empty())
            return f;
        why += (why.empty() ? "" : "; ") + editFormatName(f) + ": " + reason;
    }
    if (doc.is_array() && doc.empty())
        throw Error(name + " has no records; no edits to import");
    throw Error(name + " is none of the edit formats (tried " + why + ")");
}

// ---- Writers.

json orderedLike(const json& record, const json& left) {
    // Keys in the order the imported record had them, new ones after.
    if (!left.contains("_order") || !left["_order"].is_array())
        return record;
    json out = json::object();
    for (const auto& k : left["_order"])
        if (k.is_string() && record.contains(k.get<std::string>()))
            out[k.get<std::string>()] = record[k.get<std::string>()];
    for (auto& [k, v] : record.items())
        if (!out.contains(k))
            out[k] = v;
    return out;
}

// Whether the imported record had `key` (true for edits not imported from
// this format: then every key is written).
bool hadKey(const json& left, const char* key) {
    if (!left.contains("_order") || !left["_order"].is_array())
        return true;
    for (const auto& k : left["_order"])
        if (k == key)
            return true;
    return false;
}

void count(EditExportResult& r, const std::string& field, std::size_t n = 1) {
    if (n)
        r.dropped[field] += n;
}

json writeCounterFact(const Edit& e, EditExportResult& out, std::set<std::string>& caseIds,
                      int64_t& nextCase) {
    const json left = extraOf(e, "counterfact_record");
    json r = json::object();
    json caseId = left.contains("case_id") ? left["case_id"] : json(nullptr);
    if (caseId.is_null() || caseIds.count(caseId.dump())) {
        while (caseIds.count(std::to_string(nextCase)))
            ++nextCase;
        caseId = nextCase++;
    }
    caseIds.insert(caseId.dump());
    r["case_id"] = caseId;
    for (auto& [k, v] : left.items())
        if (k != "_order" && k != "requested_rewrite" && k != "case_id")
            r[k] = v;
    r["requested_rewrite"] = writeRewrite(
        e, left.contains("requested_rewrite") ? left["requested_rewrite"] : json::object(),
        "CounterFact");
    r["paraphrase_prompts"] = e.descriptor.paraphrases;
    json neighbours = json::array();
    for (const auto& n : e.descriptor.neighbourhood) {
        neighbours.push_back(n.prompt);
        if (!n.answers.empty() && n.answers.front() != e.descriptor.trueAnswer)
            count(out, "neighbourhood answers");
    }
    r["neighborhood_prompts"] = neighbours;
    count(out, "portability", e.descriptor.portability.size());
    return orderedLike(r, left);
}

json writeZsre(const Edit& e, EditExportResult& out) {
    const json left = extraOf(e, "zsre_record");
    const auto& d = e.descriptor;
    if (d.subject.empty())
        throw Error("edit " + e.id + " (\"" + e.prompt + "\"): zsRE needs a subject");
    json r = json::object();
    r["subject"] = d.subject;
    r["src"] = e.prompt;
    for (auto& [k, v] : left.items())
        if (k != "_order" && k != "answers")
            r[k] = v;
    if (!d.paraphrases.empty() || hadKey(left, "rephrase"))
        r["rephrase"] = d.paraphrases.empty() ? std::string() : d.paraphrases.front();
    count(out, "paraphrases", d.paraphrases.size() > 1 ? d.paraphrases.size() - 1 : 0);
    r["alt"] = e.answer;
    if (left.contains("answers"))
        r["answers"] = left["answers"];
    else
        r["answers"] = d.trueAnswer.empty() ? json::array() : json::array({d.trueAnswer});
    if (!d.neighbourhood.empty()) {
        r["loc"] = d.neighbourhood.front().prompt;
        r["loc_ans"] =
            d.neighbourhood.front().answers.empty() ? "" : d.neighbourhood.front().answers.front();
        count(out, "neighbourhood", d.neighbourhood.size() - 1);
    } else {
        if (hadKey(left, "loc"))
            r["loc"] = "";
        if (hadKey(left, "loc_ans"))
            r["loc_ans"] = "";
    }
    count(out, "relation_id", d.relationId.empty() ? 0 : 1);
    count(out, "portability", d.portability.size());
    return orderedLike(r, left);
}

json checksByCategory(const std::vector<EditCheck>& checks, const char* fallback) {
    json out = json::object();
    for (const auto& c : checks) {
        const std::string cat = c.category.empty() ? fallback : c.category;
        if (!out.contains(cat))
            out[cat] = json::array();
        json item = {{"prompt", c.prompt}};
        item["ground_truth"] = c.answers.empty() ? json("") : answersJson(c.answers);
        out[cat].push_back(item);
    }
    return out;
}

json writeKnowEdit(const Edit& e, EditExportResult& out) {
    const json left = extraOf(e, "knowedit_record");
    const auto& d = e.descriptor;
    if (d.subject.empty())
        throw Error("edit " + e.id + " (\"" + e.prompt + "\"): KnowEdit needs a subject");
    json r = json::object();
    r["subject"] = d.subject;
    r["prompt"] = e.prompt;
    r["target_new"] = left.contains("target_new") ? left["target_new"] : json(e.answer);
    if (!d.trueAnswer.empty() || hadKey(left, "ground_truth"))
        r["ground_truth"] =
            left.contains("ground_truth") ? left["ground_truth"] : json(d.trueAnswer);
    if (!d.paraphrases.empty() || left.contains("rephrase_is_list")) {
        if (d.paraphrases.size() == 1 && !left.contains("rephrase_is_list"))
            r["rephrase"] = d.paraphrases.front();
        else
            r["rephrase"] = d.paraphrases;
    }
    if (!d.portability.empty() || hadKey(left, "portability"))
        r["portability"] = checksByCategory(d.portability, "portability");
    if (!d.neighbourhood.empty() || hadKey(left, "locality"))
        r["locality"] = checksByCategory(d.neighbourhood, "neighbourhood");
    for (auto& [k, v] : left.items())
        if (k != "_order" && k != "target_new" && k != "ground_truth" && k != "rephrase_is_list")
            r[k] = v;
    count(out, "relation_id", d.relationId.empty() ? 0 : 1);
    return orderedLike(r, left);
}

// Consecutive edits of one MQuAKE case (same source record, rewrites 0, 1,
// ...) make one record again; any other edit is a case of its own.
json writeMquakeCase(const std::vector<const Edit*>& group, EditExportResult& out,
                     std::set<std::string>& caseIds, int64_t& nextCase) {
    const Edit& first = *group.front();
    const json left = extraOf(first, "mquake_record");
    json caseLeft = left.contains("case") ? left["case"] : json::object();
    json r = json::object();
    json caseId = caseLeft.contains("case_id") ? caseLeft["case_id"] : json(nullptr);
    if (caseId.is_null() || caseIds.count(caseId.dump())) {
        while (caseIds.count(std::to_string(nextCase)))
            ++nextCase;
        caseId = nextCase++;
    }
    caseIds.insert(caseId.dump());
    r["case_id"] = caseId;
    json rws = json::array();
    for (const Edit* e : group) {
        const json el = extraOf(*e, "mquake_record");
        json rw = writeRewrite(
            *e, el.contains("requested_rewrite") ? el["requested_rewrite"] : json::object(),
            "MQuAKE");
        if (!e->descriptor.paraphrases.empty())
            rw["question"] = e->descriptor.paraphrases.front();
        count(out, "paraphrases",
              e->descriptor.paraphrases.size() > 1 ? e->descriptor.paraphrases.size() - 1 : 0);
        count(out, "neighbourhood", e->descriptor.neighbourhood.size());
        if (e != &first)
            count(out, "portability", e->descriptor.portability.size());
        rws.push_back(rw);
    }
    r["requested_rewrite"] = rws;
    json questions = json::array();
    std::vector<std::string> expected;
    for (const auto& p : first.descriptor.portability) {
        if (questions.empty())
            expected = p.answers;
        if (p.answers == expected)
            questions.push_back(p.prompt);
        else
            count(out, "portability");
    }
    r["questions"] = questions;
    for (auto& [k, v] : caseLeft.items())
        if (k != "case_id")
            r[k] = v;
    r["new_answer"] = expected.empty() ? "" : expected.front();
    r["new_answer_alias"] =
        expected.size() > 1 ? json(std::vector<std::string>(expected.begin() + 1, expected.end()))
                            : json::array();
    if (left.contains("case_has") && left["case_has"].is_array()) {
        json order = json::object();
        order["_order"] = left["case_has"];
        return orderedLike(r, order);
    }
    return r;
}

} // namespace

std::string editFormatName(EditFormat f) {
    switch (f) {
    case EditFormat::Scalpel:
        return "scalpel";
    case EditFormat::CounterFact:
        return "counterfact";
    case EditFormat::Zsre:
        return "zsre";
    case EditFormat::Mquake:
        return "mquake";
    case EditFormat::KnowEdit:
        return "knowedit";
    }
    return "?";
}

const std::vector<EditFormat>& allEditFormats() {
    static const std::vector<EditFormat> all = {EditFormat::Scalpel, EditFormat::CounterFact,
                                                EditFormat::Zsre, EditFormat::Mquake,
                                                EditFormat::KnowEdit};
    return all;
}

EditFormat parseEditFormat(const std::string& name) {
    std::string all;
    for (EditFormat f : allEditFormats()) {
        if (editFormatName(f) == lower(name))
            return f;
        all += (all.empty() ? "" : ", ") + editFormatName(f);
    }
    throw Error("unknown edit format '" + name + "' (one of " + all + ")");
}

EditFormat detectEditFormat(const std::string& text, const std::string& name) {
    return detect(parseDocument(text, name), name);
}

EditImportResult importEdits(const std::string& text, const std::string& name,
                             const EditImportOptions& options) {
    if (text.size() > kMaxImportBytes)
        throw Error(name + ": larger than " + std::to_string(kMaxImportBytes >> 20) + " MB");
    const json doc = parseDocument(text, name);
    EditImportResult result;
    result.detected = !options.format;
    result.format = options.format ? *options.format : detect(doc, name);
    if (!result.detected) {
        const std::string why = whyNot(result.format, doc);
        if (!why.empty())
            throw Error(name + " is not " + editFormatName(result.format) + ": " + why);
    }
    if (result.format == EditFormat::Scalpel) {
        result.memory = EditMemory::fromJson(text, name);
        result.records = result.memory.size();
        return result;
    }
    Context c{options, name};
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    std::vector<Edit> edits;
    std::set<std::string> caseIds;
    for (std::size_t i = 0; i < doc.size(); ++i) {
        if (options.progress && !options.progress(static_cast<double>(i) / doc.size()))
            throw Cancelled();
        const json& r = doc[i];
        try {
            if (!r.is_object())
                bad("", "is not an object");
            std::vector<Edit> got;
            switch (result.format) {
            case EditFormat::CounterFact:
                got = readCounterFact(c, r, i + 1);
                break;
            case EditFormat::Zsre:
                got = readZsre(c, r, i + 1);
                break;
            case EditFormat::Mquake:
                got = readMquake(c, r, i + 1);
                break;
            default:
                got = readKnowEdit(c, r, i + 1);
                break;
            }
            if (member(r, "case_id")) {
                const std::string id = caseIdText(r, "case_id");
                if (!caseIds.insert(id).second)
                    bad("case_id", id + " is used by an earlier record too");
            }
            for (auto& e : got)
                edits.push_back(std::move(e));
            ++result.records;
        } catch (const RecordError& e) {
            const std::string what = name + ": record " + std::to_string(i + 1) +
                                     (e.field.empty() ? "" : ", " + e.field) + ": " + e.message;
            if (!options.skipBadRecords)
                throw Error(what);
            result.skipped.push_back({i + 1, e.field, e.message});
        }
    }
    if (edits.size() > EditMemory::kMaxEdits)
        throw Error(name + ": more than " + std::to_string(EditMemory::kMaxEdits) + " edits");
    EditMemory m;
    for (std::size_t i = 0; i < edits.size(); ++i) {
        Edit& e = edits[i];
        e.id = "e" + std::to_string(i + 1);
        e.createdMs = e.modifiedMs = now;
        m.insert(e);
    }
    if (options.progress)
        options.progress(1.0);
    result.memory = std::move(m);
    return result;
}

EditImportResult importEditsFile(const std::string& path, const EditImportOptions& options) {
    return importEdits(readFile(path, kMaxImportBytes), path, options);
}

EditExportResult exportEdits(const EditMemory& memory, EditFormat format) {
    EditExportResult out;
    if (format == EditFormat::Scalpel) {
        out.text = memory.toJson();
        out.records = memory.size();
        return out;
    }
    json list = json::array();
    std::set<std::string> caseIds;
    int64_t nextCase = 0;
    // Ids already taken by imported records come first, so new ones avoid them.
    for (const Edit& e : memory.edits())
        for (const char* key : {"counterfact_record", "mquake_record"}) {
            const json left = extraOf(e, key);
            const json* id = left.contains("case_id") ? &left["case_id"]
                             : left.contains("case") && left["case"].contains("case_id")
                                 ? &left["case"]["case_id"]
                                 : nullptr;
            if (id && id->is_number_integer())
                nextCase = std::max<int64_t>(nextCase, id->get<int64_t>() + 1);
        }
    const auto& edits = memory.edits();
    for (std::size_t i = 0; i < edits.size(); ++i) {
        const Edit& e = edits[i];
        if (!e.descriptor.note.empty())
            count(out, "note");
        switch (format) {
        case EditFormat::CounterFact:
            list.push_back(writeCounterFact(e, out, caseIds, nextCase));
            break;
        case EditFormat::Zsre:
            list.push_back(writeZsre(e, out));
            break;
        case EditFormat::KnowEdit:
            list.push_back(writeKnowEdit(e, out));
            break;
        case EditFormat::Mquake: {
            std::vector<const Edit*> group = {&e};
            const json left = extraOf(e, "mquake_record");
            if (left.contains("rewrite") && left["rewrite"] == 0)
                while (i + 1 < edits.size()) {
                    const json next = extraOf(edits[i + 1], "mquake_record");
                    if (!next.contains("rewrite") || next["rewrite"] != group.size() ||
                        edits[i + 1].descriptor.sourceRecord != e.descriptor.sourceRecord)
                        break;
                    group.push_back(&edits[++i]);
                }
            list.push_back(writeMquakeCase(group, out, caseIds, nextCase));
            break;
        }
        default:
            break;
        }
    }
    out.records = list.size();
    out.text = list.dump(2) + "\n";
    return out;
}

} // namespace scalpel
