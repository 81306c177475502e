// Any text as an edit-set file of one format (SCALPEL_FUZZ_FORMAT, a name
// parseEditFormat knows), or through format detection when it is not
// defined: an accepted import exports to its own format and imports again
// with the same number of edits. Built once per format.
#include "EditDatasets.h"
#include "Error.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    scalpel::EditImportOptions o;
#ifdef SCALPEL_FUZZ_FORMAT
    o.format = scalpel::parseEditFormat(SCALPEL_FUZZ_FORMAT);
#endif
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
