#pragma once
// Reader and writer for the .safetensors format: an 8-byte little-endian
// header length, a JSON header, then raw tensor bytes.
//
// Reading promises:
// - open() memory-maps the file read-only (never reads it whole); only the
//   header is parsed up front. Every offset and length is checked against the
//   file size before anything is read, headers over kMaxHeaderBytes are
//   refused, and every Error names the file and the tensor.
// - The header may hold any dtype safetensors knows; converting to float is
//   supported for F32, F16, BF16 and F64 (narrowed). Other dtypes (F8_E4M3,
//   F8_E5M2, I8, U8, I16, I32, I64, BOOL, ...) can be listed and read raw,
//   and readInto() refuses them with an Error naming the tensor.
// - Conversion writes straight into the caller's buffer, in chunks whose
//   mapped pages are released as it goes, so reading a tensor raises the
//   resident set by about one chunk, not by the file.
// - A SafetensorsFile is cheap to copy (copies share the mapping) and its
//   const methods may be called from several threads at once.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace scalpel {

struct SafetensorsEntry {
    std::string dtype; // "F32", "F16", "BF16", ...
    std::vector<int64_t> shape;
    uint64_t begin = 0; // byte offsets relative to the data section
    uint64_t end = 0;
    int64_t numel() const;
    uint64_t byteSize() const { return end - begin; }
};

// The dtypes readInto() converts to float.
bool isFloatConvertible(const std::string& dtype);
// Bytes per element of a dtype safetensors defines; 0 when unknown.
std::size_t dtypeElementSize(const std::string& dtype);

class SafetensorsFile {
public:
    static constexpr uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;

    // Maps the file and validates the header; tensor data is read on demand.
    static SafetensorsFile open(const std::string& path);
    // Parses an in-memory image (used by fuzzing and tests).
    static SafetensorsFile fromBytes(std::string bytes, const std::string& nameForErrors);

    const std::string& path() const { return m_path; }
    const std::map<std::string, SafetensorsEntry>& entries() const { return m_entries; }
    const std::map<std::string, std::string>& metadata() const { return m_metadata; }
    bool contains(const std::string& name) const { return m_entries.count(name) != 0; }
    const SafetensorsEntry& entry(const std::string& name) const;

    // Converts the tensor to float into dst, which holds `count` floats;
    // throws Error when count differs from the tensor's element count or the
    // dtype is not convertible.
    void readInto(const std::string& name, float* dst, std::size_t count) const;
    // The tensor converted to float, row-major.
    std::vector<float> readFloat(const std::string& name) const;
    // The tensor's bytes as stored (little-endian, entry(name).byteSize()
    // of them), valid while any copy of this file lives. Pages become
    // resident as they are touched; release() hands them back.
    const void* rawData(const std::string& name) const;
    // Lets the kernel drop the tensor's pages from this process; the data
    // stays readable (it is faulted in again from the file).
    void release(const std::string& name) const;

private:
    struct Mapping;
    void parse();

    std::string m_path;
    std::shared_ptr<const Mapping> m_map;
    uint64_t m_dataOffset = 0;
    std::map<std::string, SafetensorsEntry> m_entries;
    std::map<std::string, std::string> m_metadata;
};

struct SafetensorsTensor {
    std::string name;
    std::vector<int64_t> shape;
    const float* data = nullptr; // numel(shape) floats
    // Or bytes written as they are, in a dtype safetensors defines ("I64",
    // ...), little-endian; `dtype` below does not apply to them.
    const void* raw = nullptr;
    std::string rawDtype;
};

// How floats are stored on write. F16 and BF16 round to nearest even; F16
// overflows to infinity like a hardware conversion.
enum class StoredDtype { F32, F16, BF16 };
const char* dtypeName(StoredDtype dtype);

// Writes atomically (temporary file + rename) without building the file in
// memory; throws Error on failure and leaves any previous file intact.
void writeSafetensors(const std::string& path, const std::vector<SafetensorsTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {},
                      StoredDtype dtype = StoredDtype::F32);

// Scalar conversions, exposed for tests.
float halfToFloat(uint16_t h);
float bfloat16ToFloat(uint16_t b);
uint16_t floatToHalf(float f);
uint16_t floatToBfloat16(float f);

} // namespace scalpel
