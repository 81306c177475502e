// Any bytes as a .safetensors file: the parser must refuse or accept without
// crashing, and reading every accepted tensor must stay inside the data.
#include "Error.h"
#include "Safetensors.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        auto f = scalpel::SafetensorsFile::fromBytes(
            std::string(reinterpret_cast<const char*>(data), size), "fuzz");
        for (const auto& [name, e] : f.entries()) {
            try {
                f.readFloat(name);
            } catch (const scalpel::Error&) {
            }
        }
    } catch (const scalpel::Error&) {
    }
    return 0;
}
