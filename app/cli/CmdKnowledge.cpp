#include "Commands.h"

#include "Batch.h"

#include "Attribution.h"
#include "EvalFacts.h"
#include "FactWorld.h"
#include "Intervention.h"
#include "KnEval.h"
#include "LanguageModel.h"
#include "Resources.h"

#include <fstream>
#include <map>

namespace scalpel::cli {

namespace {

std::shared_ptr<LanguageModel> loadModel(const Args& a) {
    return LanguageModel::load(a.get("model", defaultModelDir()), a.get("device", "auto"));
}

AttributionMethod parseMethod(const std::string& s) {
    if (s == "fast")
        return AttributionMethod::Fast;
    if (s == "reference")
        return AttributionMethod::Reference;
    throw Error("--method must be fast or reference, got '" + s + "'");
}

// "SUBJECT:RELATION" -> the fact and its training paraphrases.
std::pair<Fact, std::vector<std::string>> factPrompts(const Args& a, const FactWorld& w) {
    const std::string spec = a.required("fact");
    const auto colon = spec.rfind(':');
    if (colon == std::string::npos)
        throw Error("--fact takes SUBJECT:RELATION, got '" + spec + "'");
    const std::string subject = spec.substr(0, colon), relation = spec.substr(colon + 1);
    const auto f = w.find(subject, relation);
    if (!f)
        throw Error("no fact '" + relation + "' about '" + subject + "' in the fact world");
    return {*f, w.paraphrases(subject, relation, TemplateSplit::Train)};
}

// --target-id N (a token id) or --target TEXT, as token ids.
std::vector<int> targetIds(const Args& a, const LanguageModel& m) {
    if (a.has("target-id")) {
        const long long id = a.integer("target-id", -1);
        if (id < 0 || id >= m.config().vocabSize)
            throw Error("--target-id " + std::to_string(id) + " is outside the vocabulary (0-" +
                        std::to_string(m.config().vocabSize - 1) + ")");
        return {static_cast<int>(id)};
    }
    return encodeTarget(m, a.required("target"));
}

nlohmann::ordered_json neuronsJson(const std::vector<KnowledgeNeuron>& ns) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& n : ns)
        out.push_back({{"layer", n.layer},
                       {"neuron", n.neuron},
                       {"prompts", n.prompts},
                       {"mean_score", n.meanScore}});
    return out;
}

std::vector<std::string> readPrompts(const std::string& path) {
    std::ifstream in(path);
    if (!in)
        throw Error("cannot open " + path);
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line))
        if (line.find_first_not_of(" \t\r") != std::string::npos)
            out.push_back(line);
    if (out.empty())
        throw Error(path + " has no prompts");
    return out;
}

} // namespace

int cmdAttribute(const Args& a) {
    a.allow({"model", "device", "prompt", "target", "target-id", "steps", "method",
             "no-special-tokens"});
    auto m = loadModel(a);
    AttributionOptions o;
    o.steps = static_cast<int>(a.integer("steps", 20));
    o.method = parseMethod(a.get("method", "fast"));
    // The ids `tokenize` prints for the prompt, special tokens included.
    const PreparedPrompt p = m->prepare(a.required("prompt"), !a.flag("no-special-tokens"));
    AttributionGrid g = attributeIds(*m, p.ids, targetIds(a, *m), o);
    g.promptTokens = p.tokens;
    nlohmann::ordered_json scores = nlohmann::ordered_json::array();
    for (int l = 0; l < g.layers; ++l)
        scores.push_back(
            std::vector<float>(g.scores.begin() + static_cast<std::ptrdiff_t>(l) * g.neurons,
                               g.scores.begin() + static_cast<std::ptrdiff_t>(l + 1) * g.neurons));
    nlohmann::ordered_json j;
    j["layers"] = g.layers;
    j["neurons"] = g.neurons;
    j["tokens"] = g.promptTokens;
    j["target_ids"] = g.targetIds;
    j["target_prob"] = g.targetProb;
    j["steps"] = g.steps;
    j["method"] = g.method;
    j["elapsed_ms"] = g.elapsedMs;
    j["scores"] = scores;
    std::cout << j.dump() << std::endl;
    return 0;
}

int cmdKnowledgeNeurons(const Args& a) {
    a.allow({"model", "device", "facts", "fact", "prompts-file", "target", "target-id", "threshold",
             "share", "steps", "method"});
    auto m = loadModel(a);
    std::vector<std::string> prompts;
    std::string target;
    if (a.has("fact")) {
        const FactWorld w = worldAskedBy(FactWorld::load(a.get("facts", defaultFactsPath())), *m);
        auto [fact, ps] = factPrompts(a, w);
        prompts = ps;
        target = a.get("target", fact.object);
    } else if (a.has("prompts-file")) {
        prompts = readPrompts(a.required("prompts-file"));
        if (!a.has("target-id"))
            target = a.required("target");
    } else {
        throw Error(
            "give --fact SUBJECT:RELATION or --prompts-file F (--target T | --target-id N)");
    }
    AttributionOptions o;
    o.steps = static_cast<int>(a.integer("steps", 20));
    o.method = parseMethod(a.get("method", "fast"));
    const std::vector<int> ids = a.has("target-id") ? targetIds(a, *m) : encodeTarget(*m, target);
    if (target.empty())
        target = m->tokenizer().decode(ids, false);
    const auto s = findKnowledgeNeurons(*m, prompts, ids, a.number("threshold", 0.2),
                                        a.number("share", 0.7), o);
    printJson({{"target", target},
               {"target_ids", ids},
               {"prompts", s.prompts},
               {"prompts_needed",
                promptsNeeded(static_cast<int>(prompts.size()), a.number("share", 0.7))},
               {"neurons", neuronsJson(s.neurons)}});
    return 0;
}

namespace {

// A relation's evaluation as a record of a batch run, and back.
Record knRecord(const KnRelationEval& e) {
    auto layers = nlohmann::ordered_json::array();
    for (const auto& l : e.byLayer)
        layers.push_back({l.facts, l.meanNeurons, l.suppressOwn, l.amplifyOwn});
    return {{"relation", e.relation},
            {"facts", e.facts},
            {"facts_with_neurons", e.factsWithNeurons},
            {"mean_neurons", e.meanNeurons},
            {"suppress_own", e.suppressOwn},
            {"suppress_other", e.suppressOther},
            {"suppress_random", e.suppressRandom},
            {"amplify_own", e.amplifyOwn},
            {"amplify_other", e.amplifyOther},
            {"amplify_random", e.amplifyRandom},
            {"by_layer", layers},
            {"updates", e.updates},
            {"update_success", e.updateSuccess},
            {"update_ppl_same_before", e.updatePplSameBefore},
            {"update_ppl_same_after", e.updatePplSameAfter},
            {"update_ppl_other_before", e.updatePplOtherBefore},
            {"update_ppl_other_after", e.updatePplOtherAfter},
            {"erased_neurons", e.erasedNeurons},
            {"erase_acc_before", e.eraseAccBefore},
            {"erase_acc_after", e.eraseAccAfter},
            {"erase_ppl_before", e.erasePplBefore},
            {"erase_ppl_after", e.erasePplAfter},
            {"erase_other_acc_before", e.eraseOtherAccBefore},
            {"erase_other_acc_after", e.eraseOtherAccAfter},
            {"erase_other_ppl_before", e.eraseOtherPplBefore},
            {"erase_other_ppl_after", e.eraseOtherPplAfter},
            {"seconds", e.seconds}};
}

KnRelationEval knFromRecord(const Record& r) {
    KnRelationEval e;
    auto num = [&](const char* k) { return recordNumber(r, k); };
    auto count = [&](const char* k) { return static_cast<int>(recordNumber(r, k)); };
    e.relation = r.at("relation").get<std::string>();
    e.facts = count("facts");
    e.factsWithNeurons = count("facts_with_neurons");
    e.meanNeurons = num("mean_neurons");
    e.suppressOwn = num("suppress_own");
    e.suppressOther = num("suppress_other");
    e.suppressRandom = num("suppress_random");
    e.amplifyOwn = num("amplify_own");
    e.amplifyOther = num("amplify_other");
    e.amplifyRandom = num("amplify_random");
    for (const auto& l : r.at("by_layer")) {
        KnRelationEval::LayerEffect le;
        le.facts = l.at(0).get<int>();
        le.meanNeurons = l.at(1).get<double>();
        le.suppressOwn = l.at(2).get<double>();
        le.amplifyOwn = l.at(3).get<double>();
        e.byLayer.push_back(le);
    }
    e.updates = count("updates");
    e.updateSuccess = num("update_success");
    e.updatePplSameBefore = num("update_ppl_same_before");
    e.updatePplSameAfter = num("update_ppl_same_after");
    e.updatePplOtherBefore = num("update_ppl_other_before");
    e.updatePplOtherAfter = num("update_ppl_other_after");
    e.erasedNeurons = count("erased_neurons");
    e.eraseAccBefore = num("erase_acc_before");
    e.eraseAccAfter = num("erase_acc_after");
    e.erasePplBefore = num("erase_ppl_before");
    e.erasePplAfter = num("erase_ppl_after");
    e.eraseOtherAccBefore = num("erase_other_acc_before");
    e.eraseOtherAccAfter = num("erase_other_acc_after");
    e.eraseOtherPplBefore = num("erase_other_ppl_before");
    e.eraseOtherPplAfter = num("erase_other_ppl_after");
    e.seconds = num("seconds");
    return e;
}

} // namespace

nlohmann::ordered_json knEvalReport(const std::vector<Record>& records,
                                    const nlohmann::ordered_json& /*fingerprint*/) {
    std::vector<KnRelationEval> relations;
    for (const auto& r : records)
        relations.push_back(knFromRecord(r));
    const int layers = relations.empty() ? 0 : static_cast<int>(relations[0].byLayer.size());
    const KnRelationEval average = averageKnRelations(relations, layers);
    auto row = [](const KnRelationEval& e) {
        auto layers = nlohmann::ordered_json::array();
        for (std::size_t l = 0; l < e.byLayer.size(); ++l)
            layers.push_back({{"layer", l},
                              {"facts", e.byLayer[l].facts},
                              {"mean_neurons", e.byLayer[l].meanNeurons},
                              {"suppress_own", e.byLayer[l].suppressOwn},
                              {"amplify_own", e.byLayer[l].amplifyOwn}});
        return nlohmann::ordered_json{
            {"facts", e.facts},
            {"facts_with_neurons", e.factsWithNeurons},
            {"mean_neurons", e.meanNeurons},
            {"suppress",
             {{"own", e.suppressOwn}, {"other", e.suppressOther}, {"random", e.suppressRandom}}},
            {"amplify",
             {{"own", e.amplifyOwn}, {"other", e.amplifyOther}, {"random", e.amplifyRandom}}},
            {"by_layer", layers},
            {"update",
             {{"facts", e.updates},
              {"success", e.updateSuccess},
              {"ppl_same_relation", {e.updatePplSameBefore, e.updatePplSameAfter}},
              {"ppl_other_relations", {e.updatePplOtherBefore, e.updatePplOtherAfter}}}},
            {"erase",
             {{"neurons", e.erasedNeurons},
              {"relation_top1", {e.eraseAccBefore, e.eraseAccAfter}},
              {"relation_ppl", {e.erasePplBefore, e.erasePplAfter}},
              {"other_top1", {e.eraseOtherAccBefore, e.eraseOtherAccAfter}},
              {"other_ppl", {e.eraseOtherPplBefore, e.eraseOtherPplAfter}}}}};
    };
    nlohmann::ordered_json rel = nlohmann::ordered_json::object();
    for (const auto& e : relations)
        rel[e.relation] = row(e);
    return {{"relations", rel},
            {"average", row(average)},
            {"paper_bert_base", {{"suppress_own", -0.29}, {"amplify_own", 0.31}}},
            {"seconds", average.seconds},
            {"note", "effects are mean relative changes of the answer probability; "
                     "[before, after] pairs for perplexity and top-1; seconds: the relations' "
                     "time, summed"}};
}

// The items are the fact world's relations: each draws its facts and
// neurons from its own random stream, so a shard's relations come out as
// they do in the whole run.
int cmdKnEval(const Args& a) {
    a.allowBatch(
        {"model", "device", "facts", "facts-per-relation", "seed", "steps", "threshold", "share"});
    const std::string modelDir = a.get("model", defaultModelDir());
    const std::string factsPath = a.get("facts", defaultFactsPath());
    const FactWorld w = FactWorld::load(factsPath);
    KnEvalOptions o;
    o.factsPerRelation = static_cast<int>(a.integer("facts-per-relation", o.factsPerRelation));
    o.seed = static_cast<uint64_t>(a.integer("seed", 1));
    o.steps = static_cast<int>(a.integer("steps", 20));
    o.threshold = a.number("threshold", 0.2);
    o.share = a.number("share", 0.7);
    const BatchRun run =
        startBatch(a, "kn-eval", w.relations().size(), modelDir, FactWorld::files(factsPath),
                   {{"facts_per_relation", o.factsPerRelation},
                    {"seed", o.seed},
                    {"steps", o.steps},
                    {"threshold", o.threshold},
                    {"share", o.share}});
    o.relations = run.mine;
    o.progress = [](double f, const std::string& what) {
        std::cerr << static_cast<int>(100 * f) << "%  " << what << std::endl;
        return true;
    };
    auto m = LanguageModel::load(modelDir, a.get("device", "auto"));
    std::vector<Record> records;
    if (!run.mine.empty())
        for (const auto& e : evaluateKnowledgeNeurons(m, w, o).relations)
            records.push_back(knRecord(e));
    return finishBatch(run, records, knEvalReport);
}

int cmdKnEdit(const Args& a) {
    a.allow({"model", "device", "facts", "fact", "new-object", "erase-relation", "out", "steps",
             "threshold", "share", "facts-per-relation", "seed"});
    auto m = loadModel(a);
    const FactWorld w = worldAskedBy(FactWorld::load(a.get("facts", defaultFactsPath())), *m);
    const std::string out = a.required("out");
    AttributionOptions o;
    o.steps = static_cast<int>(a.integer("steps", 20));
    const double t = a.number("threshold", 0.2), p = a.number("share", 0.7);
    WeightEditor editor(m);
    nlohmann::ordered_json report;
    if (a.has("erase-relation")) {
        const std::string rel = a.required("erase-relation");
        auto facts = w.factsOf(rel);
        if (facts.empty())
            throw Error("no relation '" + rel + "' in the fact world");
        const int n = std::min<int>(static_cast<int>(a.integer("facts-per-relation", 10)),
                                    static_cast<int>(facts.size()));
        std::map<NeuronId, int> freq;
        for (int i = 0; i < n; ++i) {
            const auto& f = facts[static_cast<std::size_t>(i) * facts.size() / n];
            for (const auto& k :
                 findKnowledgeNeurons(*m, w.paraphrases(f.subject, rel, TemplateSplit::Train),
                                      f.object, t, p, o)
                     .neurons)
                ++freq[{k.layer, k.neuron}];
        }
        const std::vector<NeuronId> erase = mostFrequentNeurons(freq, 20);
        if (erase.empty())
            throw Error("no knowledge neurons found for relation '" + rel + "'");
        editor.eraseRelation(erase, "erase " + rel);
        report["erased_relation"] = rel;
    } else {
        auto [fact, prompts] = factPrompts(a, w);
        const std::string newObject = a.required("new-object");
        const auto s = findKnowledgeNeurons(*m, prompts, fact.object, t, p, o);
        // As in Dai et al.: drop neurons shared by more than 10% of the
        // relation's facts (estimated on N evenly spaced facts, this one
        // included; --facts-per-relation 0 keeps them all).
        const auto relFacts = w.factsOf(fact.relation);
        const int n = std::min<int>(static_cast<int>(a.integer("facts-per-relation", 10)),
                                    static_cast<int>(relFacts.size()));
        std::map<NeuronId, int> shared;
        for (int i = 0; i + 1 < n; ++i) {
            const auto& f = relFacts[static_cast<std::size_t>(i) * relFacts.size() / n];
            if (f.subject == fact.subject)
                continue;
            for (const auto& k : findKnowledgeNeurons(
                                     *m, w.paraphrases(f.subject, f.relation, TemplateSplit::Train),
                                     f.object, t, p, o)
                                     .neurons)
                ++shared[{k.layer, k.neuron}];
        }
        std::vector<NeuronId> ns;
        int dropped = 0;
        for (const auto& k : s.neurons) {
            if (n > 0 && shared[{k.layer, k.neuron}] > 0.1 * n) {
                ++dropped;
                continue;
            }
            ns.push_back({k.layer, k.neuron});
        }
        report["knowledge_neurons"] = s.neurons.size();
        report["dropped_as_shared"] = dropped;
        if (ns.empty())
            throw Error("no knowledge neurons specific to " + fact.subject + ":" + fact.relation +
                        " (all are shared by more than 10% of the relation's facts)");
        editor.updateFact(ns, fact.object, newObject,
                          fact.subject + " " + fact.relation + ": " + fact.object + " -> " +
                              newObject);
        const auto probs = m->nextTokenProbs(m->prepare(prompts[0]).ids);
        report["prompt"] = prompts[0];
        report["top_after"] = m->topK(probs, 1)[0].token;
    }
    nlohmann::ordered_json changes = nlohmann::ordered_json::array();
    for (const auto& c : editor.changes()) {
        nlohmann::ordered_json slots = nlohmann::ordered_json::array();
        for (const auto& s : c.slots)
            slots.push_back({s.layer, s.neuron});
        changes.push_back(
            {{"kind", c.kind}, {"description", c.description}, {"value_slots", slots}});
    }
    m->save(out);
    report["out"] = out;
    report["changes"] = changes;
    printJson(report);
    return 0;
}

} // namespace scalpel::cli
