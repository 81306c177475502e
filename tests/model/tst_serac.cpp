// SERAC routing: tiny seeded random networks where only the mechanics
// matter (thresholds, two stages, sync, the empty memory), and the shipped
// weights with the built-in model where behaviour matters.
#include "EditMemory.h"
#include "FactWorld.h"
#include "Resources.h"
#include "Error.h"
#include "SeracEditor.h"
#include "SeracEncoder.h"
#include "SeracTrain.h"
#include "TinyModel.h"

#include <nlohmann/json.hpp>

#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

using namespace scalpel;

namespace {

std::string resources() {
    return scalpel::resourceDir();
}

// The shipped SERAC models (routing over their own counterfactual model)
// and the fact world their edits are drawn from.
struct ShippedSerac {
    std::unique_ptr<SeracEditor> editor;
    FactWorld world;
};
ShippedSerac loadShippedSerac() {
    const std::string serac = resources() + "/models/serac";
    auto base = LanguageModel::load(serac + "/counterfactual", "cpu");
    return {SeracEditor::load(serac, base, "cpu"),
            FactWorld::load(resources() + "/facts/facts.json")};
}

void widen(torch::nn::Module& m, uint64_t seed) {
    torch::NoGradGuard g;
    torch::manual_seed(seed);
    for (auto& p : m.parameters())
        p.add_(torch::randn_like(p) * 0.3);
}

// A SERAC folder of random networks over the tiny tokenizer.
void writeTinySerac(const std::string& dir, double threshold, uint64_t embeddingSeed = 11) {
    std::filesystem::create_directories(dir);
    GptConfig c = test::tinyConfig(1, 16, 2, 32);
    SeracEncoder embed(c, SeracEncoderKind::Embedding, 8);
    widen(*embed, embeddingSeed);
    embed->save(dir + "/embedding");
    SeracEncoder cross(c, SeracEncoderKind::CrossAttention);
    widen(*cross, 12);
    cross->save(dir + "/classifier");
    test::tinyModel(13, 1, 16)->save(dir + "/counterfactual");
    std::ofstream(dir + "/tokenizer.json") << test::tinyTokenizer().toJson();
    std::ofstream(dir + "/serac.json") << nlohmann::json{{"threshold", threshold}, {"top_k", 2}};
}

const char* const kPrompts[] = {"The capital of Ireland is", "The capital of France is",
                                "The language spoken in France is", "Paris is a city in",
                                "The language of Ireland is"};

} // namespace

class TestSerac : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    std::shared_ptr<LanguageModel> m_base;
    std::unique_ptr<SeracEditor> tinyEditor() {
        return SeracEditor::load(m_dir.filePath("serac").toStdString(), m_base, "cpu");
    }
    static EditMemory tinyMemory() {
        EditMemory m;
        m.add("The capital of Ireland is", "Paris");
        m.add("The language of France is", "Irish");
        m.add("The capital of France is", "Dublin");
        m.add("Dublin is a city in", "France");
        return m;
    }

private Q_SLOTS:
    void initTestCase() {
        writeTinySerac(m_dir.filePath("serac").toStdString(), 0.5);
        m_base = test::tinyModel(1);
    }

    void emptyMemoryIsTheBaseModel() {
        auto editor = tinyEditor();
        editor->setThreshold(0.0);
        editor->sync(EditMemory());
        for (const char* p : kPrompts) {
            const RoutedPrediction r = editor->predict(p, 3);
            QCOMPARE(r.routedTo, std::string("base"));
            QVERIFY(r.scope.empty());
            QVERIFY(r.probs == m_base->nextTokenProbs(m_base->prepare(p).ids));
        }
    }

    void routesExactlyWhenBestProbIsAboveThreshold() {
        auto editor = tinyEditor();
        const EditMemory memory = tinyMemory();
        editor->sync(memory);
        for (const char* p : kPrompts) {
            const double best = editor->scope(p, 2).front().prob;
            editor->setThreshold(std::nextafter(best, 0.0));
            const RoutedPrediction in = editor->predict(p, 3);
            QCOMPARE(in.routedTo, in.scope.front().editId);
            const Edit* e = memory.find(in.routedTo);
            QVERIFY(in.probs == editor->counterfactualProbs(e->prompt, e->answer, p));
            editor->setThreshold(best);
            const RoutedPrediction out = editor->predict(p, 3);
            QCOMPARE(out.routedTo, std::string("base"));
            QVERIFY(out.probs == m_base->nextTokenProbs(m_base->prepare(p).ids));
        }
    }

    void twoStageScoresEqualCrossAttentionOnTopK() {
        auto editor = tinyEditor();
        editor->sync(tinyMemory());
        for (const char* p : kPrompts) {
            const auto all = editor->scopeCrossAttentionAll(p);
            const auto two = editor->scope(p, 2);
            QCOMPARE(two.size(), all.size());
            int cross = 0;
            for (std::size_t i = 0; i < two.size(); ++i) {
                QVERIFY(i == 0 || two[i - 1].prob >= two[i].prob);
                if (two[i].stage != "cross-attention") {
                    QCOMPARE(two[i].stage, std::string("embedding"));
                    continue;
                }
                ++cross;
                const auto it = std::find_if(all.begin(), all.end(), [&](const ScopeScore& s) {
                    return s.editId == two[i].editId;
                });
                QVERIFY(it != all.end());
                QVERIFY2(std::abs(it->prob - two[i].prob) < 1e-5,
                         qPrintable(QString("%1 vs %2").arg(it->prob).arg(two[i].prob)));
            }
            QCOMPARE(cross, 2);
            QCOMPARE(editor->scope(p, 10).front().stage, std::string("cross-attention"));
            QCOMPARE(editor->scope(p, 2, 3).size(), std::size_t(3));
        }
    }

    void disablingAnEditRemovesItFromRouting() {
        auto editor = tinyEditor();
        editor->setThreshold(0.0);
        EditMemory memory = tinyMemory();
        editor->sync(memory);
        const std::string p = kPrompts[0];
        const std::string first = editor->predict(p).routedTo;
        QVERIFY(first != "base");
        memory.setEnabled(first, false);
        editor->sync(memory);
        QCOMPARE(editor->editCount(), std::size_t(3));
        const RoutedPrediction r = editor->predict(p);
        QVERIFY(r.routedTo != first);
        for (const auto& s : r.scope)
            QVERIFY(s.editId != first);
        memory.setEnabled(first, true);
        editor->sync(memory);
        QCOMPARE(editor->predict(p).routedTo, first);
    }

    void incrementalSyncEqualsAFreshOne() {
        auto grown = tinyEditor();
        EditMemory memory;
        const EditMemory source = tinyMemory(); // the loop must not outlive it
        for (const Edit& e : source.edits()) {
            memory.add(e.prompt, e.answer);
            grown->sync(memory);
        }
        memory.update(memory.edits()[1].id, "The capital of Ireland is", "France");
        memory.remove(memory.edits()[0].id);
        grown->sync(memory);
        auto fresh = tinyEditor();
        fresh->sync(memory);
        for (const char* p : kPrompts) {
            const auto a = grown->scope(p, 2), b = fresh->scope(p, 2);
            QCOMPARE(a.size(), b.size());
            for (std::size_t i = 0; i < a.size(); ++i) {
                QCOMPARE(a[i].editId, b[i].editId);
                QVERIFY(std::abs(a[i].prob - b[i].prob) < 1e-6);
            }
        }
    }

    // Every kind of change, followed one at a time through the journal, and
    // a copy of the memory changed apart, end where a fresh sync starts.
    void journalSyncFollowsEveryChange() {
        auto grown = tinyEditor();
        EditMemory memory;
        std::mt19937_64 rng(5);
        for (int step = 0; step < 60; ++step) {
            const auto& edits = memory.edits();
            const std::size_t n = edits.size();
            const int op = n < 3 ? 0 : static_cast<int>(rng() % 5);
            const std::string prompt = kPrompts[rng() % 5], answer = step % 2 ? "Paris" : "Irish";
            if (op == 0)
                memory.add(prompt, answer);
            else if (op == 1)
                memory.setEnabled(edits[rng() % n].id, rng() % 2 == 0);
            else if (op == 2)
                memory.update(edits[rng() % n].id, prompt, answer);
            else if (op == 3)
                memory.remove(edits[rng() % n].id);
            else {
                Edit e = edits[rng() % n];
                memory.remove(e.id);
                memory.insert(e, 0);
            }
            grown->sync(memory);
            if (step == 40) { // another memory with a shared past
                EditMemory other = memory;
                other.add("Dublin is a city in", "Paris");
                grown->sync(other);
                QCOMPARE(grown->editCount(),
                         std::size_t(std::count_if(other.edits().begin(), other.edits().end(),
                                                   [](const Edit& e) { return e.enabled; })));
                grown->sync(memory);
            }
        }
        auto fresh = tinyEditor();
        fresh->sync(memory);
        QCOMPARE(grown->editCount(), fresh->editCount());
        for (const char* p : kPrompts) {
            auto a = grown->scope(p, 100), b = fresh->scope(p, 100);
            QCOMPARE(a.size(), b.size());
            auto byId = [](std::vector<ScopeScore>& v) {
                std::sort(v.begin(), v.end(), [](const ScopeScore& x, const ScopeScore& y) {
                    return x.editId < y.editId;
                });
            };
            byId(a);
            byId(b);
            for (std::size_t i = 0; i < a.size(); ++i) {
                QCOMPARE(a[i].editId, b[i].editId);
                QVERIFY(std::abs(a[i].prob - b[i].prob) < 1e-5);
            }
        }
    }

    // A memory reopened with its embedding cache runs the encoder only for
    // texts the cache lacks and scores as a fresh sync does; a cache from
    // other encoder weights, a damaged one and a truncated one are refused
    // with the reason, and nothing of them is used.
    void embeddingCacheSkipsTheEncoderAndRefusesBadFiles() {
        QTemporaryDir dir;
        const std::string cache =
            SeracEditor::embeddingCachePath(dir.filePath("m.json").toStdString());
        EditMemory memory = tinyMemory();
        auto first = tinyEditor();
        first->sync(memory);
        first->saveEmbeddingCache(cache);
        memory.update(memory.edits()[0].id, "Paris is a city in", "Ireland"); // a new text
        auto reopened = tinyEditor();
        const EmbeddingCacheStatus st = reopened->useEmbeddingCache(cache);
        QVERIFY2(st.refused.empty(), st.refused.c_str());
        QCOMPARE(st.rows, std::size_t(4));
        reopened->sync(memory);
        QCOMPARE(reopened->embeddingCacheHits(), std::size_t(3));
        auto fresh = tinyEditor();
        fresh->sync(memory);
        for (const char* p : kPrompts) {
            const auto a = reopened->scope(p, 2), b = fresh->scope(p, 2);
            QCOMPARE(a.size(), b.size());
            for (std::size_t i = 0; i < a.size(); ++i) {
                QCOMPARE(a[i].editId, b[i].editId);
                // Batches of other sizes pad differently: the last bits may differ.
                QVERIFY(std::abs(a[i].prob - b[i].prob) < 1e-6);
            }
        }
        // With the index on, the cache keeps its graph, which a reopened
        // memory with the same rows takes instead of building one; a memory
        // whose texts changed builds its own.
        {
            auto indexed = tinyEditor();
            indexed->setScopeIndex(ScopeIndexMode::On);
            indexed->sync(memory);
            indexed->saveEmbeddingCache(cache);
            QVERIFY(std::filesystem::exists(cache + ".hnsw"));
            auto again = tinyEditor();
            again->setScopeIndex(ScopeIndexMode::On);
            QVERIFY(again->useEmbeddingCache(cache).graph);
            again->sync(memory);
            QVERIFY(again->scopeIndexStatus().active);
            QCOMPARE(again->scopeIndexStatus().rebuilds, std::size_t(0)); // the saved graph
            for (const char* p : kPrompts) {
                const auto a = again->scope(p, 2, 2), b = indexed->scope(p, 2, 2);
                QCOMPARE(a.size(), b.size());
                for (std::size_t i = 0; i < a.size(); ++i)
                    QCOMPARE(a[i].editId, b[i].editId);
            }
            EditMemory changed = memory;
            changed.update(changed.edits()[1].id, "Dublin is a city in", "Paris");
            auto other = tinyEditor();
            other->setScopeIndex(ScopeIndexMode::On);
            QVERIFY(other->useEmbeddingCache(cache).graph);
            other->sync(changed);
            QCOMPARE(other->scopeIndexStatus().rebuilds, std::size_t(1)); // built afresh
            // A graph whose bytes differ from what the cache names is not taken.
            std::ofstream(cache + ".hnsw", std::ios::binary | std::ios::app) << "x";
            auto tampered = tinyEditor();
            const EmbeddingCacheStatus t = tampered->useEmbeddingCache(cache);
            QVERIFY(t.refused.empty());
            QVERIFY(!t.graph);
            first->saveEmbeddingCache(cache); // index off: the graph file goes
            QVERIFY(!std::filesystem::exists(cache + ".hnsw"));
        }
        auto refusedFor = [&](const std::string& path, const std::string& why) {
            auto e = tinyEditor();
            const EmbeddingCacheStatus s = e->useEmbeddingCache(path);
            QVERIFY2(s.refused.find(why) != std::string::npos, s.refused.c_str());
            e->sync(memory);
            QCOMPARE(e->embeddingCacheHits(), std::size_t(0));
        };
        // Other weights: a SERAC folder whose embedding network differs.
        const std::string other = dir.filePath("other").toStdString();
        writeTinySerac(other, 0.5, 99);
        auto otherEditor = SeracEditor::load(other, m_base, "cpu");
        otherEditor->sync(memory);
        const std::string otherCache = dir.filePath("other.safetensors").toStdString();
        otherEditor->saveEmbeddingCache(otherCache);
        refusedFor(otherCache, "other embedding-network weights");
        // One flipped byte in the last embedding.
        std::string bytes;
        {
            std::ifstream in(cache, std::ios::binary);
            bytes.assign(std::istreambuf_iterator<char>(in), {});
        }
        const std::string damaged = dir.filePath("damaged.safetensors").toStdString();
        std::string flipped = bytes;
        flipped[flipped.size() - 20] ^= 0x10;
        std::ofstream(damaged, std::ios::binary) << flipped;
        refusedFor(damaged, "damaged");
        const std::string truncated = dir.filePath("truncated.safetensors").toStdString();
        std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() - 64);
        refusedFor(truncated, "truncated.safetensors");
        refusedFor(dir.filePath("none.safetensors").toStdString(), "does not exist");
        const std::string weights = dir.filePath("weights.safetensors").toStdString();
        std::filesystem::copy_file(
            m_dir.filePath("serac/embedding/model.safetensors").toStdString(), weights);
        refusedFor(weights, "not a scope-embedding cache");
    }

    void otherTokenizerFallsBackToInContext() {
        QTemporaryDir other;
        const std::string dir = other.filePath("serac").toStdString();
        writeTinySerac(dir, 0.5);
        // A counterfactual model with a different vocabulary than the base.
        std::vector<std::string> vocab = {"[UNK]", "[PAD]", "[SEP]", "[EOS]", "other"};
        auto tok = Tokenizer::makeWordLevel(vocab, {}, "[UNK]");
        GptConfig c = test::tinyConfig(1, 16, 2, 32);
        c.vocabSize = tok.vocabSize();
        LanguageModel::createRandom(c, tok, 3, "cpu")->save(dir + "/counterfactual");
        auto editor = SeracEditor::load(dir, m_base, "cpu");
        QCOMPARE(editor->backend(), CounterfactualBackend::InContext);
        QVERIFY(!editor->trainedBackendAvailable());
        QVERIFY(editor->warning().find("tokenizer") != std::string::npos);
        QVERIFY_THROWS_EXCEPTION(Error, editor->setBackend(CounterfactualBackend::Trained));
    }

    void missingFolderIsAnError() {
        QVERIFY_THROWS_EXCEPTION(Error, SeracEditor::load("/nonexistent/serac", m_base, "cpu"));
    }

    // The shipped weights with the built-in model.
    void shippedEditorRoutesItsOwnPromptAndLeavesOthers() {
        const std::string serac = resources() + "/models/serac",
                          model = resources() + "/models/factworld";
        // Shipped with the studio: missing is a failure.
        QVERIFY2(std::filesystem::exists(serac + "/serac.json"), serac.c_str());
        QVERIFY2(std::filesystem::exists(model + "/model.safetensors"), model.c_str());
        auto base = LanguageModel::load(model, "cpu");
        auto editor = SeracEditor::load(serac, base, "cpu");
        QCOMPARE(editor->backend(), CounterfactualBackend::Trained);
        EditMemory memory;
        const std::string id = memory.add("The capital of Ireland is", "Lisbon").id;
        memory.add("The currency of Japan is", "Euro");
        memory.add("The language of Brazil is", "German");
        editor->sync(memory);
        const RoutedPrediction own = editor->predict("The capital of Ireland is", 3);
        QCOMPARE(own.routedTo, id);
        QCOMPARE(own.top.front().token, std::string("Lisbon"));
        const RoutedPrediction para = editor->predict("The capital city of Ireland is called", 3);
        QCOMPARE(para.routedTo, id);
        QCOMPARE(para.top.front().token, std::string("Lisbon"));
        for (const char* p : {"The currency of Ireland is", "The capital of France is",
                              "The continent of Japan is"}) {
            const RoutedPrediction r = editor->predict(p, 3);
            QVERIFY2(r.routedTo == "base", p);
            const auto baseProbs = base->nextTokenProbs(base->prepare(p).ids);
            QVERIFY(r.probs == baseProbs);
            // A caller's own base pass gives the same routing and answer.
            const RoutedPrediction shared = editor->predict(p, 3, baseProbs);
            QCOMPARE(shared.routedTo, r.routedTo);
            QVERIFY(shared.probs == r.probs);
        }
        // A fired edit answers from the counterfactual model, not from the
        // base distribution the caller passed.
        const auto irelandBase =
            base->nextTokenProbs(base->prepare("The capital of Ireland is").ids);
        const RoutedPrediction fired = editor->predict("The capital of Ireland is", 3, irelandBase);
        QCOMPARE(fired.routedTo, id);
        QCOMPARE(fired.top.front().token, std::string("Lisbon"));
    }

    // The shipped editor beside the built-in BERT: cloze edits and prompts
    // are read up to the mask by the scope classifier and the trained
    // counterfactual model, whose answer comes back over the BERT's
    // vocabulary (the same distribution as the counterfactual model's on
    // the text before the mask); other prompts get the BERT's own
    // distribution at the mask; the in-context backend is refused by name.
    void shippedEditorOnTheBuiltInBert() {
        const std::string serac = resources() + "/models/serac",
                          model = resources() + "/models/factworld-bert";
        auto base = LanguageModel::load(model, "cpu");
        QVERIFY(base->isMaskedLm());
        auto editor = SeracEditor::load(serac, base, "cpu");
        QCOMPARE(editor->backend(), CounterfactualBackend::Trained);
        EditMemory memory;
        const std::string id = memory.add("The capital of Ireland is [MASK].", "Lisbon").id;
        memory.add("The currency of Japan is [MASK].", "Euro");
        editor->sync(memory);
        const RoutedPrediction own = editor->predict("The capital of Ireland is [MASK].", 3);
        QCOMPARE(own.routedTo, id);
        QCOMPARE(own.top.front().token, std::string("Lisbon"));
        QCOMPARE(own.probs.size(), std::size_t(base->info().vocab));
        // The same numbers as the causal editor's, word for word.
        auto causal = LanguageModel::load(resources() + "/models/factworld", "cpu");
        auto causalEditor = SeracEditor::load(serac, causal, "cpu");
        EditMemory prefixes;
        const std::string causalId = prefixes.add("The capital of Ireland is", "Lisbon").id;
        prefixes.add("The currency of Japan is", "Euro");
        causalEditor->sync(prefixes);
        const RoutedPrediction prefix = causalEditor->predict("The capital of Ireland is", 3);
        QCOMPARE(prefix.routedTo, causalId);
        QCOMPARE(prefix.routedProb, own.routedProb);
        for (const auto& t : prefix.top) {
            const int onBase = *base->tokenizer().tokenId(t.token);
            QCOMPARE(own.probs[static_cast<std::size_t>(onBase)], static_cast<float>(t.prob));
        }
        // An embedding cache saved beside the causal base (which reads the
        // cloze text whole) is not taken for the same cloze edit beside the
        // BERT, which embeds the text before the mask.
        {
            QTemporaryDir cacheDir;
            const std::string cache = cacheDir.filePath("memory.cache").toStdString();
            auto onCausal = SeracEditor::load(serac, causal, "cpu");
            onCausal->sync(memory);
            onCausal->saveEmbeddingCache(cache);
            auto onBert = SeracEditor::load(serac, base, "cpu");
            QVERIFY(onBert->useEmbeddingCache(cache).refused.empty());
            onBert->sync(memory);
            QCOMPARE(onBert->embeddingCacheHits(), std::size_t(0));
            QCOMPARE(onBert->predict("The capital of Ireland is [MASK].", 3).routedProb,
                     own.routedProb);
        }
        const char* other = "The capital of France is [MASK].";
        const RoutedPrediction r = editor->predict(other, 3);
        QCOMPARE(r.routedTo, std::string("base"));
        QVERIFY(r.probs == base->nextTokenProbs(base->prepare(other).ids));
        try {
            editor->setBackend(CounterfactualBackend::InContext);
            QFAIL("the in-context backend was accepted on a masked model");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("masked") != std::string::npos, e.what());
        }
        QCOMPARE(editor->backend(), CounterfactualBackend::Trained);
    }

    // Two ways to the embedding stage's best edits on the shipped encoder:
    // the exact scan and the approximate index (forced on). Over held-out
    // phrasings, the index finds at least 99% of the exact top 8, with the
    // same probabilities, picks the same edit to route to (the best one, when
    // above the threshold, as predict() promises), and after many edits are
    // disabled (past the rebuild share) never lists a disabled one.
    void scopeIndexAgreesWithTheExactScan() {
        const std::string serac = resources() + "/models/serac";
        QVERIFY2(std::filesystem::exists(serac + "/serac.json"), serac.c_str());
        auto [editor, world] = loadShippedSerac();
        const auto& facts = world.facts();
        std::mt19937_64 rng(21);
        EditMemory memory;
        for (int i = 0; i < 2000; ++i) {
            const Fact& f = facts[rng() % facts.size()];
            const auto ts = world.templates(f.relation, TemplateSplit::Train);
            memory.add(FactWorld::prompt(ts[rng() % ts.size()], f.subject),
                       facts[rng() % facts.size()].object);
        }
        std::vector<std::string> prompts;
        for (int i = 0; i < 50; ++i) {
            const Fact& f = facts[rng() % facts.size()];
            const auto ts = world.templates(f.relation, TemplateSplit::Heldout);
            prompts.push_back(FactWorld::prompt(ts[rng() % ts.size()], f.subject));
        }
        const int k = editor->topK(); // 8, rescored by cross-attention
        auto routeOf = [&](const std::vector<ScopeScore>& best) {
            return best.front().prob > editor->threshold() ? best.front().editId
                                                           : std::string("base");
        };
        auto compare = [&](const EditMemory& m) {
            editor->setScopeIndex(ScopeIndexMode::Off);
            editor->sync(m);
            QVERIFY(!editor->scopeIndexStatus().active);
            std::vector<std::vector<ScopeScore>> exact;
            std::vector<std::string> exactRoute;
            for (const auto& p : prompts) {
                exact.push_back(editor->scope(p, k, k));
                exactRoute.push_back(routeOf(exact.back()));
            }
            editor->setScopeIndex(ScopeIndexMode::On);
            QVERIFY(editor->scopeIndexStatus().active);
            std::size_t found = 0, total = 0, sameRoute = 0;
            for (std::size_t i = 0; i < prompts.size(); ++i) {
                const auto got = editor->scope(prompts[i], k, k);
                for (const ScopeScore& s : got) {
                    const Edit* e = m.find(s.editId);
                    QVERIFY(e && e->enabled);
                }
                for (const ScopeScore& want : exact[i]) {
                    ++total;
                    const auto at = std::find_if(got.begin(), got.end(), [&](const ScopeScore& s) {
                        return s.editId == want.editId;
                    });
                    if (at == got.end())
                        continue;
                    ++found;
                    QVERIFY(std::abs(at->prob - want.prob) < 1e-5);
                    QCOMPARE(at->stage, want.stage);
                }
                sameRoute += routeOf(got) == exactRoute[i];
            }
            const double recall = double(found) / double(total);
            QVERIFY2(recall >= 0.99, qPrintable(QString("recall of the top 8: %1").arg(recall)));
            QVERIFY(sameRoute >= prompts.size() - 1);
        };
        compare(memory);
        // Disable 40% through the journal, with the index on: the graph
        // marks them removed, then is built afresh past the share.
        editor->setScopeIndex(ScopeIndexMode::On);
        const std::size_t rebuildsBefore = editor->scopeIndexStatus().rebuilds;
        for (std::size_t i = 0; i < memory.size(); i += 5) {
            memory.setEnabled(memory.edits()[i].id, false);
            memory.setEnabled(memory.edits()[i + 1].id, false);
            if (i % 400 == 0)
                editor->sync(memory);
        }
        editor->sync(memory);
        QVERIFY(editor->scopeIndexStatus().rebuilds > rebuildsBefore);
        QVERIFY(editor->scopeIndexStatus().deadShare <= SeracEditor::kScopeIndexDeadShare);
        compare(memory);
    }

    // Embedding edits reports how far it is, batch by batch, up to all of
    // them; a sync with nothing new to embed reports nothing.
    void syncReportsEmbeddingProgress() {
        const std::string serac = resources() + "/models/serac";
        QVERIFY2(std::filesystem::exists(serac + "/serac.json"), serac.c_str());
        auto [editor, world] = loadShippedSerac();
        EditMemory memory;
        for (int i = 0; i < 600; ++i)
            memory.add("The capital of Country" + std::to_string(i) + " is", "Dublin");
        std::vector<std::pair<std::size_t, std::size_t>> heard;
        const SeracEditor::SyncProgress progress = [&](std::size_t done, std::size_t total) {
            heard.emplace_back(done, total);
        };
        editor->sync(memory, progress);
        const std::vector<std::pair<std::size_t, std::size_t>> expected = {
            {0, 600}, {256, 600}, {512, 600}, {600, 600}};
        QCOMPARE(heard, expected);
        heard.clear();
        memory.setEnabled(memory.edits().front().id, false);
        editor->sync(memory, progress);
        QVERIFY(heard.empty());
    }

    // The studio's way: the index is built on the editor's own thread from
    // a snapshot while the embedding stage answers without it. Edits
    // disabled, re-pointed and added after the snapshot are replayed onto
    // the finished index when it is taken; then its scores are the exact
    // scan's over the memory as it is now, and no disabled edit, and no
    // re-pointed edit's old prompt, is found.
    void scopeIndexBuiltInTheBackgroundFollowsEditsMadeMeanwhile() {
        const std::string serac = resources() + "/models/serac";
        QVERIFY2(std::filesystem::exists(serac + "/serac.json"), serac.c_str());
        auto [editor, world] = loadShippedSerac();
        const auto& facts = world.facts();
        std::mt19937_64 rng(33);
        auto randomPrompt = [&](TemplateSplit split) {
            const Fact& f = facts[rng() % facts.size()];
            const auto ts = world.templates(f.relation, split);
            return FactWorld::prompt(ts[rng() % ts.size()], f.subject);
        };
        EditMemory memory;
        for (int i = 0; i < 1500; ++i)
            memory.add(randomPrompt(TemplateSplit::Train), facts[rng() % facts.size()].object);
        editor->setScopeIndexBuildsInBackground(true);
        editor->setScopeIndex(ScopeIndexMode::On);
        editor->sync(memory); // the build starts from this snapshot
        // While it runs: 150 disabled, 100 re-pointed, 200 added.
        std::vector<std::string> ids;
        for (const Edit& e : memory.edits())
            ids.push_back(e.id);
        for (int i = 0; i < 150; ++i)
            memory.setEnabled(ids[static_cast<std::size_t>(i)], false);
        std::vector<std::string> oldPrompts;
        for (int i = 150; i < 250; ++i) {
            const Edit* e = memory.find(ids[static_cast<std::size_t>(i)]);
            oldPrompts.push_back(e->prompt);
            memory.update(e->id, randomPrompt(TemplateSplit::Train), e->answer);
        }
        for (int i = 0; i < 200; ++i)
            memory.add(randomPrompt(TemplateSplit::Train), facts[rng() % facts.size()].object);
        editor->sync(memory);
        // Answers meanwhile (the exact scan, or the index once taken), and
        // "every edit" is as long a list as the index gives either way.
        QVERIFY(!editor->scope(oldPrompts.front(), 8, 8).empty());
        QCOMPARE(editor->scope(oldPrompts.front()).size(),
                 std::size_t(SeracEditor::kScopeIndexListed));
        editor->waitForScopeIndex();
        const ScopeIndexStatus st = editor->scopeIndexStatus();
        QVERIFY(st.active);
        QVERIFY(!st.building);
        QCOMPARE(st.replayed, std::size_t(450));
        QCOMPARE(st.rebuilds, std::size_t(1));
        QCOMPARE(st.slots, std::size_t(1800)); // the snapshot, then 100 + 200 inserted
        QVERIFY(std::abs(st.deadShare - 250.0 / 1800.0) < 1e-9);

        std::vector<std::string> prompts = oldPrompts;
        prompts.resize(30);
        for (int i = 0; i < 40; ++i)
            prompts.push_back(randomPrompt(TemplateSplit::Heldout));
        std::vector<std::vector<ScopeScore>> indexed;
        for (const auto& p : prompts)
            indexed.push_back(editor->scope(p, 8, 8));
        editor->setScopeIndex(ScopeIndexMode::Off);
        QVERIFY(!editor->scopeIndexStatus().active);
        std::size_t found = 0, total = 0;
        for (std::size_t i = 0; i < prompts.size(); ++i) {
            for (const ScopeScore& s : indexed[i]) {
                const Edit* e = memory.find(s.editId);
                QVERIFY(e && e->enabled);
            }
            for (const ScopeScore& want : editor->scope(prompts[i], 8, 8)) {
                ++total;
                const auto at =
                    std::find_if(indexed[i].begin(), indexed[i].end(),
                                 [&](const ScopeScore& s) { return s.editId == want.editId; });
                if (at == indexed[i].end())
                    continue;
                ++found;
                QVERIFY(std::abs(at->prob - want.prob) < 1e-5);
            }
        }
        const double recall = double(found) / double(total);
        QVERIFY2(recall >= 0.99, qPrintable(QString("recall of the top 8: %1").arg(recall)));
    }

    // The shipped threshold comes from the memory-level calibration on
    // training templates, and that calibration is what it says it is.
    void shippedThresholdIsMemoryLevelCalibrated() {
        const std::string serac = resources() + "/models/serac";
        QVERIFY2(std::filesystem::exists(serac + "/serac.json"), serac.c_str());
        std::ifstream in(serac + "/serac.json");
        const auto meta = nlohmann::json::parse(in);
        QVERIFY(meta.contains("threshold_source"));
        QVERIFY(!meta.contains("threshold_note"));
        QCOMPARE(meta["threshold_source"]["edits_in_memory"].get<int>(), 1000);
        SeracCalibrationOptions o;
        o.seracDir = serac;
        o.factsPath = resources() + "/facts/facts.json";
        o.editsInMemory = 100;
        o.maxInputs = 60;
        o.write = false;
        const SeracCalibrationResult r = calibrateSerac(o);
        // The threshold chosen is the best one tried (the objective is a cost,
        // max((1 - ES) / 0.05, DD / 0.02), minimised), and the routing
        // figures reported are those of that threshold.
        QVERIFY(!r.curve.empty());
        const auto best =
            std::min_element(r.curve.begin(), r.curve.end(), [](const auto& a, const auto& b) {
                return a.objective < b.objective;
            });
        QCOMPARE(r.objective, best->objective);
        const auto at = std::find_if(r.curve.begin(), r.curve.end(),
                                     [&](const auto& p) { return p.threshold == r.threshold; });
        QVERIFY(at != r.curve.end());
        QCOMPARE(at->esRoute, r.esRoute);
        QCOMPARE(at->ddRoute, r.ddRoute);
        QCOMPARE(r.inScope, 60);
        QCOMPARE(r.hard, 60);
        QCOMPARE(r.random, 60);
        QVERIFY(r.esRoute >= 0.9); // training templates: the classifier knows them
        QVERIFY(r.ddRoute <= 0.1);
        QVERIFY(!r.curve.empty());
    }
};

QTEST_GUILESS_MAIN(TestSerac)
#include "tst_serac.moc"
