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
    GptConfig c;
    c.nLayer = 12;
    c.nHead = 12;
    c.nEmbd = 768;
    c.nPositions = 1024;
    c.vocabSize = 50257;
    const auto dir = std::filesystem::temp_directory_path() / "scalpel-bench-gpt2-small";
    if (!std::filesystem::exists(dir / "model.safetensors")) {
        std::cout << "writing a random GPT-2-small-shaped model to " << dir << "\n";
        auto tok = Tokenizer::makeWordLevel({"[UNK]"}, {}, "[UNK]");
        std::vector<std::string> vocab;
        for (int i = 0; i < c.vocabSize; ++i)
            vocab.push_back("w" + std::to_string(i));
        tok = Tokenizer::makeWordLevel(vocab, {}, "w0");
        LanguageModel::createRandom(c, tok, 1, "cpu")->save(dir.string());
    }
    const auto load = std::chrono::steady_clock::now();
    auto m = LanguageModel::load(dir.string(), argc > 1 ? argv[1] : "cpu");
    std::cout << "loaded in " << msSince(load) << " ms on " << m->info().device << ", "
              << torch::get_num_threads() << " threads, " << m->info().parameters
              << " parameters\n";
    auto& in = m->internals();
    torch::NoGradGuard g;
    const int T = 16;
    for (int batch : {1, 8}) {
        auto ids = torch::randint(0, c.vocabSize, {batch, T}, torch::kLong).to(in.device);
        in.net->forward(ids); // warm-up
        const double ms = medianMs(7, [&] {
            auto out = in.net->forward(ids);
            if (in.device.is_cuda())
                torch::cuda::synchronize();
        });
        const double flops = batch * gpt2ForwardFlops(c.nLayer, c.nEmbd, c.vocabSize, T, T / 2.0);
        const double mm = mmGflops();
        const double gflops = flops / (ms * 1e6);
        std::printf("batch %d x %d tokens: %.1f ms, %.0f tokens/s, %.1f GFLOP/s achieved, "
                    "torch::mm %.1f GFLOP/s, ratio %.2f\n",
                    batch, T, ms, batch * T / (ms / 1000), gflops, mm, gflops / mm);
    }
    return 0;
}
