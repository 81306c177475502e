#include "GptConfig.h"

#include "AtomicFile.h"
#include "Error.h"

#include <nlohmann/json.hpp>

namespace scalpel {

namespace {

int requiredInt(const nlohmann::json& j, const char* key, const std::string& where) {
    if (!j.contains(key))
        throw Error(where + ": required key '" + key + "' is missing");
    const auto& v = j[key];
    if (!v.is_number_integer() || v.get<long long>() <= 0 || v.get<long long>() > (1 << 24))
        throw Error(where + ": '" + key + "' must be a positive integer");
    return v.get<int>();
}

} // namespace

GptConfig GptConfig::fromJson(const std::string& text, const std::string& where) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw Error(where + ": not a JSON object");
    if (j.contains("model_type") && j["model_type"].is_string() && j["model_type"] != "gpt2")
        throw Error(where + ": model_type is '" + j["model_type"].get<std::string>() +
                    "'; Scalpel loads GPT-2-architecture models (model_type gpt2)");
    GptConfig c;
    c.nLayer = requiredInt(j, "n_layer", where);
    c.nHead = requiredInt(j, "n_head", where);
    c.nEmbd = requiredInt(j, "n_embd", where);
    c.nPositions = requiredInt(j, "n_positions", where);
    c.vocabSize = requiredInt(j, "vocab_size", where);
    if (c.nEmbd % c.nHead != 0)
        throw Error(where + ": n_embd (" + std::to_string(c.nEmbd) +
                    ") is not a multiple of n_head (" + std::to_string(c.nHead) + ")");
    if (j.contains("layer_norm_epsilon")) {
        if (!j["layer_norm_epsilon"].is_number() || j["layer_norm_epsilon"].get<double>() <= 0)
            throw Error(where + ": 'layer_norm_epsilon' must be a positive number");
        c.layerNormEpsilon = j["layer_norm_epsilon"].get<double>();
    } // else Hugging Face's default, 1e-5
    if (j.contains("activation_function")) {
        if (!j["activation_function"].is_string())
            throw Error(where + ": 'activation_function' must be a string");
        c.activation = j["activation_function"].get<std::string>();
        if (c.activation != "gelu_new" && c.activation != "gelu" &&
            c.activation != "gelu_pytorch_tanh" && c.activation != "relu")
            throw Error(where + ": activation_function '" + c.activation +
                        "' is not supported (gelu_new, gelu, gelu_pytorch_tanh, relu)");
    } // else Hugging Face's default, gelu_new
    if (j.contains("n_inner") && j["n_inner"].is_number_integer() && j["n_inner"].get<int>() > 0)
        c.nInner = j["n_inner"].get<int>();
    return c;
}

GptConfig GptConfig::fromFile(const std::string& path) {
    return fromJson(readFile(path, 1 << 20), path);
}

std::string GptConfig::toJson() const {
    nlohmann::ordered_json j;
    j["model_type"] = "gpt2";
    j["architectures"] = {"GPT2LMHeadModel"};
    j["n_layer"] = nLayer;
    j["n_head"] = nHead;
    j["n_embd"] = nEmbd;
    j["n_positions"] = nPositions;
    j["n_ctx"] = nPositions;
    j["vocab_size"] = vocabSize;
    j["layer_norm_epsilon"] = layerNormEpsilon;
    j["activation_function"] = activation;
    if (nInner > 0)
        j["n_inner"] = nInner;
    j["tie_word_embeddings"] = true;
    return j.dump(2) + "\n";
}

} // namespace scalpel
