// Any bytes split in two as vocab.json + merges.txt; an accepted tokenizer
// must round-trip byte-level text exactly.
#include "Error.h"
#include "Tokenizer.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string all(reinterpret_cast<const char*>(data), size);
    const auto split = all.find('\0');
    const std::string vocab = all.substr(0, split);
    const std::string merges = split == std::string::npos ? std::string() : all.substr(split + 1);
    try {
        auto t = scalpel::Tokenizer::fromVocabAndMergesText(vocab, merges, "fuzz");
        for (const char* s : {"Hello world", "ab ab", "\xc3\xa9t\xc3\xa9"}) {
            try {
                t.decode(t.encode(s));
            } catch (const scalpel::Error&) {
            }
        }
    } catch (const scalpel::Error&) {
    }
    return 0;
}
