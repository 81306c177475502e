// The logit lens and value-vector projection on tiny random models of every
// family: the lens's last layer is the model's own next-token distribution
// at every position, the answer's rank follows its probability, a neuron
// whose value vector is set to a token's unembedding projects that token
// first (and its negation last), the reverse search finds such a neuron
// first and ranks a prompt's neurons by activation x dot product, and bad
// input is a clear error.
#include "Error.h"
#include "LogitLens.h"
#include "ModelInternals.h"
#include "TinyModel.h"
#include "ValueProjection.h"

#include <QtTest>

#include <cmath>

using namespace scalpel;

namespace {

std::shared_ptr<LanguageModel> modelFor(const QString& name) {
    if (name == "gpt2")
        return test::tinyModel(5, 3);
    const std::string dir =
        qEnvironmentVariable("SCALPEL_TEST_DATA").toStdString() + "/families/" + name.toStdString();
    return LanguageModel::load(dir, "cpu");
}

std::vector<int> idsFor(const QString& name) {
    if (name == "gpt2")
        return {4, 5, 6, 14, 15, 7};
    return {3, 17, 42, 5, 9, 60, 2, 11};
}

void addFamilies() {
    QTest::addColumn<QString>("name");
    for (const char* n : {"gpt2", "llama-gqa-llama3rope", "llama-tied-linear", "mistral", "qwen2",
                          "qwen3", "pythia", "neox-sequential"})
        QTest::newRow(n) << n;
}

// The token whose unembedding row is longest: no other row's dot product
// with it can exceed its own squared norm.
int longestRow(LanguageModel& m) {
    torch::NoGradGuard g;
    return static_cast<int>(network(m).unembedding().norm(2, 1).argmax().item<int64_t>());
}

template <class F> QString errorOf(F f) {
    try {
        f();
    } catch (const Error& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

} // namespace

class TestLens : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // Tiny models run fastest on one thread, and then a busy machine's other
    // work cannot stall LibTorch's thread pool between the many small ops.
    void initTestCase() { setThreads(1); }

    void lastLayerIsTheModelsDistribution_data() { addFamilies(); }

    void lastLayerIsTheModelsDistribution() {
        QFETCH(QString, name);
        auto m = modelFor(name);
        const auto ids = idsFor(name);
        LogitLensOptions o;
        o.topK = 5;
        const auto lens = logitLensIds(*m, ids, -1, o);
        QCOMPARE(lens.layers, m->config().layers);
        QCOMPARE(lens.positions, int(ids.size()));
        for (std::size_t t = 1; t <= ids.size(); ++t) {
            const std::vector<int> prefix(ids.begin(), ids.begin() + static_cast<long>(t));
            const auto own = m->topK(m->nextTokenProbs(prefix), 5);
            const auto& cell = lens.at(lens.layers - 1, static_cast<int>(t) - 1);
            QCOMPARE(cell.size(), own.size());
            for (std::size_t i = 0; i < own.size(); ++i) {
                QCOMPARE(cell[i].id, own[i].id);
                QVERIFY(std::abs(cell[i].prob - own[i].prob) < 1e-5);
            }
        }
        // The default answer is the model's top-1: rank 1 at the last layer.
        QCOMPARE(lens.answerRank.back(), 1);
        QVERIFY(std::abs(lens.answerProb.back() -
                         lens.at(lens.layers - 1, lens.positions - 1)[0].prob) < 1e-9);
        // Every layer's rank agrees with its top-k.
        for (int l = 0; l < lens.layers; ++l) {
            const auto& cell = lens.at(l, lens.positions - 1);
            for (std::size_t i = 0; i < cell.size(); ++i)
                if (cell[i].id == lens.answerId)
                    QCOMPARE(lens.answerRank[static_cast<std::size_t>(l)], int(i) + 1);
            QVERIFY(cell.front().prob >= lens.answerProb[static_cast<std::size_t>(l)] - 1e-9);
        }
    }

    void followsAGivenAnswer() {
        auto m = test::tinyModel(5, 3);
        const auto lens = logitLens(*m, "The capital of Ireland is", "Dublin");
        QCOMPARE(QString::fromStdString(lens.answer), QString("Dublin"));
        const auto probs = m->nextTokenProbs(lens.ids);
        QVERIFY(std::abs(lens.answerProb.back() - probs[static_cast<std::size_t>(lens.answerId)]) <
                1e-6);
        int rank = 1;
        for (float p : probs)
            rank += p > probs[static_cast<std::size_t>(lens.answerId)];
        QCOMPARE(lens.answerRank.back(), rank);
    }

    void valueVectorSetToATokenProjectsIt_data() { addFamilies(); }

    void valueVectorSetToATokenProjectsIt() {
        QFETCH(QString, name);
        auto m = modelFor(name);
        const int t = longestRow(*m);
        const int layer = m->config().layers - 1, neuron = 3;
        {
            torch::NoGradGuard g;
            network(*m).valueVector(layer, neuron).copy_(network(*m).unembeddingRow(t));
        }
        const auto p = projectValueVector(*m, layer, neuron, 5);
        QCOMPARE(p.top.size(), std::size_t(5));
        QCOMPARE(p.top[0].id, t);
        for (std::size_t i = 1; i < p.top.size(); ++i)
            QVERIFY(p.top[i - 1].score >= p.top[i].score);
        {
            torch::NoGradGuard g;
            network(*m).valueVector(layer, neuron).mul_(-1);
        }
        const auto q = projectValueVector(*m, layer, neuron, 5);
        QCOMPARE(q.bottom[0].id, t);
        for (std::size_t i = 1; i < q.bottom.size(); ++i)
            QVERIFY(q.bottom[i - 1].score <= q.bottom[i].score);
        // With the final norm the scores are the unembedding of the normed
        // vector.
        const auto n = projectValueVector(*m, layer, neuron, 3, true);
        torch::NoGradGuard g;
        auto& net = network(*m);
        auto expected = net.unembed(net.finalNorm(net.valueVector(layer, neuron).unsqueeze(0)))[0];
        QVERIFY(std::abs(expected.max().item<double>() - n.top[0].score) < 1e-4);
    }

    void searchFindsThePlantedNeuron_data() { addFamilies(); }

    void searchFindsThePlantedNeuron() {
        QFETCH(QString, name);
        auto m = modelFor(name);
        auto& net = network(*m);
        const int t = 7, layer = 0, neuron = 5;
        {
            torch::NoGradGuard g;
            const auto e = net.unembeddingRow(t);
            double largest = 0;
            for (int l = 0; l < net.layers(); ++l)
                largest = std::max(largest,
                                   torch::mv(net.downProjection(l), e).abs().max().item<double>());
            const double scale = 2 * largest / e.dot(e).item<double>() + 1;
            net.valueVector(layer, neuron).copy_(e * scale);
        }
        const auto s = neuronsPromoting(*m, t, 10);
        QCOMPARE(s.neurons.size(), std::size_t(10));
        QCOMPARE(s.neurons[0].layer, layer);
        QCOMPARE(s.neurons[0].neuron, neuron);
        for (std::size_t i = 1; i < s.neurons.size(); ++i)
            QVERIFY(s.neurons[i - 1].score >= s.neurons[i].score);

        // With a prompt: activation at the last position x dot product, the
        // activation as the Neurons hook site reads it.
        const auto ids = idsFor(name);
        const auto p = neuronsPromoting(*m, t, 20, ids);
        QVERIFY(p.withPrompt);
        std::vector<torch::Tensor> acts(static_cast<std::size_t>(net.layers()));
        Hooks reads;
        for (int l = 0; l < net.layers(); ++l)
            reads.add({HookSite::Neurons,
                       l,
                       HookOp::Read,
                       -1,
                       {},
                       {},
                       &acts[static_cast<std::size_t>(l)]});
        torch::NoGradGuard g;
        net.hidden(idsTensor(*m, ids), &reads);
        for (std::size_t i = 0; i < p.neurons.size(); ++i) {
            const auto& n = p.neurons[i];
            const double a =
                acts[static_cast<std::size_t>(n.layer)][0][long(ids.size()) - 1][n.neuron]
                    .item<double>();
            QVERIFY(std::abs(a - n.activation) < 1e-5);
            QVERIFY(std::abs(n.score - n.activation * n.dot) < 1e-4 * (1 + std::abs(n.score)));
            if (i > 0)
                QVERIFY(p.neurons[i - 1].score >= n.score);
        }
    }

    void badInput() {
        auto m = test::tinyModel(1, 2);
        QVERIFY(
            errorOf([&] { projectValueVector(*m, 2, 0); }).contains("neuron 2:0 does not exist"));
        QVERIFY(
            errorOf([&] { projectValueVector(*m, 0, 64); }).contains("neuron 0:64 does not exist"));
        QVERIFY(errorOf([&] { projectValueVector(*m, -1, 0); }).contains("does not exist"));
        QVERIFY(
            errorOf([&] { projectValueVector(*m, 0, 0, 0); }).contains("top-k must be positive"));
        QVERIFY(errorOf([&] { neuronsPromoting(*m, 20, 5); }).contains("token id 20 is outside"));
        QVERIFY(errorOf([&] { neuronsPromoting(*m, 4, 0); }).contains("top-k"));
        QVERIFY(errorOf([&] { singleToken(*m, "Atlantis"); }).contains("Atlantis"));
        QVERIFY(errorOf([&] { singleToken(*m, "capital of"); }).contains("2 tokens"));
        QVERIFY(errorOf([&] { logitLens(*m, ""); }).contains("empty"));
        LogitLensOptions o;
        o.topK = 0;
        QVERIFY(errorOf([&] { logitLens(*m, "The capital", "", o); }).contains("top-k"));
        QVERIFY(errorOf([&] { logitLensIds(*m, {4, 5}, 99); }).contains("outside the vocabulary"));
    }
};

QTEST_GUILESS_MAIN(TestLens)
#include "tst_lens.moc"
