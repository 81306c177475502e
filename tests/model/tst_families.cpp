// Every family on tiny random models in exact Hugging Face layout
// (tests/data/families, written by make_families.py together with golden
// figures from an independent PyTorch reference of each family's modeling
// conventions): next-token log-probabilities (BERT: the masked-LM
// distribution at every position) and knowledge-neuron scores (BERT: at the
// [MASK]) agree with the reference, and per family the KV cache equals the
// full pass, grouped-query attention equals the same model with its k/v
// heads repeated, BF16 shards equal the F32 file, fast attribution equals
// the reference method and is complete, a neuron scale of 1 changes
// nothing, and a fact update makes the new object the top prediction. A
// BERT folder with only vocab.txt and tokenizer_config.json tokenizes a
// cloze prompt to the reference's ids; its prompt cache runs full passes.
#include "Attribution.h"
#include "Error.h"
#include "Intervention.h"
#include "ModelInternals.h"

#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

using namespace scalpel;

namespace {

std::string familyDir(const QString& name) {
    return qEnvironmentVariable("SCALPEL_TEST_DATA").toStdString() + "/families/" +
           name.toStdString();
}

struct Golden {
    std::vector<int> prompt;
    int target = 0;
    int steps = 0;
    std::vector<std::vector<double>> logprobs;
    std::vector<std::vector<double>> ig;
};

Golden readGolden(const std::string& dir) {
    std::ifstream in(dir + "/golden.json");
    if (!in)
        throw Error(dir + "/golden.json is missing");
    auto j = nlohmann::json::parse(in);
    Golden g;
    g.prompt = j["prompt"].get<std::vector<int>>();
    g.target = j["target"].get<int>();
    g.steps = j["steps"].get<int>();
    g.logprobs = j["logprobs"].get<std::vector<std::vector<double>>>();
    g.ig = j["ig"].get<std::vector<std::vector<double>>>();
    return g;
}

torch::Tensor logProbs(const LanguageModel& m, const std::vector<int>& ids) {
    torch::NoGradGuard g;
    return torch::log_softmax(network(m).forward(idsTensor(m, ids)), -1)[0];
}

double correlation(const std::vector<float>& a, const std::vector<double>& b) {
    const double n = static_cast<double>(a.size());
    double ma = 0, mb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        ma += a[i] / n;
        mb += b[i] / n;
    }
    double sab = 0, saa = 0, sbb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / std::sqrt(saa * sbb);
}

float maxAbsDiff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a - b).abs().max().item<float>();
}

} // namespace

class TestFamilies : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void causalFamilies_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("family");
        for (const char* n :
             {"llama-gqa-llama3rope", "llama-tied-linear", "mistral", "qwen2", "qwen3"})
            QTest::newRow(n) << n << "llama";
        QTest::newRow("pythia") << "pythia"
                                << "gpt_neox";
        QTest::newRow("neox-sequential") << "neox-sequential"
                                         << "gpt_neox";
    }
    void agreesWithTheReference_data() {
        causalFamilies_data();
        QTest::newRow("bert") << "bert"
                              << "bert";
        QTest::newRow("bert-gamma-beta-untied") << "bert-gamma-beta-untied"
                                                << "bert";
    }

    void agreesWithTheReference() {
        QFETCH(QString, name);
        QFETCH(QString, family);
        const std::string dir = familyDir(name);
        const Golden golden = readGolden(dir);
        auto m = LanguageModel::load(dir, "cpu");
        QCOMPARE(QString::fromStdString(m->info().family), family);

        // Next-token log-probabilities at every position.
        auto lp = logProbs(*m, golden.prompt);
        double worst = 0;
        for (std::size_t t = 0; t < golden.logprobs.size(); ++t)
            for (std::size_t v = 0; v < golden.logprobs[t].size(); ++v)
                worst = std::max(
                    worst,
                    std::abs(lp[static_cast<int64_t>(t)][static_cast<int64_t>(v)].item<double>() -
                             golden.logprobs[t][v]));
        QVERIFY2(worst < (family == "bert" ? 1e-5 : 1e-4),
                 qPrintable(QString("max |log p - reference| %1").arg(worst)));

        // Knowledge-neuron scores, fast and reference, against the reference
        // implementation's integrated gradients.
        AttributionOptions o;
        o.steps = golden.steps;
        const auto fast = attributeIds(*m, golden.prompt, {golden.target}, o);
        o.method = AttributionMethod::Reference;
        const auto ref = attributeIds(*m, golden.prompt, {golden.target}, o);
        std::vector<double> expected;
        for (const auto& row : golden.ig)
            expected.insert(expected.end(), row.begin(), row.end());
        QCOMPARE(fast.scores.size(), expected.size());
        const double rFast = correlation(fast.scores, expected);
        const double rRef = correlation(ref.scores, expected);
        QVERIFY2(rFast >= 0.999, qPrintable(QString("fast r = %1").arg(rFast)));
        QVERIFY2(rRef >= 0.999, qPrintable(QString("reference r = %1").arg(rRef)));
        double maxAbs = 0, diff = 0;
        for (std::size_t i = 0; i < fast.scores.size(); ++i) {
            maxAbs = std::max(maxAbs, std::abs(static_cast<double>(ref.scores[i])));
            diff = std::max(diff, std::abs(static_cast<double>(fast.scores[i]) - ref.scores[i]));
        }
        QVERIFY2(diff / maxAbs < 1e-4,
                 qPrintable(QString("fast vs reference %1").arg(diff / maxAbs)));
    }

    // One position per row (what a classifier reading one token asks for):
    // the top block's FFN run at those positions only gives the states the
    // whole pass gives there; a post-norm family (BERT) and gated MLPs too.
    void hiddenAtOnePositionEqualsTheWholePass_data() { agreesWithTheReference_data(); }
    void hiddenAtOnePositionEqualsTheWholePass() {
        QFETCH(QString, name);
        const std::string dir = familyDir(name);
        auto m = LanguageModel::load(dir, "cpu");
        auto& net = network(*m);
        torch::NoGradGuard g;
        const auto one = idsTensor(*m, readGolden(dir).prompt);
        const auto ids = torch::cat({one, one.flip(1)}, 0); // two rows
        const auto positions = torch::tensor(std::vector<int64_t>{one.size(1) - 1, 2});
        const auto whole = net.hidden(ids);
        const auto at = net.hiddenAt(ids, positions);
        QCOMPARE(at.sizes().vec(), (std::vector<int64_t>{2, whole.size(2)}));
        const auto expected = torch::stack({whole[0][one.size(1) - 1], whole[1][2]});
        const float diff = maxAbsDiff(at, expected);
        QVERIFY2(diff < 1e-5f, qPrintable(QString::number(diff)));
        // The state of the position asked for, not of its neighbour.
        QVERIFY(maxAbsDiff(at[1], whole[1][3]) > 1e-3f);
    }

    void kvCacheEqualsFullPass_data() { causalFamilies_data(); }
    void kvCacheEqualsFullPass() {
        QFETCH(QString, name);
        const std::string dir = familyDir(name);
        auto m = LanguageModel::load(dir, "cpu");
        auto& net = network(*m);
        torch::NoGradGuard g;
        const auto ids = idsTensor(*m, readGolden(dir).prompt);
        auto full = net.forward(ids);
        KvCache cache;
        auto a = net.forward(ids.narrow(1, 0, 5), nullptr, &cache);
        auto b = net.forward(ids.narrow(1, 5, 1), nullptr, &cache);
        auto c = net.forward(ids.narrow(1, 6, 2), nullptr, &cache);
        QCOMPARE(cache.length(), int64_t(8));
        QVERIFY(maxAbsDiff(full, torch::cat({a, b, c}, 1)) < 1e-4f);
        // Greedy generation with the cache equals argmax by full passes.
        const auto prompt = readGolden(dir).prompt;
        const auto gen = m->generate(prompt, 3);
        std::vector<int> seq = prompt;
        for (int i = 0; i < 3; ++i) {
            const auto p = m->nextTokenProbs(seq);
            const int next = static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
            QCOMPARE(gen[static_cast<std::size_t>(i)], next);
            seq.push_back(next);
        }
    }

    // The studio's hot path: a prompt cache gives the distributions of a
    // plain pass while running only what changed.
    void promptCacheEqualsPlainPasses_data() {
        causalFamilies_data();
        // GPT-2's learned positions: the built-in model.
        QTest::newRow("gpt2-builtin") << "gpt2-builtin"
                                      << "gpt2";
    }
    void promptCacheEqualsPlainPasses() {
        QFETCH(QString, name);
        const bool builtin = name == QLatin1String("gpt2-builtin");
        const std::string dir =
            builtin
                ? qEnvironmentVariable("SCALPEL_RESOURCE_DIR").toStdString() + "/models/factworld"
                : familyDir(name);
        auto m = LanguageModel::load(dir, "cpu");
        const int L = m->config().layers;
        const auto prompt = builtin
                                ? m->prepare("Everyone knows that the capital of Ireland is").ids
                                : readGolden(dir).prompt;
        QVERIFY(prompt.size() >= 6);
        auto near = [](const std::vector<float>& a, const std::vector<float>& b) {
            float worst = a.size() == b.size() ? 0.0f : 1.0f;
            for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
                worst = std::max(worst, std::abs(a[i] - b[i]));
            return worst;
        };
        PromptCache cache;
        std::vector<float> base;
        // A fresh prompt runs every position.
        std::vector<float> got = m->nextTokenProbs(prompt, {}, cache, &base);
        QCOMPARE(cache.reusedPositions(), 0);
        QVERIFY(near(got, m->nextTokenProbs(prompt)) < 1e-5f);
        QCOMPARE(got, base);

        // A slider drag: the same prompt, neurons scaled in a top layer and
        // then in layer 1; only the last position runs, from that layer up.
        const std::vector<NeuronScale> top = {{L - 1, 3, 0.0f}, {L - 1, 7, 2.0f}};
        got = m->nextTokenProbs(prompt, top, cache, &base);
        QCOMPARE(cache.reusedPositions(), static_cast<int>(prompt.size()));
        QCOMPARE(cache.layersRun(), 1);
        QVERIFY(near(got, m->nextTokenProbs(prompt, top)) < 1e-5f);
        QVERIFY(near(base, m->nextTokenProbs(prompt)) < 1e-5f);
        QVERIFY(near(got, base) > 0.0f); // the scales did something
        const std::vector<NeuronScale> low = {{1, 5, 2.0f}, {L - 1, 3, 0.0f}};
        got = m->nextTokenProbs(prompt, low, cache);
        QCOMPARE(cache.layersRun(), L - 1);
        QVERIFY(near(got, m->nextTokenProbs(prompt, low)) < 1e-5f);

        // Typing at the end: a prefix of the prompt, then the whole prompt,
        // runs only the tokens after the shared prefix.
        const std::vector<int> shorter(prompt.begin(), prompt.end() - 2);
        got = m->nextTokenProbs(shorter, top, cache);
        QVERIFY(near(got, m->nextTokenProbs(shorter, top)) < 1e-5f);
        QCOMPARE(cache.reusedPositions(), static_cast<int>(shorter.size()) - 1);
        got = m->nextTokenProbs(prompt, {}, cache);
        QCOMPARE(cache.reusedPositions(), static_cast<int>(shorter.size()) - 1);
        QVERIFY(near(got, m->nextTokenProbs(prompt)) < 1e-5f);
        // An edit in the middle reuses what comes before it.
        std::vector<int> changed = prompt;
        changed[3] = changed[3] == 40 ? 41 : 40;
        got = m->nextTokenProbs(changed, {}, cache);
        QCOMPARE(cache.reusedPositions(), 3);
        QVERIFY(near(got, m->nextTokenProbs(changed)) < 1e-5f);

        // A weight change makes the cache start afresh.
        WeightEditor editor(m);
        m->nextTokenProbs(prompt, {}, cache);
        editor.eraseRelation({{L - 1, 0}, {L - 1, 1}, {L - 2, 2}});
        got = m->nextTokenProbs(prompt, {}, cache);
        QCOMPARE(cache.reusedPositions(), 0);
        QVERIFY(near(got, m->nextTokenProbs(prompt)) < 1e-5f);
        // And so does another model.
        auto other = LanguageModel::load(dir, "cpu");
        got = other->nextTokenProbs(prompt, {}, cache);
        QCOMPARE(cache.reusedPositions(), 0);
        QVERIFY(near(got, other->nextTokenProbs(prompt)) < 1e-5f);
    }

    // A batch of BERT rows of different lengths, padded at the end with the
    // padding masked out of attention: each row's real positions equal the
    // row run alone (to float rounding); without the mask they would not.
    void bertPaddedRowsEqualRowsRunAlone() {
        auto m = LanguageModel::load(familyDir("bert"), "cpu");
        auto& net = network(*m);
        torch::NoGradGuard g;
        const auto a = m->prepare("W17 w42 w9 [MASK] w60 w11").ids;
        const auto b = m->prepare("w9 [MASK] w60").ids;
        const int64_t T = static_cast<int64_t>(a.size()), n = static_cast<int64_t>(b.size());
        QVERIFY(n < T);
        std::vector<int64_t> rows(static_cast<std::size_t>(2 * T), 0);
        std::vector<uint8_t> pad(static_cast<std::size_t>(2 * T), 1);
        for (int64_t i = 0; i < T; ++i) {
            rows[static_cast<std::size_t>(i)] = a[static_cast<std::size_t>(i)];
            pad[static_cast<std::size_t>(i)] = 0;
        }
        for (int64_t i = 0; i < n; ++i) {
            rows[static_cast<std::size_t>(T + i)] = b[static_cast<std::size_t>(i)];
            pad[static_cast<std::size_t>(T + i)] = 0;
        }
        const auto ids = torch::tensor(rows).view({2, T});
        const auto padding = torch::tensor(pad).to(torch::kBool).view({2, T});
        const auto batched = net.hidden(ids, nullptr, nullptr, padding);
        const auto alone = net.hidden(idsTensor(*m, b));
        const float diff = (batched[1].narrow(0, 0, n) - alone[0]).abs().max().item<float>();
        QVERIFY2(diff < 1e-5f, qPrintable(QString::number(diff)));
        const float first =
            (batched[0] - net.hidden(idsTensor(*m, a))[0]).abs().max().item<float>();
        QVERIFY2(first < 1e-5f, qPrintable(QString::number(first)));
        const auto unmasked = net.hidden(ids);
        QVERIFY((unmasked[1].narrow(0, 0, n) - alone[0]).abs().max().item<float>() > 1e-3f);
    }

    // BERT in the paper's setting: a folder with vocab.txt and
    // tokenizer_config.json only; the cloze prompt's ids are the reference's,
    // the distribution is read at the mask, several masks give one
    // distribution each, and the prompt cache (no causal prefix to reuse)
    // gives what plain passes give.
    void bertClozeQueries_data() {
        QTest::addColumn<QString>("name");
        QTest::newRow("bert") << "bert";
        QTest::newRow("bert-gamma-beta-untied") << "bert-gamma-beta-untied";
    }
    void bertClozeQueries() {
        QFETCH(QString, name);
        const std::string dir = familyDir(name);
        QVERIFY(!std::filesystem::exists(dir + "/tokenizer.json"));
        const Golden golden = readGolden(dir);
        auto m = LanguageModel::load(dir, "cpu");
        QVERIFY(m->isMaskedLm());
        QVERIFY(!network(*m).rowsMayShareCausalPrefix());
        const auto p = m->prepare("W17 w42 w9 [MASK] w60 w11");
        QCOMPARE(p.ids, golden.prompt);
        const int at = 4;
        QCOMPARE(m->queryPositions(p.ids), std::vector<int>{at});

        const auto lp = logProbs(*m, golden.prompt);
        const auto probs = m->nextTokenProbs(golden.prompt);
        double worst = 0;
        for (std::size_t v = 0; v < probs.size(); ++v)
            worst = std::max(
                worst, std::abs(std::log(static_cast<double>(probs[v])) - golden.logprobs[at][v]));
        QVERIFY2(worst < 1e-4, qPrintable(QString("at the mask: %1").arg(worst)));

        // Two masks: one distribution each, the first one's is the
        // single-mask query's position 4 of the same sequence.
        std::vector<int> two = golden.prompt;
        two[2] = two[at];
        const auto each = m->queryProbs(two);
        QCOMPARE(each.size(), std::size_t(2));
        const auto lp2 = logProbs(*m, two);
        for (int k = 0; k < 2; ++k) {
            const int pos = k == 0 ? 2 : at;
            float diff = 0;
            for (std::size_t v = 0; v < each[k].size(); ++v)
                diff = std::max(diff, std::abs(std::log(each[static_cast<std::size_t>(k)][v]) -
                                               lp2[pos][static_cast<int64_t>(v)].item<float>()));
            QVERIFY2(diff < 1e-4f, qPrintable(QString("mask %1: %2").arg(k).arg(diff)));
        }

        // A two-token answer fills two masks; its probability is the product.
        std::vector<int> filled = golden.prompt;
        filled.insert(filled.begin() + at, golden.prompt[at]);
        const auto lpFilled = logProbs(*m, filled);
        const double product =
            std::exp(lpFilled[at][23].item<double>() + lpFilled[at + 1][30].item<double>());
        const double got = answerProbs(*m, {golden.prompt}, {23, 30})[0];
        QVERIFY2(std::abs(got - product) < 1e-6 * std::max(1.0, product) + 1e-9,
                 qPrintable(QString("%1 vs %2").arg(got).arg(product)));

        // Attribution reads the neurons at the mask; the fast method for a
        // masked model equals the reference method, also for a two-token
        // answer (two masks).
        const auto grid = attributeIds(*m, golden.prompt, {golden.target});
        QCOMPARE(QString::fromStdString(grid.method), QString("fast"));
        QVERIFY(std::abs(grid.targetProb - probs[static_cast<std::size_t>(golden.target)]) < 1e-6);
        AttributionOptions reference;
        reference.method = AttributionMethod::Reference;
        const auto fast2 = attributeIds(*m, golden.prompt, {23, 30});
        const auto ref2 = attributeIds(*m, golden.prompt, {23, 30}, reference);
        QVERIFY(std::abs(fast2.targetProb - product) < 1e-6 * std::max(1.0, product) + 1e-9);
        QVERIFY(std::abs(ref2.targetProb - fast2.targetProb) < 1e-6 * product + 1e-12);
        float largest = 0, diff = 0;
        for (std::size_t i = 0; i < fast2.scores.size(); ++i) {
            largest = std::max(largest, std::abs(ref2.scores[i]));
            diff = std::max(diff, std::abs(fast2.scores[i] - ref2.scores[i]));
        }
        QVERIFY2(largest > 0 && diff <= 1e-4f * largest,
                 qPrintable(QString("fast vs reference %1 of %2").arg(diff).arg(largest)));

        // The prompt cache runs full passes and equals them.
        PromptCache cache;
        std::vector<float> base;
        const std::vector<NeuronScale> scales = {{1, 5, 0.0f}, {0, 7, 2.0f}};
        const auto scaled = m->nextTokenProbs(golden.prompt, scales, cache, &base);
        QCOMPARE(cache.reusedPositions(), 0);
        QCOMPARE(base, probs);
        QCOMPARE(scaled, m->nextTokenProbs(golden.prompt, scales));
        QVERIFY(scaled != probs);
        QCOMPARE(m->nextTokenProbs(golden.prompt, {}, cache), probs);
        QCOMPARE(cache.reusedPositions(), 0);

        // Saved in BERT's own names (and tokenizer.json), it loads back as
        // the same model.
        QTemporaryDir saved;
        m->save(saved.path().toStdString());
        auto again = LanguageModel::load(saved.path().toStdString(), "cpu");
        QCOMPARE(QString::fromStdString(again->info().family), QString("bert"));
        QCOMPARE(again->prepare("W17 w42 w9 [MASK] w60 w11").ids, golden.prompt);
        QCOMPARE(again->nextTokenProbs(golden.prompt), probs);
    }

    void bertRefusesWhatAMaskedModelCannotDo() {
        auto m = LanguageModel::load(familyDir("bert"), "cpu");
        auto message = [](const std::function<void()>& f) {
            try {
                f();
            } catch (const Error& e) {
                return QString(e.what());
            }
            return QString();
        };
        const auto noMask = m->prepare("w17 w42 w9").ids;
        QString e = message([&] { m->nextTokenProbs(noMask); });
        QVERIFY2(e.contains("no [MASK]") && e.contains("cloze"), qPrintable(e));
        e = message([&] { m->generate(m->prepare("w17 [MASK]").ids, 2); });
        QVERIFY2(e.contains("does not continue text"), qPrintable(e));
        // A causal model refuses a cloze prompt.
        auto causal = LanguageModel::load(familyDir("pythia"), "cpu");
        e = message([&] { causal->prepare("w17 [MASK] w3"); });
        QVERIFY2(e.contains("causal language model") && e.contains("[MASK]"), qPrintable(e));
        // A BERT folder whose tokenizer has no mask token.
        QTemporaryDir dir;
        const std::string d = dir.path().toStdString();
        for (const char* f : {"config.json", "model.safetensors", "vocab.txt"})
            std::filesystem::copy_file(familyDir("bert") + "/" + f, d + "/" + f);
        std::ofstream(d + "/tokenizer_config.json") << R"({"mask_token": "[MSK]"})";
        e = message([&] { LanguageModel::load(d, "cpu"); });
        QVERIFY2(e.contains("mask token") && e.contains(QString::fromStdString(d)), qPrintable(e));
    }

    void groupedQueryAttentionEqualsRepeatedHeads_data() {
        QTest::addColumn<QString>("name");
        for (const char* n : {"llama-gqa-llama3rope", "mistral", "qwen2", "qwen3"})
            QTest::newRow(n) << n;
    }
    void groupedQueryAttentionEqualsRepeatedHeads() {
        QFETCH(QString, name);
        const std::string dir = familyDir(name);
        auto m = LanguageModel::load(dir, "cpu");
        const ModelConfig c = m->config();
        QVERIFY(c.kvHeads < c.heads);
        ModelConfig full = c;
        full.kvHeads = c.heads;
        auto& net = network(*m);
        Transformer wide(full);
        torch::NoGradGuard g;
        auto src = net.named_parameters();
        for (auto& p : wide->named_parameters()) {
            const auto& from = src[p.key()];
            if (p.value().sizes() == from.sizes()) {
                p.value().copy_(from);
                continue;
            }
            // q | k | v along the output (dim 0 of [out, in] storage, and
            // of the bias): repeat each k and v head.
            const int64_t q = int64_t(c.heads) * c.headDim, kv = int64_t(c.kvHeads) * c.headDim;
            const int64_t groups = c.heads / c.kvHeads;
            QVERIFY(net.outInLayout());
            auto repeat = [&](const torch::Tensor& t) {
                auto sizes = t.sizes().vec();
                sizes[0] = c.kvHeads;
                sizes.insert(sizes.begin() + 1, c.headDim);
                auto r = t.reshape(sizes).repeat_interleave(groups, 0);
                auto flat = t.sizes().vec();
                flat[0] = q;
                return r.reshape(flat);
            };
            p.value().copy_(torch::cat({from.narrow(0, 0, q), repeat(from.narrow(0, q, kv)),
                                        repeat(from.narrow(0, q + kv, kv))},
                                       0));
        }
        const auto ids = idsTensor(*m, readGolden(dir).prompt);
        QVERIFY(maxAbsDiff(net.forward(ids), wide->forward(ids)) < 1e-5f);
    }

    void absurdSizesAreRefusedBeforeAllocating() {
        // A config.json that promises far more than the machine's memory:
        // refused from the config alone, before a weight is allocated.
        QTemporaryDir dir;
        const std::string d = dir.path().toStdString();
        for (const char* f : {"tokenizer.json", "model.safetensors"})
            std::filesystem::copy_file(familyDir("pythia") + "/" + f, d + "/" + f);
        std::ofstream(d + "/config.json")
            << R"({"model_type":"gpt_neox","hidden_size":65536,"intermediate_size":262144,
               "num_hidden_layers":4096,"num_attention_heads":64,"vocab_size":64})";
        try {
            LanguageModel::load(d, "cpu");
            QFAIL("no error");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains("more than this machine's"), e.what());
            QVERIFY2(QString(e.what()).contains("config.json"), e.what());
        }
    }

    void bf16ShardsEqualTheF32File() {
        auto f32 = LanguageModel::load(familyDir("llama-gqa-llama3rope"), "cpu");
        auto bf16 = LanguageModel::load(familyDir("llama-gqa-llama3rope-bf16-shards"), "cpu");
        QCOMPARE(QString::fromStdString(bf16->info().dtypeOnDisk), QString("BF16"));
        QCOMPARE(QString::fromStdString(f32->info().dtypeOnDisk), QString("F32"));
        const auto prompt = readGolden(familyDir("llama-gqa-llama3rope")).prompt;
        QCOMPARE(maxAbsDiff(logProbs(*f32, prompt), logProbs(*bf16, prompt)), 0.0f);
    }

    void attributionIsCompleteAndScaleOneChangesNothing_data() { agreesWithTheReference_data(); }
    void attributionIsCompleteAndScaleOneChangesNothing() {
        QFETCH(QString, name);
        const std::string dir = familyDir(name);
        const Golden golden = readGolden(dir);
        auto m = LanguageModel::load(dir, "cpu");
        AttributionOptions o;
        o.steps = 200;
        const auto g = attributeIds(*m, golden.prompt, {golden.target}, o);
        for (int l = 0; l < g.layers; ++l) {
            double sum = 0;
            std::vector<NeuronId> all;
            for (int i = 0; i < g.neurons; ++i) {
                sum += g.at(l, i);
                all.push_back({l, i});
            }
            const double zero =
                answerProbs(*m, {golden.prompt}, {golden.target}, scalesFor(all, 0.f))[0];
            QVERIFY2(
                std::abs(sum - (g.targetProb - zero)) <
                    0.02 * std::max(1e-3, std::abs(g.targetProb - zero)) + 1e-4,
                qPrintable(QString("layer %1: %2 vs %3").arg(l).arg(sum).arg(g.targetProb - zero)));
        }
        const auto base = m->nextTokenProbs(golden.prompt);
        QCOMPARE(m->nextTokenProbs(golden.prompt, {{0, 3, 1.0f}, {1, 40, 1.0f}}), base);
        QVERIFY(m->nextTokenProbs(golden.prompt, {{1, 40, 0.0f}}) != base);
    }

    // Causal families only: in BERT the residual reaches the decoder through
    // post-block norms and the masked-LM head's own dense layer, GELU and
    // LayerNorm, so on these random-weight models adding the new object's
    // embedding to value vectors does not make it the top prediction.
    void factUpdateMakesTheNewObjectTopOne_data() { causalFamilies_data(); }
    void factUpdateMakesTheNewObjectTopOne() {
        QFETCH(QString, name);
        const std::string dir = familyDir(name);
        const Golden golden = readGolden(dir);
        auto m = LanguageModel::load(dir, "cpu");
        const auto probs = m->nextTokenProbs(golden.prompt);
        // The most likely word (the unknown and special tokens are none).
        int oldId = -1;
        for (int id = 0; id < static_cast<int>(probs.size()); ++id)
            if (m->tokenizer().tokenSpelling(id).rfind("w", 0) == 0 &&
                (oldId < 0 || probs[static_cast<std::size_t>(id)] > probs[oldId]))
                oldId = id;
        const int newId = oldId == 30 ? 31 : 30;
        const std::string oldObject = m->tokenizer().tokenText(oldId);
        const std::string newObject = m->tokenizer().tokenText(newId);
        const auto grid = attributeIds(*m, golden.prompt, {oldId});
        // The ten neurons that carry the current answer most.
        std::vector<std::pair<float, NeuronId>> ranked;
        for (int l = 0; l < grid.layers; ++l)
            for (int i = 0; i < grid.neurons; ++i)
                ranked.push_back({grid.at(l, i), {l, i}});
        std::sort(ranked.begin(), ranked.end(),
                  [](const auto& a, const auto& b) { return a.first > b.first; });
        std::vector<NeuronId> neurons;
        for (std::size_t k = 0; k < 10; ++k)
            neurons.push_back(ranked[k].second);
        WeightEditor editor(m);
        const int change = editor.updateFact(neurons, oldObject, newObject, {}, {golden.prompt});
        const auto after = m->nextTokenProbs(golden.prompt);
        const int top =
            static_cast<int>(std::max_element(after.begin(), after.end()) - after.begin());
        QVERIFY2(top == newId, qPrintable(QString("top-1 is %1 (p %5) after updating %2 neurons to "
                                                  "%3 (p %4 -> %6), old %7 p %8 -> %9")
                                              .arg(top)
                                              .arg(neurons.size())
                                              .arg(newId)
                                              .arg(probs[newId])
                                              .arg(after[top])
                                              .arg(after[newId])
                                              .arg(oldId)
                                              .arg(probs[oldId])
                                              .arg(after[oldId])));
        editor.restore(change);
        QCOMPARE(m->nextTokenProbs(golden.prompt), probs);
    }
};

QTEST_GUILESS_MAIN(TestFamilies)
#include "tst_families.moc"
