// The transformer on GPT-2: Hugging Face names and shapes, the KV cache,
// batching, and the neuron hooks (read, scale, replace with gradient) behave
// as the attribution and intervention code relies on.
#include "Error.h"
#include "Safetensors.h"
#include "TinyModel.h"
#include "Weights.h"

#include <QtTest>

#include <filesystem>
#include <fstream>

using namespace scalpel;
using namespace scalpel::test;

namespace {

float maxAbsDiff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a - b).abs().max().item<float>();
}

torch::Tensor ids(std::vector<int64_t> v) {
    return torch::tensor(v).view({1, -1});
}

void expectError(const std::function<void()>& f, const QString& mentions) {
    try {
        f();
        QFAIL("no error");
    } catch (const Error& e) {
        QVERIFY2(QString(e.what()).contains(mentions), e.what());
    }
}

} // namespace

class TestGpt2 : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void parameterNamesAreHuggingFaces() {
        auto m = tinyModel();
        std::map<std::string, torch::Tensor> params;
        for (auto& [name, t] : checkpointTensors(network(*m)))
            params[name] = t;
        const int N = 4 * 16;
        QCOMPARE(params["transformer.wte.weight"].sizes().vec(),
                 (std::vector<int64_t>{tinyTokenizer().vocabSize(), 16}));
        QCOMPARE(params["transformer.wpe.weight"].sizes().vec(), (std::vector<int64_t>{16, 16}));
        QCOMPARE(params["transformer.h.0.attn.c_attn.weight"].sizes().vec(),
                 (std::vector<int64_t>{16, 48}));
        QCOMPARE(params["transformer.h.1.mlp.c_fc.weight"].sizes().vec(),
                 (std::vector<int64_t>{16, N}));
        QCOMPARE(params["transformer.h.1.mlp.c_proj.weight"].sizes().vec(),
                 (std::vector<int64_t>{N, 16}));
        QVERIFY(params.count("transformer.h.0.ln_1.weight"));
        QVERIFY(params.count("transformer.h.0.ln_2.bias"));
        QVERIFY(params.count("transformer.h.0.attn.c_proj.bias"));
        QVERIFY(params.count("transformer.ln_f.weight"));
        QVERIFY(!params.count("lm_head.weight")); // tied to wte
    }

    void saveAndLoadGiveTheSameLogits() {
        QTemporaryDir dir;
        auto m = tinyModel(3);
        auto r = reloaded(m, dir);
        torch::NoGradGuard g;
        auto x = ids({4, 5, 6, 14, 7});
        QCOMPARE(maxAbsDiff(network(*m).forward(x), network(*r).forward(x)), 0.0f);
        QCOMPARE(r->info().layers, 2);
        QCOMPARE(r->info().neuronsPerLayer, 64);
    }

    void namesWithoutTransformerPrefixLoad() {
        QTemporaryDir dir;
        auto m = tinyModel(4);
        m->save(dir.path().toStdString());
        // Rewrite the weights with bare names, as some exports do.
        std::vector<torch::Tensor> keep;
        std::vector<SafetensorsTensor> ts;
        for (auto& [name, t] : checkpointTensors(network(*m))) {
            keep.push_back(t);
            ts.push_back({name.substr(12), t.sizes().vec(), t.data_ptr<float>()});
        }
        writeSafetensors(dir.filePath("model.safetensors").toStdString(), ts);
        auto r = LanguageModel::load(dir.path().toStdString(), "cpu");
        torch::NoGradGuard g;
        auto x = ids({4, 5, 6});
        QCOMPARE(maxAbsDiff(network(*m).forward(x), network(*r).forward(x)), 0.0f);
    }

    void kvCacheMatchesFullForward() {
        auto m = tinyModel(5);
        TransformerImpl* net = &network(*m);
        torch::NoGradGuard g;
        auto x = ids({4, 5, 6, 14, 7, 8, 9, 10});
        auto full = net->forward(x);
        KvCache cache;
        auto a = net->forward(x.narrow(1, 0, 5), nullptr, &cache);
        QCOMPARE(cache.length(), int64_t(5));
        auto b = net->forward(x.narrow(1, 5, 1), nullptr, &cache);
        auto c = net->forward(x.narrow(1, 6, 2), nullptr, &cache);
        auto inc = torch::cat({a, b, c}, 1);
        QVERIFY2(maxAbsDiff(full, inc) < 1e-5f, qPrintable(QString::number(maxAbsDiff(full, inc))));
    }

    void sharedPrefixAttentionEqualsExpandedPrefix() {
        // The fast attribution runs many rows over one cached prefix; a block
        // run that way must equal the ordinary run over a copied prefix, for
        // one and several suffix tokens and for an empty prefix, gradients
        // included.
        auto m = tinyModel(16);
        TransformerImpl* net = &network(*m);
        const int64_t D = m->config().hidden;
        for (int64_t P : {0, 1, 5})
            for (int64_t n : {1, 3}) {
                KvCache prefix;
                if (P > 0) {
                    torch::NoGradGuard g;
                    AttentionContext grow;
                    grow.cache = &prefix;
                    net->block(0, torch::randn({1, P, D}), grow);
                }
                auto x = torch::randn({4, n, D}).requires_grad_(true);
                AttentionContext shared;
                shared.prefix = &prefix;
                shared.sharedPrefix = true;
                auto fast = net->block(0, x, shared);
                KvCache copied = prefix.expanded(4);
                AttentionContext plain;
                plain.prefix = &copied;
                auto ref = net->block(0, x, plain);
                QVERIFY2(
                    maxAbsDiff(fast, ref) < 1e-5f,
                    qPrintable(QString("P %1 n %2: %3").arg(P).arg(n).arg(maxAbsDiff(fast, ref))));
                auto w = torch::randn_like(ref);
                auto gFast = torch::autograd::grad({(fast * w).sum()}, {x})[0];
                auto gRef = torch::autograd::grad({(ref * w).sum()}, {x})[0];
                QVERIFY(maxAbsDiff(gFast, gRef) < 1e-5f);
            }
    }

    void batchEqualsRowsAlone() {
        auto m = tinyModel(6);
        TransformerImpl* net = &network(*m);
        torch::NoGradGuard g;
        auto batch = torch::tensor({4, 5, 6, 14, 7, 4, 11, 12, 13, 16}).view({2, 5});
        auto both = net->forward(batch);
        for (int r = 0; r < 2; ++r)
            QVERIFY(maxAbsDiff(both[r], net->forward(batch[r].unsqueeze(0))[0]) < 1e-5f);
    }

    void scaleByOneChangesNothingByZeroChangesLogits() {
        auto m = tinyModel(7);
        TransformerImpl* net = &network(*m);
        torch::NoGradGuard g;
        auto x = ids({4, 5, 6, 14, 7});
        auto base = net->forward(x);
        Hooks one;
        one.add({HookSite::Neurons, 1, HookOp::Scale, -1, torch::ones({64}), {}, nullptr});
        QCOMPARE(maxAbsDiff(net->forward(x, &one), base), 0.0f);
        auto factor = torch::ones({64});
        factor[3] = 0;
        factor[17] = 0;
        Hooks zero;
        zero.add({HookSite::Neurons, 1, HookOp::Scale, 4, factor, {}, nullptr});
        auto changed = net->forward(x, &zero);
        QVERIFY(maxAbsDiff(changed.select(1, 4), base.select(1, 4)) > 1e-4f);
        // Scaling one position leaves the earlier positions alone.
        QCOMPARE(maxAbsDiff(changed.narrow(1, 0, 4), base.narrow(1, 0, 4)), 0.0f);
    }

    void readTapRecordsPostActivationNeurons() {
        auto m = tinyModel(8);
        TransformerImpl* net = &network(*m);
        torch::NoGradGuard g;
        std::map<int, torch::Tensor> rec;
        Hooks t;
        for (int l : {0, 1})
            t.add({HookSite::Neurons, l, HookOp::Read, -1, {}, {}, &rec[l]});
        net->forward(ids({4, 5, 6}), &t);
        QCOMPARE(rec.size(), std::size_t(2));
        QCOMPARE(rec[1].sizes().vec(), (std::vector<int64_t>{1, 3, 64}));
        // gelu_new is bounded below by about -0.17.
        QVERIFY(rec[0].min().item<float>() > -0.2f);
    }

    void replacingWithItselfChangesNothingAndGradientFlows() {
        auto m = tinyModel(9);
        TransformerImpl* net = &network(*m);
        auto x = ids({4, 5, 6, 14, 7});
        std::map<int, torch::Tensor> rec;
        Hooks read;
        read.add({HookSite::Neurons, 0, HookOp::Read, -1, {}, {}, &rec[0]});
        torch::Tensor base;
        {
            torch::NoGradGuard g;
            base = net->forward(x, &read);
        }
        auto replacement = rec[0].select(1, 4).detach().clone().requires_grad_(true);
        Hooks rep;
        rep.add({HookSite::Neurons, 0, HookOp::Replace, 4, replacement, {}, nullptr});
        auto out = net->forward(x, &rep);
        QVERIFY(maxAbsDiff(out.detach(), base) < 1e-6f);
        torch::softmax(out[0][-1], -1)[9].backward();
        QVERIFY(replacement.grad().defined());
        QVERIFY(replacement.grad().abs().sum().item<float>() > 0);
    }

    void predictAndGenerateThroughThePublicApi() {
        auto m = tinyModel(10);
        const auto p = m->prepare("The capital of Ireland is");
        QCOMPARE(p.ids.size(), std::size_t(5));
        const auto probs = m->nextTokenProbs(p.ids);
        double sum = 0;
        for (float v : probs)
            sum += v;
        QVERIFY(qAbs(sum - 1.0) < 1e-4);
        QCOMPARE(m->topK(probs, 3).size(), std::size_t(3));
        QVERIFY(m->topK(probs, 3)[0].prob >= m->topK(probs, 3)[1].prob);
        const auto scaled = m->nextTokenProbs(p.ids, {{1, 5, 0.0f}, {0, 2, 2.0f}});
        QVERIFY(scaled != probs);
        // Greedy generation with the cache equals greedy argmax by full passes.
        const auto gen = m->generate(p.ids, 4);
        std::vector<int> seq = p.ids;
        for (int i = 0; i < 4; ++i) {
            const auto pr = m->nextTokenProbs(seq);
            const int next = static_cast<int>(std::max_element(pr.begin(), pr.end()) - pr.begin());
            QCOMPARE(gen[static_cast<std::size_t>(i)], next);
            seq.push_back(next);
        }
    }

    void badInputsAreClearErrors() {
        auto m = tinyModel(11);
        expectError([&] { m->prepare("   "); }, "empty");
        expectError([&] { m->nextTokenProbs({4, 5}, {{7, 0, 0.f}}); }, "does not exist");
        const auto unknown = m->prepare("The capital of Atlantis is");
        QCOMPARE(unknown.unknownWords, (std::vector<std::string>{"Atlantis"}));
        std::string longPrompt;
        for (int i = 0; i < 40; ++i)
            longPrompt += "city ";
        const auto cut = m->prepare(longPrompt);
        QCOMPARE(cut.ids.size(), std::size_t(16));
        QCOMPARE(cut.droppedTokens, 24);
        QVERIFY(!cut.warning.empty());
    }

    void megabytePromptIsCutToTheContext() {
        auto m = tinyModel(14);
        std::string huge;
        while (huge.size() < (1u << 20))
            huge += "The capital of Ireland is Dublin . ";
        QElapsedTimer t;
        t.start();
        const auto p = m->prepare(huge);
        QCOMPARE(p.ids.size(), std::size_t(16));
        QVERIFY(p.droppedTokens > 100000);
        QVERIFY(p.warning.find("context") != std::string::npos);
        QCOMPARE(m->nextTokenProbs(p.ids).size(), std::size_t(m->config().vocabSize));
        qInfo("1 MB prompt prepared and predicted in %lld ms", t.elapsed());
    }

    void differentArchitectureIsAClearError() {
        QTemporaryDir dir;
        tinyModel(15)->save(dir.path().toStdString());
        std::ofstream(dir.filePath("config.json").toStdString())
            << "{\"model_type\":\"mamba\",\"hidden_size\":16,\"num_hidden_layers\":2}";
        expectError([&] { LanguageModel::load(dir.path().toStdString(), "cpu"); }, "mamba");
        expectError([&] { LanguageModel::load(dir.path().toStdString(), "cpu"); },
                    "supported: gpt2, llama, mistral, qwen2, qwen3, gpt_neox");
    }

    void brokenModelFoldersAreClearErrors() {
        namespace fs = std::filesystem;
        QTemporaryDir dir;
        auto m = tinyModel(12);
        const std::string d = dir.path().toStdString();
        m->save(d);
        const std::string st = d + "/model.safetensors";
        const auto size = fs::file_size(st);
        // Truncated weights.
        fs::resize_file(st, size - 100);
        expectError([&] { LanguageModel::load(d, "cpu"); }, "past the end");
        m->save(d);
        // A config whose shapes do not match the weights.
        {
            GptConfig c = m->config().toGpt();
            c.nEmbd = 32;
            std::ofstream(d + "/config.json") << c.toJson();
        }
        expectError([&] { LanguageModel::load(d, "cpu"); }, "has shape");
        // A config without n_layer.
        std::ofstream(d + "/config.json")
            << "{\"n_head\":2,\"n_embd\":16,\"n_positions\":16,\"vocab_size\":20}";
        expectError([&] { LanguageModel::load(d, "cpu"); }, "n_layer");
        // Not a folder at all, and a folder that is not a model.
        expectError([&] { LanguageModel::load(d + "/nope", "cpu"); }, "not a folder");
        QTemporaryDir empty;
        expectError([&] { LanguageModel::load(empty.path().toStdString(), "cpu"); }, "config.json");
    }

    void nanWeightsAreRefused() {
        QTemporaryDir dir;
        auto m = tinyModel(13);
        {
            torch::NoGradGuard g;
            network(*m).layer(0).upW[0][0] = NAN;
        }
        m->save(dir.path().toStdString());
        expectError([&] { LanguageModel::load(dir.path().toStdString(), "cpu"); }, "NaN");
    }
};

QTEST_GUILESS_MAIN(TestGpt2)
#include "tst_gpt2.moc"
