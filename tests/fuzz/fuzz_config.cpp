// Any text as config.json.
#include "Error.h"
#include "GptConfig.h"
#include "ModelConfig.h"
#include "TensorNames.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        auto c = scalpel::GptConfig::fromJson(text, "fuzz");
        scalpel::GptConfig::fromJson(c.toJson(), "round trip");
    } catch (const scalpel::Error&) {
    }
    // Every family's reader, its size arithmetic and its tensor-name table.
    try {
        auto c = scalpel::ModelConfig::fromJson(text, "fuzz");
        (void)c.parameterCount();
        (void)scalpel::tensorNames(c).size();
        scalpel::ModelConfig::fromJson(c.toJson(), "round trip");
    } catch (const scalpel::Error&) {
    }
    return 0;
}
