#pragma once
// Shared helpers of the benchmark programs: timing, medians, and the plain
// matrix-multiply rate every figure is compared with in the same process.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

#include "LanguageModel.h"

#include <torch/torch.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

namespace scalpel::bench {

inline double msSince(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

inline double medianMs(int runs, const std::function<void()>& f) {
    std::vector<double> t;
    for (int i = 0; i < runs; ++i) {
        const auto s = std::chrono::steady_clock::now();
        f();
        t.push_back(msSince(s));
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

// GFLOP/s of a square float matrix product, the machine's reference rate.
inline double mmGflops(int n = 768) {
    torch::NoGradGuard g;
    auto a = torch::randn({n, n}), b = torch::randn({n, n});
    torch::mm(a, b); // warm-up
    const double ms = medianMs(9, [&] { torch::mm(a, b); });
    return 2.0 * n * n * n / (ms * 1e6);
}

// Forward FLOPs of a GPT-2 on `tokens` new tokens attending to `context`
// positions each (matrix products only).
inline double gpt2ForwardFlops(double layers, double d, double vocab, double tokens, double context,
                               bool logits = true) {
    const double perLayer = 2.0 * 12 * d * d * tokens + 2.0 * 2 * tokens * context * d;
    return layers * perLayer + (logits ? 2.0 * tokens * d * vocab : 0.0);
}

// A GPT-2-small-shaped random model (12 layers, 768 wide, vocab 50257),
// written once to the temporary folder and loaded through the ordinary loader.
inline std::shared_ptr<LanguageModel> gpt2SmallRandom(const std::string& device = "cpu") {
    GptConfig c;
    c.nLayer = 12;
    c.nHead = 12;
    c.nEmbd = 768;
    c.nPositions = 1024;
    c.vocabSize = 50257;
    const auto dir = std::filesystem::temp_directory_path() / "scalpel-bench-gpt2-small";
    if (!std::filesystem::exists(dir / "model.safetensors")) {
        std::cout << "writing a random GPT-2-small-shaped model to " << dir << std::endl;
        std::vector<std::string> vocab;
        for (int i = 0; i < c.vocabSize; ++i)
            vocab.push_back("w" + std::to_string(i));
        LanguageModel::createRandom(c, Tokenizer::makeWordLevel(vocab, {}, "w0"), 1, "cpu")
            ->save(dir.string());
    }
    return LanguageModel::load(dir.string(), device);
}

} // namespace scalpel::bench
