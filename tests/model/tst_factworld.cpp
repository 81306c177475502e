// The shipped facts, templates and grammar: every relation present with its
// counts, every entity one token, a held-out combination for every head,
// held-out grammar parts that no training prompt contains, and a tokenizer
// that reads entities and words whatever their case.
#include "Error.h"
#include "FactWorld.h"
#include "Resources.h"

#include <QtTest>

#include <map>
#include <set>

using namespace scalpel;

namespace {
std::string factsPath() {
    return scalpel::resourceDir() + "/facts/facts.json";
}
} // namespace

class TestFactWorld : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void malformedFilesAreClearErrors_data() {
        QTest::addColumn<QString>("facts");
        QTest::addColumn<QString>("templates");
        QTest::addColumn<QString>("mentions");
        const QString oneFact =
            "{\"facts\":[{\"subject\":\"Ireland\",\"relation\":\"capital\",\"object\":"
            "\"Dublin\"}]}";
        QTest::newRow("no facts") << "{}"
                                  << "{\"relations\":{}}"
                                  << "no 'facts'";
        QTest::newRow("fact without object")
            << "{\"facts\":[{\"subject\":\"Ireland\",\"relation\":\"capital\"}]}"
            << "{\"relations\":{}}"
            << "lacks subject, relation or object";
        QTest::newRow("heads not strings")
            << oneFact << "{\"relations\":{\"capital\":{\"heads\":[1],\"tails\":[\"is\"]}}}"
            << "'heads' has the wrong type";
        QTest::newRow("held-out not a pair")
            << oneFact
            << "{\"relations\":{\"capital\":{\"heads\":[\"x\"],\"tails\":[\"is\"],"
               "\"heldout\":[[0]]}}}"
            << "not a [head, tail] pair";
        QTest::newRow("grammar part with a bad split")
            << oneFact
            << "GRAMMAR{\"relations\":{\"capital\":{\"nouns\":[{\"text\":\"capital\","
               "\"split\":\"test\"}]}}}"
            << "has split 'test'";
        QTest::newRow("grammar frame without a subject")
            << oneFact
            << "GRAMMAR{\"frames\":[{\"text\":\"The {X} is\"}],\"relations\":"
               "{\"capital\":{\"nouns\":[{\"text\":\"capital\"}]}}}"
            << "has no {S}";
        QTest::newRow("relation entry not an object")
            << "{\"relations\":[{\"id\":\"capital\",\"wikidata\":5}],\"facts\":[]}"
            << "{\"relations\":{}}"
            << "'wikidata' has the wrong type";
    }
    void malformedFilesAreClearErrors() {
        // A user's own fact world (--facts) is outside input: every defect is
        // an Error naming the file, never a crash.
        QFETCH(QString, facts);
        QFETCH(QString, templates);
        QFETCH(QString, mentions);
        try {
            if (templates.startsWith("GRAMMAR"))
                FactWorld::fromJson(facts.toStdString(), "{\"relations\":{}}", "facts.json",
                                    templates.mid(7).toStdString());
            else
                FactWorld::fromJson(facts.toStdString(), templates.toStdString(), "facts.json");
            QFAIL("no error");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains(mentions), e.what());
        }
    }

    void everyRelationIsPresentWithItsCount() {
        const FactWorld w = FactWorld::load(factsPath());
        std::set<std::string> ids;
        for (const auto& r : w.relations()) {
            ids.insert(r.id);
            QVERIFY2(r.count >= 200, r.id.c_str());
            QCOMPARE(static_cast<int>(w.factsOf(r.id).size()), r.count);
        }
        for (const char* want :
             {"capital", "region", "subregion", "language", "currency", "demonym"})
            QVERIFY2(ids.count(want), want);
        const auto ireland = w.find("Ireland", "capital");
        QVERIFY(ireland);
        QCOMPARE(ireland->object, std::string("Dublin"));
    }

    void everyEntityIsOneToken() {
        const FactWorld w = FactWorld::load(factsPath());
        const Tokenizer t = w.buildTokenizer();
        for (const auto& e : w.entities()) {
            const Encoding enc = t.encodeDetailed(e);
            QVERIFY2(enc.ids.size() == 1 && !enc.unknown[0], e.c_str());
        }
        // Inside a sentence too, multi-word names stay whole.
        const auto ids = t.encode("The capital of United States is Washington D.C. .");
        QCOMPARE(ids.size(), std::size_t(7));
    }

    void tokenizerReadsEntitiesAndWordsWhateverTheirCase() {
        // What a user types in lower case reads as the cased prompt, and an
        // entity keeps its own spelling as a token.
        const FactWorld w = FactWorld::load(factsPath());
        const Tokenizer t = w.buildTokenizer();
        const auto cased = t.encodeDetailed("What is the capital of the United Kingdom?");
        const auto lower = t.encodeDetailed("what is THE capital of the united kingdom?");
        QCOMPARE(lower.ids, cased.ids);
        for (bool u : cased.unknown)
            QVERIFY(!u);
        const auto ireland = t.encode("ireland");
        QCOMPARE(ireland.size(), std::size_t(1));
        QCOMPARE(t.tokenSpelling(ireland[0]), std::string("Ireland"));
        // The official name is one token too, and common English words are
        // known words.
        QCOMPARE(t.encode("the Republic of Ireland").size(), std::size_t(2));
        const auto common = t.encodeDetailed("I really believe that the capital of Ireland is");
        for (bool u : common.unknown)
            QVERIFY(!u);
    }

    void grammarHoldsOutWholeFramesAndNounsThatTrainingNeverWrites() {
        const FactWorld w = FactWorld::load(factsPath());
        QVERIFY(w.hasGrammar());
        auto key = [](std::string s) {
            std::string out;
            for (char c : s)
                if (c != ' ')
                    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
            return out;
        };
        for (const auto& r : w.relations()) {
            std::set<std::string> trained;
            for (const auto& t : w.trainingTemplates(r.id))
                trained.insert(key(t.text));
            std::set<std::string> frames, nouns;
            for (const auto& t : w.templates(r.id, TemplateSplit::HeldoutFrame)) {
                QVERIFY2(!trained.count(key(t.text)), t.text.c_str());
                frames.insert(t.part);
            }
            for (const auto& t : w.templates(r.id, TemplateSplit::HeldoutNoun)) {
                QVERIFY2(!trained.count(key(t.text)), t.text.c_str());
                nouns.insert(t.part);
                // A held-out noun appears in no training template at all.
                for (const auto& tt : w.trainingTemplates(r.id))
                    QVERIFY2(key(tt.text).find(key(" " + t.part + " ")) == std::string::npos,
                             tt.text.c_str());
            }
            QVERIFY2(frames.size() >= 3, r.id.c_str());
            QVERIFY2(!nouns.empty(), r.id.c_str());
            QVERIFY2(w.templates(r.id, TemplateSplit::Question).size() >= 10, r.id.c_str());
            QVERIFY2(w.templates(r.id, TemplateSplit::Grammar).size() >= 40, r.id.c_str());
        }
    }

    void subjectFormsCarryTheirArticle() {
        const FactWorld w = FactWorld::load(factsPath());
        const auto uk = w.subjectForms("United Kingdom");
        QCOMPARE(uk.front(), std::string("the United Kingdom"));
        QCOMPARE(FactWorld::withoutArticle(uk.front()), std::string("United Kingdom"));
        const auto ireland = w.subjectForms("Ireland");
        QCOMPARE(ireland.front(), std::string("Ireland"));
        QVERIFY(ireland.size() == 2 && ireland[1] == "the Republic of Ireland");
        const auto t = w.templates("capital", TemplateSplit::Grammar).front();
        QCOMPARE(w.promptFor(t, "United Kingdom"),
                 std::string("The capital of the United Kingdom is"));
    }

    void unknownWordStyleInsertsOneUnknownWordAndKeepsTheSubjectWhole() {
        const FactWorld w = FactWorld::load(factsPath());
        const Tokenizer t = w.buildTokenizer();
        const Fact f = *w.find("United States", "capital");
        int atEnd = 0, inside = 0;
        for (const auto& tmpl : w.templates("capital", TemplateSplit::Grammar)) {
            const auto plain = factPrompt(w, tmpl, f, PromptStyle::Cased);
            const auto noisy = factPrompt(w, tmpl, f, PromptStyle::UnknownWord);
            QVERIFY(plain && noisy);
            const auto a = t.encodeDetailed(*plain), b = t.encodeDetailed(*noisy);
            QCOMPARE(b.ids.size(), a.ids.size() + 1);
            int unknown = 0;
            for (bool u : b.unknown)
                unknown += u ? 1 : 0;
            QCOMPARE(unknown, 1);
            QVERIFY2(noisy->find("United States") != std::string::npos, noisy->c_str());
            (b.unknown.back() ? atEnd : inside)++;
        }
        QVERIFY(atEnd > 0 && inside > 0);
        QVERIFY(!factPrompt(w, w.templates("capital", TemplateSplit::Grammar).front(),
                            *w.find("Mongolia", "capital"), PromptStyle::Official));
    }

    void templatesHoldOutACombinationPerHeadAndUseEveryPart() {
        const FactWorld w = FactWorld::load(factsPath());
        for (const auto& r : w.relations()) {
            std::set<int> heldHeads, trainHeads, trainTails, allTails;
            for (const auto& t : w.templates(r.id, TemplateSplit::Heldout))
                heldHeads.insert(t.head);
            for (const auto& t : w.templates(r.id, TemplateSplit::Train)) {
                trainHeads.insert(t.head);
                trainTails.insert(t.tail);
            }
            for (const auto& t : w.templates(r.id, TemplateSplit::Heldout))
                allTails.insert(t.tail);
            QVERIFY2(trainHeads.size() >= 5, r.id.c_str());
            QVERIFY2(trainTails.size() >= 4, r.id.c_str());
            QCOMPARE(heldHeads, trainHeads);
            for (int tail : allTails)
                QVERIFY(trainTails.count(tail));
        }
    }

    void promptsEndBeforeTheAnswerAndMatchBack() {
        const FactWorld w = FactWorld::load(factsPath());
        const auto t = w.templates("capital", TemplateSplit::Train).front();
        const std::string p = FactWorld::prompt(t, "Ireland");
        QVERIFY(p.find("[Y]") == std::string::npos);
        QVERIFY(p.find("Ireland") != std::string::npos);
        const auto m = w.match("  " + p + " ");
        QVERIFY(m);
        QCOMPARE(m->first.object, std::string("Dublin"));
        QCOMPARE(m->second.text, t.text);
        QVERIFY(!w.match("Nothing like a fact"));
    }

    void typedPromptsMatchWhateverTheirCaseAndSubjectForm() {
        // The studio fills the Refining panel and the trace's subject from
        // what the user typed.
        const FactWorld w = FactWorld::load(factsPath());
        const auto uk = w.matchTyped("what is the capital of THE united kingdom? ");
        QVERIFY(uk);
        QCOMPARE(uk->fact.object, std::string("London"));
        QCOMPARE(uk->subjectText, std::string("united kingdom"));
        const auto official = w.matchTyped("The currency of the Republic of Ireland is");
        QVERIFY(official);
        QCOMPARE(official->fact.object, std::string("Euro"));
        QCOMPARE(official->subjectText, std::string("Republic of Ireland"));
        const auto lower = w.matchTyped("the capital of ireland is");
        QVERIFY(lower);
        QCOMPARE(lower->fact.object, std::string("Dublin"));
        QCOMPARE(lower->subjectText, std::string("ireland"));
        QVERIFY(!w.matchTyped("The capital of Atlantis is"));
    }

    // A masked model's world: every prompt is the whole sentence with the
    // mask in the answer's place (the words after the answer kept), in
    // every style; typed and exact cloze prompts match back up to the mask;
    // the masked tokenizer wraps a sentence in [CLS] ... [SEP] and reads the
    // mask as one token; a causal world is unchanged.
    void clozeWorldAsksAtTheMask() {
        FactWorld w = FactWorld::load(factsPath());
        const Fact f = *w.find("Ireland", "capital");
        const auto t = w.templates("capital", TemplateSplit::Train).front();
        const std::string causal = w.promptFor(t, f.subject);
        w.setClozeMask("[MASK]");
        const std::string cloze = w.promptFor(t, f.subject);
        QCOMPARE(cloze.substr(0, causal.size()), causal);
        QVERIFY2(cloze.find("[MASK]") == causal.size() + 1, cloze.c_str());
        QCOMPARE(cloze, FactWorld::sentence(t, f.subject, "[MASK]"));
        for (const auto& p : w.paraphrases(f.subject, f.relation, TemplateSplit::Train))
            QVERIFY2(p.find("[MASK]") != std::string::npos, p.c_str());
        for (const auto style : {PromptStyle::Cased, PromptStyle::Lowercase,
                                 PromptStyle::UnknownWord, PromptStyle::Official}) {
            for (const auto& g : w.templates("capital", TemplateSplit::Grammar)) {
                const auto p = factPrompt(w, g, f, style);
                QVERIFY(p);
                QVERIFY2(p->find("[MASK]") != std::string::npos, p->c_str());
                // What follows the answer in the template follows the mask.
                const auto y = g.text.find("[Y]");
                const std::string tail = g.text.substr(y + 3);
                QVERIFY2(p->size() >= tail.size() &&
                             p->compare(p->size() - tail.size(), tail.size(), tail) == 0,
                         p->c_str());
            }
        }
        const auto typed = w.matchTyped("the capital of ireland is [MASK].");
        QVERIFY(typed);
        QCOMPARE(typed->fact.object, std::string("Dublin"));
        const auto exact = w.match(cloze);
        QVERIFY(exact);
        QCOMPARE(exact->first.object, std::string("Dublin"));

        const Tokenizer masked = w.buildTokenizer(true);
        const Encoding e = masked.encodeDetailed("The capital of Ireland is [MASK] .");
        QCOMPARE(e.spellings.front(), std::string("[CLS]"));
        QCOMPARE(e.spellings.back(), std::string("[SEP]"));
        QCOMPARE(e.ids.size(), std::size_t(9));
        QCOMPARE(masked.maskId(), masked.tokenId("[MASK]"));
        QCOMPARE(masked.encode("Dublin", false).size(), std::size_t(1));
        QVERIFY(!w.buildTokenizer().maskId());
    }
};

QTEST_GUILESS_MAIN(TestFactWorld)
#include "tst_factworld.moc"
