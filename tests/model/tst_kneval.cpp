// kn-eval end to end on the built-in model (minutes: labelled slow).
#include "FactWorld.h"
#include "KnEval.h"
#include "ModelInternals.h"
#include "TinyModel.h"
#include "Resources.h"

#include <QtTest>

#include <cmath>

using namespace scalpel;
using namespace scalpel::test;

class TestKnEval : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void knEvalOnTheBuiltInModel() {
        // The README's run, 10 facts per relation: every fact gets refined
        // neurons; on every relation, suppressing them lowers the facts' own
        // answers and amplifying them raises them, each by more than 5
        // times both controls (another relation's facts, random neurons);
        // the per-layer rows account for the neurons, and the weights are
        // untouched afterwards. (Single facts are noisier: capital's first
        // fact amplifies by 4.96 times its random control.)
        auto m = LanguageModel::load(scalpel::resourceDir() + "/models/factworld", "cpu");
        const auto world = FactWorld::load(scalpel::resourceDir() + "/facts/facts.json");
        const auto before = snapshot(*m);
        KnEvalOptions o;
        o.factsPerRelation = 10;
        const auto r = evaluateKnowledgeNeurons(m, world, o);
        QCOMPARE(r.relations.size(), world.relations().size());
        for (const auto& e : r.relations) {
            QCOMPARE(e.facts, 10);
            QCOMPARE(e.factsWithNeurons, 10);
            QVERIFY2(e.suppressOwn < 0, e.relation.c_str());
            QVERIFY2(e.amplifyOwn > 0, e.relation.c_str());
            for (double control : {e.suppressRandom, e.suppressOther})
                QVERIFY2(std::abs(e.suppressOwn) > 5 * std::abs(control), e.relation.c_str());
            for (double control : {e.amplifyRandom, e.amplifyOther})
                QVERIFY2(std::abs(e.amplifyOwn) > 5 * std::abs(control), e.relation.c_str());
            QCOMPARE(e.byLayer.size(), std::size_t(m->config().layers));
            // A layer's row is the mean over the facts with neurons there.
            double neurons = 0;
            for (const auto& le : e.byLayer) {
                QVERIFY(le.facts >= 0 && le.facts <= 10);
                neurons += le.meanNeurons * le.facts;
            }
            QVERIFY(std::abs(neurons / e.facts - e.meanNeurons) < 1e-9 * e.meanNeurons);
        }
        QVERIFY(bitIdentical(*m, before));
    }
};

QTEST_GUILESS_MAIN(TestKnEval)
#include "tst_kneval.moc"
