#pragma once
// The weights of a Hugging Face model folder, for every model family, without
// LibTorch: model.safetensors, or model.safetensors.index.json and the shards
// its weight_map names.
//
// Promises:
// - Files are memory-mapped, never read whole; opening parses headers only,
//   so names, shapes, dtypes, the parameter count and the bytes per dtype are
//   known before any weight is touched (check sizes before allocating).
// - readInto() converts F32, F16, BF16 and F64 to float straight into the
//   caller's buffer (a preallocated tensor), releasing mapped pages as it
//   goes; rawData() gives the bytes as stored for callers that keep F16/BF16.
//   Other dtypes (F8_E4M3, F8_E5M2, I8, U8, I16, I32, I64, BOOL, ...) are
//   listed but refused by readInto().
// - Every problem is a scalpel::Error naming the file and the tensor or key:
//   a malformed index, a shard it names that is missing, a tensor it maps to
//   a shard that lacks it, a tensor held by two shards, a shard whose header
//   is corrupt (offsets outside the file, unknown dtype, ...).
// - Pickle checkpoints (pytorch_model.bin, *.pt, *.pth, *.ckpt) are refused,
//   never opened: unpickling runs whatever code the file carries.
// - The store is cheap to copy (copies share the mappings); const methods
//   may run on several threads at once, e.g. one tensor per thread.
#include "Safetensors.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace scalpel {

struct WeightEntry {
    std::string dtype; // as stored: "F32", "F16", "BF16", ...
    std::vector<int64_t> shape;
    std::string file;      // the file holding it, as named in the folder
    uint64_t byteSize = 0; // on disk
    int64_t numel() const;
};

class WeightStore {
public:
    static constexpr const char* kSingleFile = "model.safetensors";
    static constexpr const char* kIndexFile = "model.safetensors.index.json";
    static constexpr uint64_t kMaxIndexBytes = 64ull << 20;

    // A model folder (model.safetensors first, as transformers does, then the
    // index), or a path to one .safetensors file or one index file.
    static WeightStore open(const std::string& path);
    // Assembles a store from an index's text and an opener of the shard files
    // it names (open() maps them from the folder; tests and fuzzing build
    // them in memory). indexName names the index in errors.
    static WeightStore
    fromIndex(const std::string& indexJson, const std::string& indexName,
              const std::function<SafetensorsFile(const std::string&)>& openShard);

    const std::string& path() const { return m_path; }
    // The files opened, in index order.
    std::vector<std::string> files() const;
    std::vector<std::string> names() const; // sorted
    std::size_t size() const { return m_entries.size(); }
    bool contains(const std::string& name) const { return m_entries.count(name) != 0; }
    // Throws Error naming the tensor and the folder when absent.
    const WeightEntry& entry(const std::string& name) const;

    // See SafetensorsFile: count must equal the element count.
    void readInto(const std::string& name, float* dst, std::size_t count) const;
    std::vector<float> readFloat(const std::string& name) const;
    const void* rawData(const std::string& name) const;
    void release(const std::string& name) const;

    // From the headers alone.
    int64_t parameterCount() const; // elements of all tensors
    uint64_t totalBytes() const;    // tensor bytes on disk
    std::map<std::string, uint64_t> bytesByDtype() const;
    std::string dominantDtype() const; // the dtype holding most elements; "" when empty
    // The first file's __metadata__ (transformers writes format=pt there).
    const std::map<std::string, std::string>& metadata() const;

private:
    struct Slot {
        WeightEntry entry;
        std::size_t shard = 0;
    };
    const Slot& slot(const std::string& name) const;
    void add(std::size_t shard);

    std::string m_path;
    std::vector<SafetensorsFile> m_shards;
    std::map<std::string, Slot> m_entries;
};

// The weight_map of an index file, tensor name -> shard file name, checked:
// valid JSON, an object weight_map of strings, shard names that are plain
// file names (no folders, no "..") ending in .safetensors.
std::map<std::string, std::string> parseSafetensorsIndex(const std::string& json,
                                                         const std::string& nameForErrors);

// Throws the Error that explains why `dir` cannot be loaded when it holds no
// safetensors weights: pickle files are named and refused with how to convert
// them, otherwise the files a model folder needs are listed. Returns quietly
// when the folder has model.safetensors or its index.
void refusePickleCheckpoint(const std::string& dir);

// Writes a model folder (created if missing) in Hugging Face layout: model.safetensors when all
// tensors fit in one shard of maxShardBytes, else model-0000i-of-0000N
// .safetensors plus model.safetensors.index.json (weight_map and
// metadata.total_size). Tensors fill shards in the given order; a tensor
// larger than maxShardBytes gets a shard of its own. Every file carries
// metadata format=pt, which transformers requires. Each file is replaced
// atomically, the index last; weight files a previous write left behind (an
// old single file, index or shards) are removed afterwards. Returns the file
// names written, the index last when there is one.
std::vector<std::string>
writeSafetensorsFolder(const std::string& dir, const std::vector<SafetensorsTensor>& tensors,
                       StoredDtype dtype, uint64_t maxShardBytes,
                       const std::map<std::string, std::string>& metadata = {});

} // namespace scalpel
