#pragma once
// The built-in fact world: (subject, relation, object) triples derived from
// world-countries, and per relation paraphrase templates composed from
// "heads" (naming the subject, [X]) and "tails" (ending in the answer, [Y]).
// Some head x tail combinations are held out of training entirely; "novel"
// templates are phrasings not built from the parts.
#include "Tokenizer.h"

#include <optional>
#include <string>
#include <vector>

namespace scalpel {

struct Fact {
    std::string subject;
    std::string relation;
    std::string object;
};

enum class TemplateSplit { Train, Heldout, Novel };

struct FactTemplate {
    std::string relation;
    std::string text; // "The capital of [X] is [Y] ."
    TemplateSplit split = TemplateSplit::Train;
    int head = -1; // -1 for novel templates
    int tail = -1;
};

struct RelationInfo {
    std::string id;
    std::string wikidata;
    int count = 0;
};

class FactWorld {
public:
    static FactWorld load(const std::string& factsPath);
    static FactWorld fromJson(const std::string& factsJson, const std::string& templatesJson,
                              const std::string& nameForErrors);

    const std::vector<RelationInfo>& relations() const { return m_relations; }
    const std::vector<Fact>& facts() const { return m_facts; }
    std::vector<Fact> factsOf(const std::string& relation) const;
    std::optional<Fact> find(const std::string& subject, const std::string& relation) const;
    std::vector<FactTemplate> templates(const std::string& relation, TemplateSplit split) const;
    const std::vector<FactTemplate>& allTemplates() const { return m_templates; }

    // The template's text up to the answer, with the subject filled in.
    static std::string prompt(const FactTemplate& t, const std::string& subject);
    static std::string sentence(const FactTemplate& t, const std::string& subject,
                                const std::string& object);
    // Prompts of a fact in the given split.
    std::vector<std::string> paraphrases(const std::string& subject, const std::string& relation,
                                         TemplateSplit split) const;
    // The fact and template whose prompt is `text` (whitespace-insensitive).
    std::optional<std::pair<Fact, FactTemplate>> match(const std::string& text) const;

    // Every subject and object, each to be one token.
    std::vector<std::string> entities() const;
    // A WordLevel tokenizer: template words as vocabulary, entities as added
    // tokens, plus [UNK], [PAD], [SEP] and [EOS].
    Tokenizer buildTokenizer() const;

private:
    static FactWorld parse(const std::string& factsJson, const std::string& templatesJson,
                           const std::string& where);
    std::vector<RelationInfo> m_relations;
    std::vector<Fact> m_facts;
    std::vector<FactTemplate> m_templates;
};

} // namespace scalpel
