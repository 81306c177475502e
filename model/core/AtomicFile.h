#pragma once
// Atomic replacement of a file: the content goes to a temporary file in the
// same folder, is flushed to disk, then renamed over the target, so a reader
// or a crash sees either the old or the new file, never a mix. On failure the
// old file is untouched and Error says why.
#include <string>

namespace scalpel {

void writeFileAtomically(const std::string& path, const std::string& content);
std::string readFile(const std::string& path, std::size_t maxBytes);

} // namespace scalpel
