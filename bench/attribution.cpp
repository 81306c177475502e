// bench/attribution: all-layer integrated-gradients attribution (m = 20),
// fast against reference in the same process, on the built-in model, on a
// GPT-2-small-shaped random model with a 16-token prompt, and on a
// BERT-base-shaped random model (12 layers, 768 wide, 3072 neurons, 28,996
// words) with a 16-token cloze prompt, attributed at its [MASK]
// (`--bert-only` runs just that row). Prints medians, their ratio, and for
// the GPT-2 rows each method's FLOP count over the achieved rate.
#include "Attribution.h"
#include "BenchUtil.h"
#include "LanguageModel.h"
#include "Resources.h"

#include <algorithm>
#include <filesystem>
#include <iostream>

#include <torch/csrc/autograd/profiler_legacy.h>

using namespace scalpel;
using namespace scalpel::bench;

namespace {

// Matrix-product FLOPs (forward + backward ~ 3x forward where gradients flow).
double referenceFlops(const ModelConfig& c, int T, int n, int m) {
    const double len = T + n - 1;
    return c.layers * 3.0 * m * gpt2ForwardFlops(c.layers, c.hidden, c.vocabSize, len, len / 2);
}

double fastFlops(const ModelConfig& c, int T, int n, int m) {
    const double L = c.layers, d = c.hidden;
    double f = gpt2ForwardFlops(L, d, c.vocabSize, T - 1, (T - 1) / 2.0, false); // prefix
    f += gpt2ForwardFlops(L, d, c.vocabSize, n, T, true);                        // suffix once
    // Layer l's m copies join at layer l; its alpha = 1 copy is layer 0's.
    double rowLayers = 0, rows = 0; // rows x layers run with gradients
    for (int l = 0; l < L; ++l) {
        const double copies = l == 0 ? m : m - 1;
        rowLayers += copies * (L - l);
        rows += copies;
    }
    f += 3.0 * rowLayers * gpt2ForwardFlops(1, d, 0, n, T, false);
    f += 3.0 * rows * 2.0 * n * d * c.vocabSize;
    return f;
}

void run(const LanguageModel& model, const std::vector<int>& prompt, const std::vector<int>& target,
         int fastRuns, int referenceRuns, const char* label) {
    AttributionOptions o;
    o.steps = 20;
    attributeIds(model, prompt, target, o); // warm-up
    // The two methods' runs alternate (fast runs spread between the reference
    // runs), so a change in the machine's load reaches both medians alike.
    std::vector<double> fastTimes, refTimes;
    for (int r = 0; r < referenceRuns; ++r) {
        const int fastHere = fastRuns * (r + 1) / referenceRuns - fastRuns * r / referenceRuns;
        o.method = AttributionMethod::Fast;
        for (int i = 0; i < fastHere; ++i)
            fastTimes.push_back(medianMs(1, [&] { attributeIds(model, prompt, target, o); }));
        o.method = AttributionMethod::Reference;
        refTimes.push_back(medianMs(1, [&] { attributeIds(model, prompt, target, o); }));
    }
    auto median = [](std::vector<double> t) {
        std::sort(t.begin(), t.end());
        return t[t.size() / 2];
    };
    const double fastMs = median(fastTimes), refMs = median(refTimes);
    const double mm = mmGflops();
    const auto& c = model.config();
    const int T = static_cast<int>(prompt.size()), n = static_cast<int>(target.size());
    const double ff = fastFlops(c, T, n, 20), rf = referenceFlops(c, T, n, 20);
    std::printf("%s (%d layers x %d neurons, %d-token prompt, m = 20)\n", label, c.layers,
                c.neurons, T);
    std::printf("  fast      %9.1f ms  (median of %d)  %7.2f GFLOP -> %.1f GFLOP/s; at torch::mm's "
                "rate %.1f ms\n",
                fastMs, fastRuns, ff / 1e9, ff / (fastMs * 1e6), ff / (mm * 1e6));
    std::printf("  reference %9.1f ms  (median of %d)  %7.2f GFLOP -> %.1f GFLOP/s; at torch::mm's "
                "rate %.1f ms\n",
                refMs, referenceRuns, rf / 1e9, rf / (refMs * 1e6), rf / (mm * 1e6));
    std::printf("  reference / fast = %.1fx   torch::mm %.1f GFLOP/s\n", refMs / fastMs, mm);
}

// A masked model's fast method (layers below each attributed layer run
// once) against the reference method, alternating as in run().
void runMasked(int fastRuns, int referenceRuns) {
    const auto config = ModelConfig::fromJson(
        R"({"model_type":"bert","hidden_size":768,"num_hidden_layers":12,
        "num_attention_heads":12,"intermediate_size":3072,"vocab_size":28996,
        "max_position_embeddings":512,"type_vocab_size":2,"layer_norm_eps":1e-12,
        "hidden_act":"gelu"})",
        "BERT-base shape");
    std::vector<std::string> vocab;
    for (int i = 0; i + 1 < config.vocabSize; ++i)
        vocab.push_back("w" + std::to_string(i));
    auto model = LanguageModel::createRandom(
        config, Tokenizer::makeWordLevel(vocab, {"[MASK]"}, "w0"), 1, "cpu");
    const int mask = *model->tokenizer().maskId();
    std::vector<int> prompt;
    for (int i = 0; i < 16; ++i)
        prompt.push_back(i == 12 ? mask : 1000 + 37 * i);
    AttributionOptions o;
    o.steps = 20;
    attributeIds(*model, prompt, {4242}, o); // warm-up
    std::vector<double> fastTimes, refTimes;
    for (int r = 0; r < referenceRuns; ++r) {
        const int fastHere = fastRuns * (r + 1) / referenceRuns - fastRuns * r / referenceRuns;
        o.method = AttributionMethod::Fast;
        for (int i = 0; i < fastHere; ++i)
            fastTimes.push_back(medianMs(1, [&] { attributeIds(*model, prompt, {4242}, o); }));
        o.method = AttributionMethod::Reference;
        refTimes.push_back(medianMs(1, [&] { attributeIds(*model, prompt, {4242}, o); }));
    }
    auto median = [](std::vector<double> t) {
        std::sort(t.begin(), t.end());
        return t[t.size() / 2];
    };
    const double fastMs = median(fastTimes), refMs = median(refTimes);
    std::printf("BERT-base-shaped random model (12 layers x 3072 neurons, 16-token cloze prompt, "
                "m = 20, at the [MASK])\n");
    std::printf("  fast      %9.1f ms  (median of %d)\n", fastMs, fastRuns);
    std::printf("  reference %9.1f ms  (median of %d)\n", refMs, referenceRuns);
    std::printf("  reference / fast = %.2fx\n", refMs / fastMs);
}

} // namespace

int main(int argc, char** argv) {
    initThreads();
    std::printf("%d threads\n", torch::get_num_threads());
    if (argc > 1 && std::string(argv[1]) == "--bert-only") {
        runMasked(3, 2);
        return 0;
    }
    {
        auto m = LanguageModel::load(defaultModelDir(), "cpu");
        const auto p = m->prepare("The capital of Ireland is");
        run(*m, p.ids, encodeTarget(*m, "Dublin"), 15, 5, "built-in model");
    }
    if (argc > 1 && std::string(argv[1]) == "--builtin-only")
        return 0;
    auto m = gpt2SmallRandom();
    std::vector<int> prompt;
    for (int i = 0; i < 16; ++i)
        prompt.push_back(1000 + 37 * i);
    if (argc > 2 && std::string(argv[1]) == "--profile") {
        // One fast run under LibTorch's profiler, as a Chrome trace.
        AttributionOptions o;
        attributeIds(*m, prompt, {4242}, o);
        torch::autograd::profiler::RecordProfile guard(argv[2]);
        attributeIds(*m, prompt, {4242}, o);
        return 0;
    }
    run(*m, prompt, {4242}, 5, 3, "GPT-2-small-shaped random model");
    runMasked(3, 2);
    return 0;
}
