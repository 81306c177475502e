// Any text as config.json.
#include "Error.h"
#include "GptConfig.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        auto c = scalpel::GptConfig::fromJson(
            std::string(reinterpret_cast<const char*>(data), size), "fuzz");
        scalpel::GptConfig::fromJson(c.toJson(), "round trip");
    } catch (const scalpel::Error&) {
    }
    return 0;
}
