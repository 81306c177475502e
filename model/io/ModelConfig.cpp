#include "ModelConfig.h"

#include "AtomicFile.h"
#include "Error.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace scalpel {

namespace {

using json = nlohmann::json;

// Above this a size is a typo or an attack, never a model.
constexpr long long kMaxDimension = 1ll << 24;

struct Reader {
    const json& j;
    const std::string& where;

    bool has(const char* key) const {
        auto it = j.find(key);
        return it != j.end() && !it->is_null();
    }
    int positive(const char* key) const {
        if (!has(key))
            throw Error(where + ": required key '" + key + "' is missing");
        const auto& v = j[key];
        if (!v.is_number_integer() || v.get<long long>() <= 0 || v.get<long long>() > kMaxDimension)
            throw Error(where + ": '" + key + "' must be a positive integer");
        return v.get<int>();
    }
    int positive(const char* key, int fallback) const {
        return has(key) ? positive(key) : fallback;
    }
    double number(const char* key, double fallback, bool mustBePositive = true) const {
        if (!has(key))
            return fallback;
        const auto& v = j[key];
        if (!v.is_number() || (mustBePositive && v.get<double>() <= 0))
            throw Error(where + ": '" + key + "' must be a " + (mustBePositive ? "positive " : "") +
                        "number");
        return v.get<double>();
    }
    bool flag(const char* key, bool fallback) const {
        if (!has(key))
            return fallback;
        if (!j[key].is_boolean())
            throw Error(where + ": '" + key + "' must be true or false");
        return j[key].get<bool>();
    }
    std::string text(const char* key, const std::string& fallback) const {
        if (!has(key))
            return fallback;
        if (!j[key].is_string())
            throw Error(where + ": '" + key + "' must be a string");
        return j[key].get<std::string>();
    }
    // A token id, or the first of a list of them (eos_token_id may be a list).
    int tokenId(const char* key) const {
        if (!has(key))
            return -1;
        const json& v = j[key].is_array() && !j[key].empty() ? j[key][0] : j[key];
        return v.is_number_integer() && v.get<long long>() >= 0 &&
                       v.get<long long>() < kMaxDimension
                   ? v.get<int>()
                   : -1;
    }
};

void checkActivation(const std::string& act, const std::string& where, const char* key) {
    static const char* known[] = {"gelu_new", "gelu_pytorch_tanh", "gelu", "relu", "silu"};
    for (const char* k : known)
        if (act == k)
            return;
    throw Error(where + ": " + key + " '" + act +
                "' is not supported (gelu_new, gelu_pytorch_tanh, gelu, relu, silu)");
}

RopeScaling readRopeScaling(const Reader& r) {
    RopeScaling s;
    if (!r.has("rope_scaling"))
        return s;
    const json& v = r.j["rope_scaling"];
    if (!v.is_object())
        throw Error(r.where + ": 'rope_scaling' must be an object or null");
    const Reader sr{v, r.where};
    s.type = sr.text("rope_type", sr.text("type", ""));
    if (s.type == "default")
        return RopeScaling{};
    if (s.type != "linear" && s.type != "llama3")
        throw Error(r.where + ": rope_scaling type '" + s.type +
                    "' is not supported (linear, llama3)");
    s.factor = sr.number("factor", 1.0);
    if (s.type == "llama3") {
        s.lowFreqFactor = sr.number("low_freq_factor", 1.0);
        s.highFreqFactor = sr.number("high_freq_factor", 4.0);
        s.originalContext = sr.positive("original_max_position_embeddings", 8192);
        if (s.highFreqFactor <= s.lowFreqFactor)
            throw Error(r.where +
                        ": rope_scaling 'high_freq_factor' must exceed 'low_freq_factor'");
    }
    return s;
}

void readHeads(ModelConfig& c, const Reader& r) {
    c.heads = r.positive("num_attention_heads");
    c.kvHeads = r.positive("num_key_value_heads", c.heads);
    if (c.heads % c.kvHeads != 0)
        throw Error(r.where + ": num_attention_heads (" + std::to_string(c.heads) +
                    ") is not divisible by num_key_value_heads (" + std::to_string(c.kvHeads) +
                    ")");
    if (r.has("head_dim")) {
        c.headDim = r.positive("head_dim");
    } else {
        if (c.hidden % c.heads != 0)
            throw Error(r.where + ": hidden_size (" + std::to_string(c.hidden) +
                        ") is not divisible by num_attention_heads (" + std::to_string(c.heads) +
                        ") and there is no head_dim");
        c.headDim = c.hidden / c.heads;
    }
}

ModelConfig readLlamaLike(const Reader& r, const std::string& type) {
    ModelConfig c;
    c.modelType = type;
    c.family = "llama";
    c.hidden = r.positive("hidden_size");
    c.layers = r.positive("num_hidden_layers");
    c.neurons = r.positive("intermediate_size");
    c.vocabSize = r.positive("vocab_size");
    c.contextLength = r.positive("max_position_embeddings", 2048);
    readHeads(c, r);
    c.norm = NormKind::RmsNorm;
    c.normEps = r.number("rms_norm_eps", 1e-6);
    c.activation = r.text("hidden_act", "silu");
    checkActivation(c.activation, r.where, "hidden_act");
    c.gatedMlp = true;
    c.positions = PositionKind::Rotary;
    c.rotaryDims = c.headDim;
    c.ropeTheta = r.number("rope_theta", type == "qwen2" || type == "qwen3" ? 1e6 : 10000.0);
    c.ropeScaling = readRopeScaling(r);
    c.tiedEmbeddings = r.flag("tie_word_embeddings", false);
    const bool attentionBias = r.flag("attention_bias", false);
    c.qkvBias = type == "qwen2" ? true : attentionBias;
    c.attnOutBias = type == "qwen2" ? false : attentionBias;
    c.mlpBias = r.flag("mlp_bias", false);
    c.qkNorm = type == "qwen3";
    if (type == "mistral" || r.flag("use_sliding_window", type == "mistral")) {
        if (r.has("sliding_window"))
            c.slidingWindow = r.positive("sliding_window");
    }
    return c;
}

ModelConfig readGptNeox(const Reader& r) {
    ModelConfig c;
    c.modelType = "gpt_neox";
    c.family = "gpt_neox";
    c.hidden = r.positive("hidden_size");
    c.layers = r.positive("num_hidden_layers");
    c.neurons = r.positive("intermediate_size");
    c.vocabSize = r.positive("vocab_size");
    c.contextLength = r.positive("max_position_embeddings", 2048);
    c.heads = r.positive("num_attention_heads");
    c.kvHeads = c.heads;
    if (c.hidden % c.heads != 0)
        throw Error(r.where + ": hidden_size (" + std::to_string(c.hidden) +
                    ") is not divisible by num_attention_heads (" + std::to_string(c.heads) + ")");
    c.headDim = c.hidden / c.heads;
    c.norm = NormKind::LayerNorm;
    c.normEps = r.number("layer_norm_eps", 1e-5);
    c.activation = r.text("hidden_act", "gelu");
    checkActivation(c.activation, r.where, "hidden_act");
    c.positions = PositionKind::Rotary;
    const double pct = r.number("rotary_pct", r.number("partial_rotary_factor", 0.25), false);
    if (pct <= 0 || pct > 1)
        throw Error(r.where + ": 'rotary_pct' must be in (0, 1]");
    c.rotaryDims = static_cast<int>(c.headDim * pct);
    if (c.rotaryDims < 2 || c.rotaryDims % 2 != 0)
        throw Error(r.where + ": 'rotary_pct' gives " + std::to_string(c.rotaryDims) +
                    " rotary dims per head; it must be an even number of at least 2");
    c.ropeTheta = r.number("rotary_emb_base", r.number("rope_theta", 10000.0));
    c.ropeScaling = readRopeScaling(r);
    c.parallelResidual = r.flag("use_parallel_residual", true);
    c.tiedEmbeddings = r.flag("tie_word_embeddings", false);
    c.qkvBias = c.attnOutBias = r.flag("attention_bias", true);
    c.mlpBias = true;
    return c;
}

ModelConfig readBert(const Reader& r) {
    ModelConfig c;
    c.modelType = "bert";
    c.family = "bert";
    c.hidden = r.positive("hidden_size");
    c.layers = r.positive("num_hidden_layers");
    c.neurons = r.positive("intermediate_size");
    c.vocabSize = r.positive("vocab_size");
    c.contextLength = r.positive("max_position_embeddings", 512);
    c.heads = r.positive("num_attention_heads");
    c.kvHeads = c.heads;
    if (c.hidden % c.heads != 0)
        throw Error(r.where + ": hidden_size (" + std::to_string(c.hidden) +
                    ") is not divisible by num_attention_heads (" + std::to_string(c.heads) + ")");
    c.headDim = c.hidden / c.heads;
    const std::string positions = r.text("position_embedding_type", "absolute");
    if (positions != "absolute")
        throw Error(r.where + ": position_embedding_type '" + positions +
                    "' is not supported (absolute)");
    if (r.flag("is_decoder", false))
        throw Error(r.where + ": 'is_decoder' is true; only BERT encoders (masked language "
                              "models) are supported");
    c.norm = NormKind::LayerNorm;
    c.normEps = r.number("layer_norm_eps", 1e-12);
    // BERT's "gelu" is the exact erf form.
    c.activation = r.text("hidden_act", "gelu");
    checkActivation(c.activation, r.where, "hidden_act");
    c.positions = PositionKind::Learned;
    c.tiedEmbeddings = r.flag("tie_word_embeddings", true);
    c.qkvBias = c.attnOutBias = c.mlpBias = true;
    c.causal = false;
    c.postNorm = true;
    c.embeddingNorm = true;
    c.tokenTypes = r.positive("type_vocab_size", 2);
    c.headTransform = true;
    c.unembeddingBias = true;
    return c;
}

} // namespace

std::vector<std::string> ModelConfig::supportedTypes() {
    return {"gpt2", "llama", "mistral", "qwen2", "qwen3", "gpt_neox", "bert"};
}

int64_t ModelConfig::parameterCount() const {
    const int64_t D = hidden, N = neurons, V = vocabSize, q = int64_t(heads) * headDim,
                  kv = int64_t(kvHeads) * headDim;
    const int64_t normParams = norm == NormKind::LayerNorm ? 2 * D : D;
    int64_t perLayer = D * (q + 2 * kv) + (qkvBias ? q + 2 * kv : 0) + q * D +
                       (attnOutBias ? D : 0) + 2 * normParams + (gatedMlp ? 3 : 2) * D * N +
                       (mlpBias ? N * (gatedMlp ? 2 : 1) + D : 0) + (qkNorm ? 2 * headDim : 0);
    int64_t total = layers * perLayer + V * D + normParams + (tiedEmbeddings ? 0 : V * D);
    if (positions == PositionKind::Learned)
        total += int64_t(contextLength) * D;
    total += int64_t(tokenTypes) * D + (embeddingNorm ? normParams : 0) +
             (headTransform ? D * D + D : 0) + (unembeddingBias ? V : 0);
    return total;
}

ModelConfig ModelConfig::fromGpt(const GptConfig& g) {
    ModelConfig c;
    c.modelType = c.family = "gpt2";
    c.layers = g.nLayer;
    c.hidden = g.nEmbd;
    c.heads = c.kvHeads = g.nHead;
    c.headDim = g.nHead > 0 ? g.nEmbd / g.nHead : 0;
    c.neurons = g.neuronsPerLayer();
    c.vocabSize = g.vocabSize;
    c.contextLength = g.nPositions;
    c.norm = NormKind::LayerNorm;
    c.normEps = g.layerNormEpsilon;
    c.activation = g.activation;
    c.positions = PositionKind::Learned;
    c.tiedEmbeddings = true;
    c.qkvBias = c.attnOutBias = c.mlpBias = true;
    return c;
}

GptConfig ModelConfig::toGpt() const {
    if (family != "gpt2")
        throw Error("a " + modelType + " model has no GPT-2 hyper-parameters");
    GptConfig g;
    g.nLayer = layers;
    g.nHead = heads;
    g.nEmbd = hidden;
    g.nPositions = contextLength;
    g.vocabSize = vocabSize;
    g.layerNormEpsilon = normEps;
    g.activation = activation;
    if (neurons != 4 * hidden)
        g.nInner = neurons;
    return g;
}

ModelConfig ModelConfig::fromJson(const std::string& text, const std::string& where) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw Error(where + ": not a JSON object");
    const Reader r{j, where};
    const std::string type = r.text("model_type", "gpt2");
    ModelConfig c;
    if (type == "gpt2") {
        c = fromGpt(GptConfig::fromJson(text, where));
    } else if (type == "llama" || type == "mistral" || type == "qwen2" || type == "qwen3") {
        c = readLlamaLike(r, type);
    } else if (type == "gpt_neox") {
        c = readGptNeox(r);
    } else if (type == "bert") {
        c = readBert(r);
    } else {
        std::string list;
        for (const auto& t : supportedTypes())
            list += (list.empty() ? "" : ", ") + t;
        throw Error(where + ": model_type '" + type + "' is not supported (supported: " + list +
                    ")");
    }
    c.bosTokenId = r.tokenId("bos_token_id");
    c.eosTokenId = r.tokenId("eos_token_id");
    return c;
}

ModelConfig ModelConfig::fromFile(const std::string& path) {
    return fromJson(readFile(path, 1 << 20), path);
}

std::string ModelConfig::toJson() const {
    if (family == "gpt2")
        return toGpt().toJson();
    nlohmann::ordered_json j;
    j["model_type"] = modelType;
    if (family == "bert") {
        j["architectures"] = {"BertForMaskedLM"};
        j["hidden_size"] = hidden;
        j["num_hidden_layers"] = layers;
        j["num_attention_heads"] = heads;
        j["intermediate_size"] = neurons;
        j["vocab_size"] = vocabSize;
        j["max_position_embeddings"] = contextLength;
        j["type_vocab_size"] = tokenTypes;
        j["layer_norm_eps"] = normEps;
        j["hidden_act"] = activation;
        j["position_embedding_type"] = "absolute";
    } else if (family == "gpt_neox") {
        j["architectures"] = {"GPTNeoXForCausalLM"};
        j["hidden_size"] = hidden;
        j["num_hidden_layers"] = layers;
        j["num_attention_heads"] = heads;
        j["intermediate_size"] = neurons;
        j["vocab_size"] = vocabSize;
        j["max_position_embeddings"] = contextLength;
        j["layer_norm_eps"] = normEps;
        j["hidden_act"] = activation;
        j["rotary_pct"] = static_cast<double>(rotaryDims) / headDim;
        j["rotary_emb_base"] = ropeTheta;
        j["use_parallel_residual"] = parallelResidual;
        j["attention_bias"] = qkvBias;
    } else {
        const char* arch = modelType == "mistral" ? "MistralForCausalLM"
                           : modelType == "qwen2" ? "Qwen2ForCausalLM"
                           : modelType == "qwen3" ? "Qwen3ForCausalLM"
                                                  : "LlamaForCausalLM";
        j["architectures"] = {arch};
        j["hidden_size"] = hidden;
        j["num_hidden_layers"] = layers;
        j["num_attention_heads"] = heads;
        j["num_key_value_heads"] = kvHeads;
        j["head_dim"] = headDim;
        j["intermediate_size"] = neurons;
        j["vocab_size"] = vocabSize;
        j["max_position_embeddings"] = contextLength;
        j["rms_norm_eps"] = normEps;
        j["hidden_act"] = activation;
        j["rope_theta"] = ropeTheta;
        if (modelType != "qwen2")
            j["attention_bias"] = qkvBias;
        j["mlp_bias"] = mlpBias;
        if (slidingWindow > 0)
            j["sliding_window"] = slidingWindow;
    }
    if (!ropeScaling.type.empty()) {
        nlohmann::ordered_json s;
        s["rope_type"] = ropeScaling.type;
        s["factor"] = ropeScaling.factor;
        if (ropeScaling.type == "llama3") {
            s["low_freq_factor"] = ropeScaling.lowFreqFactor;
            s["high_freq_factor"] = ropeScaling.highFreqFactor;
            s["original_max_position_embeddings"] = ropeScaling.originalContext;
        }
        j["rope_scaling"] = s;
    }
    j["tie_word_embeddings"] = tiedEmbeddings;
    if (bosTokenId >= 0)
        j["bos_token_id"] = bosTokenId;
    if (eosTokenId >= 0)
        j["eos_token_id"] = eosTokenId;
    j["torch_dtype"] = "float32";
    return j.dump(2) + "\n";
}

} // namespace scalpel
