#include "Commands.h"

#include "Batch.h"

#include "EvalFacts.h"
#include "FactWorld.h"
#include "LanguageModel.h"
#include "Resources.h"
#include "Train.h"

namespace scalpel::cli {

int cmdTrainLm(const Args& a) {
    a.allow({"facts",
             "out",
             "seed",
             "steps",
             "batch",
             "lr",
             "layers",
             "hidden",
             "heads",
             "checkpoint-every",
             "facts-per-relation",
             "warmup",
             "no-resume",
             "label-smoothing",
             "ffn-drop",
             "word-dropout",
             "word-insertion",
             "unknown-subject",
             "objective",
             "mask-rate"});
    TrainLmOptions o;
    o.factsPath = a.get("facts", defaultFactsPath());
    o.outDir = a.required("out");
    o.seed = static_cast<uint64_t>(a.integer("seed", 1));
    o.steps = static_cast<int>(a.integer("steps", o.steps));
    o.batchSize = static_cast<int>(a.integer("batch", o.batchSize));
    o.learningRate = a.number("lr", o.learningRate);
    o.layers = static_cast<int>(a.integer("layers", o.layers));
    o.hidden = static_cast<int>(a.integer("hidden", o.hidden));
    o.heads = static_cast<int>(a.integer("heads", o.heads));
    o.warmupSteps = static_cast<int>(a.integer("warmup", o.warmupSteps));
    o.checkpointEvery = static_cast<int>(a.integer("checkpoint-every", o.checkpointEvery));
    o.factsPerRelation = static_cast<int>(a.integer("facts-per-relation", 0));
    o.resume = !a.flag("no-resume");
    const std::string objective = a.get("objective", "causal");
    if (objective != "causal" && objective != "mlm")
        throw Error("--objective must be causal (a GPT-2) or mlm (a BERT), not '" + objective +
                    "'");
    o.maskedLm = objective == "mlm";
    o.maskRate = a.number("mask-rate", o.maskRate);
    if (o.maskRate < 0 || o.maskRate > 1)
        throw Error("--mask-rate must be in [0, 1]");
    o.labelSmoothing = a.number("label-smoothing", o.labelSmoothing);
    if (o.labelSmoothing < 0 || o.labelSmoothing >= 1)
        throw Error("--label-smoothing must be in [0, 1)");
    o.ffnDrop = a.number("ffn-drop", o.ffnDrop);
    if (o.ffnDrop < 0 || o.ffnDrop >= 1)
        throw Error("--ffn-drop must be in [0, 1)");
    o.wordDropout = a.number("word-dropout", o.wordDropout);
    o.wordInsertion = a.number("word-insertion", o.wordInsertion);
    o.unknownSubject = a.number("unknown-subject", o.unknownSubject);
    if (o.batchSize <= 0 || o.layers <= 0 || o.hidden <= 0 || o.heads <= 0 ||
        o.hidden % o.heads != 0)
        throw Error(
            "--batch, --layers, --hidden and --heads must be positive, hidden a multiple of heads");
    o.progress = [](const TrainProgress& p) {
        std::cerr << "step " << p.step << "/" << p.steps << "  loss " << p.loss << "  lr "
                  << p.learningRate << "  " << static_cast<int>(p.elapsedSeconds) << " s"
                  << std::endl;
        return true;
    };
    const TrainResult r = trainLanguageModel(o);
    printJson({{"out", o.outDir},
               {"steps", r.steps},
               {"resumed_from", r.resumedFrom},
               {"sentences", r.sentences},
               {"parameters", r.parameters},
               {"first_loss", r.firstLoss},
               {"final_loss", r.finalLoss},
               {"seconds", r.seconds}});
    return 0;
}

nlohmann::ordered_json evalFactsReport(const std::vector<Record>& records,
                                       const nlohmann::ordered_json& fingerprint) {
    std::vector<RelationScore> scores, parts;
    auto score = [](const nlohmann::ordered_json& r, const char* name) {
        RelationScore s;
        s.relation = r.at(name).get<std::string>();
        s.prompts = static_cast<int>(recordNumber(r, "prompts"));
        s.correct = static_cast<int>(recordNumber(r, "correct"));
        s.probSum = recordNumber(r, "prob_sum");
        return s;
    };
    for (const auto& r : records) {
        scores.push_back(score(r, "relation"));
        if (r.contains("parts"))
            for (const auto& p : r.at("parts"))
                parts.push_back(score(p, "part"));
    }
    const FactEval e = summarizeFacts(std::move(scores), std::move(parts));
    auto row = [](const RelationScore& r) {
        return nlohmann::ordered_json{
            {"prompts", r.prompts}, {"top1", r.accuracy()}, {"mean_prob", r.meanProb}};
    };
    nlohmann::ordered_json rel = nlohmann::ordered_json::object();
    for (const auto& r : e.relations)
        rel[r.relation] = row(r);
    nlohmann::ordered_json out = {{"split", fingerprint.at("options").at("split")}};
    const auto& options = fingerprint.at("options");
    if (options.contains("style"))
        out["style"] = options.at("style");
    out["relations"] = rel;
    out["overall"] = row(e.overall);
    if (!e.parts.empty()) {
        nlohmann::ordered_json parts = nlohmann::ordered_json::object();
        for (const auto& p : e.parts)
            parts[p.relation] = row(p);
        out["parts"] = parts;
    }
    return out;
}

// The items are the fact world's relations, each scored on its own.
int cmdEvalFacts(const Args& a) {
    a.allowBatch({"model", "device", "facts", "split", "style"});
    const std::string modelDir = a.get("model", defaultModelDir());
    const std::string factsPath = a.get("facts", defaultFactsPath());
    const std::string s = a.get("split", "heldout");
    const auto split = templateSplitFromName(s);
    if (!split)
        throw Error("--split must be train, heldout, novel, grammar, questions, heldout-frames or "
                    "heldout-nouns, not '" +
                    s + "'");
    const std::string styleName = a.get("style", "cased");
    const auto style = promptStyleFromName(styleName);
    if (!style)
        throw Error("--style must be cased, lowercase, unknown-word or official, not '" +
                    styleName + "'");
    const FactWorld w = FactWorld::load(factsPath);
    if (isGrammarSplit(*split) && !w.hasGrammar())
        throw Error(factsPath + ": --split " + s +
                    " needs a grammar, and the facts file names none");
    nlohmann::ordered_json options = {{"split", s}};
    if (*style != PromptStyle::Cased)
        options["style"] = styleName; // so partials of another style do not merge
    const BatchRun run = startBatch(a, "eval-facts", w.relations().size(), modelDir,
                                    FactWorld::files(factsPath), options);
    auto m = LanguageModel::load(modelDir, a.get("device", "auto"));
    std::vector<Record> records;
    if (!run.mine.empty()) {
        const FactEval e = evaluateFacts(*m, w, *split, {}, run.mine, *style);
        for (const auto& r : e.relations) {
            Record rec = {{"relation", r.relation},
                          {"prompts", r.prompts},
                          {"correct", r.correct},
                          {"prob_sum", r.probSum}};
            nlohmann::ordered_json parts = nlohmann::ordered_json::array();
            for (const auto& p : e.parts)
                if (p.relation.rfind(r.relation + ": ", 0) == 0)
                    parts.push_back({{"part", p.relation},
                                     {"prompts", p.prompts},
                                     {"correct", p.correct},
                                     {"prob_sum", p.probSum}});
            if (!parts.empty())
                rec["parts"] = parts;
            records.push_back(rec);
        }
    }
    return finishBatch(run, records, evalFactsReport);
}

} // namespace scalpel::cli
