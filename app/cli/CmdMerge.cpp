// merge: the partial result files of a sharded batch run, checked and
// recombined into what the unsharded run prints.
#include "Commands.h"

#include "AtomicFile.h"
#include "Shards.h"

#include <map>

namespace scalpel::cli {

const ReportBuilder* reportBuilder(const std::string& command) {
    static const std::map<std::string, ReportBuilder> builders = {
        {"kn-eval", knEvalReport},       {"eval-facts", evalFactsReport},
        {"trace-eval", traceEvalReport}, {"attribute-batch", attributeBatchReport},
        {"eval-edits", evalEditsReport}, {"eval-edits-metrics", evalEditMetricsReport},
    };
    const auto it = builders.find(command);
    return it == builders.end() ? nullptr : &it->second;
}

int cmdMerge(const Args& a) {
    a.allow({"out", "missing", "shards"});
    const bool listMissing = a.has("missing");
    if (listMissing && !a.get("missing").empty())
        throw Error("--missing takes no value");
    std::vector<Partial> partials;
    for (const auto& path : a.positional())
        partials.push_back(readPartial(path));
    const long long expected = a.integer("shards", 0);
    if (a.has("shards") && expected < 1)
        throw Error("--shards must be a positive integer");
    if (partials.empty() && !(listMissing && expected > 0))
        throw Error("give the partial result files to merge (merge FILES... --out RESULT)");
    ShardSurvey survey;
    if (partials.empty()) {
        survey.count = static_cast<int>(expected);
        for (int i = 0; i < survey.count; ++i)
            survey.missing.push_back(i);
    } else {
        survey = surveyPartials(partials);
        if (expected > 0 && survey.count != expected)
            throw Error(partials.front().file + " is shard " + shardName(partials.front().shard) +
                        ", not of " + std::to_string(expected) + " shards");
    }
    if (listMissing) {
        auto names = [&](const std::vector<int>& v) {
            std::vector<std::string> out;
            for (int i : v)
                out.push_back(shardName({i, survey.count}));
            return out;
        };
        printJson({{"command", survey.command},
                   {"shards", survey.count},
                   {"present", names(survey.present)},
                   {"missing", names(survey.missing)},
                   {"complete", survey.missing.empty()}});
        return 0;
    }
    const std::string out = a.required("out");
    const MergedRun m = mergePartials(partials);
    const ReportBuilder* build = reportBuilder(m.command);
    if (!build)
        throw Error(partials.front().file + ": partials of '" + m.command +
                    "' cannot be merged (not a batch command)");
    const nlohmann::ordered_json report = (*build)(m.records, m.fingerprint);
    writeFileAtomically(out, report.dump(2) + "\n");
    std::cerr << "merged " << partials.size() << " shards of " << m.command << " ("
              << m.records.size() << " items) into " << out << std::endl;
    return 0;
}

} // namespace scalpel::cli
