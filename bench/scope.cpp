// SERAC scope speed, in one process: with 100,000 edits in memory, scoring
// one prompt (embedding stage over every edit + cross-attention on the top
// k), adding one edit (memory + incremental sync: one embedding forward
// pass, the rest O(1) amortised) and disabling one; beside it the paper's
// single-stage way (cross-attention over every edit) at 1,000 and 10,000
// edits, with the two-stage time at the same sizes and the ratio.
// Then the exact scan against the approximate index (FAISS HNSW) from 2,000
// to 100,000 edits, where they cross; and with --million, a memory of
// 1,000,000 edits: scoring, adding, the index's recall of the exact top 8 on
// 1,000 held-out prompts, and the index's memory.
//
// usage: scope [--million | --only-million | --scoring N] [SERAC_DIR [BASE_MODEL_DIR]]
//        (defaults: the built-in ones; --scoring N times only scoring, index on, N edits)
#include "EditMemory.h"
#include "FactWorld.h"
#include "LanguageModel.h"
#include "Resources.h"
#include "SeracEditor.h"
#include "SeracEncoder.h"
#include "SeracEval.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>

using namespace scalpel;

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

// Edit prompts drawn from the fact world's training templates, answers from
// the same relation's objects.
EditMemory makeMemory(const FactWorld& world, std::size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    const auto& facts = world.facts();
    EditMemory m;
    for (std::size_t i = 0; i < n; ++i) {
        const Fact& f = facts[rng() % facts.size()];
        const auto ts = world.templates(f.relation, TemplateSplit::Train);
        const Fact& g = facts[rng() % facts.size()];
        m.add(FactWorld::prompt(ts[rng() % ts.size()], f.subject), g.object);
    }
    return m;
}

// Edits of ordinary length and many distinct texts: a true fact's sentence
// as context, then a prompt of another fact.
void addContextEdits(const FactWorld& world, EditMemory& m, std::size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    const auto& facts = world.facts();
    for (std::size_t i = 0; i < n; ++i) {
        const Fact& c = facts[rng() % facts.size()];
        const auto cs = world.templates(c.relation, TemplateSplit::Train);
        const Fact& f = facts[rng() % facts.size()];
        const auto ts = world.templates(f.relation, TemplateSplit::Train);
        std::string prompt = FactWorld::sentence(cs[rng() % cs.size()], c.subject, c.object) + " " +
                             FactWorld::prompt(ts[rng() % ts.size()], f.subject);
        m.add(prompt, facts[rng() % facts.size()].object);
    }
}

std::vector<std::string> heldoutPrompts(const FactWorld& world, int n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
        const Fact& f = world.facts()[rng() % world.facts().size()];
        const auto ts = world.templates(f.relation, TemplateSplit::Heldout);
        out.push_back(FactWorld::prompt(ts[rng() % ts.size()], f.subject));
    }
    return out;
}

// The cross-attention stage alone, on batches of 8 (edit, prompt) pairs as
// scoring makes them: the classifier's whole pass with the last positions
// gathered (the baseline), against the top block's FFN run at the last
// positions only (what pairLogits does).
void crossStage(const std::string& seracDir, const EditMemory& memory,
                const std::vector<std::string>& prompts) {
    torch::NoGradGuard guard;
    auto net = SeracEncoder(
        SeracEncoderImpl::load(seracDir + "/classifier", SeracEncoderKind::CrossAttention));
    const Tokenizer tok = Tokenizer::fromFile(seracDir + "/tokenizer.json");
    const int pad = *tok.tokenId("[PAD]");
    const int ctx = net->config().nPositions;
    std::vector<SeracBatch> batches;
    for (std::size_t i = 0; i < 200; ++i) {
        const auto x = tok.encode(prompts[i % prompts.size()]);
        std::vector<std::vector<int>> seqs;
        for (std::size_t j = 0; j < 8; ++j) {
            const Edit& e = memory.edits()[(i * 8 + j) * 7919 % memory.size()];
            seqs.push_back(crossInput(crossEditPart(tok, e.prompt, e.answer), x, ctx));
        }
        batches.push_back(makeBatch(seqs, pad));
    }
    auto whole = [&](const SeracBatch& b) {
        auto h = net->hidden(b.ids);
        auto last = (b.lengths - 1).clamp_min(0).view({-1, 1, 1}).expand({-1, 1, h.size(2)});
        return net->head(h.gather(1, last).squeeze(1));
    };
    float diff = 0;
    std::vector<double> a, b;
    for (int round = 0; round < 3; ++round)
        for (const SeracBatch& batch : batches) {
            auto t = Clock::now();
            const auto ref = whole(batch);
            a.push_back(msSince(t));
            t = Clock::now();
            const auto got = net->pairLogits(batch.ids, batch.lengths);
            b.push_back(msSince(t));
            diff = std::max(diff, (got - ref).abs().max().item<float>());
        }
    std::printf("cross-attention on 8 pairs: whole pass %.3f ms, top FFN at the last positions "
                "only %.3f ms median (%.2fx), max |logit difference| %.2g\n",
                median(a), median(b), median(b) / median(a), diff);
}

// A quarter and more of the index's edits disabled in one sync, which makes
// the graph be built afresh: built before the sync returns (a batch run's
// way), against built on the editor's thread (the studio's), where the sync
// returns at once and the old graph answers until the new one is taken.
void rebuildPastTheShare(SeracEditor& editor, EditMemory& memory,
                         const std::vector<std::string>& prompts) {
    const int k = editor.topK();
    std::vector<std::string> some;
    for (std::size_t i = 0; i < memory.size(); i += 3)
        some.push_back(memory.edits()[i].id);
    auto setAll = [&](bool on) {
        for (const auto& id : some)
            memory.setEnabled(id, on);
    };
    std::printf("\nthe graph built afresh after %zu of %zu edits are disabled in one sync\n",
                some.size(), memory.size());
    editor.setScopeIndexBuildsInBackground(false);
    auto t = Clock::now();
    setAll(false);
    editor.sync(memory);
    const double foreground = msSince(t);
    std::printf("built before the sync returns: the sync %.0f ms\n", foreground);
    // Back on (inserted into the graph), then off again, on the thread.
    setAll(true);
    editor.sync(memory);
    editor.setScopeIndexBuildsInBackground(true);
    t = Clock::now();
    setAll(false);
    editor.sync(memory);
    const double background = msSince(t);
    std::vector<double> during;
    std::size_t at = 0;
    while (editor.scopeIndexStatus().building) {
        const auto t0 = Clock::now();
        editor.scope(prompts[at++ % prompts.size()], k, k);
        during.push_back(msSince(t0));
    }
    const double taken = msSince(t);
    std::printf("built on the editor's thread: the sync %.0f ms (%.1fx less), the new graph "
                "taken %.1f s later; meanwhile %zu prompts scored by the old graph, %.2f ms "
                "median\n",
                background, foreground / background, taken / 1000, during.size(), median(during));
    editor.setScopeIndexBuildsInBackground(false);
    setAll(true);
    editor.sync(memory);
}

// The exact scan against the index, at growing sizes.
void crossing(SeracEditor& editor, const FactWorld& world,
              const std::vector<std::string>& prompts) {
    const int k = editor.topK();
    std::printf("\nexact scan against the index (top %d by cross-attention, best %d returned)\n", k,
                k);
    std::printf("%-8s %10s %10s %10s %12s\n", "edits", "exact ms", "index ms", "index/exact",
                "index build s");
    EditMemory memory;
    std::size_t have = 0;
    for (std::size_t n : {std::size_t(2000), std::size_t(5000), std::size_t(10000),
                          std::size_t(20000), std::size_t(50000), std::size_t(100000)}) {
        addContextEdits(world, memory, n - have, 40 + n);
        have = n;
        editor.setScopeIndex(ScopeIndexMode::Off);
        editor.sync(memory);
        auto medianScope = [&] {
            std::vector<double> ms;
            for (const auto& p : prompts) {
                const auto t = Clock::now();
                editor.scope(p, k, k);
                ms.push_back(msSince(t));
            }
            return median(ms);
        };
        const double exact = medianScope();
        const auto t = Clock::now();
        editor.setScopeIndex(ScopeIndexMode::On);
        const double build = msSince(t) / 1000;
        const double index = medianScope();
        std::printf("%-8zu %10.2f %10.2f %10.2f %12.1f\n", n, exact, index, index / exact, build);
    }
    rebuildPastTheShare(editor, memory, prompts);
    editor.setScopeIndex(ScopeIndexMode::Auto);
}

// eval-edits' figures at 1,000 edits with the exact scan and with the index
// forced on.
void evalBothWays(SeracEditor& editor, const FactWorld& world) {
    std::printf("\neval-edits at 1,000 edits (held-out templates, seed 1): exact scan against "
                "the index\n");
    std::printf("%-6s %8s %8s %10s %8s\n", "scan", "ES", "DD", "routed", "AUROC");
    for (auto mode : {ScopeIndexMode::Off, ScopeIndexMode::On}) {
        editor.setScopeIndex(mode);
        SeracEvalOptions o;
        o.editsInMemory = 1000;
        const SeracEvalResult r = evaluateSerac(editor, world, o);
        std::printf("%-6s %8.4f %8.4f %10.4f %8.4f\n",
                    mode == ScopeIndexMode::On ? "index" : "exact", r.editSuccess, r.drawdown,
                    r.routedToEdit, r.auroc);
    }
    editor.setScopeIndex(ScopeIndexMode::Auto);
}

long peakRssMb() {
    std::FILE* f = std::fopen("/proc/self/status", "r");
    long kb = 0;
    char line[256];
    while (f && std::fgets(line, sizeof line, f))
        if (std::sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    if (f)
        std::fclose(f);
    return kb / 1024;
}

void million(SeracEditor& editor, const FactWorld& world, const std::string& self,
             const std::function<std::unique_ptr<SeracEditor>()>& another) {
    const std::size_t n = 1000000;
    const int k = editor.topK();
    std::printf("\none million edits (peak RSS so far %ld MB)\n", peakRssMb());
    EditMemory memory;
    auto t = Clock::now();
    addContextEdits(world, memory, n, 99);
    std::printf("building the memory: %.1f s\n", msSince(t) / 1000);
    const std::string path =
        (std::filesystem::temp_directory_path() / "scalpel-bench-million.json").string();
    const std::string cache = SeracEditor::embeddingCachePath(path);
    {
        t = Clock::now();
        memory.save(path);
        std::printf("saving it: %.1f s, %.0f MB\n", msSince(t) / 1000,
                    std::filesystem::file_size(path) / 1048576.0);
        // Opening it in a process of its own, for that process's peak RSS.
        std::fflush(stdout);
        const int rc = std::system(("'" + self + "' --open '" + path + "'").c_str());
        if (rc != 0)
            std::printf("opening it failed (%d)\n", rc);
    }
    const auto prompts = heldoutPrompts(world, 1000, 17);
    // The exact scan first: its best 8 by embedding for every prompt.
    editor.setScopeIndex(ScopeIndexMode::Off);
    t = Clock::now();
    editor.sync(memory);
    std::printf("embedding %zu edits: %.1f s\n", n, msSince(t) / 1000);

    std::vector<std::vector<ScopeScore>> exact;
    std::vector<double> exactMs;
    for (const auto& p : prompts) {
        const auto t0 = Clock::now();
        exact.push_back(editor.scope(p, 0, 8)); // embedding stage only
        exactMs.push_back(msSince(t0));
    }
    t = Clock::now();
    editor.setScopeIndex(ScopeIndexMode::On);
    std::printf("building the index: %.1f s; index memory %.0f MB (vectors and links)\n",
                msSince(t) / 1000, editor.scopeIndexStatus().memoryBytes / 1048576.0);
    t = Clock::now();
    editor.saveEmbeddingCache(cache);
    std::printf("saving the embedding cache and the graph: %.1f s, %.0f MB + %.0f MB\n",
                msSince(t) / 1000, std::filesystem::file_size(cache) / 1048576.0,
                std::filesystem::file_size(cache + ".hnsw") / 1048576.0);
    std::vector<double> indexMs, scoring;
    std::size_t found = 0, total = 0;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        const auto t0 = Clock::now();
        const auto got = editor.scope(prompts[i], 0, 8);
        indexMs.push_back(msSince(t0));
        // Tie-aware: an edit the index returns counts when its probability
        // reaches the exact 8th best (many edits share a prompt).
        const double eighth = exact[i].back().prob;
        std::size_t hit = 0;
        for (const auto& s : got)
            hit += s.prob >= eighth - 1e-6;
        found += std::min(hit, exact[i].size());
        total += exact[i].size();
    }
    for (std::size_t i = 0; i < 200; ++i) {
        const auto t0 = Clock::now();
        editor.scope(prompts[i], k, k);
        scoring.push_back(msSince(t0));
    }
    std::printf("embedding stage, best 8: exact scan %.2f ms median, index %.3f ms median\n",
                median(exactMs), median(indexMs));
    std::printf("recall of the exact top 8 on %zu held-out prompts: %.4f\n", prompts.size(),
                double(found) / double(total));
    std::printf("scoring one prompt (index, top %d rescored by cross-attention): %.2f ms median\n",
                k, median(scoring));
    std::vector<double> add;
    std::mt19937_64 rng(5);
    for (int i = 0; i < 50; ++i) {
        const Fact& f = world.facts()[rng() % world.facts().size()];
        const auto ts = world.templates(f.relation, TemplateSplit::Train);
        const auto t0 = Clock::now();
        memory.add(FactWorld::prompt(ts[rng() % ts.size()], f.subject), f.object);
        editor.sync(memory);
        add.push_back(msSince(t0));
    }
    std::printf("adding one edit (add + sync + index insert): %.2f ms median\n", median(add));
    {
        // Reopening: the file, the cached embeddings, the index built afresh.
        auto second = another();
        t = Clock::now();
        const EditMemory reopened = EditMemory::loadFile(path);
        const double read = msSince(t);
        const EmbeddingCacheStatus st = second->useEmbeddingCache(cache);
        const double mapped = msSince(t);
        second->sync(reopened);
        std::printf(
            "opening the memory with its cache: %.1f s (file %.1f s, cache and graph "
            "%.1f s, sync %.1f s; %zu of %zu from the cache, graph %s, %zu index builds%s%s)\n",
            msSince(t) / 1000, read / 1000, (mapped - read) / 1000, (msSince(t) - mapped) / 1000,
            second->embeddingCacheHits(), reopened.size(), st.graph ? "taken" : "not taken",
            second->scopeIndexStatus().rebuilds,
            st.refused.empty() ? "" : "; refused: ", st.refused.c_str());
    }
    std::filesystem::remove(path);
    std::filesystem::remove(cache);
    std::filesystem::remove(cache + ".hnsw");
    std::printf("peak RSS %ld MB\n", peakRssMb());
}

} // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0); // figures survive a failure part-way
    bool withMillion = false, onlyMillion = false;
    std::size_t scoringOnly = 0;
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) == "--million") {
            withMillion = true;
        } else if (std::string(argv[i]) == "--only-million") {
            withMillion = onlyMillion = true;
        } else if (std::string(argv[i]) == "--scoring" && i + 1 < argc) {
            scoringOnly = std::stoul(argv[++i]);
        } else if (std::string(argv[i]) == "--open" && i + 1 < argc) {
            const auto t = Clock::now();
            const EditMemory m = EditMemory::loadFile(argv[i + 1]);
            std::printf("opening it (another process): %zu edits in %.1f s, peak RSS %ld MB\n",
                        m.size(), msSince(t) / 1000, peakRssMb());
            return 0;
        } else {
            args.push_back(argv[i]);
        }
    }
    const std::string seracDir = args.size() > 0 ? args[0] : resourceDir() + "/models/serac";
    std::string baseDir = args.size() > 1 ? args[1] : defaultModelDir();
    if (!std::filesystem::exists(baseDir + "/model.safetensors"))
        baseDir = seracDir + "/counterfactual"; // same tokenizer; only routing is timed
    auto base = LanguageModel::load(baseDir, "cpu");
    const FactWorld world = FactWorld::load(defaultFactsPath());
    auto editor = SeracEditor::load(seracDir, base, "cpu");
    editor->setScopeIndex(ScopeIndexMode::Off); // the exact scan until the index section
    const int k = editor->topK();
    std::printf("serac %s, base %s, top k %d, threads %d\n", seracDir.c_str(), baseDir.c_str(), k,
                torch::get_num_threads());
    if (scoringOnly) {
        // Only scoring, many times over, with the index on: for a profiler.
        EditMemory memory;
        addContextEdits(world, memory, scoringOnly, 40);
        editor->setScopeIndex(ScopeIndexMode::On);
        editor->sync(memory);
        const auto prompts = heldoutPrompts(world, 2000, 17);
        std::vector<double> ms;
        for (const auto& p : prompts) {
            const auto t = Clock::now();
            editor->scope(p, k, k);
            ms.push_back(msSince(t));
        }
        std::printf("%zu edits, index on: scoring one prompt %.2f ms median of %zu\n", scoringOnly,
                    median(ms), ms.size());
        crossStage(seracDir, memory, prompts);
        return 0;
    }
    if (onlyMillion) {
        million(*editor, world, argv[0], [&] { return SeracEditor::load(seracDir, base, "cpu"); });
        return 0;
    }
    std::vector<std::string> prompts;
    {
        std::mt19937_64 rng(7);
        for (int i = 0; i < 40; ++i) {
            const Fact& f = world.facts()[rng() % world.facts().size()];
            const auto ts = world.templates(f.relation, TemplateSplit::Heldout);
            prompts.push_back(FactWorld::prompt(ts[rng() % ts.size()], f.subject));
        }
    }
    auto timeScope = [&](int maxResults) {
        std::vector<double> ms;
        for (const auto& p : prompts) {
            const auto t = Clock::now();
            const auto s = editor->scope(p, k, maxResults);
            ms.push_back(msSince(t));
        }
        return median(ms);
    };

    std::printf("\n%-8s %12s %14s %14s %12s\n", "edits", "two-stage ms", "full list ms",
                "paper way ms", "paper/two");
    for (std::size_t n : {std::size_t(1000), std::size_t(10000)}) {
        EditMemory memory = makeMemory(world, n, 1);
        editor->sync(memory);
        const double two = timeScope(k), full = timeScope(-1);
        std::vector<double> paper;
        for (int i = 0; i < (n > 5000 ? 3 : 10); ++i) {
            const auto t = Clock::now();
            editor->scopeCrossAttentionAll(prompts[static_cast<std::size_t>(i)]);
            paper.push_back(msSince(t));
        }
        std::printf("%-8zu %12.2f %14.2f %14.1f %11.0fx\n", n, two, full, median(paper),
                    median(paper) / two);
    }

    const std::size_t big = 100000;
    EditMemory memory = makeMemory(world, big, 2);
    auto t = Clock::now();
    editor->sync(memory);
    std::printf("\nembedding %zu edits (first sync): %.1f s\n", big, msSince(t) / 1000);
    const double two = timeScope(k), full = timeScope(-1);
    std::printf("%zu edits: scoring one prompt %.2f ms median (top %d with cross-attention, "
                "best %d returned); with every edit's probability returned %.2f ms\n",
                big, two, k, k, full);
    std::vector<double> add;
    std::mt19937_64 rng(3);
    for (int i = 0; i < 50; ++i) {
        const Fact& f = world.facts()[rng() % world.facts().size()];
        const auto ts = world.templates(f.relation, TemplateSplit::Train);
        const auto t0 = Clock::now();
        memory.add(FactWorld::prompt(ts[rng() % ts.size()], f.subject), f.object);
        editor->sync(memory);
        add.push_back(msSince(t0));
    }
    std::printf("adding one edit to %zu (add + sync): %.2f ms median\n", big, median(add));
    std::vector<double> toggle;
    for (int i = 0; i < 5; ++i) {
        const auto t0 = Clock::now();
        memory.setEnabled(memory.edits()[static_cast<std::size_t>(i) * 1000].id, false);
        editor->sync(memory);
        toggle.push_back(msSince(t0));
    }
    std::printf("disabling one edit of %zu (sync follows the journal, swap-remove): %.2f ms "
                "median\n",
                big, median(toggle));
    evalBothWays(*editor, world);
    crossing(*editor, world, prompts);
    if (withMillion)
        million(*editor, world, argv[0], [&] { return SeracEditor::load(seracDir, base, "cpu"); });
    return 0;
}
