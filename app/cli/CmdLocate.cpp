// Locating facts beyond integrated gradients: causal tracing (ROME, Meng et
// al. 2022) and its average over the fact world, attribution patching
// (Nanda 2023), the logit lens (nostalgebraist 2020) and value-vector
// projection (Geva et al. 2022).
#include "Commands.h"

#include "Attribution.h"
#include "CausalTrace.h"
#include "FactWorld.h"
#include "LanguageModel.h"
#include "LogitLens.h"
#include "Resources.h"
#include "ValueProjection.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace scalpel::cli {

namespace {

std::shared_ptr<LanguageModel> loadModel(const Args& a) {
    return LanguageModel::load(a.get("model", defaultModelDir()), a.get("device", "auto"));
}

bool isBuiltInModel(const Args& a) {
    if (!a.has("model"))
        return true;
    std::error_code ec;
    return std::filesystem::equivalent(a.get("model"), defaultModelDir(), ec);
}

std::vector<std::string> readLines(const std::string& path) {
    std::ifstream in(path);
    if (!in)
        throw Error("cannot open " + path);
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line))
        if (line.find_first_not_of(" \t\r") != std::string::npos)
            out.push_back(line);
    if (out.empty())
        throw Error(path + " has no lines");
    return out;
}

// The noise scale: --sigma, else the embedding spread of --noise-subjects'
// tokens, else (for the built-in model) of the fact world's subjects, else
// of the whole token-embedding matrix.
std::pair<double, std::string> noiseSigma(const Args& a, const LanguageModel& m) {
    if (a.has("sigma")) {
        const double s = a.number("sigma", 0);
        if (!(s > 0))
            throw Error("--sigma must be positive, got " + a.get("sigma"));
        return {s, "--sigma"};
    }
    if (a.has("noise-subjects"))
        return {embeddingSigma(m, readLines(a.required("noise-subjects"))),
                "subjects of " + a.get("noise-subjects")};
    if (isBuiltInModel(a)) {
        const FactWorld w = FactWorld::load(a.get("facts", defaultFactsPath()));
        std::vector<std::string> subjects;
        for (const auto& f : w.facts())
            subjects.push_back(f.subject);
        return {embeddingSigma(m, subjects), "fact world subjects"};
    }
    return {embeddingSigma(m, {}), "token-embedding matrix"};
}

CausalTraceOptions traceOptions(const Args& a) {
    CausalTraceOptions o;
    o.samples = static_cast<int>(a.integer("samples", o.samples));
    o.noise = a.number("noise", o.noise);
    o.window = static_cast<int>(a.integer("window", o.window));
    o.seed = static_cast<uint64_t>(a.integer("seed", 1));
    o.addSpecialTokens = !a.flag("no-special-tokens");
    const std::string kind = a.get("kind", "all");
    if (kind != "all")
        o.kinds = {parseTraceKind(kind)};
    const std::string method = a.get("method", a.flag("approximate") ? "approximate" : "fast");
    if (method == "fast")
        o.method = TraceMethod::Fast;
    else if (method == "naive")
        o.method = TraceMethod::Naive;
    else if (method == "approximate")
        o.method = TraceMethod::Approximate;
    else
        throw Error("--method must be fast, naive or approximate, got '" + method + "'");
    return o;
}

nlohmann::ordered_json gridJson(const TraceGrid& g) {
    auto rows = nlohmann::ordered_json::array();
    for (int t = 0; t < g.tokens; ++t)
        rows.push_back(
            std::vector<float>(g.scores.begin() + static_cast<std::ptrdiff_t>(t) * g.layers,
                               g.scores.begin() + static_cast<std::ptrdiff_t>(t + 1) * g.layers));
    return rows;
}

nlohmann::ordered_json tokenProbsJson(const std::vector<TokenProb>& ps) {
    auto out = nlohmann::ordered_json::array();
    for (const auto& p : ps)
        out.push_back({{"token", p.token}, {"id", p.id}, {"prob", p.prob}});
    return out;
}

nlohmann::ordered_json tokenScoresJson(const std::vector<TokenScore>& ps) {
    auto out = nlohmann::ordered_json::array();
    for (const auto& p : ps)
        out.push_back({{"token", p.token}, {"id", p.id}, {"score", p.score}});
    return out;
}

// One of ROME's Figure 2 panels as an SVG line plot: average indirect
// effect by layer, one line per token class.
std::string effectSvg(const TraceEval& ev, std::size_t kind) {
    const int L = ev.layers;
    const char* colours[kTokenClasses] = {"#1f77b4", "#ff7f0e", "#2ca02c",
                                          "#d62728", "#9467bd", "#8c564b"};
    double top = 1e-6;
    for (float v : ev.effect[kind])
        top = std::max(top, static_cast<double>(v));
    double bottom = 0;
    for (float v : ev.effect[kind])
        bottom = std::min(bottom, static_cast<double>(v));
    const double w = 520, h = 300, left = 60, right = 190, topPad = 30, bottomPad = 40;
    const double pw = w - left - right, ph = h - topPad - bottomPad;
    auto x = [&](int l) { return left + (L > 1 ? pw * l / (L - 1) : pw / 2); };
    auto y = [&](double v) { return topPad + ph * (top - v) / (top - bottom); };
    std::ostringstream s;
    s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h
      << "\" font-family=\"sans-serif\" font-size=\"11\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << left << "\" y=\"18\" font-size=\"13\">Average indirect effect, "
      << traceKindName(ev.kinds[kind]) << " (" << ev.facts.size() << " facts)</text>\n"
      << "<line x1=\"" << left << "\" y1=\"" << y(0) << "\" x2=\"" << left + pw << "\" y2=\""
      << y(0) << "\" stroke=\"#999\"/>\n"
      << "<line x1=\"" << left << "\" y1=\"" << topPad << "\" x2=\"" << left << "\" y2=\""
      << topPad + ph << "\" stroke=\"#999\"/>\n";
    for (int i = 0; i <= 4; ++i) {
        const double v = bottom + (top - bottom) * i / 4;
        char label[32];
        std::snprintf(label, sizeof label, "%.3f", v);
        s << "<text x=\"" << left - 6 << "\" y=\"" << y(v) + 4 << "\" text-anchor=\"end\">" << label
          << "</text>\n";
    }
    for (int l = 0; l < L; ++l)
        s << "<text x=\"" << x(l) << "\" y=\"" << topPad + ph + 16 << "\" text-anchor=\"middle\">"
          << l << "</text>\n";
    s << "<text x=\"" << left + pw / 2 << "\" y=\"" << h - 8
      << "\" text-anchor=\"middle\">layer</text>\n";
    int legend = 0;
    for (int c = 0; c < kTokenClasses; ++c) {
        if (ev.classCount[static_cast<std::size_t>(c)] == 0)
            continue;
        s << "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" << colours[c] << "\" points=\"";
        for (int l = 0; l < L; ++l)
            s << x(l) << "," << y(ev.effect[kind][static_cast<std::size_t>(c) * L + l]) << " ";
        s << "\"/>\n";
        const double ly = topPad + 14 * legend++;
        s << "<line x1=\"" << w - right + 12 << "\" y1=\"" << ly << "\" x2=\"" << w - right + 30
          << "\" y2=\"" << ly << "\" stroke-width=\"2\" stroke=\"" << colours[c] << "\"/>\n"
          << "<text x=\"" << w - right + 34 << "\" y=\"" << ly + 4 << "\">"
          << tokenClassName(static_cast<TokenClass>(c)) << "</text>\n";
    }
    s << "</svg>\n";
    return s.str();
}

} // namespace

int cmdTrace(const Args& a) {
    a.allow({"model", "device", "facts", "prompt", "subject", "answer", "kind", "samples", "noise",
             "window", "seed", "include-noise", "approximate", "method", "sigma", "noise-subjects",
             "no-special-tokens"});
    auto m = loadModel(a);
    CausalTraceOptions o = traceOptions(a);
    o.keepNoise = a.flag("include-noise");
    const auto [sigma, sigmaFrom] = noiseSigma(a, *m);
    o.sigma = sigma;
    const std::string prompt = a.required("prompt");
    const CausalTrace tr = causalTrace(*m, prompt, a.required("subject"), a.get("answer"), o);
    nlohmann::ordered_json j;
    j["prompt"] = prompt;
    j["subject"] = a.get("subject");
    j["tokens"] = tr.tokens;
    j["ids"] = tr.ids;
    j["subject_tokens"] = {tr.subjectBegin, tr.subjectEnd};
    j["answer"] = tr.answer;
    j["answer_id"] = tr.answerId;
    j["clean_score"] = tr.cleanScore;
    j["corrupted_score"] = tr.corruptedScore;
    j["sigma"] = tr.sigma;
    j["sigma_from"] = sigmaFrom;
    j["noise"] = tr.noise;
    j["noise_std"] = tr.noise * tr.sigma;
    j["samples"] = tr.samples;
    j["window"] = tr.window;
    j["seed"] = tr.seed;
    j["method"] = tr.method;
    j["elapsed_ms"] = tr.elapsedMs;
    nlohmann::ordered_json grids;
    for (const auto& g : tr.grids)
        grids[traceKindName(g.kind)] = gridJson(g);
    j["grids"] = grids;
    j["note"] = "grids are tokens x layers of P(answer) with that state restored from the clean "
                "run, averaged over the corrupted samples";
    if (o.keepNoise) {
        const std::size_t D = tr.noiseValues.size() / (static_cast<std::size_t>(tr.samples) *
                                                       (tr.subjectEnd - tr.subjectBegin));
        auto samples = nlohmann::ordered_json::array();
        std::size_t at = 0;
        for (int s = 0; s < tr.samples; ++s) {
            auto tokens = nlohmann::ordered_json::array();
            for (int t = tr.subjectBegin; t < tr.subjectEnd; ++t, at += D)
                tokens.push_back(std::vector<float>(
                    tr.noiseValues.begin() + static_cast<std::ptrdiff_t>(at),
                    tr.noiseValues.begin() + static_cast<std::ptrdiff_t>(at + D)));
            samples.push_back(tokens);
        }
        j["noise_values"] = samples;
    }
    printJson(j);
    return 0;
}

namespace {

Record traceRecord(const TraceEvalRecord& r, double seconds) {
    auto effects = nlohmann::ordered_json::array();
    for (const auto& e : r.classEffect)
        effects.push_back(e.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(e));
    return {
        {"subject", r.fact.subject},     {"relation", r.fact.relation}, {"prompt", r.fact.prompt},
        {"answer", r.fact.answer},       {"traced", r.traced},          {"clean", r.fact.clean},
        {"corrupted", r.fact.corrupted}, {"class_effect", effects},     {"seconds", seconds}};
}

TraceEvalRecord traceFromRecord(const Record& j) {
    TraceEvalRecord r;
    r.fact.subject = j.at("subject").get<std::string>();
    r.fact.relation = j.at("relation").get<std::string>();
    r.fact.prompt = j.at("prompt").get<std::string>();
    r.fact.answer = j.at("answer").get<std::string>();
    r.traced = j.at("traced").get<bool>();
    r.fact.clean = recordNumber(j, "clean");
    r.fact.corrupted = recordNumber(j, "corrupted");
    for (const auto& e : j.at("class_effect"))
        r.classEffect.push_back(e.is_null() ? std::vector<double>() : e.get<std::vector<double>>());
    return r;
}

} // namespace

nlohmann::ordered_json traceEvalReport(const std::vector<Record>& records,
                                       const nlohmann::ordered_json& fingerprint) {
    const auto& o = fingerprint.at("options");
    std::vector<TraceKind> kinds;
    for (const auto& k : o.at("kinds"))
        kinds.push_back(parseTraceKind(k.get<std::string>()));
    std::vector<TraceEvalRecord> rs;
    double seconds = 0;
    for (const auto& r : records) {
        rs.push_back(traceFromRecord(r));
        seconds += recordNumber(r, "seconds");
    }
    const TraceEval ev = summarizeTraceEval(rs, kinds, o.at("layers").get<int>());
    nlohmann::ordered_json effects;
    for (std::size_t k = 0; k < ev.kinds.size(); ++k) {
        nlohmann::ordered_json byClass;
        for (int c = 0; c < kTokenClasses; ++c)
            if (ev.classCount[static_cast<std::size_t>(c)] > 0)
                byClass[tokenClassName(static_cast<TokenClass>(c))] = std::vector<float>(
                    ev.effect[k].begin() + static_cast<std::ptrdiff_t>(c) * ev.layers,
                    ev.effect[k].begin() + static_cast<std::ptrdiff_t>(c + 1) * ev.layers);
        effects[traceKindName(ev.kinds[k])] = byClass;
    }
    nlohmann::ordered_json counts;
    for (int c = 0; c < kTokenClasses; ++c)
        counts[tokenClassName(static_cast<TokenClass>(c))] =
            ev.classCount[static_cast<std::size_t>(c)];
    return {{"facts_tried", ev.factsTried},
            {"facts_traced", ev.facts.size()},
            {"mean_clean_score", ev.meanClean},
            {"mean_corrupted_score", ev.meanCorrupted},
            {"mean_total_effect", ev.meanClean - ev.meanCorrupted},
            {"layers", ev.layers},
            {"samples", o.at("samples")},
            {"noise", o.at("noise")},
            {"sigma", o.at("sigma")},
            {"window", o.at("window")},
            {"method", o.at("method")},
            {"facts_per_class", counts},
            {"average_indirect_effect", effects},
            {"seconds", seconds},
            {"note", "average indirect effect: restored P(answer) - corrupted P(answer), by "
                     "token class and layer, over facts the model gets right (ROME, Fig. 2)"}};
}

// The items are the traced facts (the first N of each relation); each is
// traced on its own with the same seed, so a shard's facts come out as in
// the whole run. --plots and --compare-approximate need every fact: they
// are for unsharded runs.
int cmdTraceEval(const Args& a) {
    a.allowBatch({"model", "device", "facts", "facts-per-relation", "kind", "samples", "noise",
                  "window", "seed", "approximate", "method", "sigma", "noise-subjects", "plots",
                  "compare-approximate", "no-special-tokens"});
    const ShardArgs shard = shardArgs(a, "trace-eval");
    if (shard.sharded && (a.has("plots") || a.flag("compare-approximate")))
        throw Error("--plots and --compare-approximate need every fact: leave out --shard");
    const std::string modelDir = a.get("model", defaultModelDir());
    const std::string factsPath = a.get("facts", defaultFactsPath());
    CausalTraceOptions o = traceOptions(a);
    const long long perRelation = a.integer("facts-per-relation", 5);
    if (perRelation <= 0)
        throw Error("--facts-per-relation must be positive, got " + std::to_string(perRelation));
    auto m = loadModel(a);
    const FactWorld w = FactWorld::load(factsPath);
    o.sigma = noiseSigma(a, *m).first;
    // The first N facts of each relation, each with one of the relation's
    // training templates in turn.
    std::vector<TraceEvalFactInput> facts;
    for (const auto& r : w.relations()) {
        const auto templates = w.templates(r.id, TemplateSplit::Train);
        if (templates.empty())
            continue;
        const auto fs = w.factsOf(r.id);
        for (std::size_t i = 0; i < fs.size() && i < static_cast<std::size_t>(perRelation); ++i)
            facts.push_back({fs[i].subject, r.id,
                             FactWorld::prompt(templates[i % templates.size()], fs[i].subject),
                             fs[i].object});
    }
    const std::string method = o.method == TraceMethod::Fast    ? "fast"
                               : o.method == TraceMethod::Naive ? "naive"
                                                                : "approximate";
    auto kinds = nlohmann::ordered_json::array();
    for (TraceKind k : o.kinds)
        kinds.push_back(traceKindName(k));
    std::vector<std::string> data = {factsPath};
    if (a.has("noise-subjects"))
        data.push_back(a.get("noise-subjects"));
    const BatchRun run = startBatch(a, "trace-eval", facts.size(), modelDir, data,
                                    {{"facts_per_relation", perRelation},
                                     {"kinds", kinds},
                                     {"samples", o.samples},
                                     {"noise", o.noise},
                                     {"sigma", o.sigma},
                                     {"window", o.window},
                                     {"seed", o.seed},
                                     {"method", method},
                                     {"special_tokens", o.addSpecialTokens},
                                     {"layers", m->config().layers}});
    if (a.has("plots") || a.flag("compare-approximate")) {
        // The whole run in one call: plots and correlations need every trace.
        std::vector<TraceEvalRecord> rs;
        const TraceEval ev = traceEval(
            *m, facts, o,
            [](double f, const std::string& what) {
                std::cerr << static_cast<int>(100 * f) << "%  " << what << std::endl;
                return true;
            },
            a.flag("compare-approximate"), &rs);
        if (a.has("plots")) {
            const std::string dir = a.required("plots");
            std::filesystem::create_directories(dir);
            for (std::size_t k = 0; k < ev.kinds.size(); ++k) {
                const std::string path = dir + "/trace-eval-" + traceKindName(ev.kinds[k]) + ".svg";
                std::ofstream out(path);
                if (!(out << effectSvg(ev, k)))
                    throw Error("cannot write " + path);
            }
        }
        // The report from the same records the batch path writes.
        std::vector<Record> records;
        for (const auto& r : rs)
            records.push_back(traceRecord(r, 0));
        nlohmann::ordered_json j = traceEvalReport(records, run.fingerprint);
        j["seconds"] = ev.seconds;
        if (a.flag("compare-approximate")) {
            nlohmann::ordered_json correlation;
            for (std::size_t k = 0; k < ev.approximateCorrelation.size(); ++k)
                correlation[traceKindName(ev.kinds[k])] = {
                    {"all", ev.approximateCorrelation[k]},
                    {"by_layer", ev.approximateCorrelationByLayer[k]}};
            j["approximate_correlation"] = correlation;
        }
        printJson(j);
        return 0;
    }
    std::vector<Record> records;
    for (std::size_t k = 0; k < run.mine.size(); ++k) {
        const auto& f = facts[run.mine[k]];
        std::cerr << static_cast<int>(100.0 * k / run.mine.size()) << "%  " << f.prompt
                  << std::endl;
        const auto start = std::chrono::steady_clock::now();
        const TraceEvalRecord r = traceEvalFact(*m, f, o);
        records.push_back(traceRecord(
            r, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()));
    }
    return finishBatch(run, records, traceEvalReport);
}

int cmdLens(const Args& a) {
    a.allow({"model", "device", "prompt", "top-k", "answer", "no-special-tokens"});
    auto m = loadModel(a);
    LogitLensOptions o;
    o.topK = static_cast<int>(a.integer("top-k", o.topK));
    o.addSpecialTokens = !a.flag("no-special-tokens");
    const LogitLens lens = logitLens(*m, a.required("prompt"), a.get("answer"), o);
    auto top = nlohmann::ordered_json::array();
    for (int l = 0; l < lens.layers; ++l) {
        auto row = nlohmann::ordered_json::array();
        for (int t = 0; t < lens.positions; ++t)
            row.push_back(tokenProbsJson(lens.at(l, t)));
        top.push_back(row);
    }
    printJson({{"tokens", lens.tokens},
               {"ids", lens.ids},
               {"layers", lens.layers},
               {"answer", lens.answer},
               {"answer_id", lens.answerId},
               {"answer_prob", lens.answerProb},
               {"answer_rank", lens.answerRank},
               {"top", top},
               {"elapsed_ms", lens.elapsedMs},
               {"note", "top[layer][position]: unembed(final_norm(residual after block layer))"}});
    return 0;
}

int cmdNeuron(const Args& a) {
    a.allow({"model", "device", "layer", "index", "top-k", "final-norm"});
    auto m = loadModel(a);
    const long long layer = a.integer("layer", -1), index = a.integer("index", -1);
    if (!a.has("layer") || !a.has("index"))
        throw Error("--layer and --index are required");
    const auto p =
        projectValueVector(*m, static_cast<int>(layer), static_cast<int>(index),
                           static_cast<int>(a.integer("top-k", 10)), a.flag("final-norm"));
    printJson({{"layer", p.layer},
               {"neuron", p.neuron},
               {"final_norm", p.finalNorm},
               {"top", tokenScoresJson(p.top)},
               {"bottom", tokenScoresJson(p.bottom)},
               {"note", "scores are E . v (E the unembedding, v the neuron's value vector)"}});
    return 0;
}

int cmdNeuronsFor(const Args& a) {
    a.allow({"model", "device", "token", "token-id", "prompt", "top-k", "no-special-tokens"});
    auto m = loadModel(a);
    int token = -1;
    if (a.has("token-id")) {
        const long long id = a.integer("token-id", -1);
        if (id < 0 || id >= m->config().vocabSize)
            throw Error("--token-id " + std::to_string(id) + " is outside the vocabulary (0-" +
                        std::to_string(m->config().vocabSize - 1) + ")");
        token = static_cast<int>(id);
    } else {
        token = singleToken(*m, a.required("token"));
    }
    std::vector<int> ids;
    if (a.has("prompt")) {
        const PreparedPrompt p = m->prepare(a.required("prompt"), !a.flag("no-special-tokens"));
        if (!p.unknownWords.empty())
            throw Error("the prompt's word '" + p.unknownWords[0] +
                        "' is unknown to the model's tokenizer");
        ids = p.ids;
    }
    const auto s = neuronsPromoting(*m, token, static_cast<int>(a.integer("top-k", 20)), ids);
    auto ns = nlohmann::ordered_json::array();
    for (const auto& n : s.neurons) {
        nlohmann::ordered_json row = {{"layer", n.layer}, {"neuron", n.neuron}, {"dot", n.dot}};
        if (s.withPrompt)
            row["activation"] = n.activation;
        row["score"] = n.score;
        ns.push_back(row);
    }
    printJson({{"token", s.token},
               {"token_id", s.tokenId},
               {"ranked_by", s.withPrompt ? "activation x dot at the prompt's last position"
                                          : "dot = v . E[token]"},
               {"neurons", ns},
               {"elapsed_ms", s.elapsedMs}});
    return 0;
}

} // namespace scalpel::cli
