#pragma once
// tokenizer.json "decoder": ByteLevel, ByteFallback, Metaspace, WordPiece,
// BPEDecoder, Fuse, Strip, Replace, Sequence. They turn vocabulary
// spellings back into text as Hugging Face's decoders do.
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace scalpel::tok {

struct DecodeOptions {
    // Keep the bytes byte-level and byte-fallback tokens stand for even when
    // they are not UTF-8 (HF replaces them by U+FFFD).
    bool raw = false;
    // The tokens follow earlier text: no first-token rules (Metaspace's and
    // WordPiece's leading space handling, Strip).
    bool continuation = false;
};

class Decoder {
public:
    virtual ~Decoder() = default;
    virtual void decodeChain(std::vector<std::string>& tokens, const DecodeOptions& o) const = 0;
};

std::unique_ptr<Decoder> makeDecoder(const nlohmann::json& j, const std::string& where);

} // namespace scalpel::tok
