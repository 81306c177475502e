// Any bytes as model.safetensors.index.json, over a fixed set of in-memory
// shards (one holding a tensor another also holds): assembling the store must
// refuse or accept without crashing, and every accepted tensor must read.
#include "Error.h"
#include "Safetensors.h"
#include "WeightStore.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace {

std::string image(const std::string& header, std::size_t dataBytes) {
    std::string out;
    const uint64_t n = header.size();
    for (int i = 0; i < 8; ++i)
        out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    return out + header + std::string(dataBytes, '\x3f');
}

const std::map<std::string, std::string>& shards() {
    static const std::map<std::string, std::string> s = {
        {"s1.safetensors", image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                 R"("b":{"dtype":"BF16","shape":[3],"data_offsets":[8,14]}})",
                                 14)},
        {"s2.safetensors", image(R"({"c":{"dtype":"F16","shape":[1,2],"data_offsets":[0,4]},)"
                                 R"("i":{"dtype":"I64","shape":[1],"data_offsets":[4,12]}})",
                                 12)},
        {"s3.safetensors", image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4)},
    };
    return s;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const auto store = scalpel::WeightStore::fromIndex(
            std::string(reinterpret_cast<const char*>(data), size), "fuzz.index.json",
            [](const std::string& name) {
                const auto it = shards().find(name);
                if (it == shards().end())
                    throw scalpel::Error("cannot open " + name);
                return scalpel::SafetensorsFile::fromBytes(it->second, name);
            });
        store.parameterCount();
        store.dominantDtype();
        for (const auto& name : store.names()) {
            try {
                store.readFloat(name);
            } catch (const scalpel::Error&) {
            }
        }
    } catch (const scalpel::Error&) {
    }
    return 0;
}
