#pragma once
// GPT-2 hyper-parameters as written in a Hugging Face config.json. Unknown
// keys are ignored; a missing or malformed required key is an Error naming it.
#include <string>

namespace scalpel {

struct GptConfig {
    int nLayer = 0;
    int nHead = 0;
    int nEmbd = 0;
    int nPositions = 0;
    int vocabSize = 0;
    double layerNormEpsilon = 1e-5;
    std::string activation = "gelu_new";
    int nInner = 0; // 0 means 4 * nEmbd

    int neuronsPerLayer() const { return nInner > 0 ? nInner : 4 * nEmbd; }

    static GptConfig fromJson(const std::string& text, const std::string& nameForErrors);
    static GptConfig fromFile(const std::string& path);
    std::string toJson() const;
};

} // namespace scalpel
