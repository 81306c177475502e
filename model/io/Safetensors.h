#pragma once
// Reader and writer for the .safetensors format: an 8-byte little-endian
// header length, a JSON header, then raw tensor bytes. The reader checks every
// offset and length against the file size before reading anything, refuses
// headers over kMaxHeaderBytes, and converts F32, F16 and BF16 to float.
// Errors name the file and the tensor.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace scalpel {

struct SafetensorsEntry {
    std::string dtype; // "F32", "F16", "BF16", ...
    std::vector<int64_t> shape;
    uint64_t begin = 0; // byte offsets relative to the data section
    uint64_t end = 0;
    int64_t numel() const;
};

class SafetensorsFile {
public:
    static constexpr uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;

    // Opens and validates the header; tensor data is read on demand.
    static SafetensorsFile open(const std::string& path);
    // Parses an in-memory image (used by fuzzing and tests).
    static SafetensorsFile fromBytes(std::string bytes, const std::string& nameForErrors);

    const std::string& path() const { return m_path; }
    const std::map<std::string, SafetensorsEntry>& entries() const { return m_entries; }
    const std::map<std::string, std::string>& metadata() const { return m_metadata; }
    bool contains(const std::string& name) const { return m_entries.count(name) != 0; }
    const SafetensorsEntry& entry(const std::string& name) const;

    // The tensor converted to float, row-major.
    std::vector<float> readFloat(const std::string& name) const;

private:
    void parse(uint64_t fileSize);
    void readBytes(uint64_t offset, uint64_t length, char* out) const;

    std::string m_path;
    std::string m_memory; // set when parsed from bytes
    bool m_inMemory = false;
    uint64_t m_dataOffset = 0;
    std::map<std::string, SafetensorsEntry> m_entries;
    std::map<std::string, std::string> m_metadata;
};

struct SafetensorsTensor {
    std::string name;
    std::vector<int64_t> shape;
    const float* data = nullptr; // numel(shape) floats, written as F32
};

// Writes atomically (temporary file + rename); throws Error on failure and
// leaves any previous file intact.
void writeSafetensors(const std::string& path, const std::vector<SafetensorsTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Half-precision conversions, exposed for tests.
float halfToFloat(uint16_t h);
float bfloat16ToFloat(uint16_t b);

} // namespace scalpel
