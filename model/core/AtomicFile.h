#pragma once
// Atomic replacement of a file: the content goes to a temporary file in the
// same folder, is flushed to disk, then renamed over the target, so a reader
// or a crash sees either the old or the new file, never a mix. On failure the
// old file is untouched and Error says why.
#include <cstddef>
#include <functional>
#include <string>

namespace scalpel {

void writeFileAtomically(const std::string& path, const std::string& content);
// The same for content made in pieces: `produce` passes each piece to the
// sink it is given, and the pieces go to the temporary file as they come
// (buffered), so a large file is never held whole in memory. An exception
// from `produce` removes the temporary and leaves the old file.
using AtomicSink = std::function<void(const char* data, std::size_t size)>;
void writeFileAtomically(const std::string& path,
                         const std::function<void(const AtomicSink&)>& produce);
std::string readFile(const std::string& path, std::size_t maxBytes);

} // namespace scalpel
