#include "SeracEncoder.h"

#include "AtomicFile.h"
#include "Error.h"
#include "JsonFields.h"
#include "ModelInternals.h"
#include "Safetensors.h"
#include "WeightStore.h"
#include "Weights.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

namespace scalpel {

namespace fs = std::filesystem;

namespace {
const char* kindName(SeracEncoderKind k) {
    return k == SeracEncoderKind::Embedding ? "embedding" : "cross-attention";
}
} // namespace

SeracEncoderImpl::SeracEncoderImpl(const GptConfig& config, SeracEncoderKind kind, int embeddingDim)
    : m_config(config), m_kind(kind), m_embeddingDim(embeddingDim) {
    lm = register_module("transformer", Transformer(ModelConfig::fromGpt(config)));
    // From LibTorch's default generator, which the trainer seeds: the same
    // draws as always, so a seed trains the same classifier.
    lm->initRandom(at::detail::getDefaultCPUGenerator());
    if (kind == SeracEncoderKind::Embedding) {
        proj = register_module("proj", torch::nn::Linear(config.nEmbd, embeddingDim));
        // Starts at prob = sigmoid(4 - 4 d^2): 0.98 for identical texts,
        // 0.5 at d^2 = 1 (orthogonal unit vectors are at d^2 = 2).
        score = register_parameter("score", torch::tensor({4.0f, std::log(4.0f)}));
    } else {
        head = register_module("head", torch::nn::Linear(config.nEmbd, 2));
        // Zero: an untrained classifier agrees with the embedding stage.
        torch::NoGradGuard guard;
        head->weight.zero_();
        head->bias.zero_();
    }
}

torch::Tensor SeracEncoderImpl::hidden(const torch::Tensor& ids) {
    return lm->finalNorm(lm->hidden(ids));
}

torch::Tensor SeracEncoderImpl::embed(const torch::Tensor& ids, const torch::Tensor& lengths) {
    auto h = hidden(ids);
    auto positions = torch::arange(ids.size(1), torch::TensorOptions().device(ids.device()));
    auto mask = (positions.unsqueeze(0) < lengths.unsqueeze(1)).to(h.dtype()).unsqueeze(2);
    auto pooled = (h * mask).sum(1) / mask.sum(1).clamp_min(1);
    return torch::nn::functional::normalize(
        proj(pooled), torch::nn::functional::NormalizeFuncOptions().dim(1).eps(1e-6));
}

torch::Tensor SeracEncoderImpl::distanceToLogit(const torch::Tensor& d2) {
    return score[0] - score[1].exp() * d2;
}

torch::Tensor SeracEncoderImpl::pairLogits(const torch::Tensor& ids, const torch::Tensor& lengths) {
    return head(lm->finalNorm(lm->hiddenAt(ids, (lengths - 1).clamp_min(0))));
}

KvCache SeracEncoderImpl::prefixCache(const torch::Tensor& editIds) {
    TORCH_CHECK(lm->rowsMayShareCausalPrefix(), "a bidirectional encoder has no prefix to cache");
    KvCache cache;
    lm->hidden(editIds, nullptr, &cache);
    return cache;
}

torch::Tensor SeracEncoderImpl::pairLogitsAfter(const KvCache& prefix, const torch::Tensor& rows,
                                                const torch::Tensor& ids,
                                                const torch::Tensor& lengths) {
    KvCache cache;
    for (std::size_t l = 0; l < prefix.keys.size(); ++l) {
        cache.keys.push_back(prefix.keys[l].index_select(0, rows));
        cache.values.push_back(prefix.values[l].index_select(0, rows));
    }
    auto h = lm->finalNorm(lm->hidden(ids, nullptr, &cache));
    auto last = (lengths - 1).clamp_min(0).view({-1, 1, 1}).expand({-1, 1, h.size(2)});
    return head(h.gather(1, last).squeeze(1));
}

void SeracEncoderImpl::save(const std::string& dir) {
    fs::create_directories(dir);
    auto cfg = nlohmann::ordered_json::parse(m_config.toJson());
    cfg["architectures"] = {"SeracScopeEncoder"};
    cfg["serac_kind"] = kindName(m_kind);
    cfg["embedding_dim"] = m_embeddingDim;
    writeFileAtomically((fs::path(dir) / "config.json").string(), cfg.dump(2) + "\n");
    // The stack under GPT-2's checkpoint names, then this network's head.
    auto keep = checkpointTensors(*lm);
    for (auto& p : named_parameters())
        if (p.key().rfind("transformer.", 0) != 0)
            keep.emplace_back(p.key(), p.value().detach().to(torch::kCPU).contiguous());
    std::vector<SafetensorsTensor> tensors;
    for (const auto& [name, t] : keep)
        tensors.push_back({name, t.sizes().vec(), t.data_ptr<float>(), nullptr, {}});
    writeSafetensors((fs::path(dir) / "model.safetensors").string(), tensors,
                     {{"format", "pt"}, {"serac_kind", kindName(m_kind)}});
}

std::shared_ptr<SeracEncoderImpl> SeracEncoderImpl::load(const std::string& dir,
                                                         SeracEncoderKind kind) {
    const fs::path p(dir);
    const std::string configPath = (p / "config.json").string();
    const std::string text = readFile(configPath, 1 << 20);
    const GptConfig config = GptConfig::fromJson(text, configPath);
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object() || jsonField(j, "serac_kind", std::string(), configPath) != kindName(kind))
        throw Error(configPath + ": not a SERAC " + kindName(kind) + " model (\"serac_kind\")");
    auto net = std::make_shared<SeracEncoderImpl>(config, kind,
                                                  jsonField(j, "embedding_dim", 64, configPath));
    const std::string weights = (p / "model.safetensors").string();
    const WeightStore file = WeightStore::open(weights);
    loadWeights(*net->lm, file);
    torch::NoGradGuard guard;
    for (auto& param : net->named_parameters()) {
        if (param.key().rfind("transformer.", 0) == 0)
            continue;
        if (!file.contains(param.key()))
            throw Error(weights + ": tensor '" + param.key() + "' is missing");
        const auto& e = file.entry(param.key());
        if (e.shape != param.value().sizes().vec())
            throw Error(weights + ": tensor '" + param.key() + "' has the wrong shape");
        auto data = file.readFloat(param.key());
        param.value().copy_(
            torch::from_blob(data.data(), {static_cast<int64_t>(data.size())}, torch::kFloat)
                .view(param.value().sizes()));
    }
    net->eval();
    return net;
}

SeracBatch makeBatch(const std::vector<std::vector<int>>& sequences, int pad) {
    std::size_t len = 1;
    for (const auto& s : sequences)
        len = std::max(len, s.size());
    std::vector<int64_t> ids(sequences.size() * len, pad), lengths(sequences.size());
    for (std::size_t b = 0; b < sequences.size(); ++b) {
        std::copy(sequences[b].begin(), sequences[b].end(), ids.begin() + b * len);
        lengths[b] = static_cast<int64_t>(std::max<std::size_t>(1, sequences[b].size()));
    }
    return {torch::tensor(ids).view(
                {static_cast<int64_t>(sequences.size()), static_cast<int64_t>(len)}),
            torch::tensor(lengths)};
}

std::vector<int> crossEditPart(const Tokenizer& tok, const std::string& prompt,
                               const std::string& answer) {
    const int sep = *tok.tokenId("[SEP]");
    std::vector<int> ids = tok.encode(prompt);
    ids.push_back(sep);
    const auto a = tok.encode(answer);
    ids.insert(ids.end(), a.begin(), a.end());
    ids.push_back(sep);
    ids.push_back(sep);
    return ids;
}

bool crossInputIsWhole(std::size_t editPart, std::size_t x, int context) {
    const auto c = static_cast<std::size_t>(std::max(0, context));
    return x <= c / 2 && editPart + x <= c;
}

std::vector<int> crossInput(const std::vector<int>& editPart, const std::vector<int>& x,
                            int context) {
    std::vector<int> xs = x;
    if (static_cast<int>(xs.size()) > context / 2)
        xs.erase(xs.begin(), xs.end() - context / 2);
    std::vector<int> out;
    const int room = context - static_cast<int>(xs.size());
    if (static_cast<int>(editPart.size()) > room)
        out.assign(editPart.end() - room, editPart.end());
    else
        out = editPart;
    out.insert(out.end(), xs.begin(), xs.end());
    return out;
}

} // namespace scalpel
