// bench/forward: forward throughput of a GPT-2-small-shaped random model
// (12 layers, 768 wide, vocab 50257) on 16-token prompts, against the plain
// matrix-multiply rate measured in the same run. Prints figures, never fails.
#include "BenchUtil.h"
#include "LanguageModel.h"
#include "ModelInternals.h"

#include <cstdlib>
#include <filesystem>
#include <iostream>

using namespace scalpel;
using namespace scalpel::bench;

int main(int argc, char** argv) {
    initThreads();
    const auto load = std::chrono::steady_clock::now();
    auto m = gpt2SmallRandom(argc > 1 ? argv[1] : "cpu");
    const ModelConfig& c = m->config();
    std::cout << "loaded in " << msSince(load) << " ms on " << m->info().device << ", "
              << torch::get_num_threads() << " threads, " << m->info().parameters
              << " parameters\n";
    TransformerImpl& net = network(*m);
    const torch::Device device = deviceOf(*m);
    torch::NoGradGuard g;
    const int T = 16;
    for (int batch : {1, 8}) {
        auto ids = torch::randint(0, c.vocabSize, {batch, T}, torch::kLong).to(device);
        net.forward(ids); // warm-up
        const double ms = medianMs(7, [&] {
            auto out = net.forward(ids);
            if (device.is_cuda())
                torch::cuda::synchronize();
        });
        const double flops = batch * gpt2ForwardFlops(c.layers, c.hidden, c.vocabSize, T, T / 2.0);
        const double mm = mmGflops();
        const double gflops = flops / (ms * 1e6);
        std::printf("batch %d x %d tokens: %.1f ms, %.0f tokens/s, %.1f GFLOP/s achieved, "
                    "torch::mm %.1f GFLOP/s, ratio %.2f\n",
                    batch, T, ms, batch * T / (ms / 1000), gflops, mm, gflops / mm);
    }
    return 0;
}
