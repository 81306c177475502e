// The SERAC commands: train-serac (and its --calibrate-only mode), scope,
// eval-edits, and predict with an edit memory (cmdPredictWithEdits, called
// by predict when --edits is given).
#include "Commands.h"

#include "EditMemory.h"
#include "FactWorld.h"
#include "LanguageModel.h"
#include "Resources.h"
#include "SeracEditor.h"
#include "SeracEval.h"
#include "SeracTrain.h"

#include <cstdio>
#include <filesystem>
#include <iostream>

namespace scalpel::cli {

namespace {

std::string defaultSeracDir() {
    return resourceDir() + "/models/serac";
}

std::unique_ptr<SeracEditor> loadEditor(const Args& a, std::shared_ptr<LanguageModel> base) {
    auto editor = SeracEditor::load(a.get("serac", defaultSeracDir()), std::move(base),
                                    a.get("device", "cpu"));
    if (!editor->warning().empty())
        std::cerr << "warning: " << editor->warning() << std::endl;
    if (a.has("backend")) {
        const std::string b = a.get("backend");
        if (b == "trained")
            editor->setBackend(CounterfactualBackend::Trained);
        else if (b == "in-context")
            editor->setBackend(CounterfactualBackend::InContext);
        else
            throw Error("--backend takes trained or in-context, got '" + b + "'");
    }
    if (a.has("threshold"))
        editor->setThreshold(a.number("threshold", 0.5));
    if (a.has("scope-top-k"))
        editor->setTopK(static_cast<int>(a.integer("scope-top-k", 8)));
    return editor;
}

// Many edits to embed (a first run, a refused cache) take a while: say how
// far on stderr, every 10,000 edits and at the end.
SeracEditor::SyncProgress embeddingProgress() {
    return [](std::size_t done, std::size_t total) {
        if (total >= 10000 && (done % 10000 < 256 || done == total))
            std::cerr << "embedding edits for the scope classifier: " << done << " of " << total
                      << std::endl;
    };
}

// Syncs the editor to the memory read from `editsPath`, taking embeddings
// from the cache beside that file and writing the cache afresh when any had
// to be computed. --no-embedding-cache skips both; --scope-index picks the
// embedding stage's search.
void syncWithCache(SeracEditor& editor, const EditMemory& memory, const std::string& editsPath,
                   const Args& a) {
    const std::string index = a.get("scope-index", "auto");
    if (index == "on")
        editor.setScopeIndex(ScopeIndexMode::On);
    else if (index == "off")
        editor.setScopeIndex(ScopeIndexMode::Off);
    else if (index != "auto")
        throw Error("--scope-index takes auto, on or off, got '" + index + "'");
    if (a.flag("no-embedding-cache")) {
        editor.sync(memory, embeddingProgress());
        return;
    }
    const std::string cache = SeracEditor::embeddingCachePath(editsPath);
    const EmbeddingCacheStatus st = editor.useEmbeddingCache(cache);
    if (!st.refused.empty() && std::filesystem::exists(cache))
        std::cerr << "note: " << st.refused << "; it is rebuilt" << std::endl;
    editor.sync(memory, embeddingProgress());
    if (editor.embeddingCacheHits() < editor.editCount()) {
        try {
            editor.saveEmbeddingCache(cache);
        } catch (const Error& e) {
            std::cerr << "warning: the embedding cache was not saved: " << e.what() << std::endl;
        }
    }
}

nlohmann::ordered_json scopeJson(const std::vector<ScopeScore>& scores) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& s : scores)
        list.push_back({{"edit", s.editId}, {"prob", s.prob}, {"stage", s.stage}});
    return list;
}

} // namespace

int cmdPredictWithEdits(const Args& a) {
    a.allow({"model", "device", "prompt", "top-k", "edits", "serac", "backend", "threshold",
             "scope-top-k", "scope-index", "no-embedding-cache"});
    auto base = LanguageModel::load(a.get("model", defaultModelDir()), a.get("device", "cpu"));
    const EditMemory memory = EditMemory::loadFile(a.required("edits"));
    auto editor = loadEditor(a, base);
    syncWithCache(*editor, memory, a.required("edits"), a);
    const int k = static_cast<int>(a.integer("top-k", 10));
    if (k <= 0)
        throw Error("--top-k must be positive");
    const RoutedPrediction p = editor->predict(a.required("prompt"), k);
    nlohmann::ordered_json j;
    j["routed_to"] = p.routedTo;
    j["routed_prob"] = p.routedProb;
    j["threshold"] = editor->threshold();
    j["backend"] = editor->backend() == CounterfactualBackend::Trained ? "trained" : "in-context";
    j["scope"] = scopeJson(p.scope);
    nlohmann::ordered_json top = nlohmann::ordered_json::array();
    for (const auto& t : p.top)
        top.push_back({{"token", t.token}, {"id", t.id}, {"prob", t.prob}});
    j["top"] = top;
    printJson(j);
    return 0;
}

int cmdScope(const Args& a) {
    a.allow({"model", "device", "prompt", "edits", "serac", "scope-top-k", "scope-index",
             "no-embedding-cache"});
    auto base = LanguageModel::load(a.get("model", defaultModelDir()), a.get("device", "cpu"));
    const EditMemory memory = EditMemory::loadFile(a.required("edits"));
    auto editor = loadEditor(a, base);
    syncWithCache(*editor, memory, a.required("edits"), a);
    nlohmann::ordered_json j;
    j["prompt"] = a.required("prompt");
    j["threshold"] = editor->threshold();
    j["scope"] = scopeJson(editor->scope(a.required("prompt"), editor->topK()));
    printJson(j);
    return 0;
}

namespace {

// train-serac --calibrate-only [--serac DIR] [--facts F] [--edits-in-memory 1000] [--seed S]
// [--max-inputs 1000] [--dry-run]: recalibrates the routing threshold of
// trained weights at the memory level (training templates only) and
// rewrites serac.json's threshold atomically; the networks are untouched.
int cmdCalibrateSerac(const Args& a) {
    a.allow({"calibrate-only", "serac", "out", "facts", "edits-in-memory", "seed", "max-inputs",
             "dry-run"});
    SeracCalibrationOptions o;
    o.seracDir = a.get("serac", a.get("out", defaultSeracDir()));
    o.factsPath = a.get("facts", defaultFactsPath());
    o.editsInMemory = static_cast<int>(a.integer("edits-in-memory", o.editsInMemory));
    o.seed = static_cast<uint64_t>(a.integer("seed", 1));
    o.maxInputs = static_cast<int>(a.integer("max-inputs", o.maxInputs));
    o.write = !a.has("dry-run");
    const SeracCalibrationResult r = calibrateSerac(o);
    nlohmann::ordered_json curve = nlohmann::ordered_json::array();
    for (const auto& p : r.curve)
        curve.push_back({p.threshold, p.objective, p.esRoute, p.ddRoute});
    printJson({{"serac", o.seracDir},
               {"written", o.write},
               {"threshold", r.threshold},
               {"objective", "minimise max((1 - ES_route) / 0.05, DD_route / 0.02)"},
               {"objective_value", r.objective},
               {"edits_in_memory", o.editsInMemory},
               {"es_route", r.esRoute},
               {"dd_route", r.ddRoute},
               {"dd_route_hard", r.ddHard},
               {"dd_route_random", r.ddRandom},
               {"in_scope_inputs", r.inScope},
               {"hard_inputs", r.hard},
               {"random_inputs", r.random},
               {"seconds", r.seconds},
               {"curve [threshold, objective, es_route, dd_route]", curve}});
    return 0;
}

} // namespace

int cmdTrainSerac(const Args& a) {
    if (a.has("calibrate-only"))
        return cmdCalibrateSerac(a);
    a.allow({"facts", "base", "out", "seed", "steps", "embedding-steps", "counterfactual-steps",
             "batch", "lr", "layers", "hidden", "heads", "mined-share", "calibration-edits"});
    SeracTrainOptions o;
    o.factsPath = a.get("facts", defaultFactsPath());
    o.baseDir = a.get("base", "");
    o.outDir = a.required("out");
    o.seed = static_cast<uint64_t>(a.integer("seed", 1));
    o.classifierSteps = static_cast<int>(a.integer("steps", o.classifierSteps));
    o.embeddingSteps = static_cast<int>(
        a.integer("embedding-steps", a.has("steps") ? o.classifierSteps / 2 : o.embeddingSteps));
    o.counterfactualSteps = static_cast<int>(a.integer(
        "counterfactual-steps", a.has("steps") ? o.classifierSteps / 4 : o.counterfactualSteps));
    o.batchSize = static_cast<int>(a.integer("batch", o.batchSize));
    o.learningRate = a.number("lr", o.learningRate);
    o.layers = static_cast<int>(a.integer("layers", o.layers));
    o.hidden = static_cast<int>(a.integer("hidden", o.hidden));
    o.heads = static_cast<int>(a.integer("heads", o.heads));
    o.minedShare = a.number("mined-share", o.minedShare);
    o.calibrationEdits = static_cast<int>(a.integer("calibration-edits", o.calibrationEdits));
    if (o.batchSize <= 0 || o.layers <= 0 || o.hidden <= 0 || o.heads <= 0 ||
        o.hidden % o.heads != 0)
        throw Error("--batch, --layers, --hidden and --heads must be positive, and --hidden a "
                    "multiple of --heads");
    o.progress = [](const std::string& stage, const TrainProgress& p) {
        std::fprintf(stderr, "%-14s step %d/%d  loss %.4f  lr %.2e  %.0f s\n", stage.c_str(),
                     p.step, p.steps, p.loss, p.learningRate, p.elapsedSeconds);
        return true;
    };
    const SeracTrainResult r = trainSerac(o);
    printJson({{"out", o.outDir},
               {"seconds", r.seconds},
               {"embedding_loss", r.embeddingLoss},
               {"classifier_loss", r.classifierLoss},
               {"counterfactual_loss", r.counterfactualLoss},
               {"threshold", r.threshold},
               {"weights_bytes", r.bytes}});
    return 0;
}

nlohmann::ordered_json evalEditsReport(const std::vector<Record>& records,
                                       const nlohmann::ordered_json& /*fingerprint*/) {
    return {{"results", records}};
}

// The items are the (backend, edits in memory) rows, in the order printed.
int cmdEvalEdits(const Args& a) {
    if (a.has("edits"))
        return cmdEvalEditMetrics(a);
    a.allowBatch({"model", "device", "facts", "serac", "edits-in-memory", "seed", "backend",
                  "threshold", "scope-top-k", "max-inputs", "phrasing", "scope-index"});
    shardArgs(a, "eval-edits"); // a bad --shard fails before any work
    const std::string modelDir = a.get("model", defaultModelDir());
    const std::string factsPath = a.get("facts", defaultFactsPath());
    auto base = LanguageModel::load(modelDir, a.get("device", "cpu"));
    const FactWorld world = FactWorld::load(factsPath);
    std::vector<int> sizes = {1, 10, 100, 1000};
    if (a.has("edits-in-memory"))
        sizes = {static_cast<int>(a.integer("edits-in-memory", 1000))};
    std::vector<std::string> backends = {"trained", "in-context"};
    if (a.has("backend"))
        backends = {a.get("backend")};
    for (const auto& b : backends)
        if (b != "trained" && b != "in-context")
            throw Error("--backend takes trained or in-context, got '" + b + "'");
    std::vector<std::pair<std::string, int>> items;
    auto names = nlohmann::ordered_json::array();
    for (const auto& b : backends)
        for (int n : sizes) {
            items.push_back({b, n});
            names.push_back(b + "/" + std::to_string(n));
        }
    const uint64_t seed = static_cast<uint64_t>(a.integer("seed", 1));
    const int maxInputs = static_cast<int>(a.integer("max-inputs", SeracEvalOptions().maxInputs));
    const std::string phrasing = a.get("phrasing", "templates");
    if (phrasing != "templates" && phrasing != "grammar")
        throw Error("--phrasing takes templates or grammar, got '" + phrasing + "'");
    nlohmann::ordered_json options = {{"rows", names},
                                      {"seed", seed},
                                      {"max_inputs", maxInputs},
                                      {"threshold", a.get("threshold")},
                                      {"scope_top_k", a.get("scope-top-k")}};
    if (phrasing != "templates")
        options["phrasing"] = phrasing;
    // on: the approximate index is forced on and each row is also run with
    // the exact scan, reporting both figures and how many inputs were routed
    // differently (only where the index misses an edit the scan finds).
    const std::string scopeIndex = a.get("scope-index", "auto");
    if (scopeIndex != "auto" && scopeIndex != "on" && scopeIndex != "off")
        throw Error("--scope-index takes auto, on or off, got '" + scopeIndex + "'");
    if (scopeIndex != "auto")
        options["scope_index"] = scopeIndex;
    const BatchRun run = startBatch(a, "eval-edits", items.size(), modelDir,
                                    {factsPath, a.get("serac", defaultSeracDir())}, options);
    std::vector<Record> rows;
    for (std::size_t item : run.mine) {
        const auto& [b, n] = items[item];
        auto editor = loadEditor(a, base);
        editor->setBackend(b == "trained" ? CounterfactualBackend::Trained
                                          : CounterfactualBackend::InContext);
        if (scopeIndex != "auto")
            editor->setScopeIndex(scopeIndex == "on" ? ScopeIndexMode::On : ScopeIndexMode::Off);
        SeracEvalOptions o;
        o.editsInMemory = n;
        o.seed = seed;
        o.maxInputs = maxInputs;
        o.grammar = phrasing == "grammar";
        const SeracEvalResult r = evaluateSerac(*editor, world, o);
        std::cerr << b << " N=" << n << " ES " << r.editSuccess << " DD " << r.drawdown << " AUROC "
                  << r.auroc << std::endl;
        Record extra;
        if (scopeIndex == "on") {
            auto exact = loadEditor(a, base);
            exact->setBackend(editor->backend());
            exact->setScopeIndex(ScopeIndexMode::Off);
            const SeracEvalResult x = evaluateSerac(*exact, world, o);
            int differ = 0;
            for (std::size_t i = 0; i < r.routes.size() && i < x.routes.size(); ++i)
                differ += r.routes[i] != x.routes[i];
            std::cerr << "  exact scan: ES " << x.editSuccess << " DD " << x.drawdown << ", "
                      << differ << " of " << r.routes.size() << " inputs routed differently"
                      << std::endl;
            extra = {{"exact_scan",
                      {{"es", x.editSuccess},
                       {"dd", x.drawdown},
                       {"auroc", x.auroc},
                       {"ms_per_query", x.msPerQuery}}},
                     {"inputs_routed_differently", differ}};
        }
        rows.push_back({{"edits_in_memory", n},
                        {"backend", r.backend},
                        {"es", r.editSuccess},
                        {"routed_to_edit", r.routedToEdit},
                        {"dd", r.drawdown},
                        {"dd_hard", r.drawdownHard},
                        {"dd_random", r.drawdownRandom},
                        {"auroc", r.auroc},
                        {"ms_per_query", r.msPerQuery},
                        {"in_scope_inputs", r.inScope},
                        {"hard_inputs", r.hard},
                        {"random_inputs", r.random},
                        {"threshold", editor->threshold()}});
        if (scopeIndex != "auto")
            rows.back()["scope_index"] = scopeIndex;
        for (const auto& [key, value] : extra.items())
            rows.back()[key] = value;
    }
    return finishBatch(run, rows, evalEditsReport);
}

} // namespace scalpel::cli
