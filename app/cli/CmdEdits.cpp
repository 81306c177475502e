// Curating edit sets: convert-edits (the field's data sets in and out),
// export-facts (the fact world as an edit set), check-edits (conflict and
// overlap checks) and eval-edits --edits FILE (EasyEdit's and CounterFact's
// metrics; cmdEvalEditMetrics, called by eval-edits when --edits is given).
#include "Commands.h"

#include "AtomicFile.h"
#include "Attribution.h"
#include "EditChecks.h"
#include "EditDatasets.h"
#include "EditMetrics.h"
#include "FactWorld.h"
#include "FactWorldEdits.h"
#include "LanguageModel.h"
#include "Resources.h"
#include "SeracEditor.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

namespace scalpel::cli {

namespace {

std::string defaultSeracDir() {
    return resourceDir() + "/models/serac";
}

// --in/--edits FILE with --from FORMAT (detected when not given).
EditImportResult importArg(const Args& a, const std::string& option,
                           const std::shared_ptr<LanguageModel>& model = nullptr) {
    EditImportOptions o;
    if (a.has("from"))
        o.format = parseEditFormat(a.get("from"));
    o.skipBadRecords = a.has("skip-bad");
    if (model)
        o.tokenizesToSomething = [model](const std::string& target) {
            return !model->tokenizer().encode(" " + target).empty();
        };
    return importEditsFile(a.required(option), o);
}

nlohmann::ordered_json importJson(const EditImportResult& r) {
    nlohmann::ordered_json skipped = nlohmann::ordered_json::array();
    for (const auto& s : r.skipped)
        skipped.push_back({{"record", s.index}, {"field", s.field}, {"message", s.message}});
    return {{"format", editFormatName(r.format)},
            {"detected", r.detected},
            {"records", r.records},
            {"edits", r.memory.size()},
            {"skipped", skipped}};
}

std::optional<double> opt(const std::optional<bool>& b) {
    if (!b)
        return std::nullopt;
    return *b ? 1.0 : 0.0;
}

nlohmann::ordered_json value(const std::optional<double>& v) {
    return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

std::string cell(const std::optional<double>& v) {
    if (!v)
        return "     -";
    char buf[16];
    std::snprintf(buf, sizeof buf, "%6.3f", *v);
    return buf;
}

} // namespace

int cmdConvertEdits(const Args& a) {
    a.allow({"in", "from", "to", "out", "skip-bad", "model"});
    const EditFormat to = parseEditFormat(a.required("to"));
    const std::string out = a.required("out");
    std::shared_ptr<LanguageModel> model;
    if (a.has("model"))
        model = LanguageModel::load(a.get("model"), "cpu");
    const EditImportResult in = importArg(a, "in", model);
    std::cerr << "input format: " << editFormatName(in.format)
              << (in.detected ? " (detected)" : " (given)") << std::endl;
    const EditExportResult ex = exportEdits(in.memory, to);
    writeFileAtomically(out, ex.text);
    nlohmann::ordered_json dropped = nlohmann::ordered_json::object();
    for (const auto& [k, v] : ex.dropped)
        dropped[k] = v;
    printJson({{"in", a.get("in")},
               {"input", importJson(in)},
               {"out", out},
               {"to", editFormatName(to)},
               {"written_records", ex.records},
               {"dropped_total", ex.droppedTotal()},
               {"dropped", dropped}});
    return 0;
}

int cmdExportFacts(const Args& a) {
    a.allow({"facts", "format", "out", "count", "seed", "paraphrases", "neighbours"});
    const std::string factsPath = a.get("facts", defaultFactsPath());
    const FactWorld world = FactWorld::load(factsPath);
    FactWorldEditOptions o;
    o.count = static_cast<int>(a.integer("count", -1));
    o.seed = static_cast<uint64_t>(a.integer("seed", 1));
    o.paraphrases = static_cast<int>(a.integer("paraphrases", o.paraphrases));
    o.neighbours = static_cast<int>(a.integer("neighbours", o.neighbours));
    o.sourceFile = factsPath.substr(factsPath.find_last_of('/') + 1);
    if (o.paraphrases < 0 || o.neighbours < 0)
        throw Error("--paraphrases and --neighbours must not be negative");
    const EditMemory memory = factWorldEdits(world, o);
    const EditFormat format = parseEditFormat(a.get("format", "counterfact"));
    const EditExportResult ex = exportEdits(memory, format);
    writeFileAtomically(a.required("out"), ex.text);
    nlohmann::ordered_json dropped = nlohmann::ordered_json::object();
    for (const auto& [k, v] : ex.dropped)
        dropped[k] = v;
    printJson({{"out", a.get("out")},
               {"format", editFormatName(format)},
               {"edits", memory.size()},
               {"written_records", ex.records},
               {"dropped_total", ex.droppedTotal()},
               {"dropped", dropped}});
    return 0;
}

int cmdCheckEdits(const Args& a) {
    a.allow({"edits", "from", "model", "serac", "device", "threshold", "scope-top-k", "facts",
             "no-scope", "skip-bad", "candidate-floor"});
    auto model = LanguageModel::load(a.get("model", defaultModelDir()), a.get("device", "cpu"));
    const EditImportResult in = importArg(a, "edits");
    std::optional<FactWorld> world;
    if (a.has("facts") || !a.has("model"))
        world = FactWorld::load(a.get("facts", defaultFactsPath()));
    std::unique_ptr<SeracEditor> editor;
    EditCheckOptions o;
    o.model = model.get();
    o.world = world ? &*world : nullptr;
    o.topK = static_cast<int>(a.integer("scope-top-k", o.topK));
    o.candidateFloor = a.number("candidate-floor", o.candidateFloor);
    if (o.topK <= 0 || o.candidateFloor < 0 || o.candidateFloor > 1)
        throw Error("--scope-top-k must be positive and --candidate-floor in [0, 1]");
    if (!a.has("no-scope")) {
        editor =
            SeracEditor::load(a.get("serac", defaultSeracDir()), model, a.get("device", "cpu"));
        if (a.has("threshold"))
            editor->setThreshold(a.number("threshold", 0.5));
        editor->sync(in.memory);
        o.editor = editor.get();
    }
    const EditCheckReport r = checkEdits(in.memory, o);
    nlohmann::ordered_json problems = nlohmann::ordered_json::array();
    for (const auto& p : r.problems) {
        nlohmann::ordered_json j = {{"kind", p.kind}, {"edit", p.editId}, {"index", p.editIndex}};
        if (!p.otherId.empty()) {
            j["other"] = p.otherId;
            j["other_index"] = p.otherIndex;
        }
        if (p.kind == "scope-capture") {
            j["text"] = p.text;
            j["prob"] = p.prob;
        }
        j["reason"] = p.reason;
        problems.push_back(j);
    }
    nlohmann::ordered_json counts = nlohmann::ordered_json::object();
    for (const char* k : {"duplicate", "conflict", "scope-capture", "unknown-answer"})
        counts[k] = r.counts.count(k) ? r.counts.at(k) : 0;
    printJson({{"edits", a.get("edits")},
               {"input", importJson(in)},
               {"checked_edits", r.edits},
               {"scope_inputs", r.inputs},
               {"threshold", editor ? nlohmann::ordered_json(editor->threshold())
                                    : nlohmann::ordered_json(nullptr)},
               {"scope_top_k", o.topK},
               {"candidate_floor", o.candidateFloor},
               {"counts", counts},
               {"seconds", r.seconds},
               {"scope_seconds", r.scopeSeconds},
               {"problems", problems}});
    return 0;
}

nlohmann::ordered_json evalEditMetricsReport(const std::vector<Record>& records,
                                             const nlohmann::ordered_json& fingerprint) {
    const auto& o = fingerprint.at("options");
    return {{"edits", o.at("edits")},
            {"input", o.at("input")},
            {"metrics", "EasyEdit (reliability, generalization, locality, portability: "
                        "teacher-forced token accuracy); CounterFact (rewrite, paraphrase, "
                        "neighborhood success: P(new) > P(true))"},
            {"runs", records}};
}

// The items are the (method, mode) runs, in the order given: each is one
// evaluation of the whole edit set (batch and sequential modes apply every
// edit, so the edits themselves are not split).
int cmdEvalEditMetrics(const Args& a) {
    a.allowBatch({"model", "device", "edits", "from", "serac", "method", "mode", "threshold",
                  "limit", "steps", "table", "skip-bad"});
    // Its partials are told apart from the fact-world form's by the name.
    const ShardArgs shard = shardArgs(a, "eval-edits-metrics");
    if (shard.sharded && a.has("table"))
        throw Error("--table prints the whole run: leave it out with --shard, merge prints JSON");
    const std::string modelDir = a.get("model", defaultModelDir());
    auto model = LanguageModel::load(modelDir, a.get("device", "cpu"));
    const EditImportResult in = importArg(a, "edits");
    std::vector<EditMethod> methods = {EditMethod::Serac};
    if (a.has("method")) {
        methods.clear();
        for (const auto& m : a.all("method"))
            methods.push_back(parseEditMethod(m));
    }
    std::vector<EditEvalMode> modes = {EditEvalMode::Batch, EditEvalMode::Sequential};
    if (a.has("mode")) {
        modes.clear();
        for (const auto& m : a.all("mode"))
            modes.push_back(parseEditEvalMode(m));
    }
    std::vector<std::pair<EditMethod, EditEvalMode>> items;
    auto names = nlohmann::ordered_json::array();
    for (EditMethod method : methods)
        for (EditEvalMode mode : modes) {
            items.push_back({method, mode});
            names.push_back(editMethodName(method) + "/" + editEvalModeName(mode));
        }
    EditMetricsOptions base;
    base.seracDir = a.get("serac", defaultSeracDir());
    base.threshold = a.number("threshold", -1);
    base.limit = static_cast<int>(a.integer("limit", -1));
    base.knSteps = static_cast<int>(a.integer("steps", base.knSteps));
    std::vector<std::string> data = {a.get("edits")};
    std::error_code ec;
    if (shard.sharded && std::filesystem::exists(base.seracDir, ec))
        data.push_back(base.seracDir);
    const BatchRun run = startBatch(a, "eval-edits-metrics", items.size(), modelDir, data,
                                    {{"edits", a.get("edits")},
                                     {"input", importJson(in)},
                                     {"runs", names},
                                     {"threshold", base.threshold},
                                     {"limit", base.limit},
                                     {"steps", base.knSteps}});
    std::vector<Record> runs;
    std::vector<EditMetricsResult> results;
    for (std::size_t item : run.mine) {
        const auto [method, mode] = items[item];
        EditMetricsOptions o = base;
        o.method = method;
        o.mode = mode;
        std::cerr << editMethodName(method) << " " << editEvalModeName(mode) << "..." << std::endl;
        const EditMetricsResult r = evaluateEditMetrics(model, in.memory, o);
        nlohmann::ordered_json recs = nlohmann::ordered_json::array();
        for (const auto& rec : r.records) {
            nlohmann::ordered_json j = {{"edit", rec.editId},
                                        {"prompt", rec.prompt},
                                        {"reliability", rec.reliability},
                                        {"generalization", value(rec.generalization)},
                                        {"locality", value(rec.locality)},
                                        {"portability", value(rec.portability)},
                                        {"rewrite_success", value(opt(rec.rewriteSuccess))},
                                        {"paraphrase_success", value(rec.paraphraseSuccess)},
                                        {"neighborhood_success", value(rec.neighborhoodSuccess)}};
            if (!rec.note.empty())
                j["note"] = rec.note;
            recs.push_back(j);
        }
        const auto& t = r.totals;
        runs.push_back({{"method", r.method},
                        {"mode", r.mode},
                        {"records", t.records},
                        {"not_applied", t.notApplied},
                        {"seconds", r.seconds},
                        {"total",
                         {{"reliability", t.reliability},
                          {"generalization", value(t.generalization)},
                          {"locality", value(t.locality)},
                          {"portability", value(t.portability)},
                          {"rewrite_success", value(t.rewriteSuccess)},
                          {"paraphrase_success", value(t.paraphraseSuccess)},
                          {"neighborhood_success", value(t.neighborhoodSuccess)}}},
                        {"per_record", recs}});
        results.push_back(r);
    }
    if (a.has("table")) {
        std::printf("%-17s %-10s %7s %6s %6s %6s %6s %6s %6s %6s %8s\n", "method", "mode",
                    "records", "rel", "gen", "loc", "port", "rw_s", "para_s", "neigh_s", "seconds");
        for (const auto& r : results) {
            const auto& t = r.totals;
            std::printf("%-17s %-10s %7d %6.3f %s %s %s %s %s %s %8.1f\n", r.method.c_str(),
                        r.mode.c_str(), t.records, t.reliability, cell(t.generalization).c_str(),
                        cell(t.locality).c_str(), cell(t.portability).c_str(),
                        cell(t.rewriteSuccess).c_str(), cell(t.paraphraseSuccess).c_str(),
                        cell(t.neighborhoodSuccess).c_str(), r.seconds);
        }
        return 0;
    }
    return finishBatch(run, runs, evalEditMetricsReport);
}

} // namespace scalpel::cli
