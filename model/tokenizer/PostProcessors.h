#pragma once
// tokenizer.json "post_processor": TemplateProcessing, BertProcessing,
// RobertaProcessing, ByteLevel (offset trimming) and Sequence. They add the
// special tokens (Llama's BOS, BERT's [CLS] ... [SEP]) when asked to, as
// Hugging Face's processors do for a single sequence.
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace scalpel::tok {

struct RawEncoding {
    std::vector<int> ids;
    std::vector<std::string> tokens;                          // vocabulary spellings
    std::vector<std::pair<std::size_t, std::size_t>> offsets; // original bytes
    std::vector<bool> special;
    std::vector<bool> unknown;
    std::vector<int> typeIds;

    void push(int id, std::string token, std::pair<std::size_t, std::size_t> offset, bool isSpecial,
              bool isUnknown, int typeId = 0);
    void append(RawEncoding&& other);
    void setTypeIds(int typeId);
};

class PostProcessor {
public:
    virtual ~PostProcessor() = default;
    virtual void process(RawEncoding& e, bool addSpecialTokens) const = 0;
    // Special ids put before and after a single sequence.
    virtual std::vector<int> prefixIds() const { return {}; }
    virtual std::vector<int> suffixIds() const { return {}; }
};

std::unique_ptr<PostProcessor> makePostProcessor(const nlohmann::json& j, const std::string& where);

} // namespace scalpel::tok
