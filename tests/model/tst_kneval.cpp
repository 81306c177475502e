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
        // One fact per relation: every relation gets refined neurons,
        // suppressing them lowers the fact's own answer and amplifying them
        // raises it, each by more than 5 times the random-neuron control, the
        // per-layer rows account for the neurons, and the weights are
        // untouched afterwards.
        auto m = LanguageModel::load(scalpel::resourceDir() + "/models/factworld", "cpu");
        const auto world = FactWorld::load(scalpel::resourceDir() + "/facts/facts.json");
        const auto before = snapshot(*m);
        KnEvalOptions o;
        o.factsPerRelation = 1;
        const auto r = evaluateKnowledgeNeurons(m, world, o);
        QCOMPARE(r.relations.size(), world.relations().size());
        for (const auto& e : r.relations) {
            QCOMPARE(e.facts, 1);
            QCOMPARE(e.factsWithNeurons, 1);
            QVERIFY2(e.suppressOwn < 0, e.relation.c_str());
            QVERIFY2(e.amplifyOwn > 0, e.relation.c_str());
            QVERIFY2(std::abs(e.suppressOwn) > 5 * std::abs(e.suppressRandom), e.relation.c_str());
            QVERIFY2(std::abs(e.amplifyOwn) > 5 * std::abs(e.amplifyRandom), e.relation.c_str());
            QCOMPARE(e.byLayer.size(), std::size_t(m->config().layers));
            double neurons = 0;
            for (const auto& le : e.byLayer) {
                QVERIFY(le.facts == 0 || le.facts == 1);
                neurons += le.meanNeurons;
            }
            QCOMPARE(neurons, e.meanNeurons);
        }
        QVERIFY(bitIdentical(*m, before));
    }
};

QTEST_GUILESS_MAIN(TestKnEval)
#include "tst_kneval.moc"
