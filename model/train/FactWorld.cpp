#include "FactWorld.h"

#include "AtomicFile.h"
#include "Error.h"
#include "JsonFields.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <set>

namespace scalpel {

namespace {

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
    std::size_t pos = 0;
    while ((pos = s.find(from, pos)) != std::string::npos) {
        s.replace(pos, from.size(), to);
        pos += to.size();
    }
    return s;
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\n");
    if (b == std::string::npos)
        return std::string();
    const auto e = s.find_last_not_of(" \t\n");
    return s.substr(b, e - b + 1);
}

std::string squeeze(const std::string& s) {
    std::string out;
    bool space = false;
    for (char c : trim(s)) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            space = true;
            continue;
        }
        if (space && !out.empty())
            out.push_back(' ');
        space = false;
        out.push_back(c);
    }
    return out;
}

} // namespace

FactWorld FactWorld::load(const std::string& factsPath) {
    const std::string facts = readFile(factsPath, 64u << 20);
    nlohmann::json j = nlohmann::json::parse(facts, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw Error(factsPath + ": not a JSON object");
    const std::string templatesName =
        jsonField(j, "templates", std::string("templates.json"), factsPath);
    const auto templatesPath =
        (std::filesystem::path(factsPath).parent_path() / templatesName).string();
    return fromJson(facts, readFile(templatesPath, 16u << 20), factsPath);
}

FactWorld FactWorld::fromJson(const std::string& factsJson, const std::string& templatesJson,
                              const std::string& where) {
    return readingJson(where, [&] { return parse(factsJson, templatesJson, where); });
}

FactWorld FactWorld::parse(const std::string& factsJson, const std::string& templatesJson,
                           const std::string& where) {
    FactWorld w;
    nlohmann::json f = nlohmann::json::parse(factsJson, nullptr, false);
    nlohmann::json t = nlohmann::json::parse(templatesJson, nullptr, false);
    if (f.is_discarded() || !f.is_object() || !f.contains("facts") || !f["facts"].is_array())
        throw Error(where + ": no 'facts' array");
    if (t.is_discarded() || !t.is_object() || !t.contains("relations") ||
        !t["relations"].is_object())
        throw Error(where + ": the templates file has no 'relations' object");
    if (f.contains("relations") && f["relations"].is_array())
        for (const auto& r : f["relations"])
            w.m_relations.push_back({jsonField(r, "id", std::string(), where),
                                     jsonField(r, "wikidata", std::string(), where),
                                     jsonField(r, "count", 0, where)});
    for (const auto& x : f["facts"]) {
        if (!x.is_object() || !x.contains("subject") || !x.contains("relation") ||
            !x.contains("object") || !x["subject"].is_string() || !x["relation"].is_string() ||
            !x["object"].is_string())
            throw Error(where + ": a fact lacks subject, relation or object");
        w.m_facts.push_back({x["subject"].get<std::string>(), x["relation"].get<std::string>(),
                             x["object"].get<std::string>()});
    }
    const std::string sentence = jsonField(t, "sentence", std::string("{head} {tail} ."), where);
    for (auto it = t["relations"].begin(); it != t["relations"].end(); ++it) {
        const std::string rel = it.key();
        const auto& r = *it;
        const auto heads = jsonField(r, "heads", std::vector<std::string>(), where);
        const auto tails = jsonField(r, "tails", std::vector<std::string>(), where);
        std::set<std::pair<int, int>> held;
        for (const auto& h : jsonField(r, "heldout", nlohmann::json::array(), where)) {
            if (!h.is_array() || h.size() != 2 || !h[0].is_number_integer() ||
                !h[1].is_number_integer())
                throw Error(where + ": relation '" + rel +
                            "' has a held-out entry that is not a [head, tail] pair");
            held.insert({h[0].get<int>(), h[1].get<int>()});
        }
        for (int hi = 0; hi < static_cast<int>(heads.size()); ++hi)
            for (int ti = 0; ti < static_cast<int>(tails.size()); ++ti) {
                FactTemplate ft;
                ft.relation = rel;
                ft.head = hi;
                ft.tail = ti;
                ft.text =
                    replaceAll(replaceAll(sentence, "{head}", heads[hi]), "{tail}", tails[ti]);
                ft.split = held.count({hi, ti}) ? TemplateSplit::Heldout : TemplateSplit::Train;
                w.m_templates.push_back(ft);
            }
        for (const auto& n : jsonField(r, "novel", std::vector<std::string>(), where)) {
            FactTemplate ft;
            ft.relation = rel;
            ft.text = n + " .";
            ft.split = TemplateSplit::Novel;
            w.m_templates.push_back(ft);
        }
        if (std::none_of(w.m_relations.begin(), w.m_relations.end(),
                         [&](const RelationInfo& ri) { return ri.id == rel; }))
            w.m_relations.push_back({rel, "", 0});
    }
    for (auto& ri : w.m_relations)
        ri.count =
            static_cast<int>(std::count_if(w.m_facts.begin(), w.m_facts.end(),
                                           [&](const Fact& x) { return x.relation == ri.id; }));
    return w;
}

std::vector<Fact> FactWorld::factsOf(const std::string& relation) const {
    std::vector<Fact> out;
    for (const auto& f : m_facts)
        if (f.relation == relation)
            out.push_back(f);
    return out;
}

std::optional<Fact> FactWorld::find(const std::string& subject, const std::string& relation) const {
    for (const auto& f : m_facts)
        if (f.subject == subject && f.relation == relation)
            return f;
    return std::nullopt;
}

std::vector<FactTemplate> FactWorld::templates(const std::string& relation,
                                               TemplateSplit split) const {
    std::vector<FactTemplate> out;
    for (const auto& t : m_templates)
        if (t.relation == relation && t.split == split)
            out.push_back(t);
    return out;
}

std::string FactWorld::prompt(const FactTemplate& t, const std::string& subject) {
    const std::string text = replaceAll(t.text, "[X]", subject);
    const auto y = text.find("[Y]");
    return trim(y == std::string::npos ? text : text.substr(0, y));
}

std::string FactWorld::sentence(const FactTemplate& t, const std::string& subject,
                                const std::string& object) {
    return replaceAll(replaceAll(t.text, "[X]", subject), "[Y]", object);
}

std::vector<std::string> FactWorld::paraphrases(const std::string& subject,
                                                const std::string& relation,
                                                TemplateSplit split) const {
    std::vector<std::string> out;
    for (const auto& t : templates(relation, split))
        out.push_back(prompt(t, subject));
    return out;
}

std::optional<std::pair<Fact, FactTemplate>> FactWorld::match(const std::string& text) const {
    const std::string want = squeeze(text);
    for (const auto& t : m_templates) {
        const std::string pattern = prompt(t, "\x01");
        const auto x = pattern.find('\x01');
        if (x == std::string::npos)
            continue;
        const std::string before = pattern.substr(0, x), after = pattern.substr(x + 1);
        if (want.size() < before.size() + after.size() ||
            want.compare(0, before.size(), before) != 0 ||
            want.compare(want.size() - after.size(), after.size(), after) != 0)
            continue;
        const std::string subject =
            want.substr(before.size(), want.size() - before.size() - after.size());
        if (auto f = find(subject, t.relation))
            return std::make_pair(*f, t);
    }
    return std::nullopt;
}

std::vector<std::string> FactWorld::entities() const {
    std::set<std::string> s;
    for (const auto& f : m_facts) {
        s.insert(f.subject);
        s.insert(f.object);
    }
    return std::vector<std::string>(s.begin(), s.end());
}

Tokenizer FactWorld::buildTokenizer() const {
    std::vector<std::string> vocab = {"[UNK]", "[PAD]", "[SEP]", "[EOS]"};
    std::set<std::string> words;
    for (const auto& t : m_templates) {
        const std::string plain = replaceAll(replaceAll(t.text, "[X]", " "), "[Y]", " ");
        // Split like the Whitespace pre-tokenizer: runs of word characters
        // and runs of other non-space characters.
        std::string cur;
        int kind = 0; // 1 word, 2 punct
        auto flush = [&] {
            if (!cur.empty())
                words.insert(cur);
            cur.clear();
        };
        for (unsigned char c : plain) {
            const int k = std::isspace(c) ? 0 : (std::isalnum(c) || c == '_' || c >= 0x80) ? 1 : 2;
            if (k != kind)
                flush();
            kind = k;
            if (k != 0)
                cur.push_back(static_cast<char>(c));
        }
        flush();
    }
    vocab.insert(vocab.end(), words.begin(), words.end());
    std::vector<std::string> added = entities();
    added.insert(added.begin(), vocab.begin(), vocab.begin() + 4); // the special tokens
    return Tokenizer::makeWordLevel(vocab, added, "[UNK]");
}

} // namespace scalpel
