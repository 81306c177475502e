#pragma once
// What every batch command of scalpel-cli shares: its items split by
// --shard I/N, one JSON record per item, and one report builder that turns
// the records of every item (in item order) into the JSON the command
// prints. The unsharded run and `merge` call the same builder on the same
// records (JSON keeps every digit of a double), so merging the partials of
// a sharded run prints exactly what the unsharded run prints.
#include "CliArgs.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace scalpel::cli {

using Record = nlohmann::ordered_json;
// (records of every item in item order, the run's fingerprint) -> report.
// The builder reads the run's options from fingerprint["options"].
using ReportBuilder = std::function<nlohmann::ordered_json(
    const std::vector<Record>& records, const nlohmann::ordered_json& fingerprint)>;

struct BatchRun {
    std::string command;
    ShardArgs shard;
    std::size_t items = 0;
    // {"model": hash, "data": hash, "options": {...}}; the hashes only when
    // sharded (hashing a large model costs a read of its weights).
    nlohmann::ordered_json fingerprint;
    std::vector<std::size_t> mine; // the items this run works on, ascending
};

// Parses --shard/--partial and picks this run's items out of `items`. The
// model folder and data files are hashed into the fingerprint when sharded.
BatchRun startBatch(const Args& a, const std::string& command, std::size_t items,
                    const std::string& modelDir, const std::vector<std::string>& dataPaths,
                    const nlohmann::ordered_json& options);

// `records` holds one record per item of run.mine. Unsharded: prints the
// report. Sharded: writes the partial file atomically and prints where.
int finishBatch(const BatchRun& run, const std::vector<Record>& records,
                const ReportBuilder& report);

// The report builder of a batch command, or null (CmdMerge.cpp).
const ReportBuilder* reportBuilder(const std::string& command);

// A number of a record; null (how JSON writes NaN) reads back as NaN.
double recordNumber(const Record& r, const char* key);

} // namespace scalpel::cli
