// Any text as tokenizer.json; an accepted tokenizer then encodes and decodes
// a fixed set of strings without crashing.
#include "Error.h"
#include "Tokenizer.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        auto t = scalpel::Tokenizer::fromJson(
            std::string(reinterpret_cast<const char*>(data), size), "fuzz");
        for (const char* s : {"Hello world", "The capital of Ireland is", "a\xff\xfe b", ""}) {
            try {
                t.decode(t.encode(s));
            } catch (const scalpel::Error&) {
            }
        }
    } catch (const scalpel::Error&) {
    }
    return 0;
}
