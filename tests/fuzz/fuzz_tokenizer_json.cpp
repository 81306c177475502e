// Any text as tokenizer.json; an accepted tokenizer then runs its whole
// pipeline (added tokens, normalizer, pre-tokenizer, model, post-processor,
// decoder) on a fixed set of strings without crashing, returns valid
// offsets and UTF-8 token text, and survives a toJson round trip.
#include "Error.h"
#include "Tokenizer.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

bool validUtf8(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const int n = c < 0x80         ? 1
                      : (c >> 5) == 6  ? 2
                      : (c >> 4) == 14 ? 3
                      : (c >> 3) == 30 ? 4
                                       : 0;
        if (n == 0 || i + n > s.size())
            return false;
        for (int k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2)
                return false;
        i += static_cast<std::size_t>(n);
    }
    return true;
}

void check(bool ok) {
    if (!ok)
        std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        auto t = scalpel::Tokenizer::fromJson(
            std::string(reinterpret_cast<const char*>(data), size), "fuzz");
        for (const char* s :
             {"Hello world", "The capital of Ireland is", "a\xff\xfe b", "",
              "  caf\xc3\xa9 e\xcc\x81 \xe5\x8c\x97\xe4\xba\xac 123\n\t<s>",
              "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 [MASK] <|endoftext|>"}) {
            try {
                const std::string text(s);
                const auto e = t.encodeDetailed(text);
                for (std::size_t i = 0; i < e.ids.size(); ++i) {
                    check(validUtf8(e.tokens[i]) && validUtf8(e.spellings[i]));
                    check(e.offsets[i].first <= e.offsets[i].second);
                }
                e.charOffsets(text);
                t.decode(e.ids);
                check(validUtf8(t.decode(e.ids, true)));
                t.encode(text, false);
            } catch (const scalpel::Error&) {
            }
        }
        for (int id = 0; id < 64 && id < t.vocabSize(); ++id)
            check(validUtf8(t.displayText(id)) && validUtf8(t.tokenSpelling(id)));
        t.bosId();
        t.eosId();
        scalpel::Tokenizer::fromJson(t.toJson(), "fuzz round trip");
    } catch (const scalpel::Error&) {
    }
    return 0;
}
