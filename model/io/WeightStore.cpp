#include "WeightStore.h"

#include "JsonFields.h"

#include "AtomicFile.h"
#include "Error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <set>
#include <system_error>

namespace fs = std::filesystem;

namespace scalpel {

namespace {

bool endsWith(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

bool isFile(const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

std::string fileName(const std::string& path) {
    return fs::path(path).filename().string();
}

std::string joinNames(const std::vector<std::string>& names) {
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i)
        out += (i ? ", " : "") + names[i];
    return out;
}

// Weight files a folder write owns: what is left of an earlier write under
// another shard count must go, or a reader would mix the two.
bool isShardName(const std::string& name) {
    static const std::regex shard(R"(model-\d{5}-of-\d{5}\.safetensors)");
    return std::regex_match(name, shard);
}

} // namespace

int64_t WeightEntry::numel() const {
    int64_t n = 1;
    for (int64_t d : shape)
        n *= d;
    return n;
}

std::map<std::string, std::string> parseSafetensorsIndex(const std::string& json,
                                                         const std::string& nameForErrors) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(json);
    } catch (const nlohmann::json::exception& e) {
        throw Error(nameForErrors + ": not valid JSON (" + jsonMessage(e) + ")");
    }
    if (!j.is_object())
        throw Error(nameForErrors + ": not a JSON object");
    const auto wm = j.find("weight_map");
    if (wm == j.end())
        throw Error(nameForErrors + ": no 'weight_map' (tensor name -> shard file)");
    if (!wm->is_object())
        throw Error(nameForErrors + ": 'weight_map' is not an object");
    if (wm->empty())
        throw Error(nameForErrors + ": 'weight_map' is empty");
    std::map<std::string, std::string> out;
    for (auto it = wm->begin(); it != wm->end(); ++it) {
        const std::string where = nameForErrors + ": weight_map['" + it.key() + "']";
        if (!it->is_string())
            throw Error(where + " is not a string");
        const std::string shard = it->get<std::string>();
        // Shards live beside the index; a path elsewhere is a broken or
        // hostile index, never followed.
        if (shard.empty() || shard.find('/') != std::string::npos ||
            shard.find('\\') != std::string::npos || shard == "." || shard == ".." ||
            !endsWith(shard, ".safetensors"))
            throw Error(where + " is '" + shard +
                        "', not the name of a .safetensors file beside the index");
        out.emplace(it.key(), shard);
    }
    return out;
}

void refusePickleCheckpoint(const std::string& dir) {
    const fs::path d(dir);
    if (isFile(d / WeightStore::kSingleFile) || isFile(d / WeightStore::kIndexFile))
        return;
    std::error_code ec;
    if (!fs::is_directory(d, ec))
        throw Error(dir + ": no such model folder");
    std::vector<std::string> pickles, others;
    for (const auto& e : fs::directory_iterator(d, ec)) {
        const std::string name = e.path().filename().string();
        const std::string ext = e.path().extension().string();
        if (name.rfind("pytorch_model", 0) == 0 &&
            (ext == ".bin" || endsWith(name, ".bin.index.json")))
            pickles.push_back(name);
        else if (ext == ".pt" || ext == ".pth" || ext == ".ckpt")
            pickles.push_back(name);
        else if (ext == ".safetensors" || ext == ".h5" || ext == ".msgpack")
            others.push_back(name);
    }
    std::sort(pickles.begin(), pickles.end());
    std::sort(others.begin(), others.end());
    if (!pickles.empty())
        throw Error(dir + " holds only a pickle checkpoint (" + joinNames(pickles) +
                    "), which Scalpel refuses: unpickling a file runs any code it carries. "
                    "Convert it once to safetensors with Python, on a machine where you trust "
                    "the file: from transformers import AutoModelForCausalLM; "
                    "AutoModelForCausalLM.from_pretrained('" +
                    dir + "').save_pretrained('" + dir +
                    "', safe_serialization=True)  (AutoModelForMaskedLM for BERT-like models)");
    throw Error(
        dir + " holds no model weights" +
        (others.empty() ? std::string() : " Scalpel reads (found " + joinNames(others) + ")") +
        ": a model folder needs model.safetensors, or " + WeightStore::kIndexFile +
        " and the shards it names, beside config.json and the tokenizer files");
}

WeightStore WeightStore::open(const std::string& path) {
    const fs::path p(path);
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
        if (isFile(p / kSingleFile)) {
            WeightStore store;
            store.m_path = path;
            store.m_shards.push_back(SafetensorsFile::open((p / kSingleFile).string()));
            store.add(0);
            return store;
        }
        if (!isFile(p / kIndexFile))
            refusePickleCheckpoint(path); // throws: no weights here
        return open((p / kIndexFile).string());
    }
    if (!fs::exists(p, ec))
        throw Error(path + ": no such file or folder");
    if (endsWith(path, ".json")) {
        const fs::path dir = p.parent_path();
        WeightStore store =
            fromIndex(readFile(path, kMaxIndexBytes), path, [&](const std::string& shard) {
                return SafetensorsFile::open((dir / shard).string());
            });
        store.m_path = dir.empty() ? std::string(".") : dir.string();
        return store;
    }
    WeightStore store;
    store.m_path = path;
    store.m_shards.push_back(SafetensorsFile::open(path));
    store.add(0);
    return store;
}

WeightStore
WeightStore::fromIndex(const std::string& indexJson, const std::string& indexName,
                       const std::function<SafetensorsFile(const std::string&)>& openShard) {
    const auto weightMap = parseSafetensorsIndex(indexJson, indexName);
    std::map<std::string, std::vector<std::string>> byShard; // sorted, so shard order
    for (const auto& [tensor, shard] : weightMap)
        byShard[shard].push_back(tensor);

    WeightStore store;
    store.m_path = indexName;
    std::map<std::string, std::size_t> shardIndex;
    for (const auto& [shard, tensors] : byShard) {
        try {
            store.m_shards.push_back(openShard(shard));
        } catch (const Error& e) {
            const std::size_t more = tensors.size() - 1;
            throw Error(std::string(e.what()) + " (" + indexName + " maps tensor '" +
                        tensors.front() + "'" +
                        (more ? " and " + std::to_string(more) + " more" : std::string()) + " to " +
                        shard + ")");
        }
        shardIndex[shard] = store.m_shards.size() - 1;
        store.add(store.m_shards.size() - 1);
    }
    for (const auto& [tensor, shard] : weightMap) {
        const auto it = store.m_entries.find(tensor);
        if (it == store.m_entries.end() || it->second.shard != shardIndex.at(shard))
            throw Error(indexName + " maps tensor '" + tensor + "' to " + shard +
                        ", which does not hold it" +
                        (it == store.m_entries.end() ? std::string()
                                                     : " (" + it->second.entry.file + " does)"));
    }
    return store;
}

void WeightStore::add(std::size_t shard) {
    const SafetensorsFile& f = m_shards[shard];
    const std::string file = fileName(f.path());
    for (const auto& [name, e] : f.entries()) {
        Slot s;
        s.entry.dtype = e.dtype;
        s.entry.shape = e.shape;
        s.entry.file = file;
        s.entry.byteSize = e.byteSize();
        s.shard = shard;
        const auto [it, fresh] = m_entries.emplace(name, std::move(s));
        if (!fresh)
            throw Error(m_path + ": tensor '" + name + "' is in both " + it->second.entry.file +
                        " and " + file + "; a checkpoint must hold each tensor once");
    }
}

const WeightStore::Slot& WeightStore::slot(const std::string& name) const {
    const auto it = m_entries.find(name);
    if (it == m_entries.end())
        throw Error(m_path + ": no tensor named '" + name + "'");
    return it->second;
}

const WeightEntry& WeightStore::entry(const std::string& name) const {
    return slot(name).entry;
}

std::vector<std::string> WeightStore::files() const {
    std::vector<std::string> out;
    for (const auto& f : m_shards)
        out.push_back(fileName(f.path()));
    return out;
}

std::vector<std::string> WeightStore::names() const {
    std::vector<std::string> out;
    out.reserve(m_entries.size());
    for (const auto& kv : m_entries)
        out.push_back(kv.first);
    return out;
}

void WeightStore::readInto(const std::string& name, float* dst, std::size_t count) const {
    m_shards[slot(name).shard].readInto(name, dst, count);
}

std::vector<float> WeightStore::readFloat(const std::string& name) const {
    return m_shards[slot(name).shard].readFloat(name);
}

const void* WeightStore::rawData(const std::string& name) const {
    return m_shards[slot(name).shard].rawData(name);
}

void WeightStore::release(const std::string& name) const {
    m_shards[slot(name).shard].release(name);
}

int64_t WeightStore::parameterCount() const {
    int64_t n = 0;
    for (const auto& kv : m_entries)
        n += kv.second.entry.numel();
    return n;
}

uint64_t WeightStore::totalBytes() const {
    uint64_t n = 0;
    for (const auto& kv : m_entries)
        n += kv.second.entry.byteSize;
    return n;
}

std::map<std::string, uint64_t> WeightStore::bytesByDtype() const {
    std::map<std::string, uint64_t> out;
    for (const auto& kv : m_entries)
        out[kv.second.entry.dtype] += kv.second.entry.byteSize;
    return out;
}

std::string WeightStore::dominantDtype() const {
    std::map<std::string, int64_t> counts;
    for (const auto& kv : m_entries)
        counts[kv.second.entry.dtype] += kv.second.entry.numel();
    std::string best;
    int64_t most = -1;
    for (const auto& [dtype, n] : counts)
        if (n > most) {
            best = dtype;
            most = n;
        }
    return best;
}

const std::map<std::string, std::string>& WeightStore::metadata() const {
    static const std::map<std::string, std::string> none;
    return m_shards.empty() ? none : m_shards.front().metadata();
}

std::vector<std::string>
writeSafetensorsFolder(const std::string& dir, const std::vector<SafetensorsTensor>& tensors,
                       StoredDtype dtype, uint64_t maxShardBytes,
                       const std::map<std::string, std::string>& metadata) {
    if (maxShardBytes == 0)
        throw Error("cannot write " + dir + ": the shard size limit is 0 bytes");
    const uint64_t elem = dtype == StoredDtype::F32 ? 4 : 2;
    std::vector<std::vector<SafetensorsTensor>> shards;
    uint64_t used = 0, total = 0;
    for (const auto& t : tensors) {
        uint64_t bytes = elem;
        for (int64_t d : t.shape)
            bytes *= static_cast<uint64_t>(d);
        if (shards.empty() || (used > 0 && used + bytes > maxShardBytes)) {
            shards.emplace_back();
            used = 0;
        }
        shards.back().push_back(t);
        used += bytes;
        total += bytes;
    }
    if (shards.empty())
        shards.emplace_back();
    std::map<std::string, std::string> meta = metadata;
    meta.emplace("format", "pt");

    const fs::path d(dir);
    std::error_code made;
    fs::create_directories(d, made); // as save_pretrained does; a failure shows on the write
    std::vector<std::string> written;
    nlohmann::json weightMap = nlohmann::json::object();
    if (shards.size() == 1) {
        writeSafetensors((d / WeightStore::kSingleFile).string(), shards[0], meta, dtype);
        written.push_back(WeightStore::kSingleFile);
    } else {
        for (std::size_t i = 0; i < shards.size(); ++i) {
            char name[64];
            std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", i + 1,
                          shards.size());
            writeSafetensors((d / name).string(), shards[i], meta, dtype);
            written.push_back(name);
            for (const auto& t : shards[i])
                weightMap[t.name] = name;
        }
        // transformers writes the index with sorted keys and indent 2.
        const nlohmann::json index = {{"metadata", {{"total_size", total}}},
                                      {"weight_map", weightMap}};
        writeFileAtomically((d / WeightStore::kIndexFile).string(), index.dump(2) + "\n");
        written.push_back(WeightStore::kIndexFile);
    }
    const std::set<std::string> keep(written.begin(), written.end());
    std::vector<fs::path> stale;
    std::error_code ec;
    for (fs::directory_iterator it(d, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        const bool ours = name == WeightStore::kSingleFile || name == WeightStore::kIndexFile ||
                          isShardName(name);
        if (ours && !keep.count(name))
            stale.push_back(it->path());
    }
    for (const auto& p : stale)
        fs::remove(p, ec); // best effort: the new files are complete already
    return written;
}

} // namespace scalpel
