// bench/trace: causal tracing (ROME), attribution patching, the logit lens
// and the reverse neuron search.
//  - A GPT-2-small-shaped random model, a 16-token prompt with a 3-token
//    subject, 10 samples, all three kinds (window 10): the fast exact trace
//    against the naive loop (one full forward pass per restoration) in the
//    same process, and attribution patching against the fast trace.
//  - The built-in model's three traces ("The capital of Ireland is").
//  - Logit lens and neuron search (with and without a prompt) on the
//    GPT-2-small shape, against one forward pass of the same prompt.
// Prints medians and ratios; never fails.
#include "BenchUtil.h"
#include "CausalTrace.h"
#include "LanguageModel.h"
#include "LogitLens.h"
#include "Resources.h"
#include "ValueProjection.h"

#include <cstdlib>
#include <iostream>

using namespace scalpel;
using namespace scalpel::bench;

int main(int argc, char** argv) {
    // bench/trace [naive runs]: the naive loop is many minutes on the
    // GPT-2-small shape; one run by default, 0 leaves it out.
    const int naiveRuns = argc > 1 ? std::max(0, std::atoi(argv[1])) : 1;
    initThreads(); // what the first model load would set, before the first figure
    std::cout << "LibTorch threads: " << at::get_num_threads() << "\n";
    std::cout << "matrix product rate (768^3): " << mmGflops() << " GFLOP/s\n\n";

    auto small = gpt2SmallRandom();
    std::vector<int> prompt;
    for (int i = 0; i < 16; ++i)
        prompt.push_back(100 + 37 * i);
    const int b = 5, e = 8; // a 3-token subject
    CausalTraceOptions o;
    o.samples = 10;
    o.window = 10;
    o.sigma = 0.02;
    // The naive loop runs minutes here, so the exact traces are few: the
    // fast one three times (median), the naive one `naiveRuns` times.
    o.method = TraceMethod::Approximate;
    causalTraceIds(*small, prompt, b, e, -1, o); // warm-up
    const double approx = medianMs(5, [&] { causalTraceIds(*small, prompt, b, e, -1, o); });
    o.method = TraceMethod::Fast;
    const double fast = medianMs(3, [&] { causalTraceIds(*small, prompt, b, e, -1, o); });
    o.method = TraceMethod::Naive;
    const double naive =
        naiveRuns > 0 ? medianMs(naiveRuns, [&] { causalTraceIds(*small, prompt, b, e, -1, o); })
                      : 0.0;
    std::cout << "GPT-2-small shape, 16 tokens, subject tokens 5-7, samples 10, window 10,\n"
              << "hidden + mlp + attn (3 x 16 x 12 = 576 restorations):\n"
              << "  fast exact trace      " << fast << " ms (median of 3)\n"
              << "  naive loop            " << naive << " ms (median of " << naiveRuns << ")\n"
              << "  fast speed-up         " << (naive > 0 ? naive / fast : 0.0)
              << "x (target >= 3x; 0: naive loop left out)\n"
              << "  attribution patching  " << approx << " ms = " << 100 * approx / fast
              << "% of the exact trace (target <= 5%; median of 5)\n\n";

    auto builtIn = LanguageModel::load(defaultModelDir(), "cpu");
    CausalTraceOptions bo;
    causalTrace(*builtIn, "The capital of Ireland is", "Ireland", "", bo);
    const double builtInMs =
        medianMs(9, [&] { causalTrace(*builtIn, "The capital of Ireland is", "Ireland", "", bo); });
    bo.method = TraceMethod::Approximate;
    const double builtInApprox =
        medianMs(9, [&] { causalTrace(*builtIn, "The capital of Ireland is", "Ireland", "", bo); });
    std::cout << "built-in model, \"The capital of Ireland is\" / Ireland, samples 10, all kinds:\n"
              << "  fast exact trace      " << builtInMs << " ms (target <= 300 ms)\n"
              << "  attribution patching  " << builtInApprox << " ms\n\n";

    const double forward = medianMs(9, [&] { small->nextTokenProbs(prompt); });
    LogitLensOptions lo;
    logitLensIds(*small, prompt, -1, lo);
    const double lens = medianMs(9, [&] { logitLensIds(*small, prompt, -1, lo); });
    neuronsPromoting(*small, 123, 20);
    const double search = medianMs(9, [&] { neuronsPromoting(*small, 123, 20); });
    const double searchPrompt = medianMs(9, [&] { neuronsPromoting(*small, 123, 20, prompt); });
    const double projection = medianMs(9, [&] { projectValueVector(*small, 5, 100, 10); });
    std::cout << "GPT-2-small shape, 16 tokens:\n"
              << "  one forward pass (last-position logits)  " << forward << " ms\n"
              << "  logit lens, 12 layers x 16 positions     " << lens << " ms = " << lens / forward
              << "x a forward pass (target <= 100 ms)\n"
              << "  neurons promoting a token                " << search
              << " ms (target <= 100 ms)\n"
              << "  the same ranked at a prompt              " << searchPrompt << " ms\n"
              << "  one value-vector projection              " << projection << " ms\n";
    return 0;
}
