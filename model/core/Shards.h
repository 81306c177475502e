#pragma once
// Sharded batch runs. A batch command's items (relations, facts, edits) are
// split into N slices that depend only on the item list and N: item i is in
// shard i mod N. Each shard writes a partial result file holding one record
// per item of its slice and the fingerprint of its inputs (model hash, data
// hash, options); merging checks that every partial comes from the same
// inputs and that every shard is there exactly once, and hands back the
// records in item order, so the command's own report rebuilds exactly what
// the unsharded run prints. Torch-free.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace scalpel {

struct ShardSpec {
    int index = 0; // 0-based, as Slurm's array task ids
    int count = 1;
};

// "I/N" with 0 <= I < N; Error names the text and what is wrong with it.
ShardSpec parseShardSpec(const std::string& text);
std::string shardName(const ShardSpec& s); // "I/N"
// The items of a list of `items` that shard `s` works on, ascending.
std::vector<std::size_t> shardItems(std::size_t items, const ShardSpec& s);

// 64-bit FNV-1a as 16 hex digits: a fingerprint, not a cryptographic hash.
std::string hashBytes(const std::string& bytes);
// A file's content hash; a folder's covers each regular file's name and
// content (not subfolders), in name order. Error names a path it cannot read.
std::string hashPath(const std::string& path);

struct Partial {
    std::string file; // where it was read from (empty when built in memory)
    std::string command;
    // {"model": hash, "data": hash, "options": {...}}: what must agree
    // between the shards of one run.
    nlohmann::ordered_json fingerprint = nlohmann::ordered_json::object();
    ShardSpec shard;
    std::size_t items = 0; // items of the whole run
    // (item index, record), ascending.
    std::vector<std::pair<std::size_t, nlohmann::ordered_json>> records;
};

nlohmann::ordered_json partialToJson(const Partial& p);
// Writes atomically: a killed shard leaves no partial file, or the old one.
void writePartial(const std::string& path, const Partial& p);
// Error names the file and the missing or malformed key.
Partial readPartial(const std::string& path);

struct ShardSurvey {
    std::string command;
    int count = 0;
    std::vector<int> present, missing; // shard indices, ascending
};

// Checks that the partials belong to one run: the same command, fingerprint
// (Error names the file and the field that differs, options key by key),
// shard count and item count, each shard once (Error names both files of a
// duplicate) and each record in its own shard. Lists the shards missing.
ShardSurvey surveyPartials(const std::vector<Partial>& partials);

struct MergedRun {
    std::string command;
    nlohmann::ordered_json fingerprint;
    std::vector<nlohmann::ordered_json> records; // one per item, in item order
};

// surveyPartials, then the records in item order. Error when shards are
// missing (it lists them as I/N) or an item has no record.
MergedRun mergePartials(const std::vector<Partial>& partials);

} // namespace scalpel
