// The shipped facts and templates: every relation present with its counts,
// every entity one token, and a held-out combination for every head.
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
};

QTEST_GUILESS_MAIN(TestFactWorld)
#include "tst_factworld.moc"
