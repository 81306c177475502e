#include "FactWorld.h"

#include "AtomicFile.h"
#include "Error.h"
#include "Fnv.h"
#include "JsonFields.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <iterator>
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

// ASCII letters in lower case; other bytes as they are.
std::string asciiLower(std::string s) {
    for (auto& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Where the subject stands in `text` when it is the template's prompt
// `pattern` with '\x01' in the subject's place: [begin, begin + length).
std::optional<std::pair<std::size_t, std::size_t>> subjectSlot(const std::string& pattern,
                                                               const std::string& text) {
    const auto x = pattern.find('\x01');
    if (x == std::string::npos)
        return std::nullopt;
    const std::string before = pattern.substr(0, x), after = pattern.substr(x + 1);
    if (text.size() < before.size() + after.size() || text.compare(0, before.size(), before) != 0 ||
        text.compare(text.size() - after.size(), after.size(), after) != 0)
        return std::nullopt;
    return std::make_pair(before.size(), text.size() - before.size() - after.size());
}

} // namespace

FactWorld FactWorld::load(const std::string& factsPath) {
    const std::string facts = readFile(factsPath, 64u << 20);
    nlohmann::json j = nlohmann::json::parse(facts, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw Error(factsPath + ": not a JSON object");
    const std::string templatesName =
        jsonField(j, "templates", std::string("templates.json"), factsPath);
    const auto dir = std::filesystem::path(factsPath).parent_path();
    const auto templatesPath = (dir / templatesName).string();
    // The grammar and the word list are optional: a facts file names them.
    auto optionalFile = [&](const char* key) {
        const std::string name = jsonField(j, key, std::string(), factsPath);
        return name.empty() ? std::string() : readFile((dir / name).string(), 16u << 20);
    };
    return fromJson(facts, readFile(templatesPath, 16u << 20), factsPath, optionalFile("grammar"),
                    optionalFile("words"));
}

std::vector<std::string> FactWorld::files(const std::string& factsPath) {
    nlohmann::json j = nlohmann::json::parse(readFile(factsPath, 64u << 20), nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw Error(factsPath + ": not a JSON object");
    const auto dir = std::filesystem::path(factsPath).parent_path();
    std::vector<std::string> out = {factsPath};
    out.push_back(
        (dir / jsonField(j, "templates", std::string("templates.json"), factsPath)).string());
    for (const char* key : {"grammar", "words"}) {
        const std::string name = jsonField(j, key, std::string(), factsPath);
        if (!name.empty())
            out.push_back((dir / name).string());
    }
    return out;
}

FactWorld FactWorld::fromJson(const std::string& factsJson, const std::string& templatesJson,
                              const std::string& where, const std::string& grammarJson,
                              const std::string& wordsJson) {
    return readingJson(
        where, [&] { return parse(factsJson, templatesJson, where, grammarJson, wordsJson); });
}

std::optional<TemplateSplit> templateSplitFromName(const std::string& name) {
    for (auto s : {TemplateSplit::Train, TemplateSplit::Heldout, TemplateSplit::Novel,
                   TemplateSplit::Grammar, TemplateSplit::Question, TemplateSplit::HeldoutFrame,
                   TemplateSplit::HeldoutNoun})
        if (templateSplitName(s) == name)
            return s;
    return std::nullopt;
}

std::string templateSplitName(TemplateSplit split) {
    switch (split) {
    case TemplateSplit::Train:
        return "train";
    case TemplateSplit::Heldout:
        return "heldout";
    case TemplateSplit::Novel:
        return "novel";
    case TemplateSplit::Grammar:
        return "grammar";
    case TemplateSplit::Question:
        return "questions";
    case TemplateSplit::HeldoutFrame:
        return "heldout-frames";
    case TemplateSplit::HeldoutNoun:
        return "heldout-nouns";
    }
    return "train";
}

bool isGrammarSplit(TemplateSplit split) {
    switch (split) {
    case TemplateSplit::Train:
    case TemplateSplit::Heldout:
    case TemplateSplit::Novel:
        return false;
    case TemplateSplit::Grammar:
    case TemplateSplit::Question:
    case TemplateSplit::HeldoutFrame:
    case TemplateSplit::HeldoutNoun:
        return true;
    }
    return false;
}

bool isTrainingSplit(TemplateSplit split) {
    return split == TemplateSplit::Train || split == TemplateSplit::Grammar ||
           split == TemplateSplit::Question;
}

void FactWorld::parseGrammar(const std::string& grammarJson, const std::string& where) {
    nlohmann::json g = nlohmann::json::parse(grammarJson, nullptr, false);
    if (g.is_discarded() || !g.is_object() || !g.contains("relations") ||
        !g["relations"].is_object())
        throw Error(where + ": the grammar file has no 'relations' object");
    struct Part {
        std::string text;
        bool heldout = false;
    };
    auto parts = [&](const nlohmann::json& owner, const char* key, const std::string& what) {
        std::vector<Part> out;
        for (const auto& x : jsonField(owner, key, nlohmann::json::array(), where)) {
            if (!x.is_object() || !x.contains("text") || !x["text"].is_string())
                throw Error(where + ": a grammar " + what + " has no 'text'");
            const std::string split = jsonField(x, "split", std::string("train"), where);
            if (split != "train" && split != "heldout")
                throw Error(where + ": grammar " + what + " '" + x["text"].get<std::string>() +
                            "' has split '" + split + "' (train or heldout)");
            out.push_back({x["text"].get<std::string>(), split == "heldout"});
        }
        return out;
    };
    const auto frames = parts(g, "frames", "frame");
    const auto questions = parts(g, "questions", "question");
    for (auto it = g["relations"].begin(); it != g["relations"].end(); ++it) {
        const std::string rel = it.key();
        const auto nouns = parts(*it, "nouns", "noun of '" + rel + "'");
        const auto own = parts(*it, "frames", "frame of '" + rel + "'");
        if (nouns.empty())
            throw Error(where + ": grammar relation '" + rel + "' has no nouns");
        auto add = [&](const std::string& frame, const std::string& noun, TemplateSplit split,
                       const std::string& part) {
            if (frame.find("{S}") == std::string::npos)
                throw Error(where + ": grammar frame '" + frame + "' has no {S}");
            FactTemplate t;
            t.relation = rel;
            t.text = replaceAll(replaceAll(frame, "{S}", "[X]"), "{X}", noun) + " [Y] .";
            t.split = split;
            t.part = part;
            m_templates.push_back(std::move(t));
        };
        auto generic = [&](const std::vector<Part>& list, TemplateSplit trained) {
            for (const auto& f : list)
                for (const auto& n : nouns) {
                    if (f.heldout && n.heldout)
                        continue; // one unseen part at a time
                    if (f.heldout)
                        add(f.text, n.text, TemplateSplit::HeldoutFrame, f.text);
                    else if (n.heldout)
                        add(f.text, n.text, TemplateSplit::HeldoutNoun, n.text);
                    else
                        add(f.text, n.text, trained, f.text);
                }
        };
        generic(frames, TemplateSplit::Grammar);
        generic(questions, TemplateSplit::Question);
        for (const auto& f : own)
            add(f.text, std::string(),
                f.heldout ? TemplateSplit::HeldoutFrame : TemplateSplit::Grammar, f.text);
    }
    m_hasGrammar = true;
}

FactWorld FactWorld::parse(const std::string& factsJson, const std::string& templatesJson,
                           const std::string& where, const std::string& grammarJson,
                           const std::string& wordsJson) {
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
    if (f.contains("subjects") && f["subjects"].is_array())
        for (const auto& x : f["subjects"]) {
            const std::string name = jsonField(x, "name", std::string(), where);
            auto forms = jsonField(x, "forms", std::vector<std::string>(), where);
            if (name.empty() || forms.empty())
                throw Error(where + ": a subject lacks its name or forms");
            w.m_forms[name] = std::move(forms);
        }
    if (!grammarJson.empty())
        w.parseGrammar(grammarJson, where);
    if (!wordsJson.empty()) {
        nlohmann::json words = nlohmann::json::parse(wordsJson, nullptr, false);
        if (words.is_discarded() || !words.is_object())
            throw Error(where + ": the word list is not a JSON object");
        w.m_words = jsonField(words, "words", std::vector<std::string>(), where);
    }
    // Every subject form, with and without its article, in lower case.
    for (const auto& f : w.m_facts)
        for (const auto& form : w.subjectForms(f.subject))
            for (const auto& spelling : {form, withoutArticle(form)})
                w.m_bySpelling.emplace(asciiLower(spelling), f.subject);
    w.m_typedPatterns.reserve(w.m_templates.size());
    for (const auto& t : w.m_templates)
        w.m_typedPatterns.push_back(asciiLower(prompt(t, "\x01")));
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

std::vector<FactTemplate> FactWorld::trainingTemplates(const std::string& relation) const {
    std::vector<FactTemplate> out;
    for (const auto& t : m_templates)
        if (t.relation == relation && isTrainingSplit(t.split))
            out.push_back(t);
    return out;
}

std::vector<FactTemplate> FactWorld::heldoutTemplates(const std::string& relation) const {
    std::vector<FactTemplate> out;
    for (const auto& t : m_templates)
        if (t.relation == relation && (m_hasGrammar ? t.split == TemplateSplit::HeldoutFrame ||
                                                          t.split == TemplateSplit::HeldoutNoun
                                                    : t.split == TemplateSplit::Heldout))
            out.push_back(t);
    return out;
}

std::string FactWorld::subjectIn(const FactTemplate& t, const std::string& subject) const {
    return isGrammarSplit(t.split) ? subjectForms(subject).front() : subject;
}

std::string FactWorld::promptFor(const FactTemplate& t, const std::string& subject) const {
    return query(t, subjectIn(t, subject));
}

std::string FactWorld::beforeMask(const std::string& text) const {
    return text.substr(0, m_mask.empty() ? std::string::npos : text.find(m_mask));
}

std::string FactWorld::query(const FactTemplate& t, const std::string& subject) const {
    return m_mask.empty() ? prompt(t, subject) : trim(sentence(t, subject, m_mask));
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
        out.push_back(query(t, subject));
    return out;
}

std::optional<std::pair<Fact, FactTemplate>> FactWorld::match(const std::string& text) const {
    const std::string want = squeeze(beforeMask(text));
    for (const auto& t : m_templates)
        if (const auto slot = subjectSlot(prompt(t, "\x01"), want))
            if (auto f = find(want.substr(slot->first, slot->second), t.relation))
                return std::make_pair(*f, t);
    return std::nullopt;
}

std::optional<FactWorld::TypedMatch> FactWorld::matchTyped(const std::string& text) const {
    const std::string typed = squeeze(beforeMask(text)), want = asciiLower(typed);
    for (std::size_t i = 0; i < m_templates.size(); ++i) {
        const FactTemplate& t = m_templates[i];
        const auto slot = subjectSlot(m_typedPatterns[i], want);
        if (!slot)
            continue;
        const auto it = m_bySpelling.find(want.substr(slot->first, slot->second));
        if (it == m_bySpelling.end())
            continue;
        if (auto f = find(it->second, t.relation)) {
            std::string written = typed.substr(slot->first, slot->second);
            if (asciiLower(written).rfind("the ", 0) == 0)
                written = written.substr(4);
            return TypedMatch{*f, t, written};
        }
    }
    return std::nullopt;
}

std::vector<std::string> FactWorld::subjectForms(const std::string& subject) const {
    const auto it = m_forms.find(subject);
    return it == m_forms.end() ? std::vector<std::string>{subject} : it->second;
}

std::string FactWorld::withoutArticle(const std::string& form) {
    return form.rfind("the ", 0) == 0 ? form.substr(4) : form;
}

std::vector<std::string> FactWorld::entities() const {
    std::set<std::string> s;
    for (const auto& f : m_facts) {
        s.insert(f.subject);
        s.insert(f.object);
        for (const auto& form : subjectForms(f.subject))
            s.insert(withoutArticle(form));
    }
    return std::vector<std::string>(s.begin(), s.end());
}

Tokenizer FactWorld::buildTokenizer(bool maskedLm) const {
    std::vector<std::string> vocab = {"[UNK]", "[PAD]", "[SEP]", "[EOS]"};
    if (maskedLm)
        vocab.insert(vocab.end(), {"[CLS]", "[MASK]"});
    const std::size_t specials = vocab.size();
    std::set<std::string> words;
    // With a grammar the tokenizer lower-cases its input, so the vocabulary
    // is lower case; the articles of subject forms are words too.
    const bool lower = m_hasGrammar;
    // With a grammar, only wording a model trains on gives words: a word
    // met only in held-out or novel wording reads as [UNK] (which training
    // teaches the model to carry over), never as an embedding no step has
    // trained.
    std::vector<std::string> texts;
    for (const auto& t : m_templates)
        if (!lower || isTrainingSplit(t.split))
            texts.push_back(replaceAll(replaceAll(t.text, "[X]", " "), "[Y]", " "));
    if (lower)
        texts.push_back("the");
    for (const auto& w : m_words)
        texts.push_back(w);
    for (std::string plain : texts) {
        if (lower)
            plain = asciiLower(plain);
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
    added.insert(added.begin(), vocab.begin(),
                 vocab.begin() + static_cast<std::ptrdiff_t>(specials));
    return Tokenizer::makeWordLevel(vocab, added, "[UNK]", lower, maskedLm);
}

std::optional<PromptStyle> promptStyleFromName(const std::string& name) {
    if (name == "cased")
        return PromptStyle::Cased;
    if (name == "lowercase")
        return PromptStyle::Lowercase;
    if (name == "unknown-word")
        return PromptStyle::UnknownWord;
    if (name == "official")
        return PromptStyle::Official;
    return std::nullopt;
}

namespace {

// Made-up words: no English word list has them, so no model's vocabulary
// built from one does.
const char* const kMadeUpWords[] = {"blorft",  "quimzle", "snorpet", "vextral",
                                    "grumbix", "plovish", "trandle", "zibbert"};

// The template's prompt with a made-up word inserted before one of its
// words, or at its end; the subject placeholder counts as one word, so the
// subject is never split.
FactTemplate insertUnknownWord(const FactTemplate& t, const std::string& subject) {
    const std::string prompt = FactWorld::prompt(t, "[X]");
    std::vector<std::string> words;
    std::size_t at = 0;
    while (at < prompt.size()) {
        const auto end = prompt.find(' ', at);
        words.push_back(prompt.substr(at, end == std::string::npos ? end : end - at));
        at = end == std::string::npos ? prompt.size() : end + 1;
    }
    const std::string key = prompt + "\x1f" + subject;
    const uint64_t h = fnv1a(key.data(), key.size());
    const std::size_t where = h % (words.size() + 1);
    const char* word = kMadeUpWords[(h >> 32) % std::size(kMadeUpWords)];
    words.insert(words.begin() + static_cast<std::ptrdiff_t>(where), word);
    std::string out;
    for (const auto& w : words)
        out += (out.empty() ? "" : " ") + w;
    FactTemplate filled = t;
    const auto y = t.text.find("[Y]");
    filled.text = out + " [Y]" + (y == std::string::npos ? "" : t.text.substr(y + 3));
    return filled;
}

} // namespace

std::optional<std::string> factPrompt(const FactWorld& world, const FactTemplate& t, const Fact& f,
                                      PromptStyle style) {
    if (style == PromptStyle::Official) {
        const auto forms = world.subjectForms(f.subject);
        if (forms.size() < 2)
            return std::nullopt;
        return world.query(t, forms[1]);
    }
    if (style == PromptStyle::UnknownWord) {
        const std::string subject = world.subjectIn(t, f.subject);
        return world.query(insertUnknownWord(t, subject), subject);
    }
    const std::string text = world.promptFor(t, f.subject);
    if (style != PromptStyle::Lowercase)
        return text;
    // Everything in lower case but a cloze prompt's mask, which is a
    // special token spelt as it is.
    const std::string& mask = world.clozeMask();
    return mask.empty() ? asciiLower(text) : replaceAll(asciiLower(text), asciiLower(mask), mask);
}

} // namespace scalpel
