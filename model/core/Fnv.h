#pragma once
// 64-bit FNV-1a: fingerprints, cache keys and checksums, not a cryptographic
// hash. One definition, so a value written by one part (a partial file's
// fingerprint, a scope cache's checksum) is the value another part computes.
#include "Error.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace scalpel {

constexpr uint64_t kFnvOffset = 1469598103934665603ull;

inline uint64_t fnv1a(const void* data, std::size_t size, uint64_t h = kFnvOffset) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

// A file's bytes, read a megabyte at a time; Error names the path.
inline uint64_t fnv1aFile(const std::string& path, uint64_t h = kFnvOffset) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("cannot open " + path);
    std::vector<char> buf(std::size_t(1) << 20);
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        h = fnv1a(buf.data(), static_cast<std::size_t>(in.gcount()), h);
    }
    if (in.bad())
        throw Error("cannot read " + path);
    return h;
}

// 16 hex digits.
inline std::string fnvHex(uint64_t h) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

} // namespace scalpel
