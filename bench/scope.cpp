// SERAC scope speed, in one process: with 100,000 edits in memory, scoring
// one prompt (embedding stage over every edit + cross-attention on the top
// k), adding one edit (memory + incremental sync: one embedding forward
// pass, the rest O(1) amortised) and disabling one; beside it the paper's
// single-stage way (cross-attention over every edit) at 1,000 and 10,000
// edits, with the two-stage time at the same sizes and the ratio.
//
// usage: scope [SERAC_DIR [BASE_MODEL_DIR]]   (defaults: the built-in ones)
#include "EditMemory.h"
#include "FactWorld.h"
#include "LanguageModel.h"
#include "Resources.h"
#include "SeracEditor.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
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

} // namespace

int main(int argc, char** argv) {
    const std::string seracDir = argc > 1 ? argv[1] : resourceDir() + "/models/serac";
    std::string baseDir = argc > 2 ? argv[2] : defaultModelDir();
    if (!std::filesystem::exists(baseDir + "/model.safetensors"))
        baseDir = seracDir + "/counterfactual"; // same tokenizer; only routing is timed
    auto base = LanguageModel::load(baseDir, "cpu");
    const FactWorld world = FactWorld::load(defaultFactsPath());
    auto editor = SeracEditor::load(seracDir, base, "cpu");
    const int k = editor->topK();
    std::printf("serac %s, base %s, top k %d, threads %d\n", seracDir.c_str(), baseDir.c_str(), k,
                torch::get_num_threads());
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
    return 0;
}
