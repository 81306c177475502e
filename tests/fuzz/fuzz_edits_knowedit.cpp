// Any text as a knowedit file: an accepted import exports to its own format and
// imports again with the same number of records and edits.
#include "EditDatasets.h"
#include "Error.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    scalpel::EditImportOptions o;
    o.format = scalpel::EditFormat::KnowEdit;
    scalpel::EditImportResult r;
    try {
        r = scalpel::importEdits(std::string(reinterpret_cast<const char*>(data), size), "fuzz", o);
    } catch (const scalpel::Error&) {
        return 0;
    }
    std::string again;
    try {
        again = scalpel::exportEdits(r.memory, r.format).text;
    } catch (const scalpel::Error&) {
        return 0; // an edit the format cannot hold (a subject not in its prompt)
    }
    o.format = r.format;
    const auto back = scalpel::importEdits(again, "round trip", o);
    if (back.memory.size() != r.memory.size())
        __builtin_trap();
    return 0;
}
