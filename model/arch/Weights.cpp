#include "Weights.h"

#include "Error.h"
#include "TensorNames.h"

#include <sys/mman.h>

#include <atomic>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

namespace scalpel {

namespace {

std::string shapeText(const std::vector<int64_t>& s) {
    std::string out;
    for (auto d : s)
        out += (out.empty() ? "" : "x") + std::to_string(d);
    return "[" + out + "]";
}

// The engine tensor (or the slice of one) that holds a checkpoint tensor.
torch::Tensor slot(TransformerImpl& net, const TensorName& t) {
    const auto& c = net.config();
    // q | k | v run along the fused projection's output: dim 0 for [out, in]
    // storage, dim 1 for GPT-2's [in, out].
    const int64_t out = net.outInLayout() ? 0 : 1;
    const int64_t qSize = int64_t(c.heads) * c.headDim, kvSize = int64_t(c.kvHeads) * c.headDim;
    if (t.layer < 0) {
        switch (t.role) {
        case TensorRole::TokenEmbedding:
            return net.embedding;
        case TensorRole::PositionEmbedding:
            return net.positionEmbedding;
        case TensorRole::TokenTypeEmbedding:
            return net.tokenTypeEmbedding;
        case TensorRole::EmbeddingNormWeight:
            return net.embeddingNormW;
        case TensorRole::EmbeddingNormBias:
            return net.embeddingNormB;
        case TensorRole::HeadDense:
            return net.headDenseW;
        case TensorRole::HeadDenseBias:
            return net.headDenseB;
        case TensorRole::UnembeddingBias:
            return net.unembeddingB;
        case TensorRole::FinalNormWeight:
            return net.finalNormW;
        case TensorRole::FinalNormBias:
            return net.finalNormB;
        case TensorRole::Unembedding:
            return net.lmHead;
        default:
            break;
        }
        throw Error(std::string("no engine tensor for the ") + roleName(t.role));
    }
    auto& w = net.layer(t.layer);
    switch (t.role) {
    case TensorRole::AttnNormWeight:
        return w.attnNormW;
    case TensorRole::AttnNormBias:
        return w.attnNormB;
    case TensorRole::Q:
        return w.qkvW.narrow(out, 0, qSize);
    case TensorRole::K:
        return w.qkvW.narrow(out, qSize, kvSize);
    case TensorRole::V:
        return w.qkvW.narrow(out, qSize + kvSize, kvSize);
    case TensorRole::QBias:
        return w.qkvB.narrow(0, 0, qSize);
    case TensorRole::KBias:
        return w.qkvB.narrow(0, qSize, kvSize);
    case TensorRole::VBias:
        return w.qkvB.narrow(0, qSize + kvSize, kvSize);
    case TensorRole::Qkv:
        return w.qkvW;
    case TensorRole::QkvBias:
        return w.qkvB;
    case TensorRole::QNorm:
        return w.qNorm;
    case TensorRole::KNorm:
        return w.kNorm;
    case TensorRole::AttnOut:
        return w.outW;
    case TensorRole::AttnOutBias:
        return w.outB;
    case TensorRole::FfnNormWeight:
        return w.ffnNormW;
    case TensorRole::FfnNormBias:
        return w.ffnNormB;
    case TensorRole::Gate:
        return w.gateW;
    case TensorRole::Up:
        return w.upW;
    case TensorRole::UpBias:
        return w.upB;
    case TensorRole::Down:
        return w.downW;
    case TensorRole::DownBias:
        return w.downB;
    default:
        break;
    }
    throw Error(std::string("no engine tensor for the ") + roleName(t.role));
}

// GPT-NeoX's fused rows, per head [q_h | k_h | v_h], <-> the engine's
// [all q | all k | all v]. Works on [rows, ...] tensors (weights or biases).
torch::Tensor neoxToEngine(const torch::Tensor& disk, int64_t heads, int64_t headDim) {
    auto rest = disk.sizes().vec();
    rest.erase(rest.begin());
    std::vector<int64_t> split{heads, 3, headDim};
    split.insert(split.end(), rest.begin(), rest.end());
    auto v = disk.reshape(split).transpose(0, 1); // [3, heads, headDim, ...]
    std::vector<int64_t> flat{3 * heads * headDim};
    flat.insert(flat.end(), rest.begin(), rest.end());
    return v.reshape(flat);
}

torch::Tensor engineToNeox(const torch::Tensor& engine, int64_t heads, int64_t headDim) {
    auto rest = engine.sizes().vec();
    rest.erase(rest.begin());
    std::vector<int64_t> split{3, heads, headDim};
    split.insert(split.end(), rest.begin(), rest.end());
    auto v = engine.reshape(split).transpose(0, 1); // [heads, 3, headDim, ...]
    std::vector<int64_t> flat{3 * heads * headDim};
    flat.insert(flat.end(), rest.begin(), rest.end());
    return v.reshape(flat);
}

} // namespace

namespace {

// Fresh memory for a large tensor faults in 2 MB pages instead of 4 KB ones
// (512 times fewer page faults) where the kernel allows it on request.
void adviseHugePages(void* p, std::size_t bytes) {
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = uintptr_t(2) << 20;
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + huge - 1) & ~(huge - 1);
    const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(huge - 1);
    if (end > begin)
        ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#endif
}

// One pass over the floats' exponent bits; LibTorch's isfinite builds
// temporaries several times the tensor's size.
bool allFinite(const float* p, std::size_t n) {
    uint32_t bad = 0;
    for (std::size_t i = 0; i < n; ++i) {
        uint32_t u;
        std::memcpy(&u, p + i, sizeof u);
        bad |= static_cast<uint32_t>((u & 0x7f800000u) == 0x7f800000u);
    }
    return bad == 0;
}

} // namespace

void loadWeights(TransformerImpl& net, const WeightStore& store,
                 const std::function<bool(double)>& progress) {
    torch::NoGradGuard guard;
    const auto names = tensorNames(net.config());
    const int64_t heads = net.config().heads, headDim = net.config().headDim;
    // Every tensor is found and its shape checked before any is read.
    std::vector<std::string> keys(names.size());
    for (std::size_t i = 0; i < names.size(); ++i) {
        const auto& t = names[i];
        std::string key = t.name;
        if (!store.contains(key)) {
            for (const auto& alt : t.alternatives)
                if (store.contains(alt))
                    key = alt;
        }
        if (!store.contains(key))
            throw Error(store.path() + ": tensor '" + t.name + "' (" + roleName(t.role) +
                        (t.layer >= 0 ? ", layer " + std::to_string(t.layer) : std::string()) +
                        ") is missing; the checkpoint does not match config.json's " +
                        net.config().modelType + " layout");
        const auto want = slot(net, t).sizes().vec(); // stored as the checkpoint stores it
        if (store.entry(key).shape != want)
            throw Error(store.path() + ": tensor '" + key + "' has shape " +
                        shapeText(store.entry(key).shape) + ", config.json says " +
                        shapeText(want));
        keys[i] = key;
    }

    auto loadOne = [&](std::size_t i) {
        const auto& t = names[i];
        const std::string& key = keys[i];
        torch::Tensor dst = slot(net, t);
        if (t.layout == TensorLayout::OutInNeoxQkv || !dst.is_contiguous()) {
            // GPT-NeoX's per-head rows are regrouped through one temporary.
            auto disk = torch::empty(dst.sizes(), torch::kFloat);
            store.readInto(key, disk.data_ptr<float>(), static_cast<std::size_t>(disk.numel()));
            dst.copy_(t.layout == TensorLayout::OutInNeoxQkv ? neoxToEngine(disk, heads, headDim)
                                                             : disk);
        } else {
            // Straight into its place: no copy of the model is ever held.
            adviseHugePages(dst.data_ptr(), static_cast<std::size_t>(dst.nbytes()));
            store.readInto(key, dst.data_ptr<float>(), static_cast<std::size_t>(dst.numel()));
        }
        store.release(key);
        if (!allFinite(dst.contiguous().data_ptr<float>(), static_cast<std::size_t>(dst.numel())))
            throw Error(store.path() + ": tensor '" + key + "' contains NaN or infinite values");
    };

    // Tensors are read on several threads (the store's reads may run
    // concurrently); progress is reported, and cancelling checked, on the
    // calling thread only.
    const int workers = std::max(1, std::min(4, torch::get_num_threads()));
    std::atomic<std::size_t> next{0}, done{0};
    std::atomic<bool> stop{false};
    std::exception_ptr failure;
    std::mutex failureLock;
    // Loads tensor i; false once a failure or a cancel stops the load.
    auto runOne = [&](std::size_t i) {
        try {
            loadOne(i);
        } catch (...) {
            std::lock_guard<std::mutex> lock(failureLock);
            if (!failure)
                failure = std::current_exception();
            stop = true;
        }
        ++done;
    };
    auto work = [&] {
        torch::NoGradGuard g;
        for (std::size_t i; !stop && (i = next++) < names.size();)
            runOne(i);
    };
    std::vector<std::thread> pool;
    for (int w = 1; w < workers; ++w)
        pool.emplace_back(work);
    bool cancelled = false;
    for (std::size_t i; !stop && (i = next++) < names.size();) {
        runOne(i);
        if (progress && !stop && !progress(static_cast<double>(done) / names.size())) {
            cancelled = true;
            stop = true;
        }
    }
    for (auto& th : pool)
        th.join();
    if (failure)
        std::rethrow_exception(failure);
    if (cancelled)
        throw Cancelled();
    if (progress && !progress(1.0))
        throw Cancelled();
}

std::vector<std::pair<std::string, torch::Tensor>> checkpointTensors(TransformerImpl& net,
                                                                     const std::string& prefix) {
    torch::NoGradGuard guard;
    const int64_t heads = net.config().heads, headDim = net.config().headDim;
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto& t : tensorNames(net.config())) {
        torch::Tensor v = slot(net, t).detach().to(torch::kCPU, torch::kFloat);
        if (t.layout == TensorLayout::OutInNeoxQkv)
            v = engineToNeox(v, heads, headDim);
        out.emplace_back(prefix + t.name, v.contiguous());
    }
    return out;
}

void saveWeights(TransformerImpl& net, const std::string& path,
                 const std::map<std::string, std::string>& metadata) {
    const auto tensors = checkpointTensors(net);
    std::vector<SafetensorsTensor> list;
    for (const auto& [name, t] : tensors)
        list.push_back({name, t.sizes().vec(), t.data_ptr<float>(), nullptr, {}});
    writeSafetensors(path, list, metadata);
}

} // namespace scalpel

namespace scalpel {

void saveWeightsFolder(TransformerImpl& net, const std::string& dir, StoredDtype dtype,
                       uint64_t maxShardBytes) {
    const auto tensors = checkpointTensors(net);
    std::vector<SafetensorsTensor> list;
    for (const auto& [name, t] : tensors)
        list.push_back({name, t.sizes().vec(), t.data_ptr<float>(), nullptr, {}});
    writeSafetensorsFolder(dir, list, dtype, maxShardBytes, {{"format", "pt"}});
}

} // namespace scalpel
