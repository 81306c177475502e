#include "LanguageModel.h"

#include "AtomicFile.h"
#include "Error.h"
#include "ModelInternals.h"
#include "Safetensors.h"
#include "WeightStore.h"
#include "Weights.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include <unistd.h>

namespace scalpel {

namespace fs = std::filesystem;

namespace {
std::atomic<int> g_explicitThreads{0};
} // namespace

void setThreads(int threads) {
    if (threads <= 0)
        throw Error("the thread count must be positive, got " + std::to_string(threads));
    g_explicitThreads = threads;
    torch::set_num_threads(threads);
    initThreads(); // the denormal setting, once
}

int defaultThreads() {
    if (const char* env = std::getenv("SCALPEL_THREADS"); env && std::atoi(env) > 0)
        return std::atoi(env);
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void initThreads() {
    static std::once_flag once;
    std::call_once(once, [] {
        // An explicit setThreads() wins over the default, whichever runs first.
        if (g_explicitThreads == 0)
            torch::set_num_threads(defaultThreads());
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

torch::Tensor idsTensor(const LanguageModel& m, const std::vector<int>& ids) {
    std::vector<int64_t> v(ids.begin(), ids.end());
    return torch::tensor(v, torch::kLong).view({1, -1}).to(deviceOf(m));
}

void checkNeuron(const LanguageModel& m, int layer, int neuron) {
    const auto& c = m.config();
    const int N = c.neurons;
    if (layer < 0 || layer >= c.layers || neuron < 0 || neuron >= N)
        throw Error("neuron " + std::to_string(layer) + ":" + std::to_string(neuron) +
                    " does not exist (layers 0-" + std::to_string(c.layers - 1) + ", neurons 0-" +
                    std::to_string(N - 1) + ")");
}

AnswerSequence answerSequence(const LanguageModel& m, const std::vector<int>& prompt,
                              const std::vector<int>& answer) {
    if (prompt.empty())
        throw Error("the prompt is empty");
    if (answer.empty())
        throw Error("the answer is empty");
    AnswerSequence s;
    if (!m.isMaskedLm()) {
        s.ids = prompt;
        s.ids.insert(s.ids.end(), answer.begin(), answer.end() - 1);
        s.position = static_cast<int64_t>(prompt.size()) - 1;
        return s;
    }
    const int first = m.queryPositions(prompt).front();
    const int mask = prompt[static_cast<std::size_t>(first)];
    std::size_t run = 0;
    while (first + run < prompt.size() && prompt[first + run] == mask)
        ++run;
    if (run != 1 && run != answer.size())
        throw Error("the prompt has " + std::to_string(run) +
                    " masks in a row, but the answer has " + std::to_string(answer.size()) +
                    " tokens; write one mask or one per token");
    s.ids.assign(prompt.begin(), prompt.begin() + first);
    s.ids.insert(s.ids.end(), answer.size(), mask);
    s.ids.insert(s.ids.end(), prompt.begin() + first + static_cast<std::ptrdiff_t>(run),
                 prompt.end());
    s.position = first;
    return s;
}

torch::Tensor answerLogProb(const torch::Tensor& logits, const torch::Tensor& target) {
    auto lp = torch::log_softmax(logits, -1);                       // [R, n, V]
    auto idx = target.view({1, -1, 1}).expand({lp.size(0), -1, 1}); // [R, n, 1]
    return lp.gather(2, idx).squeeze(2).sum(1);                     // [R]
}

std::map<int, torch::Tensor> scaleFactors(const LanguageModel& m,
                                          const std::vector<NeuronScale>& scales) {
    std::map<int, torch::Tensor> out;
    for (const auto& s : scales) {
        checkNeuron(m, s.layer, s.neuron);
        auto it = out.find(s.layer);
        if (it == out.end())
            it = out.emplace(s.layer, torch::ones({m.config().neurons})).first;
        it->second[s.neuron] = s.factor;
    }
    for (auto& [l, t] : out)
        t = t.to(deviceOf(m));
    return out;
}

Hooks neuronScaleHooks(const LanguageModel& m, const std::vector<NeuronScale>& scales,
                       int64_t position) {
    Hooks hooks;
    for (auto& [layer, factor] : scaleFactors(m, scales)) {
        Hook h;
        h.site = HookSite::Neurons;
        h.layer = layer;
        h.op = HookOp::Scale;
        h.position = position;
        h.value = factor;
        hooks.add(std::move(h));
    }
    return hooks;
}

namespace {

// Refuses a model that cannot fit in this machine's memory before any of it
// is allocated.
void checkFitsInMemory(const ModelConfig& c, const std::string& where) {
    const long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || pageSize <= 0)
        return;
    const double bytes = static_cast<double>(c.parameterCount()) * 4.0;
    const double memory = static_cast<double>(pages) * static_cast<double>(pageSize);
    if (bytes > memory)
        throw Error(where + ": the model has " + std::to_string(c.parameterCount()) +
                    " parameters (" + std::to_string(static_cast<long long>(bytes / 1e6)) +
                    " MB as float32), more than this machine's " +
                    std::to_string(static_cast<long long>(memory / 1e6)) + " MB of memory");
}

int64_t countParameters(TransformerImpl& net) {
    int64_t n = 0;
    for (const auto& p : net.parameters())
        n += p.numel();
    return n;
}

} // namespace

LanguageModel::LanguageModel() : m_internals(std::make_unique<Internals>()) {}
LanguageModel::~LanguageModel() = default;

std::shared_ptr<LanguageModel> LanguageModel::load(const std::string& dir,
                                                   const std::string& device,
                                                   const std::function<bool(double)>& progress) {
    initThreads();
    if (!fs::is_directory(dir))
        throw Error(dir + " is not a folder; a model is a folder with config.json, "
                          "model.safetensors and tokenizer.json");
    const fs::path p(dir);
    if (!fs::exists(p / "config.json"))
        throw Error(dir + " has no config.json; it is not a model folder in Hugging Face layout");
    refusePickleCheckpoint(dir);
    std::shared_ptr<LanguageModel> m(new LanguageModel());
    auto& in = *m->m_internals;
    in.path = fs::absolute(p).lexically_normal().string();
    const std::string configPath = (p / "config.json").string();
    in.config = ModelConfig::fromFile(configPath);
    checkFitsInMemory(in.config, configPath);
    in.tokenizer = Tokenizer::fromModelFolder(dir);
    if (in.tokenizer.vocabSize() > in.config.vocabSize)
        throw Error(dir + ": the tokenizer has " + std::to_string(in.tokenizer.vocabSize()) +
                    " tokens but config.json says vocab_size " +
                    std::to_string(in.config.vocabSize));
    if (!in.config.causal && !in.tokenizer.maskId())
        throw Error(dir +
                    ": the tokenizer has no mask token ([MASK] or <mask>, or the "
                    "mask_token of tokenizer_config.json); a masked language model (" +
                    in.config.modelType + ") needs one for its cloze prompts");
    const WeightStore store = WeightStore::open(dir);
    in.dtypeOnDisk = store.dominantDtype();
    in.net = Transformer(in.config, false);
    loadWeights(*in.net, store, progress);
    in.parameters = countParameters(*in.net);
    in.device = torch::Device(resolveDevice(device));
    in.net->to(in.device);
    in.net->eval();
    return m;
}

std::shared_ptr<LanguageModel> LanguageModel::createRandom(const GptConfig& config,
                                                           const Tokenizer& tokenizer,
                                                           uint64_t seed,
                                                           const std::string& device) {
    return createRandom(ModelConfig::fromGpt(config), tokenizer, seed, device);
}

std::shared_ptr<LanguageModel> LanguageModel::createRandom(const ModelConfig& config,
                                                           const Tokenizer& tokenizer,
                                                           uint64_t seed,
                                                           const std::string& device) {
    initThreads();
    std::shared_ptr<LanguageModel> m(new LanguageModel());
    auto& in = *m->m_internals;
    in.config = config;
    in.tokenizer = tokenizer;
    in.net = Transformer(config);
    in.net->initRandom(seed);
    in.parameters = countParameters(*in.net);
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
    saveWeights(*m_internals->net, (p / "model.safetensors").string());
}

ModelInfo LanguageModel::info() const {
    const auto& c = m_internals->config;
    ModelInfo i;
    i.path = m_internals->path;
    i.device = m_internals->device.str();
    i.family = c.family;
    i.modelType = c.modelType;
    i.dtypeOnDisk = m_internals->dtypeOnDisk;
    i.tiedEmbeddings = c.tiedEmbeddings;
    i.kvHeads = c.kvHeads;
    i.headDim = c.headDim;
    i.layers = c.layers;
    i.heads = c.heads;
    i.hidden = c.hidden;
    i.neuronsPerLayer = c.neurons;
    i.vocab = c.vocabSize;
    i.contextLength = c.contextLength;
    i.parameters = m_internals->parameters;
    return i;
}

const ModelConfig& LanguageModel::config() const {
    return m_internals->config;
}
const Tokenizer& LanguageModel::tokenizer() const {
    return m_internals->tokenizer;
}

PreparedPrompt LanguageModel::prepare(const std::string& text, bool addSpecialTokens) const {
    bool blank = true;
    for (char ch : text)
        if (!std::isspace(static_cast<unsigned char>(ch)))
            blank = false;
    if (blank)
        throw Error("the prompt is empty");
    Encoding e = m_internals->tokenizer.encodeDetailed(text, addSpecialTokens);
    if (e.ids.empty())
        throw Error("the prompt has no tokens");
    if (m_internals->config.causal && !m_internals->tokenizer.maskId())
        for (const char* mask : {"[MASK]", "<mask>"})
            if (text.find(mask) != std::string::npos)
                throw Error(std::string("the prompt contains ") + mask + ", but this " +
                            m_internals->config.modelType +
                            " model is a causal language model: it predicts the token after "
                            "the prompt; cloze prompts need a masked language model such as BERT");
    PreparedPrompt p;
    p.unknownWords = e.unknownWords();
    const auto ctx = static_cast<std::size_t>(m_internals->config.contextLength);
    if (e.ids.size() > ctx) {
        p.droppedTokens = static_cast<int>(e.ids.size() - ctx);
        p.warning = "the prompt has " + std::to_string(e.ids.size()) +
                    " tokens, more than the model's context of " + std::to_string(ctx) +
                    "; only the last " + std::to_string(ctx) + " are used";
        e.ids.erase(e.ids.begin(), e.ids.begin() + p.droppedTokens);
        e.tokens.erase(e.tokens.begin(), e.tokens.begin() + p.droppedTokens);
        if (e.unknown.size() >= static_cast<std::size_t>(p.droppedTokens))
            e.unknown.erase(e.unknown.begin(), e.unknown.begin() + p.droppedTokens);
    }
    const int window = m_internals->config.slidingWindow;
    if (window > 0 && e.ids.size() > static_cast<std::size_t>(window))
        p.warning += std::string(p.warning.empty() ? "" : "; ") + "the prompt has " +
                     std::to_string(e.ids.size()) + " tokens, more than the model's sliding " +
                     "window of " + std::to_string(window) +
                     "; Scalpel attends to the whole prompt, so positions past the window "
                     "differ from the model's own windowed attention";
    p.ids = std::move(e.ids);
    p.tokens = std::move(e.tokens);
    p.unknown = std::move(e.unknown);
    p.unknown.resize(p.ids.size(), false);
    return p;
}

bool LanguageModel::isMaskedLm() const {
    return !m_internals->config.causal;
}

std::vector<int> LanguageModel::queryPositions(const std::vector<int>& ids) const {
    if (ids.empty())
        throw Error("the prompt is empty");
    if (!isMaskedLm())
        return {static_cast<int>(ids.size()) - 1};
    const auto& tok = m_internals->tokenizer;
    const auto mask = tok.maskId();
    if (!mask)
        throw Error("the model's tokenizer has no mask token");
    std::vector<int> out;
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (ids[i] == *mask)
            out.push_back(static_cast<int>(i));
    if (out.empty())
        throw Error("the prompt has no " + tok.tokenSpelling(*mask) +
                    "; a masked language model (" + m_internals->config.modelType +
                    ") answers cloze prompts such as \"The capital of Ireland is " +
                    tok.tokenSpelling(*mask) + ".\"");
    return out;
}

std::vector<std::vector<float>>
LanguageModel::queryProbs(const std::vector<int>& ids,
                          const std::vector<NeuronScale>& scales) const {
    if (!isMaskedLm())
        return {nextTokenProbs(ids, scales)};
    const auto positions = queryPositions(ids);
    torch::NoGradGuard guard;
    Hooks hooks;
    for (int pos : positions)
        for (auto& h : neuronScaleHooks(*this, scales, pos).list)
            hooks.add(std::move(h));
    auto logits =
        m_internals->net->forward(idsTensor(*this, ids), hooks.empty() ? nullptr : &hooks);
    std::vector<std::vector<float>> out;
    for (int pos : positions) {
        auto probs = torch::softmax(logits[0][pos], -1).to(torch::kCPU).contiguous();
        out.emplace_back(probs.data_ptr<float>(), probs.data_ptr<float>() + probs.numel());
    }
    return out;
}

std::vector<float> LanguageModel::nextTokenProbs(const std::vector<int>& ids,
                                                 const std::vector<NeuronScale>& scales) const {
    if (ids.empty())
        throw Error("the prompt is empty");
    auto& in = *m_internals;
    torch::NoGradGuard guard;
    if (isMaskedLm()) {
        // The first mask asks; scales act there.
        const int pos = queryPositions(ids).front();
        const Hooks hooks = neuronScaleHooks(*this, scales, pos);
        auto logits = in.net->forward(idsTensor(*this, ids), scales.empty() ? nullptr : &hooks);
        auto probs = torch::softmax(logits[0][pos], -1).to(torch::kCPU).contiguous();
        return std::vector<float>(probs.data_ptr<float>(), probs.data_ptr<float>() + probs.numel());
    }
    const Hooks hooks = neuronScaleHooks(*this, scales, static_cast<int64_t>(ids.size()) - 1);
    auto logits =
        in.net->forward(idsTensor(*this, ids), scales.empty() ? nullptr : &hooks, nullptr, true);
    auto probs = torch::softmax(logits[0][-1], -1).to(torch::kCPU).contiguous();
    return std::vector<float>(probs.data_ptr<float>(), probs.data_ptr<float>() + probs.numel());
}

// ---- the prompt cache --------------------------------------------------------

struct PromptCache::State {
    uint64_t model = 0; // Internals::instance
    uint64_t weightsVersion = 0;
    std::vector<int> ids; // the whole prompt of the last pass
    KvCache prefix;       // keys and values of ids[0 .. n-2]
    // Residual stream entering block l at the last position, [1, 1, D]; the
    // entry past the last block is what the final norm reads.
    std::vector<torch::Tensor> lastInputs;
    std::vector<float> base; // the distribution without interventions
    int reused = 0;
    int layersRun = 0;
};

PromptCache::PromptCache() : d(std::make_unique<State>()) {}
PromptCache::~PromptCache() = default;
PromptCache::PromptCache(PromptCache&&) noexcept = default;
PromptCache& PromptCache::operator=(PromptCache&&) noexcept = default;
int PromptCache::reusedPositions() const {
    return d->reused;
}
int PromptCache::layersRun() const {
    return d->layersRun;
}

uint64_t LanguageModel::weightsVersion() const {
    return m_internals->weightsVersion;
}
void LanguageModel::noteWeightsChanged() {
    ++m_internals->weightsVersion;
}

namespace {

std::vector<float> toProbs(const torch::Tensor& logits) {
    auto probs = torch::softmax(logits.reshape({-1}), -1).to(torch::kCPU).contiguous();
    return std::vector<float>(probs.data_ptr<float>(), probs.data_ptr<float>() + probs.numel());
}

} // namespace

std::vector<float> LanguageModel::nextTokenProbs(const std::vector<int>& ids,
                                                 const std::vector<NeuronScale>& scales,
                                                 PromptCache& cache,
                                                 std::vector<float>* base) const {
    if (ids.empty())
        throw Error("the prompt is empty");
    auto& in = *m_internals;
    auto& net = *in.net;
    auto& st = *cache.d;
    if (isMaskedLm()) {
        // Every position sees every other: nothing of an earlier pass holds.
        *cache.d = PromptCache::State();
        cache.d->layersRun = in.config.layers;
        std::vector<float> plain = nextTokenProbs(ids);
        if (base)
            *base = plain;
        bool scaled = false;
        for (const auto& s : scales)
            scaled = scaled || s.factor != 1.0f;
        if (!scaled) {
            neuronScaleHooks(*this, scales, 0); // checks every neuron
            return plain;
        }
        return nextTokenProbs(ids, scales);
    }
    torch::NoGradGuard guard;
    const auto n = static_cast<int64_t>(ids.size());
    const int L = in.config.layers;
    // Every scale is checked before anything runs.
    const Hooks hooks = neuronScaleHooks(*this, scales, 0);
    int lowest = L;
    for (const auto& s : scales)
        if (s.factor != 1.0f)
            lowest = std::min(lowest, s.layer);

    const bool valid = st.model == in.instance && st.weightsVersion == in.weightsVersion;
    st.reused = 0;
    st.layersRun = 0;
    if (!(valid && st.ids == ids)) {
        // Positions shared with the cached prompt, short of the last one.
        int64_t shared = 0;
        if (valid) {
            const auto limit = std::min<int64_t>(n - 1, static_cast<int64_t>(st.ids.size()) - 1);
            while (shared < limit && st.ids[static_cast<std::size_t>(shared)] ==
                                         ids[static_cast<std::size_t>(shared)])
                ++shared;
        }
        KvCache kv = shared > 0 ? st.prefix.truncated(shared) : KvCache();
        std::vector<int> fresh(ids.begin() + shared, ids.end());
        torch::Tensor h = net.embed(idsTensor(*this, fresh), shared);
        AttentionContext ctx;
        ctx.cache = &kv;
        std::vector<torch::Tensor> lastInputs;
        lastInputs.reserve(static_cast<std::size_t>(L) + 1);
        for (int l = 0; l < L; ++l) {
            lastInputs.push_back(h.narrow(1, h.size(1) - 1, 1).clone());
            h = net.block(l, h, ctx);
        }
        const torch::Tensor last = h.narrow(1, h.size(1) - 1, 1).clone();
        lastInputs.push_back(last);
        st.base = toProbs(net.unembed(net.finalNorm(last)));
        st.model = in.instance;
        st.weightsVersion = in.weightsVersion;
        st.ids = ids;
        st.prefix = kv.truncated(n - 1);
        st.lastInputs = std::move(lastInputs);
        st.reused = static_cast<int>(shared);
        st.layersRun = L;
    } else {
        st.reused = static_cast<int>(n);
    }
    if (base)
        *base = st.base;
    if (lowest >= L)
        return st.base;
    // Only the last position changes, and only from the lowest scaled layer.
    torch::Tensor h = st.lastInputs[static_cast<std::size_t>(lowest)];
    AttentionContext ctx;
    ctx.hooks = &hooks;
    ctx.prefix = &st.prefix;
    for (int l = lowest; l < L; ++l)
        h = net.block(l, h, ctx);
    st.layersRun += L - lowest;
    return toProbs(net.unembed(net.finalNorm(h)));
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
    if (isMaskedLm())
        throw Error("a masked language model (" + in.config.modelType +
                    ") does not continue text; ask it with a cloze prompt that contains " +
                    (in.tokenizer.maskId() ? in.tokenizer.tokenSpelling(*in.tokenizer.maskId())
                                           : std::string("[MASK]")));
    torch::NoGradGuard guard;
    KvCache cache;
    std::vector<int> out;
    auto logits = in.net->forward(idsTensor(*this, ids), nullptr, &cache, true);
    for (int i = 0; i < maxNewTokens; ++i) {
        if (cache.length() >= in.config.contextLength)
            break;
        const int next = static_cast<int>(logits[0][-1].argmax().item<int64_t>());
        out.push_back(next);
        if (cache.length() + 1 > in.config.contextLength || i + 1 == maxNewTokens)
            break;
        logits = in.net->forward(idsTensor(*this, {next}), nullptr, &cache, true);
    }
    return out;
}

} // namespace scalpel
