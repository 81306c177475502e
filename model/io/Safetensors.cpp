#include "Safetensors.h"

#include "AtomicFile.h"
#include "Error.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <limits>

namespace scalpel {

namespace {

std::size_t dtypeSize(const std::string& dtype) {
    if (dtype == "F32" || dtype == "I32" || dtype == "U32")
        return 4;
    if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16")
        return 2;
    if (dtype == "F64" || dtype == "I64" || dtype == "U64")
        return 8;
    if (dtype == "I8" || dtype == "U8" || dtype == "BOOL")
        return 1;
    return 0;
}

uint64_t readLe64(const unsigned char* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = (v << 8) | p[i];
    return v;
}

} // namespace

int64_t SafetensorsEntry::numel() const {
    int64_t n = 1;
    for (int64_t d : shape)
        n *= d;
    return n;
}

float halfToFloat(uint16_t h) {
    const uint32_t sign = (h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { // subnormal: normalise
            exp = 127 - 15 + 1;
            while ((mant & 0x400u) == 0) {
                mant <<= 1;
                --exp;
            }
            mant &= 0x3ffu;
            bits = sign | (exp << 23) | (mant << 13);
        }
    } else if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

float bfloat16ToFloat(uint16_t b) {
    const uint32_t bits = static_cast<uint32_t>(b) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
    SafetensorsFile file;
    file.m_path = path;
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("cannot open " + path);
    in.seekg(0, std::ios::end);
    const auto size = static_cast<uint64_t>(in.tellg());
    file.parse(size);
    return file;
}

SafetensorsFile SafetensorsFile::fromBytes(std::string bytes, const std::string& nameForErrors) {
    SafetensorsFile file;
    file.m_path = nameForErrors;
    file.m_memory = std::move(bytes);
    file.m_inMemory = true;
    file.parse(file.m_memory.size());
    return file;
}

void SafetensorsFile::readBytes(uint64_t offset, uint64_t length, char* out) const {
    if (m_inMemory) {
        std::memcpy(out, m_memory.data() + offset, length);
        return;
    }
    std::ifstream in(m_path, std::ios::binary);
    if (!in)
        throw Error("cannot open " + m_path);
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(out, static_cast<std::streamsize>(length));
    if (!in)
        throw Error(m_path + ": read failed at byte " + std::to_string(offset));
}

void SafetensorsFile::parse(uint64_t fileSize) {
    if (fileSize < 8)
        throw Error(m_path + ": not a safetensors file (shorter than its 8-byte header length)");
    unsigned char lenBytes[8];
    readBytes(0, 8, reinterpret_cast<char*>(lenBytes));
    const uint64_t headerLen = readLe64(lenBytes);
    if (headerLen > kMaxHeaderBytes)
        throw Error(m_path + ": header of " + std::to_string(headerLen) +
                    " bytes is over the limit of " + std::to_string(kMaxHeaderBytes));
    if (headerLen > fileSize - 8)
        throw Error(m_path + ": header length " + std::to_string(headerLen) +
                    " points past the end of the file (" + std::to_string(fileSize) + " bytes)");
    std::string header(headerLen, '\0');
    readBytes(8, headerLen, header.data());
    m_dataOffset = 8 + headerLen;
    const uint64_t dataSize = fileSize - m_dataOffset;

    nlohmann::json j = nlohmann::json::parse(header, nullptr, false);
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
        const std::size_t elem = dtypeSize(e.dtype);
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

std::vector<float> SafetensorsFile::readFloat(const std::string& name) const {
    const SafetensorsEntry& e = entry(name);
    const uint64_t bytes = e.end - e.begin;
    std::vector<float> out(static_cast<std::size_t>(e.numel()));
    if (e.dtype == "F32") {
        readBytes(m_dataOffset + e.begin, bytes, reinterpret_cast<char*>(out.data()));
    } else if (e.dtype == "F16" || e.dtype == "BF16") {
        std::vector<uint16_t> raw(out.size());
        readBytes(m_dataOffset + e.begin, bytes, reinterpret_cast<char*>(raw.data()));
        const bool half = e.dtype == "F16";
        for (std::size_t i = 0; i < raw.size(); ++i)
            out[i] = half ? halfToFloat(raw[i]) : bfloat16ToFloat(raw[i]);
    } else {
        throw Error(m_path + ": tensor '" + name + "' has dtype " + e.dtype +
                    "; only F32, F16 and BF16 weights can be loaded");
    }
    return out;
}

void writeSafetensors(const std::string& path, const std::vector<SafetensorsTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty())
        header["__metadata__"] = metadata;
    uint64_t offset = 0;
    for (const auto& t : tensors) {
        uint64_t numel = 1;
        for (int64_t d : t.shape)
            numel *= static_cast<uint64_t>(d);
        header[t.name] = {
            {"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + numel * 4}}};
        offset += numel * 4;
    }
    std::string h = header.dump();
    while ((h.size() + 8) % 8 != 0) // keep the data section 8-byte aligned
        h.push_back(' ');
    std::string out;
    out.reserve(8 + h.size() + offset);
    const uint64_t len = h.size();
    for (int i = 0; i < 8; ++i)
        out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
    out += h;
    for (const auto& t : tensors) {
        uint64_t numel = 1;
        for (int64_t d : t.shape)
            numel *= static_cast<uint64_t>(d);
        out.append(reinterpret_cast<const char*>(t.data), numel * 4);
    }
    writeFileAtomically(path, out);
}

} // namespace scalpel
