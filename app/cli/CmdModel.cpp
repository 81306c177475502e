#include "Commands.h"

#include "Attribution.h"
#include "Intervention.h"
#include "LanguageModel.h"
#include "Resources.h"

namespace scalpel::cli {

namespace {

std::shared_ptr<LanguageModel> loadModel(const Args& a) {
    return LanguageModel::load(a.get("model", defaultModelDir()), a.get("device", "auto"));
}

std::vector<NeuronScale> parseScales(const Args& a) {
    std::vector<NeuronScale> out;
    for (const auto& s : a.all("scale")) {
        const auto colon = s.find(':'), eq = s.find('=');
        if (colon == std::string::npos || eq == std::string::npos || eq < colon)
            throw Error("--scale takes LAYER:NEURON=FACTOR, got '" + s + "'");
        try {
            std::size_t u1 = 0, u2 = 0, u3 = 0;
            const std::string l = s.substr(0, colon), n = s.substr(colon + 1, eq - colon - 1),
                              f = s.substr(eq + 1);
            NeuronScale ns{std::stoi(l, &u1), std::stoi(n, &u2), std::stof(f, &u3)};
            if (u1 != l.size() || u2 != n.size() || u3 != f.size())
                throw 0;
            out.push_back(ns);
        } catch (...) {
            throw Error("--scale takes LAYER:NEURON=FACTOR, got '" + s + "'");
        }
    }
    return out;
}

nlohmann::ordered_json promptJson(const PreparedPrompt& p) {
    nlohmann::ordered_json j;
    j["ids"] = p.ids;
    j["tokens"] = p.tokens;
    if (!p.unknownWords.empty())
        j["unknown_words"] = p.unknownWords;
    if (!p.warning.empty()) {
        j["warning"] = p.warning;
        std::cerr << "warning: " << p.warning << std::endl;
    }
    return j;
}

} // namespace

int cmdInfo(const Args& a) {
    a.allow({"model", "device"});
    auto m = loadModel(a);
    const ModelInfo i = m->info();
    printJson({{"family", i.family},
               {"model_type", i.modelType},
               {"dtype_on_disk", i.dtypeOnDisk},
               {"tied_embeddings", i.tiedEmbeddings},
               {"layers", i.layers},
               {"heads", i.heads},
               {"kv_heads", i.kvHeads},
               {"head_dim", i.headDim},
               {"hidden", i.hidden},
               {"neurons_per_layer", i.neuronsPerLayer},
               {"vocab", i.vocab},
               {"context", i.contextLength},
               {"parameters", i.parameters},
               {"device", i.device},
               {"path", i.path}});
    return 0;
}

namespace {

// One object for one --text/--prompt, an array of them (in order) for
// several: several strings share one model load.
void printEach(const std::vector<nlohmann::ordered_json>& each) {
    if (each.size() == 1) {
        printJson(each.front());
        return;
    }
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (const auto& j : each)
        all.push_back(j);
    printJson(all);
}

} // namespace

int cmdTokenize(const Args& a) {
    a.allow({"model", "device", "text", "no-special-tokens"});
    auto m = loadModel(a);
    if (!a.has("text"))
        throw Error("--text is required");
    std::vector<nlohmann::ordered_json> each;
    for (const std::string& text : a.all("text")) {
        const Encoding e = m->tokenizer().encodeDetailed(text, !a.flag("no-special-tokens"));
        nlohmann::ordered_json j;
        j["ids"] = e.ids;
        // The vocabulary's own spelling (Hugging Face's convert_ids_to_tokens)
        // and the text each token shows, U+FFFD where a byte-level token
        // holds part of a character: both always valid UTF-8.
        j["tokens"] = e.spellings;
        j["display"] = e.tokens;
        j["offsets"] = e.charOffsets(text);
        j["unknown_words"] = e.unknownWords();
        j["decoded"] = m->tokenizer().decode(e.ids, false);
        each.push_back(std::move(j));
    }
    printEach(each);
    return 0;
}

int cmdPredict(const Args& a) {
    if (a.has("edits"))
        return cmdPredictWithEdits(a);
    a.allow({"model", "device", "prompt", "top-k", "scale", "no-special-tokens", "answer"});
    auto m = loadModel(a);
    a.required("prompt");
    const int k = static_cast<int>(a.integer("top-k", 10));
    if (k <= 0)
        throw Error("--top-k must be positive");
    const auto scales = parseScales(a);
    std::vector<nlohmann::ordered_json> each;
    for (const std::string& prompt : a.all("prompt")) {
        const PreparedPrompt p = m->prepare(prompt, !a.flag("no-special-tokens"));
        // A masked model's cloze prompt: one distribution per mask; "top"
        // is the first mask's.
        const auto positions = m->queryPositions(p.ids);
        const auto probs = m->queryProbs(p.ids, scales);
        auto topJson = [&](const std::vector<float>& dist) {
            nlohmann::ordered_json top = nlohmann::ordered_json::array();
            for (const auto& t : m->topK(dist, k))
                top.push_back({{"token", t.token}, {"id", t.id}, {"prob", t.prob}});
            return top;
        };
        nlohmann::ordered_json j = promptJson(p);
        j["top"] = topJson(probs.front());
        if (m->isMaskedLm()) {
            nlohmann::ordered_json masks = nlohmann::ordered_json::array();
            for (std::size_t i = 0; i < probs.size(); ++i)
                masks.push_back({{"position", positions[i]}, {"top", topJson(probs[i])}});
            j["masks"] = masks;
        }
        if (a.has("answer")) {
            // P(answer): teacher-forced, or for a masked model one mask per
            // token and the product of their probabilities.
            const auto ids = encodeTarget(*m, a.get("answer"));
            j["answer"] = {{"text", a.get("answer")},
                           {"ids", ids},
                           {"prob", answerProbs(*m, {p.ids}, ids, scales).front()}};
        }
        each.push_back(std::move(j));
    }
    printEach(each);
    return 0;
}

int cmdGenerate(const Args& a) {
    a.allow({"model", "device", "prompt", "max-new-tokens"});
    auto m = loadModel(a);
    const PreparedPrompt p = m->prepare(a.required("prompt"));
    const int n = static_cast<int>(a.integer("max-new-tokens", 16));
    if (n <= 0)
        throw Error("--max-new-tokens must be positive");
    const auto ids = m->generate(p.ids, n);
    nlohmann::ordered_json j = promptJson(p);
    j["new_ids"] = ids;
    std::vector<std::string> toks;
    for (int id : ids)
        toks.push_back(m->tokenizer().tokenText(id));
    j["new_tokens"] = toks;
    j["text"] = m->tokenizer().decode(ids);
    printJson(j);
    return 0;
}

} // namespace scalpel::cli
