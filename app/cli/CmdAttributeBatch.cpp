// attribute-batch: integrated-gradients attribution of every fact of a fact
// world or an edit set (CounterFact, zsRE, ... : the record's prompt and its
// true answer), one scores file per fact, sharded like every batch command.
#include "Commands.h"

#include "Attribution.h"
#include "AtomicFile.h"
#include "EditDatasets.h"
#include "FactWorld.h"
#include "LanguageModel.h"
#include "Resources.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace scalpel::cli {

namespace {

struct AttributionItem {
    std::string prompt;
    std::string target;
    std::string subject;
};

// The facts of the fact world, each with its relation's first training
// template; or an edit set's records with their true (or new) answers.
std::vector<AttributionItem> attributionItems(const Args& a, std::string& dataPath,
                                              std::string& source) {
    std::vector<AttributionItem> items;
    if (a.has("edits")) {
        dataPath = a.required("edits");
        EditImportOptions io;
        if (a.has("from"))
            io.format = parseEditFormat(a.get("from"));
        const EditImportResult r = importEditsFile(dataPath, io);
        source = editFormatName(r.format);
        const std::string which = a.get("answer", "true");
        if (which != "true" && which != "new")
            throw Error("--answer takes true or new, got '" + which + "'");
        for (const auto& e : r.memory.edits()) {
            const std::string target = which == "new" ? e.answer : e.descriptor.trueAnswer;
            if (target.empty())
                throw Error(dataPath + ": edit " + e.id + " (\"" + e.prompt +
                            "\") has no true answer to attribute; use --answer new");
            items.push_back({e.prompt, target, e.descriptor.subject});
        }
        return items;
    }
    dataPath = a.get("facts", defaultFactsPath());
    source = "facts";
    const FactWorld w = FactWorld::load(dataPath);
    for (const auto& r : w.relations()) {
        const auto templates = w.templates(r.id, TemplateSplit::Train);
        if (templates.empty())
            continue;
        for (const auto& f : w.factsOf(r.id))
            items.push_back({FactWorld::prompt(templates[0], f.subject), f.object, f.subject});
    }
    return items;
}

std::string scoresFileName(std::size_t item) {
    char name[32];
    std::snprintf(name, sizeof name, "fact-%06zu.json", item);
    return name;
}

} // namespace

nlohmann::ordered_json attributeBatchReport(const std::vector<Record>& records,
                                            const nlohmann::ordered_json& fingerprint) {
    const auto& o = fingerprint.at("options");
    return {{"source", o.at("source")},
            {"out_dir", o.at("out_dir")},
            {"steps", o.at("steps")},
            {"method", o.at("method")},
            {"facts", records.size()},
            {"items", records},
            {"note", "one scores file per fact in out_dir (as `attribute` prints); top: the "
                     "five highest [layer, neuron, score]"}};
}

// The items are the facts (or edit records), in file order.
int cmdAttributeBatch(const Args& a) {
    a.allowBatch({"model", "device", "facts", "edits", "from", "answer", "out-dir", "steps",
                  "method", "no-special-tokens"});
    shardArgs(a, "attribute-batch"); // a bad --shard fails before any work
    const std::string modelDir = a.get("model", defaultModelDir());
    const std::string outDir = a.required("out-dir");
    AttributionOptions o;
    o.steps = static_cast<int>(a.integer("steps", 20));
    if (o.steps <= 0)
        throw Error("--steps must be positive, got " + a.get("steps"));
    const std::string method = a.get("method", "fast");
    if (method == "fast")
        o.method = AttributionMethod::Fast;
    else if (method == "reference")
        o.method = AttributionMethod::Reference;
    else
        throw Error("--method must be fast or reference, got '" + method + "'");
    const bool special = !a.flag("no-special-tokens");
    std::string dataPath, source;
    const auto items = attributionItems(a, dataPath, source);
    const BatchRun run = startBatch(a, "attribute-batch", items.size(), modelDir, {dataPath},
                                    {{"source", source},
                                     {"answer", a.get("answer", "true")},
                                     {"steps", o.steps},
                                     {"method", method},
                                     {"special_tokens", special},
                                     {"out_dir", outDir}});
    auto m = LanguageModel::load(modelDir, a.get("device", "auto"));
    std::error_code ec;
    std::filesystem::create_directories(outDir, ec);
    if (ec)
        throw Error("cannot create " + outDir + ": " + ec.message());
    std::vector<Record> records;
    for (std::size_t k = 0; k < run.mine.size(); ++k) {
        const std::size_t item = run.mine[k];
        const auto& it = items[item];
        std::cerr << static_cast<int>(100.0 * k / run.mine.size()) << "%  " << it.prompt << " -> "
                  << it.target << std::endl;
        const PreparedPrompt p = m->prepare(it.prompt, special);
        AttributionGrid g = attributeIds(*m, p.ids, encodeTarget(*m, it.target), o);
        nlohmann::ordered_json scores = nlohmann::ordered_json::array();
        std::vector<std::pair<float, int>> order;
        for (int l = 0; l < g.layers; ++l)
            scores.push_back(std::vector<float>(
                g.scores.begin() + static_cast<std::ptrdiff_t>(l) * g.neurons,
                g.scores.begin() + static_cast<std::ptrdiff_t>(l + 1) * g.neurons));
        for (std::size_t i = 0; i < g.scores.size(); ++i)
            order.push_back({g.scores[i], static_cast<int>(i)});
        const std::size_t top = std::min<std::size_t>(5, order.size());
        std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(top),
                          order.end(), [](const auto& x, const auto& y) {
                              return x.first > y.first ||
                                     (x.first == y.first && x.second < y.second);
                          });
        auto best = nlohmann::ordered_json::array();
        for (std::size_t i = 0; i < top; ++i)
            best.push_back(
                {order[i].second / g.neurons, order[i].second % g.neurons, order[i].first});
        const std::string file = scoresFileName(item);
        nlohmann::ordered_json j = {
            {"prompt", it.prompt},         {"target", it.target}, {"layers", g.layers},
            {"neurons", g.neurons},        {"tokens", p.tokens},  {"target_ids", g.targetIds},
            {"target_prob", g.targetProb}, {"steps", g.steps},    {"method", g.method},
            {"elapsed_ms", g.elapsedMs},   {"scores", scores}};
        writeFileAtomically(outDir + "/" + file, j.dump() + "\n");
        records.push_back({{"prompt", it.prompt},
                           {"subject", it.subject},
                           {"target", it.target},
                           {"file", file},
                           {"target_prob", g.targetProb},
                           {"top", best}});
    }
    return finishBatch(run, records, attributeBatchReport);
}

} // namespace scalpel::cli
