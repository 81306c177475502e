#pragma once
// The built-in fact world: (subject, relation, object) triples derived from
// world-countries, and the phrasings that turn them into text.
//
// Two sources of phrasings, both data in resources/facts/:
// - templates.json, the original slice: per relation "heads" (naming the
//   subject, [X]) x "tails" (ending in the answer, [Y]); some combinations
//   held out (Train / Heldout), and "novel" phrasings built from no part.
// - grammar.json: frames ("As for {S}, its {X} is"), question frames ("Q:
//   What is the {X} of {S}? A:") and each relation's nouns and synonyms
//   ("capital city", "seat of government"), each part marked train or
//   heldout. Grammar prompts use training parts only; Question prompts are
//   the training question frames (trained, reported apart); HeldoutFrame
//   prompts use a held-out frame with the training nouns and HeldoutNoun
//   prompts a held-out noun with the training frames, so the held-out
//   slices measure wording never seen in training.
// A subject is written in any of its forms (common or official name, with
// "the" where English uses it; facts.json's "subjects" table).
#include "Tokenizer.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace scalpel {

struct Fact {
    std::string subject;
    std::string relation;
    std::string object;
};

enum class TemplateSplit { Train, Heldout, Novel, Grammar, Question, HeldoutFrame, HeldoutNoun };

// "train", "heldout", "novel", "grammar", "questions", "heldout-frames",
// "heldout-nouns"; nullopt for anything else.
std::optional<TemplateSplit> templateSplitFromName(const std::string& name);
std::string templateSplitName(TemplateSplit split);
// Expanded from the grammar (grammar, questions, heldout-frames,
// heldout-nouns), not one of the original templates (train, heldout, novel).
bool isGrammarSplit(TemplateSplit split);
// Wording a model trains on: the original train templates, the grammar's
// own frames and its questions. Held-out and novel wording never is.
bool isTrainingSplit(TemplateSplit split);

struct FactTemplate {
    std::string relation;
    std::string text; // "The capital of [X] is [Y] ."
    TemplateSplit split = TemplateSplit::Train;
    int head = -1; // -1 for novel and grammar templates
    int tail = -1;
    // Grammar templates: the held-out part (frame or noun) for the held-out
    // splits, else the frame.
    std::string part;
};

struct RelationInfo {
    std::string id;
    std::string wikidata;
    int count = 0;
};

// How a prompt is written, beside its template: as the template has it;
// all in lower case; with one word the model cannot know (a made-up word,
// read as [UNK]) inserted at a place drawn from the prompt's own hash; or
// with the subject's official name (facts without one are left out).
enum class PromptStyle { Cased, Lowercase, UnknownWord, Official };
// "cased", "lowercase", "unknown-word", "official"; nullopt otherwise.
std::optional<PromptStyle> promptStyleFromName(const std::string& name);

// The prompt of fact f in template t written in `style`; nullopt when the
// style does not apply (no official name). The grammar's splits write the
// subject in its first form (with "the" where English uses it), the original
// templates with its plain name.
class FactWorld;
std::optional<std::string> factPrompt(const FactWorld& world, const FactTemplate& t, const Fact& f,
                                      PromptStyle style);

class FactWorld {
public:
    static FactWorld load(const std::string& factsPath);
    // The files load() reads: the facts file, its templates and, where it
    // names them, its grammar and word list (for fingerprints).
    static std::vector<std::string> files(const std::string& factsPath);
    static FactWorld fromJson(const std::string& factsJson, const std::string& templatesJson,
                              const std::string& nameForErrors,
                              const std::string& grammarJson = std::string(),
                              const std::string& wordsJson = std::string());

    const std::vector<RelationInfo>& relations() const { return m_relations; }
    const std::vector<Fact>& facts() const { return m_facts; }
    std::vector<Fact> factsOf(const std::string& relation) const;
    std::optional<Fact> find(const std::string& subject, const std::string& relation) const;
    std::vector<FactTemplate> templates(const std::string& relation, TemplateSplit split) const;
    const std::vector<FactTemplate>& allTemplates() const { return m_templates; }

    // The templates a model trains on: the original training templates and,
    // with a grammar, its training frames and questions.
    std::vector<FactTemplate> trainingTemplates(const std::string& relation) const;
    // Wording never trained on: with a grammar its held-out frames and nouns,
    // else the original held-out combinations.
    std::vector<FactTemplate> heldoutTemplates(const std::string& relation) const;
    // A masked language model asks at its mask: after setClozeMask("[MASK]")
    // promptFor, paraphrases, query and factPrompt give the whole sentence
    // with the mask in the answer's place ("The capital of Ireland is
    // [MASK] ."), and matchTyped reads a typed prompt up to its mask. Empty
    // (the default): prompts end where the answer starts (a causal model).
    void setClozeMask(std::string mask) { m_mask = std::move(mask); }
    const std::string& clozeMask() const { return m_mask; }
    // The prompt of `subject` in t; a grammar template writes the subject in
    // its first form (with "the" where English uses it).
    std::string promptFor(const FactTemplate& t, const std::string& subject) const;
    // The prompt of t with `subject` written as given: prompt(), or the
    // cloze sentence with the mask set by setClozeMask.
    std::string query(const FactTemplate& t, const std::string& subject) const;
    // How t writes `subject`: its first form for a grammar template, else the
    // plain name.
    std::string subjectIn(const FactTemplate& t, const std::string& subject) const;

    // The template's text up to the answer, with the subject filled in.
    static std::string prompt(const FactTemplate& t, const std::string& subject);
    static std::string sentence(const FactTemplate& t, const std::string& subject,
                                const std::string& object);
    // Prompts of a fact in the given split (cloze sentences with a mask set).
    std::vector<std::string> paraphrases(const std::string& subject, const std::string& relation,
                                         TemplateSplit split) const;
    // The fact and template whose prompt is `text` (whitespace-insensitive;
    // a cloze prompt up to its mask).
    std::optional<std::pair<Fact, FactTemplate>> match(const std::string& text) const;
    // As a person types it: also case-insensitive, with the subject in any
    // of its forms, with or without its article. `subjectText` is the
    // subject as the text writes it, without an article ("united kingdom").
    struct TypedMatch {
        Fact fact;
        FactTemplate form;
        std::string subjectText;
    };
    std::optional<TypedMatch> matchTyped(const std::string& text) const;

    // The ways a subject is written, the common name first; a form that
    // English writes with "the" starts with "the ". {subject} when the facts
    // file has no subjects table.
    std::vector<std::string> subjectForms(const std::string& subject) const;
    // A form without its article: the entity token it is written with.
    static std::string withoutArticle(const std::string& form);

    // Every subject (in every form) and object, each to be one token.
    std::vector<std::string> entities() const;
    // Common English words known beside the templates' and grammar's own
    // (words.json; empty when the facts file names none).
    const std::vector<std::string>& commonWords() const { return m_words; }
    bool hasGrammar() const { return m_hasGrammar; }
    // A WordLevel tokenizer: template, grammar and common words as
    // vocabulary, entities as added tokens, plus [UNK], [PAD], [SEP] and
    // [EOS]. With a grammar the tokenizer lower-cases what it reads (entities
    // match whatever their case and keep their own spelling as tokens).
    // For a masked language model also [CLS] and [MASK], and the
    // [CLS] $A [SEP] template.
    Tokenizer buildTokenizer(bool maskedLm = false) const;

private:
    static FactWorld parse(const std::string& factsJson, const std::string& templatesJson,
                           const std::string& where, const std::string& grammarJson,
                           const std::string& wordsJson);
    void parseGrammar(const std::string& grammarJson, const std::string& where);
    // A cloze prompt up to its mask, where a causal prompt ends (what match
    // and matchTyped compare); the text itself without a mask.
    std::string beforeMask(const std::string& text) const;
    std::vector<RelationInfo> m_relations;
    std::vector<Fact> m_facts;
    std::vector<FactTemplate> m_templates;
    std::map<std::string, std::vector<std::string>> m_forms;
    std::map<std::string, std::string> m_bySpelling; // lower-case form -> subject
    // Each template's prompt in lower case with \x01 for the subject, in
    // template order: what matchTyped compares a typed prompt with.
    std::vector<std::string> m_typedPatterns;
    std::vector<std::string> m_words;
    std::string m_mask;
    bool m_hasGrammar = false;
};

} // namespace scalpel
