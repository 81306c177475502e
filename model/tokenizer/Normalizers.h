#pragma once
// tokenizer.json "normalizer": NFC, NFD, NFKC, NFKD, Lowercase, StripAccents,
// Prepend, Replace, Strip, BertNormalizer, ByteLevel, Sequence. Each rewrites
// the text in place and keeps every byte's original position, as Hugging
// Face's normalizers do.
#include "TokenizerText.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace scalpel::tok {

class Normalizer {
public:
    virtual ~Normalizer() = default;
    virtual void normalize(NormalizedText& text) const = 0;
};

// nullptr for a JSON null; Error naming the type for an unknown one.
std::unique_ptr<Normalizer> makeNormalizer(const nlohmann::json& j, const std::string& where);

// Reads a {"String": s} or {"Regex": r} pattern as HF serialises it.
std::unique_ptr<Regex> makePattern(const nlohmann::json& j, const std::string& where);

} // namespace scalpel::tok
