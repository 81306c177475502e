#pragma once
// The stages of one Tokenizer, shared by Tokenizer.cpp (running them) and
// TokenizerLoad.cpp (building them from files).
#include "AddedVocabulary.h"
#include "Decoders.h"
#include "Normalizers.h"
#include "PostProcessors.h"
#include "PreTokenizers.h"
#include "Tokenizer.h"
#include "TokenizerModels.h"

#include <nlohmann/json.hpp>

namespace scalpel {

struct Tokenizer::Impl {
    Kind kind = Kind::WordLevel;
    std::unique_ptr<tok::Normalizer> normalizer;
    std::unique_ptr<tok::PreTokenizer> preTokenizer;
    std::unique_ptr<tok::Model> model;
    std::unique_ptr<tok::PostProcessor> postProcessor;
    std::unique_ptr<tok::Decoder> decoder;
    tok::AddedVocabulary added;
    // The stages as read, written back by toJson.
    nlohmann::json normalizerJson, preTokenizerJson, postProcessorJson, decoderJson;
    // The mask token tokenizer_config.json names (empty: the usual names).
    std::string maskToken;

    tok::RawEncoding encode(std::string_view text, bool addSpecialTokens) const;
    std::string decode(const std::vector<int>& ids, bool skipSpecial,
                       const tok::DecodeOptions& o) const;
    const std::string* spelling(int id) const;
};

} // namespace scalpel
