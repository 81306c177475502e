#include "LanguageModel.h"

#include "AtomicFile.h"
#include "Error.h"
#include "ModelInternals.h"
#include "Safetensors.h"

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

namespace scalpel {

namespace fs = std::filesystem;

void initThreads() {
    static std::once_flag once;
    std::call_once(once, [] {
        unsigned cores = std::max(1u, std::thread::hardware_concurrency());
        if (const char* env = std::getenv("SCALPEL_THREADS"); env && std::atoi(env) > 0)
            cores = static_cast<unsigned>(std::atoi(env));
        torch::set_num_threads(static_cast<int>(cores));
        // Denormal floats are ~100x slower on x86; values that small carry
        // nothing a language model needs.
        at::globalContext().setFlushDenormal(true);
    });
}

std::string resolveDevice(const std::string& request) {
    if (request == "cpu")
        return "cpu";
    if (request == "cuda") {
        if (!torch::cuda::is_available())
            throw Error("--device cuda was asked for, but no CUDA device is available");
        return "cuda:0";
    }
    if (request == "auto" || request.empty())
        return torch::cuda::is_available() ? "cuda:0" : "cpu";
    throw Error("unknown device '" + request + "' (cpu, cuda or auto)");
}

void loadGpt2Weights(Gpt2& net, const std::string& path) {
    auto file = SafetensorsFile::open(path);
    torch::NoGradGuard guard;
    for (auto& p : net->named_parameters()) {
        const std::string& name = p.key(); // "transformer.h.0.ln_1.weight"
        std::string key = name;
        if (!file.contains(key)) {
            const std::string bare = name.substr(std::string("transformer.").size());
            if (file.contains(bare))
                key = bare;
            else
                throw Error(path + ": tensor '" + name +
                            "' is missing; this is not a GPT-2 "
                            "checkpoint with the expected layers");
        }
        const auto& e = file.entry(key);
        std::vector<int64_t> want = p.value().sizes().vec();
        if (e.shape != want) {
            std::string got, exp;
            for (auto d : e.shape)
                got += (got.empty() ? "" : "x") + std::to_string(d);
            for (auto d : want)
                exp += (exp.empty() ? "" : "x") + std::to_string(d);
            throw Error(path + ": tensor '" + key + "' has shape [" + got +
                        "], config.json says [" + exp + "]");
        }
        auto data = file.readFloat(key);
        auto t = torch::from_blob(data.data(), {static_cast<int64_t>(data.size())}, torch::kFloat)
                     .view(want);
        if (!torch::isfinite(t).all().item<bool>())
            throw Error(path + ": tensor '" + key + "' contains NaN or infinite values");
        p.value().copy_(t);
    }
}

void saveGpt2Weights(Gpt2& net, const std::string& path) {
    std::vector<torch::Tensor> keep;
    std::vector<SafetensorsTensor> tensors;
    for (auto& p : net->named_parameters()) {
        auto t = p.value().detach().to(torch::kCPU).contiguous();
        keep.push_back(t);
        tensors.push_back({p.key(), t.sizes().vec(), t.data_ptr<float>()});
    }
    writeSafetensors(path, tensors, {{"format", "pt"}});
}

void LanguageModel::Internals::checkNeuron(int layer, int neuron) const {
    const int N = config.neuronsPerLayer();
    if (layer < 0 || layer >= config.nLayer || neuron < 0 || neuron >= N)
        throw Error("neuron " + std::to_string(layer) + ":" + std::to_string(neuron) +
                    " does not exist (layers 0-" + std::to_string(config.nLayer - 1) +
                    ", neurons 0-" + std::to_string(N - 1) + ")");
}

torch::Tensor answerLogProb(const torch::Tensor& logits, const torch::Tensor& target) {
    auto lp = torch::log_softmax(logits, -1);                       // [R, n, V]
    auto idx = target.view({1, -1, 1}).expand({lp.size(0), -1, 1}); // [R, n, 1]
    return lp.gather(2, idx).squeeze(2).sum(1);                     // [R]
}

std::map<int, torch::Tensor>
LanguageModel::Internals::scaleFactors(const std::vector<NeuronScale>& scales) const {
    std::map<int, torch::Tensor> out;
    for (const auto& s : scales) {
        checkNeuron(s.layer, s.neuron);
        auto it = out.find(s.layer);
        if (it == out.end())
            it = out.emplace(s.layer, torch::ones({config.neuronsPerLayer()})).first;
        it->second[s.neuron] = s.factor;
    }
    for (auto& [l, t] : out)
        t = t.to(device);
    return out;
}

LanguageModel::LanguageModel() : m_internals(std::make_unique<Internals>()) {}
LanguageModel::~LanguageModel() = default;

std::shared_ptr<LanguageModel> LanguageModel::load(const std::string& dir,
                                                   const std::string& device) {
    initThreads();
    if (!fs::is_directory(dir))
        throw Error(dir + " is not a folder; a model is a folder with config.json, "
                          "model.safetensors and tokenizer.json");
    const fs::path p(dir);
    if (!fs::exists(p / "config.json"))
        throw Error(dir + " has no config.json; it is not a model folder in Hugging Face layout");
    if (!fs::exists(p / "model.safetensors"))
        throw Error(dir + " has no model.safetensors");
    std::shared_ptr<LanguageModel> m(new LanguageModel());
    auto& in = *m->m_internals;
    in.path = fs::absolute(p).lexically_normal().string();
    in.config = GptConfig::fromFile((p / "config.json").string());
    in.tokenizer = Tokenizer::fromModelFolder(dir);
    if (in.tokenizer.vocabSize() > in.config.vocabSize)
        throw Error(dir + ": the tokenizer has " + std::to_string(in.tokenizer.vocabSize()) +
                    " tokens but config.json says vocab_size " +
                    std::to_string(in.config.vocabSize));
    in.net = Gpt2(in.config);
    loadGpt2Weights(in.net, (p / "model.safetensors").string());
    in.device = torch::Device(resolveDevice(device));
    in.net->to(in.device);
    in.net->eval();
    return m;
}

std::shared_ptr<LanguageModel> LanguageModel::createRandom(const GptConfig& config,
                                                           const Tokenizer& tokenizer,
                                                           uint64_t seed,
                                                           const std::string& device) {
    initThreads();
    std::shared_ptr<LanguageModel> m(new LanguageModel());
    auto& in = *m->m_internals;
    in.config = config;
    in.tokenizer = tokenizer;
    torch::manual_seed(seed);
    in.net = Gpt2(config);
    in.device = torch::Device(resolveDevice(device));
    in.net->to(in.device);
    in.net->eval();
    return m;
}

void LanguageModel::save(const std::string& dir) const {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (!fs::is_directory(dir))
        throw Error("cannot create folder " + dir);
    const fs::path p(dir);
    writeFileAtomically((p / "config.json").string(), m_internals->config.toJson());
    writeFileAtomically((p / "tokenizer.json").string(), m_internals->tokenizer.toJson());
    saveGpt2Weights(m_internals->net, (p / "model.safetensors").string());
}

ModelInfo LanguageModel::info() const {
    const auto& c = m_internals->config;
    ModelInfo i;
    i.path = m_internals->path;
    i.device = m_internals->device.str();
    i.layers = c.nLayer;
    i.heads = c.nHead;
    i.hidden = c.nEmbd;
    i.neuronsPerLayer = c.neuronsPerLayer();
    i.vocab = c.vocabSize;
    i.contextLength = c.nPositions;
    for (const auto& p : m_internals->net->parameters())
        i.parameters += p.numel();
    return i;
}

const GptConfig& LanguageModel::config() const {
    return m_internals->config;
}
const Tokenizer& LanguageModel::tokenizer() const {
    return m_internals->tokenizer;
}

PreparedPrompt LanguageModel::prepare(const std::string& text) const {
    bool blank = true;
    for (char ch : text)
        if (!std::isspace(static_cast<unsigned char>(ch)))
            blank = false;
    if (blank)
        throw Error("the prompt is empty");
    Encoding e = m_internals->tokenizer.encodeDetailed(text);
    if (e.ids.empty())
        throw Error("the prompt has no tokens");
    PreparedPrompt p;
    p.unknownWords = e.unknownWords();
    const auto ctx = static_cast<std::size_t>(m_internals->config.nPositions);
    if (e.ids.size() > ctx) {
        p.droppedTokens = static_cast<int>(e.ids.size() - ctx);
        p.warning = "the prompt has " + std::to_string(e.ids.size()) +
                    " tokens, more than the model's context of " + std::to_string(ctx) +
                    "; only the last " + std::to_string(ctx) + " are used";
        e.ids.erase(e.ids.begin(), e.ids.begin() + p.droppedTokens);
        e.tokens.erase(e.tokens.begin(), e.tokens.begin() + p.droppedTokens);
    }
    p.ids = std::move(e.ids);
    p.tokens = std::move(e.tokens);
    return p;
}

std::vector<float> LanguageModel::nextTokenProbs(const std::vector<int>& ids,
                                                 const std::vector<NeuronScale>& scales) const {
    if (ids.empty())
        throw Error("the prompt is empty");
    auto& in = *m_internals;
    torch::NoGradGuard guard;
    NeuronTaps taps;
    taps.scalePosition = static_cast<int64_t>(ids.size()) - 1;
    taps.scale = in.scaleFactors(scales);
    auto logits = in.net->forward(in.idsTensor(ids), scales.empty() ? nullptr : &taps);
    auto probs = torch::softmax(logits[0][-1], -1).to(torch::kCPU).contiguous();
    return std::vector<float>(probs.data_ptr<float>(), probs.data_ptr<float>() + probs.numel());
}

std::vector<TokenProb> LanguageModel::topK(const std::vector<float>& probs, int k) const {
    std::vector<int> idx(probs.size());
    for (std::size_t i = 0; i < idx.size(); ++i)
        idx[i] = static_cast<int>(i);
    k = std::max(0, std::min<int>(k, static_cast<int>(idx.size())));
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                      [&](int a, int b) { return probs[a] > probs[b]; });
    std::vector<TokenProb> out;
    for (int i = 0; i < k; ++i)
        out.push_back({idx[i], m_internals->tokenizer.tokenText(idx[i]), probs[idx[i]]});
    return out;
}

std::vector<int> LanguageModel::generate(const std::vector<int>& ids, int maxNewTokens) const {
    if (ids.empty())
        throw Error("the prompt is empty");
    auto& in = *m_internals;
    torch::NoGradGuard guard;
    KvCache cache;
    std::vector<int> out;
    auto logits = in.net->forward(in.idsTensor(ids), nullptr, &cache);
    for (int i = 0; i < maxNewTokens; ++i) {
        if (cache.length() >= in.config.nPositions)
            break;
        const int next = static_cast<int>(logits[0][-1].argmax().item<int64_t>());
        out.push_back(next);
        if (cache.length() + 1 > in.config.nPositions || i + 1 == maxNewTokens)
            break;
        logits = in.net->forward(in.idsTensor({next}), nullptr, &cache);
    }
    return out;
}

} // namespace scalpel
