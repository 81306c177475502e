// Any text as an edit-memory file; an accepted memory round-trips through
// its own JSON.
#include "EditMemory.h"
#include "Error.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        auto m = scalpel::EditMemory::fromJson(
            std::string(reinterpret_cast<const char*>(data), size), "fuzz");
        auto again = scalpel::EditMemory::fromJson(m.toJson(), "round trip");
        if (again.edits().size() != m.edits().size())
            __builtin_trap();
    } catch (const scalpel::Error&) {
    }
    return 0;
}
