// bench/families: random models in the shapes of Pythia-160m, Qwen2.5-0.5B
// and Llama-3.2-1B (BF16 in two shards), written once to the temporary
// folder and loaded through the ordinary loader. Per shape:
//  - load: seconds and peak RSS of a fresh process, against reading the
//    files once from the page cache and against the F32 weight size;
//  - forward on 16 tokens, batch 1 and 8, logits at the last position only:
//    GFLOP/s against torch::mm measured in the same run;
//  - knowledge-neuron attribution (m = 20, all layers): fast against the
//    reference method in the same run (on the Llama shape the reference runs
//    two layers and is scaled to all, said so).
// Prints figures, never fails.
//
// usage: families [SHAPE ...]        (pythia-160m qwen2.5-0.5b llama-3.2-1b)
//        families --load DIR         (the child process that measures a load)
#include "Attribution.h"
#include "BenchUtil.h"
#include "Error.h"
#include "ModelInternals.h"
#include "Weights.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace scalpel;
using namespace scalpel::bench;
namespace fs = std::filesystem;

namespace {

struct Shape {
    std::string name;
    ModelConfig config;
    StoredDtype dtype = StoredDtype::F32;
    int shards = 1;
    int referenceLayers = 0; // 0: all
};

Shape pythia() {
    ModelConfig c;
    c.modelType = c.family = "gpt_neox";
    c.layers = 12;
    c.hidden = 768;
    c.heads = c.kvHeads = 12;
    c.headDim = 64;
    c.neurons = 3072;
    c.vocabSize = 50304;
    c.contextLength = 2048;
    c.norm = NormKind::LayerNorm;
    c.activation = "gelu";
    c.positions = PositionKind::Rotary;
    c.rotaryDims = 16;
    c.parallelResidual = true;
    c.tiedEmbeddings = false;
    c.qkvBias = c.attnOutBias = c.mlpBias = true;
    return {"pythia-160m", c, StoredDtype::F32, 1, 0};
}

ModelConfig llamaLike(const std::string& type) {
    ModelConfig c;
    c.modelType = type;
    c.family = "llama";
    c.norm = NormKind::RmsNorm;
    c.normEps = 1e-6;
    c.activation = "silu";
    c.gatedMlp = true;
    c.positions = PositionKind::Rotary;
    return c;
}

Shape qwen() {
    ModelConfig c = llamaLike("qwen2");
    c.layers = 24;
    c.hidden = 896;
    c.heads = 14;
    c.kvHeads = 2;
    c.headDim = 64;
    c.rotaryDims = 64;
    c.neurons = 4864;
    c.vocabSize = 151936;
    c.contextLength = 32768;
    c.ropeTheta = 1e6;
    c.tiedEmbeddings = true;
    c.qkvBias = true;
    return {"qwen2.5-0.5b", c, StoredDtype::BF16, 1, 6};
}

Shape llama() {
    ModelConfig c = llamaLike("llama");
    c.layers = 16;
    c.hidden = 2048;
    c.heads = 32;
    c.kvHeads = 8;
    c.headDim = 64;
    c.rotaryDims = 64;
    c.neurons = 8192;
    c.vocabSize = 128256;
    c.contextLength = 131072;
    c.ropeTheta = 500000;
    c.ropeScaling = {"llama3", 32.0, 1.0, 4.0, 8192};
    c.tiedEmbeddings = true;
    return {"llama-3.2-1b", c, StoredDtype::BF16, 2, 2};
}

fs::path folderOf(const Shape& s) {
    return fs::temp_directory_path() / ("scalpel-bench-" + s.name);
}

void writeShape(const Shape& s) {
    const fs::path dir = folderOf(s);
    if (fs::exists(dir / "config.json"))
        return;
    std::cout << "writing a random " << s.name << "-shaped model to " << dir << std::endl;
    std::vector<std::string> vocab;
    for (int i = 0; i < s.config.vocabSize; ++i)
        vocab.push_back("w" + std::to_string(i));
    auto m = LanguageModel::createRandom(s.config, Tokenizer::makeWordLevel(vocab, {}, "w0"), 1);
    const uint64_t bytes =
        static_cast<uint64_t>(s.config.parameterCount()) * (s.dtype == StoredDtype::F32 ? 4 : 2);
    fs::create_directories(dir);
    saveWeightsFolder(network(*m), dir.string(), s.dtype, bytes / s.shards + (1 << 20));
    std::ofstream(dir / "tokenizer.json") << m->tokenizer().toJson();
    std::ofstream(dir / "config.json") << s.config.toJson();
}

long peakRssKb() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0)
            return std::stol(line.substr(6));
    return -1;
}

// The child: read every weight file once (page cache), then load.
int loadChild(const std::string& dir) {
    initThreads();
    std::vector<char> buf(1 << 22);
    uint64_t bytes = 0;
    const auto r0 = std::chrono::steady_clock::now();
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() != ".safetensors")
            continue;
        std::ifstream in(e.path(), std::ios::binary);
        while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0)
            bytes += static_cast<uint64_t>(in.gcount());
    }
    const double readMs = msSince(r0);
    std::vector<char>().swap(buf);
    const long before = peakRssKb();
    const auto l0 = std::chrono::steady_clock::now();
    auto m = LanguageModel::load(dir, "cpu");
    const double loadMs = msSince(l0);
    std::printf("%.1f %.1f %ld %ld %llu\n", readMs, loadMs, before, peakRssKb(),
                static_cast<unsigned long long>(bytes));
    return 0;
}

double forwardFlops(const ModelConfig& c, int batch, int T) {
    const double D = c.hidden, N = c.neurons, q = double(c.heads) * c.headDim,
                 kv = double(c.kvHeads) * c.headDim;
    const double perToken =
        2 * D * (q + 2 * kv) + 2 * q * D + (c.gatedMlp ? 3 : 2) * 2 * D * N + 2 * 2 * (T / 2.0) * q;
    return batch * (c.layers * T * perToken + 2 * D * c.vocabSize);
}

void run(const Shape& s, const char* self) {
    writeShape(s);
    const auto& c = s.config;
    const double f32Mb = c.parameterCount() * 4.0 / 1e6;
    std::printf("\n%s: %d layers, %d wide, %d neurons, %d heads / %d kv, vocab %d, %lld "
                "parameters, %s on disk\n",
                s.name.c_str(), c.layers, c.hidden, c.neurons, c.heads, c.kvHeads, c.vocabSize,
                static_cast<long long>(c.parameterCount()), dtypeName(s.dtype));

    const std::string cmd = std::string(self) + " --load " + folderOf(s).string();
    if (FILE* p = popen(cmd.c_str(), "r")) {
        double readMs = 0, loadMs = 0;
        long rssBefore = 0, rssPeak = 0;
        unsigned long long bytes = 0;
        if (std::fscanf(p, "%lf %lf %ld %ld %llu", &readMs, &loadMs, &rssBefore, &rssPeak,
                        &bytes) == 5)
            std::printf("  load: %.2f s (reading the %.0f MB of files from the page cache: %.2f "
                        "s, ratio %.2f); peak RSS %.0f MB (before loading %.0f MB) against %.0f MB "
                        "of F32 weights, ratio %.2f\n",
                        loadMs / 1000, bytes / 1e6, readMs / 1000, loadMs / readMs,
                        rssPeak / 1024.0, rssBefore / 1024.0, f32Mb, rssPeak / 1024.0 / f32Mb);
        pclose(p);
    }

    auto m = LanguageModel::load(folderOf(s).string(), "cpu");
    TransformerImpl& net = network(*m);
    const double mm = mmGflops(1024);
    const int T = 16;
    for (int batch : {1, 8}) {
        torch::NoGradGuard g;
        auto ids = torch::randint(0, c.vocabSize, {batch, T}, torch::kLong);
        net.forward(ids, nullptr, nullptr, true); // warm-up
        const double ms = medianMs(5, [&] { net.forward(ids, nullptr, nullptr, true); });
        const double gflops = forwardFlops(c, batch, T) / (ms * 1e6);
        std::printf("  forward batch %d x %d tokens: %.1f ms, %.1f GFLOP/s, torch::mm %.1f "
                    "GFLOP/s, ratio %.2f\n",
                    batch, T, ms, gflops, mm, gflops / mm);
        std::fflush(stdout);
    }

    std::vector<int> prompt;
    for (int i = 0; i < T; ++i)
        prompt.push_back(100 + 37 * i);
    const std::vector<int> target = {4242};
    AttributionOptions o;
    o.steps = 20;
    const double fastMs = medianMs(1, [&] { attributeIds(*m, prompt, target, o); });
    o.method = AttributionMethod::Reference;
    double refMs = 0;
    if (s.referenceLayers == 0) {
        refMs = medianMs(1, [&] { attributeIds(*m, prompt, target, o); });
        std::printf("  attribution m = 20, all %d layers: fast %.1f s, reference %.1f s, ratio "
                    "%.1fx\n",
                    c.layers, fastMs / 1000, refMs / 1000, refMs / fastMs);
    } else {
        // The reference runs layer by layer; time `referenceLayers` of them
        // through the progress callback and scale to all layers.
        int layersDone = 0;
        const auto t0 = std::chrono::steady_clock::now();
        o.progress = [&](double) { return ++layersDone < s.referenceLayers; };
        try {
            attributeIds(*m, prompt, target, o);
        } catch (const Cancelled&) {
        }
        refMs = msSince(t0) * c.layers / s.referenceLayers;
        std::printf("  attribution m = 20, all %d layers: fast %.1f s, reference %.1f s "
                    "(%d layers timed, scaled to %d), ratio %.1fx\n",
                    c.layers, fastMs / 1000, refMs / 1000, s.referenceLayers, c.layers,
                    refMs / fastMs);
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::string(argv[1]) == "--load")
        return loadChild(argv[2]);
    initThreads();
    std::cout << torch::get_num_threads() << " threads" << std::endl;
    std::vector<Shape> shapes = {pythia(), qwen(), llama()};
    for (const auto& s : shapes) {
        bool wanted = argc == 1;
        for (int i = 1; i < argc; ++i)
            wanted = wanted || s.name == argv[i];
        if (wanted)
            run(s, argv[0]);
    }
    return 0;
}
