#include "Safetensors.h"

#include "AtomicFile.h"
#include "Error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace scalpel {

namespace {

// Source bytes converted between page releases: big enough that the
// madvise calls cost nothing, small enough to be the whole RSS overhead.
constexpr uint64_t kChunkBytes = 8ull << 20;

uint64_t readLe64(const unsigned char* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = (v << 8) | p[i];
    return v;
}

// The loops below are written so that GCC and Clang vectorise them at -O2/-O3:
// no branches, memcpy for type punning and for unaligned sources (the
// format does not promise alignment).
void bf16ToFloat(const unsigned char* src, float* dst, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, src + 2 * i, 2);
        const uint32_t bits = static_cast<uint32_t>(v) << 16;
        std::memcpy(dst + i, &bits, 4);
    }
}

void f16ToFloat(const unsigned char* src, float* dst, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        uint16_t v;
        std::memcpy(&v, src + 2 * i, 2);
        const uint32_t h = v;
        const uint32_t em = h & 0x7fffu;
        // Masks rather than ternaries: GCC leaves selects as branches here.
        const uint32_t special = 0u - static_cast<uint32_t>(em >= 0x7c00u); // inf, NaN
        const uint32_t tiny = 0u - static_cast<uint32_t>(em < 0x400u);      // zero, subnormal
        // Rebias the exponent 15 -> 127, or 31 -> 255 for inf and NaN.
        const uint32_t normal = (em << 13) + 0x38000000u + (special & 0x38000000u);
        const float sub = static_cast<float>(static_cast<int32_t>(em)) * 5.9604644775390625e-8f;
        uint32_t subBits; // em * 2^-24, exact
        std::memcpy(&subBits, &sub, 4);
        const uint32_t bits = (normal & ~tiny) | (subBits & tiny) | ((h & 0x8000u) << 16);
        std::memcpy(dst + i, &bits, 4);
    }
}

void f64ToFloat(const unsigned char* src, float* dst, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        double d;
        std::memcpy(&d, src + 8 * i, 8);
        dst[i] = static_cast<float>(d);
    }
}

std::string errnoText() {
    return std::strerror(errno);
}

uint64_t shapeNumel(const std::vector<int64_t>& shape) {
    uint64_t n = 1;
    for (int64_t d : shape)
        n *= static_cast<uint64_t>(d);
    return n;
}

std::size_t storedSize(StoredDtype d) {
    return d == StoredDtype::F32 ? 4 : 2;
}

} // namespace

struct SafetensorsFile::Mapping {
    const unsigned char* data = nullptr;
    uint64_t size = 0;
    bool mapped = false; // false: data points into `bytes`
    std::string bytes;
    ~Mapping() {
        if (mapped)
            ::munmap(const_cast<unsigned char*>(data), size);
    }
};

std::size_t dtypeElementSize(const std::string& dtype) {
    if (dtype == "F32" || dtype == "I32" || dtype == "U32")
        return 4;
    if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16")
        return 2;
    if (dtype == "F64" || dtype == "I64" || dtype == "U64" || dtype == "C64")
        return 8;
    if (dtype == "I8" || dtype == "U8" || dtype == "BOOL" || dtype == "F8_E4M3" ||
        dtype == "F8_E5M2" || dtype == "F8_E8M0")
        return 1;
    return 0;
}

bool isFloatConvertible(const std::string& dtype) {
    return dtype == "F32" || dtype == "F16" || dtype == "BF16" || dtype == "F64";
}

int64_t SafetensorsEntry::numel() const {
    int64_t n = 1;
    for (int64_t d : shape)
        n *= d;
    return n;
}

float halfToFloat(uint16_t h) {
    float f;
    f16ToFloat(reinterpret_cast<const unsigned char*>(&h), &f, 1);
    return f;
}

float bfloat16ToFloat(uint16_t b) {
    float f;
    bf16ToFloat(reinterpret_cast<const unsigned char*>(&b), &f, 1);
    return f;
}

uint16_t floatToBfloat16(float f) {
    uint32_t b;
    std::memcpy(&b, &f, 4);
    if ((b & 0x7fffffffu) > 0x7f800000u) // NaN: keep it a (quiet) NaN
        return static_cast<uint16_t>((b >> 16) | 0x40u);
    b += 0x7fffu + ((b >> 16) & 1u); // round to nearest even
    return static_cast<uint16_t>(b >> 16);
}

uint16_t floatToHalf(float value) {
    uint32_t f;
    std::memcpy(&f, &value, 4);
    const uint32_t sign = (f >> 16) & 0x8000u;
    f &= 0x7fffffffu;
    uint32_t o;
    if (f >= (143u << 23)) { // >= 65536 after rounding cannot fit: inf, or NaN stays NaN
        o = f > 0x7f800000u ? 0x7e00u : 0x7c00u;
    } else if (f < (113u << 23)) {
        // Subnormal or zero: adding 0.5 lets the FPU round the mantissa.
        const uint32_t magicBits = 126u << 23;
        float magic, x;
        std::memcpy(&magic, &magicBits, 4);
        std::memcpy(&x, &f, 4);
        x += magic;
        uint32_t xb;
        std::memcpy(&xb, &x, 4);
        o = xb - magicBits;
    } else {
        const uint32_t odd = (f >> 13) & 1u;
        f += (static_cast<uint32_t>(15 - 127) << 23) + 0xfffu + odd;
        o = f >> 13; // a carry into the exponent rounds 65520+ up to infinity
    }
    return static_cast<uint16_t>(o | sign);
}

const char* dtypeName(StoredDtype dtype) {
    switch (dtype) {
    case StoredDtype::F16:
        return "F16";
    case StoredDtype::BF16:
        return "BF16";
    default:
        return "F32";
    }
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
    SafetensorsFile file;
    file.m_path = path;
    auto map = std::make_shared<Mapping>();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw Error("cannot open " + path + ": " + errnoText());
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error("cannot open " + path + ": not a regular file");
    }
    map->size = static_cast<uint64_t>(st.st_size);
    if (map->size >= 8) { // mmap refuses length 0; parse() reports short files
        void* p = ::mmap(nullptr, map->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            const std::string why = errnoText();
            ::close(fd);
            throw Error("cannot map " + path + ": " + why);
        }
        map->data = static_cast<const unsigned char*>(p);
        map->mapped = true;
    }
    ::close(fd); // the mapping keeps the file open
    file.m_map = std::move(map);
    file.parse();
    return file;
}

SafetensorsFile SafetensorsFile::fromBytes(std::string bytes, const std::string& nameForErrors) {
    SafetensorsFile file;
    file.m_path = nameForErrors;
    auto map = std::make_shared<Mapping>();
    map->bytes = std::move(bytes);
    map->data = reinterpret_cast<const unsigned char*>(map->bytes.data());
    map->size = map->bytes.size();
    file.m_map = std::move(map);
    file.parse();
    return file;
}

void SafetensorsFile::parse() {
    const uint64_t fileSize = m_map->size;
    if (fileSize < 8)
        throw Error(m_path + ": not a safetensors file (shorter than its 8-byte header length)");
    const uint64_t headerLen = readLe64(m_map->data);
    if (headerLen > kMaxHeaderBytes)
        throw Error(m_path + ": header of " + std::to_string(headerLen) +
                    " bytes is over the limit of " + std::to_string(kMaxHeaderBytes));
    if (headerLen > fileSize - 8)
        throw Error(m_path + ": header length " + std::to_string(headerLen) +
                    " points past the end of the file (" + std::to_string(fileSize) + " bytes)");
    const char* header = reinterpret_cast<const char*>(m_map->data + 8);
    m_dataOffset = 8 + headerLen;
    const uint64_t dataSize = fileSize - m_dataOffset;

    nlohmann::json j = nlohmann::json::parse(header, header + headerLen, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw Error(m_path + ": the header is not a JSON object");
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& name = it.key();
        if (name == "__metadata__") {
            if (!it->is_object())
                throw Error(m_path + ": __metadata__ is not an object");
            for (auto m = it->begin(); m != it->end(); ++m) {
                if (!m->is_string())
                    throw Error(m_path + ": __metadata__ value '" + m.key() + "' is not a string");
                m_metadata[m.key()] = m->get<std::string>();
            }
            continue;
        }
        const auto& v = *it;
        const std::string where = m_path + ": tensor '" + name + "'";
        if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") ||
            !v.contains("data_offsets"))
            throw Error(where + " lacks dtype, shape or data_offsets");
        if (!v["dtype"].is_string() || !v["shape"].is_array() || !v["data_offsets"].is_array() ||
            v["data_offsets"].size() != 2)
            throw Error(where + " has a malformed dtype, shape or data_offsets");
        SafetensorsEntry e;
        e.dtype = v["dtype"].get<std::string>();
        const std::size_t elem = dtypeElementSize(e.dtype);
        if (elem == 0)
            throw Error(where + " has unknown dtype '" + e.dtype + "'");
        uint64_t numel = 1;
        for (const auto& d : v["shape"]) {
            if (!d.is_number_unsigned())
                throw Error(where + " has a non-integer or negative dimension");
            const uint64_t dim = d.get<uint64_t>();
            if (dim != 0 && numel > std::numeric_limits<uint64_t>::max() / 8 / dim)
                throw Error(where + " has a shape too large to address");
            numel *= dim;
            e.shape.push_back(static_cast<int64_t>(dim));
        }
        const auto& off = v["data_offsets"];
        if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
            throw Error(where + " has non-integer data_offsets");
        e.begin = off[0].get<uint64_t>();
        e.end = off[1].get<uint64_t>();
        if (e.end < e.begin)
            throw Error(where + " has data_offsets that end before they begin");
        if (e.end > dataSize)
            throw Error(where + " points past the end of the file (ends at byte " +
                        std::to_string(m_dataOffset + e.end) + " of " + std::to_string(fileSize) +
                        "); the file is truncated or corrupt");
        if (e.end - e.begin != numel * elem)
            throw Error(where + ": shape and dtype need " + std::to_string(numel * elem) +
                        " bytes but data_offsets hold " + std::to_string(e.end - e.begin));
        m_entries.emplace(name, std::move(e));
    }
}

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
    auto it = m_entries.find(name);
    if (it == m_entries.end())
        throw Error(m_path + ": no tensor named '" + name + "'");
    return it->second;
}

const void* SafetensorsFile::rawData(const std::string& name) const {
    return m_map->data + m_dataOffset + entry(name).begin;
}

namespace {

// Page-aligned madvise over [begin, end) of a mapping starting at base.
void adviseRange(const unsigned char* base, uint64_t mapSize, uint64_t begin, uint64_t end,
                 int advice) {
    static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    begin = begin / page * page;
    end = std::min((end + page - 1) / page * page, (mapSize + page - 1) / page * page);
    if (end > begin) // advice only; a failure changes nothing that matters
        ::madvise(const_cast<unsigned char*>(base) + begin, end - begin, advice);
}

} // namespace

void SafetensorsFile::release(const std::string& name) const {
    const SafetensorsEntry& e = entry(name);
    // Only file pages of a read-only mapping: on heap bytes MADV_DONTNEED
    // would zero them.
    if (m_map->mapped)
        adviseRange(m_map->data, m_map->size, m_dataOffset + e.begin, m_dataOffset + e.end,
                    MADV_DONTNEED);
}

void SafetensorsFile::readInto(const std::string& name, float* dst, std::size_t count) const {
    const SafetensorsEntry& e = entry(name);
    const std::string where = m_path + ": tensor '" + name + "'";
    if (!isFloatConvertible(e.dtype))
        throw Error(where + " has dtype " + e.dtype +
                    "; only F32, F16, BF16 and F64 tensors can be loaded as weights"
                    " (dequantise F8/int checkpoints first)");
    if (static_cast<uint64_t>(count) != static_cast<uint64_t>(e.numel()))
        throw Error(where + " has " + std::to_string(e.numel()) + " elements, not the " +
                    std::to_string(count) + " expected");
    const std::size_t elem = dtypeElementSize(e.dtype);
    const uint64_t start = m_dataOffset + e.begin;
    if (m_map->mapped)
        adviseRange(m_map->data, m_map->size, start, start + e.byteSize(), MADV_SEQUENTIAL);
    const uint64_t chunkElems = kChunkBytes / elem;
    for (uint64_t done = 0; done < count; done += chunkElems) {
        const std::size_t n =
            static_cast<std::size_t>(std::min<uint64_t>(chunkElems, count - done));
        const unsigned char* src = m_map->data + start + done * elem;
        if (e.dtype == "F32")
            std::memcpy(dst + done, src, n * 4);
        else if (e.dtype == "BF16")
            bf16ToFloat(src, dst + done, n);
        else if (e.dtype == "F16")
            f16ToFloat(src, dst + done, n);
        else
            f64ToFloat(src, dst + done, n);
        if (m_map->mapped)
            adviseRange(m_map->data, m_map->size, start + done * elem, start + (done + n) * elem,
                        MADV_DONTNEED);
    }
}

std::vector<float> SafetensorsFile::readFloat(const std::string& name) const {
    const SafetensorsEntry& e = entry(name);
    std::vector<float> out(isFloatConvertible(e.dtype) ? static_cast<std::size_t>(e.numel()) : 0);
    readInto(name, out.data(), out.size());
    return out;
}

void writeSafetensors(const std::string& path, const std::vector<SafetensorsTensor>& tensors,
                      const std::map<std::string, std::string>& metadata, StoredDtype dtype) {
    const std::size_t elem = storedSize(dtype);
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty())
        header["__metadata__"] = metadata;
    uint64_t offset = 0;
    for (const auto& t : tensors) {
        if (header.contains(t.name))
            throw Error("cannot write " + path + ": tensor '" + t.name + "' is given twice");
        if (!t.data && !t.raw && shapeNumel(t.shape) != 0)
            throw Error("cannot write " + path + ": tensor '" + t.name + "' has no data");
        const std::size_t size = t.raw ? dtypeElementSize(t.rawDtype) : elem;
        if (size == 0)
            throw Error("cannot write " + path + ": tensor '" + t.name + "' has dtype '" +
                        t.rawDtype + "', which safetensors does not define");
        const uint64_t bytes = shapeNumel(t.shape) * size;
        header[t.name] = {{"dtype", t.raw ? t.rawDtype.c_str() : dtypeName(dtype)},
                          {"shape", t.shape},
                          {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    std::string h = header.dump();
    while ((h.size() + 8) % 8 != 0) // keep the data section 8-byte aligned
        h.push_back(' ');
    unsigned char len[8];
    for (int i = 0; i < 8; ++i)
        len[i] = static_cast<unsigned char>((static_cast<uint64_t>(h.size()) >> (8 * i)) & 0xff);

    writeFileAtomically(path, [&](const AtomicSink& out) {
        out(reinterpret_cast<const char*>(len), 8);
        out(h.data(), h.size());
        std::vector<uint16_t> buf;
        for (const auto& t : tensors) {
            const uint64_t numel = shapeNumel(t.shape);
            if (t.raw) {
                out(static_cast<const char*>(t.raw), numel * dtypeElementSize(t.rawDtype));
                continue;
            }
            if (dtype == StoredDtype::F32) {
                out(reinterpret_cast<const char*>(t.data), numel * 4);
                continue;
            }
            const uint64_t step = 1u << 20;
            for (uint64_t i = 0; i < numel; i += step) {
                const std::size_t n = static_cast<std::size_t>(std::min(step, numel - i));
                buf.resize(n);
                for (std::size_t k = 0; k < n; ++k)
                    buf[k] = dtype == StoredDtype::BF16 ? floatToBfloat16(t.data[i + k])
                                                        : floatToHalf(t.data[i + k]);
                out(reinterpret_cast<const char*>(buf.data()), n * 2);
            }
        }
    });
}

} // namespace scalpel
