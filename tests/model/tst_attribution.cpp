// Knowledge-neuron attribution and interventions: the fast method gives the
// reference scores, refining counts prompts exactly, and every weight edit
// is as specified and restores bit-identically.
#include "Attribution.h"
#include "Resources.h"
#include "Error.h"
#include "FactWorld.h"
#include "Intervention.h"
#include "KnEval.h"
#include "TinyModel.h"

#include <QtTest>

using namespace scalpel;
using namespace scalpel::test;

namespace {

double maxRelDiff(const AttributionGrid& a, const AttributionGrid& b) {
    double maxAbs = 0, diff = 0;
    for (std::size_t i = 0; i < a.scores.size(); ++i) {
        maxAbs = std::max(maxAbs, std::abs(static_cast<double>(b.scores[i])));
        diff = std::max(diff, std::abs(static_cast<double>(a.scores[i]) - b.scores[i]));
    }
    return diff / maxAbs;
}

AttributionGrid handGrid(int layers, int neurons, std::vector<float> scores) {
    AttributionGrid g;
    g.layers = layers;
    g.neurons = neurons;
    g.scores = std::move(scores);
    return g;
}

std::vector<float> valueRow(LanguageModel& m, int layer, int neuron) {
    auto r = network(m).valueVector(layer, neuron).contiguous();
    return std::vector<float>(r.data_ptr<float>(), r.data_ptr<float>() + r.numel());
}

} // namespace

class TestAttribution : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void fastEqualsReference_data() {
        QTest::addColumn<int>("seed");
        QTest::addColumn<int>("layers");
        QTest::addColumn<QString>("prompt");
        QTest::addColumn<QString>("target");
        QTest::newRow("2 layers, one-token target") << 1 << 2 << "The capital of Ireland is"
                                                    << "Dublin";
        QTest::newRow("3 layers, two-token target") << 2 << 3 << "The capital of France is"
                                                    << "a city";
        QTest::newRow("one-token prompt") << 3 << 2 << "Ireland"
                                          << "Dublin";
        QTest::newRow("4 layers, three-token target") << 4 << 4 << "The language spoken in"
                                                      << "Ireland is Irish";
    }
    void fastEqualsReference() {
        QFETCH(int, seed);
        QFETCH(int, layers);
        QFETCH(QString, prompt);
        QFETCH(QString, target);
        auto m = tinyModel(static_cast<uint64_t>(seed), layers);
        AttributionOptions o;
        o.steps = 7;
        const auto fast = attribute(*m, prompt.toStdString(), target.toStdString(), o);
        o.method = AttributionMethod::Reference;
        const auto ref = attribute(*m, prompt.toStdString(), target.toStdString(), o);
        QCOMPARE(fast.layers, layers);
        QCOMPARE(fast.neurons, 64);
        QVERIFY(ref.maxScore() > 0);
        const double d = maxRelDiff(fast, ref);
        QVERIFY2(d < 1e-4, qPrintable(QString::number(d)));
        // Same probability, up to float rounding of differently batched sums.
        QVERIFY(std::abs(fast.targetProb - ref.targetProb) <= 1e-5 * ref.targetProb);
    }

    void fastEqualsReferenceOnTheBuiltInModel() {
        auto m = LanguageModel::load(scalpel::resourceDir() + "/models/factworld", "cpu");
        AttributionOptions o;
        const auto fast = attribute(*m, "The capital of Ireland is", "Dublin", o);
        o.method = AttributionMethod::Reference;
        const auto ref = attribute(*m, "The capital of Ireland is", "Dublin", o);
        const double d = maxRelDiff(fast, ref);
        QVERIFY2(d < 1e-4, qPrintable(QString::number(d)));
    }

    void scoresSumTowardTheProbabilityChange() {
        // Integrated gradients is complete: a layer's scores add up to about
        // P(x) - P(0 at that layer) for enough steps.
        auto m = tinyModel(5);
        AttributionOptions o;
        o.steps = 200;
        const auto g = attribute(*m, "The capital of Ireland is", "Dublin", o);
        const auto p = m->prepare("The capital of Ireland is");
        const int target = encodeTarget(*m, "Dublin")[0];
        for (int l = 0; l < g.layers; ++l) {
            double sum = 0;
            for (int i = 0; i < g.neurons; ++i)
                sum += g.at(l, i);
            std::vector<NeuronId> all;
            for (int i = 0; i < g.neurons; ++i)
                all.push_back({l, i});
            const double zero = answerProbs(*m, {p.ids}, {target}, scalesFor(all, 0.f))[0];
            QVERIFY2(std::abs(sum - (g.targetProb - zero)) <
                         0.02 * std::max(1e-3, std::abs(g.targetProb - zero)) + 1e-4,
                     qPrintable(QString("%1 vs %2").arg(sum).arg(g.targetProb - zero)));
        }
    }

    void neuronWithZeroedValueSlotScoresZero() {
        auto m = tinyModel(6);
        {
            torch::NoGradGuard g;
            network(*m).valueVector(1, 10).zero_();
        }
        const auto g = attribute(*m, "The capital of Ireland is", "Dublin");
        QCOMPARE(g.at(1, 10), 0.0f);
        QVERIFY(g.at(1, 11) != 0.0f);
    }

    void candidatesUseTheGridMaximum() {
        const auto g = handGrid(2, 3, {1.0f, 0.19f, 0.2f, -5.f, 0.5f, 0.21f});
        const auto c = candidates(g, 0.2);
        QCOMPARE(c.size(), std::size_t(4));
        QVERIFY((c[0] == NeuronId{0, 0}));
        QVERIFY((c[1] == NeuronId{0, 2}));
        QVERIFY((c[2] == NeuronId{1, 1}));
        QVERIFY((c[3] == NeuronId{1, 2}));
    }

    void refineKeepsNeuronsSharedByShareOfPrompts() {
        // 5 prompts; neuron (0,0) is a candidate in all, (0,1) in 4, (1,0) in 3,
        // (1,1) in 2. With share 0.7, 4 of 5 are needed.
        std::vector<AttributionGrid> grids;
        const std::vector<std::vector<float>> s = {
            {1, 1, 1, 1}, {1, 1, 1, 1}, {1, 1, 1, 0}, {1, 1, 0, 0}, {1, 0, 0, 0}};
        for (const auto& v : s)
            grids.push_back(handGrid(2, 2, v));
        const auto kept = refine(grids, 0.5, 0.7);
        QCOMPARE(kept.size(), std::size_t(2));
        QCOMPARE(kept[0].layer, 0);
        QCOMPARE(kept[0].neuron, 0);
        QCOMPARE(kept[0].prompts, 5);
        QCOMPARE(kept[1].neuron, 1);
        QCOMPARE(kept[1].prompts, 4);
        QCOMPARE(kept[1].meanScore, 0.8);
        QCOMPARE(refine(grids, 0.5, 0.5).size(), std::size_t(3));
        // With 3 or more prompts, at least 3 are needed whatever the share.
        QCOMPARE(promptsNeeded(10, 0.1), 3);
        QCOMPARE(promptsNeeded(2, 0.7), 2);
        QCOMPARE(promptsNeeded(10, 0.7), 7);
    }

    void suppressAndAmplifyScaleActivationsAtTheAnswerPosition() {
        auto m = tinyModel(7);
        const auto p = m->prepare("The capital of Ireland is");
        const int target = encodeTarget(*m, "Dublin")[0];
        const std::vector<NeuronId> ns = {{0, 3}, {1, 7}};
        const double before = answerProbs(*m, {p.ids}, {target})[0];
        const double suppressed = answerProbs(*m, {p.ids}, {target}, scalesFor(ns, 0.f))[0];
        // The same as the forward pass with those activations set to zero.
        const int64_t last = static_cast<int64_t>(p.ids.size()) - 1;
        auto f0 = torch::ones({64}), f1 = torch::ones({64});
        f0[3] = 0;
        f1[7] = 0;
        Hooks taps;
        taps.add({HookSite::Neurons, 0, HookOp::Scale, last, f0, {}, nullptr});
        taps.add({HookSite::Neurons, 1, HookOp::Scale, last, f1, {}, nullptr});
        torch::NoGradGuard g;
        auto logits = network(*m).forward(idsTensor(*m, p.ids), &taps);
        const double direct = torch::softmax(logits[0][-1], -1)[target].item<double>();
        QVERIFY(std::abs(direct - suppressed) < 1e-6);
        QVERIFY(suppressed != before);
        QCOMPARE(relativeEffect({0.5, 0.2}, {0.25, 0.3}), (-0.5 + 0.5) / 2);
    }

    // Dai et al.'s fact update on the built-in model: the neurons found for
    // "Dublin" get their value slots moved from E[Dublin] towards E[Lisbon],
    // and the model then answers Lisbon; undoing it restores every weight.
    void updateFactMakesTheNewAnswerTopOneAndRestoresExactly() {
        auto m = LanguageModel::load(scalpel::defaultModelDir(), "cpu");
        const std::string prompt = "The capital of Ireland is";
        const auto ids = m->prepare(prompt).ids;
        auto top1 = [&] {
            const auto p = m->nextTokenProbs(ids);
            return m->topK(p, 1).front().token;
        };
        QCOMPARE(top1(), std::string("Dublin"));
        const auto grid = attribute(*m, prompt, "Dublin");
        // The paper's threshold: 0.2 of the largest score.
        const float best = *std::max_element(grid.scores.begin(), grid.scores.end());
        std::vector<NeuronId> neurons;
        for (int l = 0; l < grid.layers; ++l)
            for (int i = 0; i < grid.neurons; ++i)
                if (grid.at(l, i) > 0.2f * best)
                    neurons.push_back({l, i});
        QVERIFY(!neurons.empty());
        const auto before = snapshot(*m);
        WeightEditor ed(m);
        const int id = ed.updateFact(neurons, "Dublin", "Lisbon", {}, {ids});
        QCOMPARE(ed.changes().size(), std::size_t(1));
        QCOMPARE(ed.changes()[0].kind, std::string("update-fact"));
        QVERIFY2(top1() == "Lisbon",
                 qPrintable(QString::fromStdString("top-1 is " + top1() + " after updating " +
                                                   std::to_string(neurons.size()) + " neurons")));
        ed.restore(id);
        QVERIFY(bitIdentical(*m, before));
        QCOMPARE(top1(), std::string("Dublin"));
        QVERIFY(ed.changes().empty());
    }

    void eraseZeroesSlotsAndRestoresExactlyInAnyOrder() {
        auto m = tinyModel(9);
        const auto before = snapshot(*m);
        WeightEditor ed(m);
        const int a = ed.eraseRelation({{0, 1}, {1, 2}});
        for (float x : valueRow(*m, 0, 1))
            QCOMPARE(x, 0.0f);
        ed.updateFact({{1, 2}, {0, 4}}, "Dublin", "Paris");
        ed.restore(a); // also undoes the later change on the same slot
        QVERIFY(bitIdentical(*m, before));
        ed.eraseRelation({{1, 1}});
        ed.restoreAll();
        QVERIFY(bitIdentical(*m, before));
    }

    void erasureTakesTheNeuronsFoundForMostFacts() {
        // Counts per neuron of the facts it was found for; ties go to the
        // lower layer, then the lower index, so the choice is reproducible.
        const std::map<NeuronId, int> found{
            {{2, 7}, 3}, {{0, 5}, 9}, {{1, 4}, 3}, {{1, 2}, 3}, {{3, 0}, 1}};
        const auto top = mostFrequentNeurons(found, 3);
        QCOMPARE(top.size(), std::size_t(3));
        QVERIFY((top[0] == NeuronId{0, 5}));
        QVERIFY((top[1] == NeuronId{1, 2}));
        QVERIFY((top[2] == NeuronId{1, 4}));
        QCOMPARE(mostFrequentNeurons(found, 20).size(), found.size());
        QVERIFY(mostFrequentNeurons({}, 20).empty());
    }

    void badInputsAreClearErrors() {
        auto m = tinyModel(10);
        AttributionOptions o;
        QVERIFY_THROWS_EXCEPTION(Error, attribute(*m, "The capital of Ireland is", "Atlantis", o));
        QVERIFY_THROWS_EXCEPTION(Error, attribute(*m, "  ", "Dublin", o));
        o.steps = 0;
        QVERIFY_THROWS_EXCEPTION(Error, attribute(*m, "The capital of Ireland is", "Dublin", o));
        WeightEditor ed(m);
        QVERIFY_THROWS_EXCEPTION(Error, ed.updateFact({{5, 0}}, "Dublin", "Paris"));
        QVERIFY_THROWS_EXCEPTION(Error, ed.updateFact({{0, 0}}, "Dublin", "Atlantis"));
        QVERIFY(ed.changes().empty());
    }

    void cancellingStopsAttribution() {
        auto m = tinyModel(11);
        AttributionOptions o;
        o.progress = [](double) { return false; };
        QVERIFY_THROWS_EXCEPTION(Cancelled,
                                 attribute(*m, "The capital of Ireland is", "Dublin", o));
    }
};

QTEST_GUILESS_MAIN(TestAttribution)
#include "tst_attribution.moc"
