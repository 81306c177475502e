#include "Batch.h"

#include "Commands.h"
#include "Shards.h"

#include <cmath>
#include <limits>

namespace scalpel::cli {

BatchRun startBatch(const Args& a, const std::string& command, std::size_t items,
                    const std::string& modelDir, const std::vector<std::string>& dataPaths,
                    const nlohmann::ordered_json& options) {
    BatchRun run;
    run.command = command;
    run.shard = shardArgs(a, command);
    run.items = items;
    run.mine = shardItems(items, run.shard.spec);
    if (run.shard.sharded) {
        run.fingerprint["model"] = hashPath(modelDir);
        std::string data;
        for (const auto& p : dataPaths)
            data += hashPath(p);
        run.fingerprint["data"] = dataPaths.size() == 1 ? data : hashBytes(data);
    }
    run.fingerprint["options"] = options;
    return run;
}

int finishBatch(const BatchRun& run, const std::vector<Record>& records,
                const ReportBuilder& report) {
    if (records.size() != run.mine.size())
        throw Error(run.command + ": " + std::to_string(records.size()) + " records for " +
                    std::to_string(run.mine.size()) + " items");
    if (!run.shard.sharded) {
        printJson(report(records, run.fingerprint));
        return 0;
    }
    Partial p;
    p.command = run.command;
    p.fingerprint = run.fingerprint;
    p.shard = run.shard.spec;
    p.items = run.items;
    for (std::size_t k = 0; k < records.size(); ++k)
        p.records.emplace_back(run.mine[k], records[k]);
    writePartial(run.shard.partial, p);
    printJson({{"command", run.command},
               {"shard", shardName(run.shard.spec)},
               {"items", run.mine},
               {"of_items", run.items},
               {"partial", run.shard.partial}});
    return 0;
}

double recordNumber(const Record& r, const char* key) {
    const auto it = r.find(key);
    if (it == r.end())
        throw Error(std::string("a record lacks '") + key + "'");
    if (it->is_null())
        return std::numeric_limits<double>::quiet_NaN();
    if (!it->is_number())
        throw Error(std::string("a record's '") + key + "' is not a number");
    return it->get<double>();
}

} // namespace scalpel::cli
