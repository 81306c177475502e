#include "Train.h"

#include "AtomicFile.h"
#include "Error.h"
#include "JsonFields.h"
#include "FactWorld.h"
#include "ModelInternals.h"
#include "WeightStore.h"
#include "Weights.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>
#include <set>

namespace scalpel {

namespace fs = std::filesystem;

namespace {

struct Dataset {
    std::vector<std::vector<int>> sequences;
    std::vector<int> answerAt; // index of the answer token in each sequence
    std::vector<int> relation; // index into FactWorld::relations()
    int maxLength = 0;
};

// A subject as a grammar sentence writes it: the common name or, now and
// then, the official one; with its article, or now and then without (people
// type both).
std::string pickForm(const FactWorld& world, const std::string& subject, std::mt19937_64& rng) {
    const auto forms = world.subjectForms(subject);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::string form = forms.size() > 1 && u(rng) < 0.3 ? forms[1] : forms[0];
    if (u(rng) < 0.25)
        form = FactWorld::withoutArticle(form);
    return form;
}

// A causal model's sentence ends with [EOS] and its answer follows the
// prompt's tokens; a masked model's tokenizer wraps both in [CLS] ... [SEP],
// so its answer stands where the prompt's [SEP] does.
Dataset buildDataset(const FactWorld& world, const Tokenizer& tok, int factsPerRelation,
                     uint64_t seed, bool maskedLm) {
    Dataset d;
    const int eos = *tok.tokenId("[EOS]");
    std::map<std::string, int> seen;
    std::mt19937_64 rng(seed * 2654435761ull + 17);
    std::vector<TemplateSplit> splits = {TemplateSplit::Train};
    if (world.hasGrammar())
        splits.insert(splits.end(), {TemplateSplit::Grammar, TemplateSplit::Question});
    std::map<std::string, int> relationIndex;
    for (const auto& r : world.relations())
        relationIndex.emplace(r.id, static_cast<int>(relationIndex.size()));
    for (const auto& f : world.facts()) {
        if (factsPerRelation > 0 && seen[f.relation]++ >= factsPerRelation)
            continue;
        for (const auto split : splits)
            for (const auto& t : world.templates(f.relation, split)) {
                // The original templates keep the plain subject, as before.
                const std::string subject =
                    isGrammarSplit(split) ? pickForm(world, f.subject, rng) : f.subject;
                auto ids = tok.encode(FactWorld::sentence(t, subject, f.object));
                if (!maskedLm)
                    ids.push_back(eos);
                d.answerAt.push_back(
                    static_cast<int>(tok.encode(FactWorld::prompt(t, subject)).size()) -
                    (maskedLm ? 1 : 0));
                d.relation.push_back(relationIndex.at(f.relation));
                d.maxLength = std::max(d.maxLength, static_cast<int>(ids.size()));
                d.sequences.push_back(std::move(ids));
            }
    }
    return d;
}

// Word dropout and insertion: before the answer, each word that is not an
// entity becomes [UNK] with probability `dropout`, and with probability
// `insertion` one extra token ([UNK] or a common word, even odds) goes in at
// a random place. A model trained so reads a word it does not know as
// [UNK] and carries on, instead of reading noise.
struct Augment {
    double dropout = 0;
    double insertion = 0;
    double unknownSubject = 0;
    int unk = 0;
    int firstInsert = 0;      // the first place a word may go in (after [CLS])
    std::set<int> keep;       // entities and special tokens
    std::set<int> entities;   // subjects (in every form) and objects
    std::vector<int> fillers; // common words
};

// Returns whether the subject was blanked: with probability unknownSubject
// every entity before the answer becomes [UNK], and the answer's target is
// then every answer of the relation alike (the model has no way to know).
bool augment(std::vector<int>& s, int& answerAt, const Augment& a, std::mt19937_64& rng) {
    std::uniform_real_distribution<double> u(0.0, 1.0);
    bool blanked = false;
    if (a.unknownSubject > 0 && u(rng) < a.unknownSubject)
        for (int i = 0; i < answerAt; ++i)
            if (a.entities.count(s[static_cast<std::size_t>(i)])) {
                s[static_cast<std::size_t>(i)] = a.unk;
                blanked = true;
            }
    for (int i = 0; i < answerAt; ++i)
        if (!a.keep.count(s[static_cast<std::size_t>(i)]) && u(rng) < a.dropout)
            s[static_cast<std::size_t>(i)] = a.unk;
    if (a.insertion > 0 && u(rng) < a.insertion) {
        const int at = std::uniform_int_distribution<int>(a.firstInsert, answerAt)(rng);
        const bool word = !a.fillers.empty() && u(rng) < 0.5;
        const int token = word ? a.fillers[std::uniform_int_distribution<std::size_t>(
                                     0, a.fillers.size() - 1)(rng)]
                               : a.unk;
        s.insert(s.begin() + at, token);
        ++answerAt;
    }
    return blanked;
}

std::vector<int> epochOrder(std::size_t n, uint64_t seed, int epoch) {
    std::vector<int> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(seed * 1000003ull + static_cast<uint64_t>(epoch));
    std::shuffle(order.begin(), order.end(), rng);
    return order;
}

double learningRateAt(const TrainLmOptions& o, int step) {
    if (step < o.warmupSteps)
        return o.learningRate * (step + 1) / o.warmupSteps;
    const double progress =
        static_cast<double>(step - o.warmupSteps) / std::max(1, o.steps - o.warmupSteps);
    const double cosine = 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
    return o.learningRate * (o.minLearningRateFraction + (1 - o.minLearningRateFraction) * cosine);
}

} // namespace

TrainResult trainLanguageModel(const TrainLmOptions& o) {
    initThreads();
    const auto start = std::chrono::steady_clock::now();
    if (o.steps <= 0)
        throw Error("--steps must be positive");
    FactWorld world = FactWorld::load(o.factsPath);
    Tokenizer tok = world.buildTokenizer(o.maskedLm);
    Dataset data = buildDataset(world, tok, o.factsPerRelation, o.seed, o.maskedLm);
    if (data.sequences.empty())
        throw Error(o.factsPath + ": no training sentences");
    if (o.wordDropout < 0 || o.wordDropout >= 1 || o.wordInsertion < 0 || o.wordInsertion > 1)
        throw Error("--word-dropout must be in [0, 1) and --word-insertion in [0, 1]");
    const int inserted = o.wordInsertion > 0 ? 1 : 0;
    if (data.maxLength + inserted > o.context)
        throw Error("a training sentence has " + std::to_string(data.maxLength + inserted) +
                    " tokens, more than the context of " + std::to_string(o.context));
    if (o.unknownSubject < 0 || o.unknownSubject > 1)
        throw Error("--unknown-subject must be in [0, 1]");
    Augment aug;
    aug.dropout = o.wordDropout;
    aug.insertion = o.wordInsertion;
    aug.unknownSubject = o.unknownSubject;
    aug.unk = *tok.tokenId("[UNK]");
    aug.firstInsert = o.maskedLm ? 1 : 0;
    for (const auto& e : world.entities())
        if (auto id = tok.tokenId(e)) {
            aug.keep.insert(*id);
            aug.entities.insert(*id);
        }
    // Each relation's answers (single tokens), the target of a blanked
    // subject.
    std::vector<std::vector<int64_t>> answersOf(world.relations().size());
    for (std::size_t r = 0; r < world.relations().size(); ++r) {
        std::set<int64_t> ids;
        for (const auto& f : world.factsOf(world.relations()[r].id))
            if (const auto enc = tok.encode(f.object, false); enc.size() == 1)
                ids.insert(enc[0]);
        answersOf[r].assign(ids.begin(), ids.end());
    }
    for (const char* special : {"[UNK]", "[PAD]", "[SEP]", "[EOS]", "[CLS]", "[MASK]"})
        if (const auto id = tok.tokenId(special))
            aug.keep.insert(*id);
    for (const auto& w : world.commonWords())
        if (auto id = tok.tokenId(w); id && !aug.keep.count(*id))
            aug.fillers.push_back(*id);

    std::shared_ptr<LanguageModel> model;
    if (o.maskedLm) {
        // BERT's own settings (exact-erf GELU, LayerNorm epsilon 1e-12, two
        // token types), at the causal model's size.
        const nlohmann::json bert = {
            {"model_type", "bert"},           {"architectures", {"BertForMaskedLM"}},
            {"hidden_size", o.hidden},        {"num_hidden_layers", o.layers},
            {"num_attention_heads", o.heads}, {"intermediate_size", 4 * o.hidden},
            {"vocab_size", tok.vocabSize()},  {"max_position_embeddings", o.context},
            {"type_vocab_size", 2},           {"hidden_act", "gelu"},
            {"layer_norm_eps", 1e-12},        {"pad_token_id", *tok.tokenId("[PAD]")}};
        model = LanguageModel::createRandom(
            ModelConfig::fromJson(bert.dump(), "train-lm --objective mlm"), tok, o.seed, "cpu");
    } else {
        GptConfig cfg;
        cfg.nLayer = o.layers;
        cfg.nHead = o.heads;
        cfg.nEmbd = o.hidden;
        cfg.nPositions = o.context;
        cfg.vocabSize = tok.vocabSize();
        cfg.activation = "gelu_new";
        model = LanguageModel::createRandom(cfg, tok, o.seed, "cpu");
    }
    TransformerImpl* net = &network(*model);
    net->train();
    torch::optim::AdamW optimizer(
        net->parameters(),
        torch::optim::AdamWOptions(o.learningRate).weight_decay(o.weightDecay).betas({0.9, 0.98}));

    const std::string objective = o.maskedLm ? "mlm" : "causal";
    const fs::path ckptDir = fs::path(o.outDir) / "checkpoint";
    TrainResult result;
    int step = 0;
    if (o.resume && fs::exists(ckptDir / "state.json")) {
        const std::string statePath = (ckptDir / "state.json").string();
        auto state = nlohmann::json::parse(readFile(statePath, 1 << 20), nullptr, false);
        if (!state.is_object())
            throw Error(statePath + ": not a JSON object; delete the checkpoint folder or pass "
                                    "--no-resume");
        if (jsonField(state, "seed", uint64_t(0), statePath) == o.seed &&
            jsonField(state, "steps", 0, statePath) == o.steps &&
            jsonField(state, "label_smoothing", o.labelSmoothing, statePath) == o.labelSmoothing &&
            jsonField(state, "ffn_drop", o.ffnDrop, statePath) == o.ffnDrop &&
            jsonField(state, "word_dropout", o.wordDropout, statePath) == o.wordDropout &&
            jsonField(state, "word_insertion", o.wordInsertion, statePath) == o.wordInsertion &&
            jsonField(state, "unknown_subject", o.unknownSubject, statePath) == o.unknownSubject &&
            jsonField(state, "objective", std::string("causal"), statePath) == objective &&
            jsonField(state, "mask_rate", o.maskRate, statePath) == o.maskRate) {
            loadWeights(*net, WeightStore::open((ckptDir / "model.safetensors").string()));
            torch::load(optimizer, (ckptDir / "optimizer.pt").string());
            step = jsonField(state, "step", 0, statePath);
            result.resumedFrom = step;
            result.firstLoss = jsonField(state, "first_loss", 0.0, statePath);
        }
    }

    const int pad = *tok.tokenId("[PAD]");
    // The masked-LM objective's mask, and the first id a random replacement
    // may take (past the special tokens, which come first).
    const int maskId = o.maskedLm ? *tok.tokenId("[MASK]") : -1;
    const int firstWordId = o.maskedLm ? maskId + 1 : 0;
    const auto n = data.sequences.size();
    const int batch = std::min<int>(o.batchSize, static_cast<int>(n));
    const int perEpoch = static_cast<int>(n / static_cast<std::size_t>(batch));
    double recent = 0;
    int recentCount = 0;
    double firstSum = 0;
    int firstCount = 0;
    auto saveCheckpoint = [&](int atStep) {
        fs::create_directories(ckptDir);
        saveWeights(*net, (ckptDir / "model.safetensors").string());
        torch::save(optimizer, (ckptDir / "optimizer.pt").string());
        nlohmann::json state = {{"step", atStep},
                                {"steps", o.steps},
                                {"seed", o.seed},
                                {"label_smoothing", o.labelSmoothing},
                                {"ffn_drop", o.ffnDrop},
                                {"first_loss", result.firstLoss},
                                {"word_dropout", o.wordDropout},
                                {"word_insertion", o.wordInsertion},
                                {"unknown_subject", o.unknownSubject},
                                {"objective", objective},
                                {"mask_rate", o.maskRate}};
        writeFileAtomically((ckptDir / "state.json").string(), state.dump(2));
    };

    // The epoch's shuffle belongs to this run: a second training on the same
    // thread with another seed draws its own order.
    std::vector<int> order;
    int orderEpoch = -1;
    for (; step < o.steps; ++step) {
        const int epoch = step / perEpoch, inEpoch = step % perEpoch;
        if (orderEpoch != epoch || order.size() != n) {
            order = epochOrder(n, o.seed, epoch);
            orderEpoch = epoch;
        }
        // The batch's sentences, augmented from the seed and the step alone
        // (a resumed run draws the same).
        std::mt19937_64 augRng(o.seed * 104729ull + static_cast<uint64_t>(step));
        std::vector<std::vector<int>> rows(static_cast<std::size_t>(batch));
        std::vector<int> answers(static_cast<std::size_t>(batch));
        std::vector<std::pair<int, int>> blanked; // (row, relation)
        int len = 0;
        for (int b = 0; b < batch; ++b) {
            const int index = order[inEpoch * batch + b];
            rows[b] = data.sequences[index];
            answers[b] = data.answerAt[index];
            if ((aug.dropout > 0 || aug.insertion > 0 || aug.unknownSubject > 0) &&
                augment(rows[b], answers[b], aug, augRng))
                blanked.emplace_back(b, data.relation[index]);
            len = std::max<int>(len, static_cast<int>(rows[b].size()));
        }
        // Row b's position p sits at b * width + p in the flattened batch; a
        // causal model reads a row but its last token and predicts the next
        // one, a masked model reads the whole row and predicts at its masks.
        const int width = o.maskedLm ? len : len - 1;
        std::vector<int64_t> input(static_cast<std::size_t>(batch * width), pad);
        std::vector<int64_t> target(static_cast<std::size_t>(batch * width), -100);
        // Where each row's answer is predicted.
        std::vector<int> answerRow(static_cast<std::size_t>(batch));
        torch::Tensor padding;
        if (o.maskedLm) {
            std::vector<uint8_t> padded(static_cast<std::size_t>(batch * width), 1);
            std::mt19937_64 maskRng(o.seed * 15485863ull + static_cast<uint64_t>(step));
            std::uniform_real_distribution<double> u(0.0, 1.0);
            std::uniform_int_distribution<int> anyToken(firstWordId, tok.vocabSize() - 1);
            for (int b = 0; b < batch; ++b) {
                const auto& s = rows[b];
                const std::size_t row = static_cast<std::size_t>(b * width);
                for (std::size_t i = 0; i < s.size(); ++i) {
                    input[row + i] = s[i];
                    padded[row + i] = 0;
                    // [CLS] and [SEP] are never targets; the answer always is.
                    // Entities are not chosen either: with the answer masked a
                    // masked subject cannot be predicted, and its target would
                    // pull every subject's (tied) embedding toward one point
                    // (measured: the model then answers alike for every
                    // subject; see Train.h).
                    if (i == 0 || i + 1 == s.size() || static_cast<int>(i) == answers[b] ||
                        u(maskRng) >= o.maskRate || aug.entities.count(s[i]))
                        continue;
                    target[row + i] = s[i];
                    const double r = u(maskRng);
                    if (r < 0.8)
                        input[row + i] = maskId;
                    else if (r < 0.9)
                        input[row + i] = anyToken(maskRng);
                }
                answerRow[b] = b * width + answers[b];
                input[static_cast<std::size_t>(answerRow[b])] = maskId;
                target[static_cast<std::size_t>(answerRow[b])] =
                    s[static_cast<std::size_t>(answers[b])];
            }
            padding = torch::tensor(padded).to(torch::kBool).view({batch, width});
        } else {
            for (int b = 0; b < batch; ++b) {
                const auto& s = rows[b];
                // The loss covers the answer and what follows it. A prompt such
                // as "The capital of Ireland is" is also the prefix of "... is
                // called Dublin"; training the words of the template as well
                // would split the next-token probability between "Dublin" and
                // "called".
                const int firstTarget = o.answerOnlyLoss ? answers[b] : 1;
                for (std::size_t i = 0; i + 1 < s.size(); ++i) {
                    input[b * width + i] = s[i];
                    if (static_cast<int>(i) + 1 >= firstTarget)
                        target[b * width + i] = s[i + 1];
                }
                answerRow[b] = b * width + answers[b] - 1;
            }
        }
        // A blanked subject's answer position leaves the ordinary loss.
        for (const auto& [b, r] : blanked)
            target[static_cast<std::size_t>(answerRow[b])] = -100;
        auto x = torch::tensor(input).view({batch, width});
        auto y = torch::tensor(target).view({-1});
        const double lr = learningRateAt(o, step);
        for (auto& group : optimizer.param_groups())
            static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
        optimizer.zero_grad();
        Hooks drop;
        if (o.ffnDrop > 0) {
            // Drawn from the seed and the step alone, so a resumed run draws
            // the same masks.
            std::mt19937_64 rng(o.seed * 7919ull + static_cast<uint64_t>(step));
            std::bernoulli_distribution keep(1.0 - o.ffnDrop);
            for (int l = 0; l < o.layers; ++l) {
                std::vector<float> mask(static_cast<std::size_t>(batch));
                for (auto& m : mask)
                    m = keep(rng) ? 1.0f : 0.0f;
                Hook h;
                h.site = HookSite::Neurons;
                h.layer = l;
                h.op = HookOp::Scale;
                h.value = torch::tensor(mask).view({batch, 1});
                drop.add(h);
            }
        }
        // Logits only where there is a target: the vocabulary projection is
        // most of a step's cost, and most positions carry no loss.
        auto h = net->hidden(x, o.ffnDrop > 0 ? &drop : nullptr, nullptr, padding);
        auto flat = h.reshape({-1, h.size(-1)});
        const auto where = (y != -100).nonzero().view({-1});
        auto logits = net->unembed(net->finalNorm(flat.index_select(0, where)));
        auto loss = torch::nn::functional::cross_entropy(
            logits, y.index_select(0, where),
            torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(o.labelSmoothing));
        if (!blanked.empty()) {
            // Cross-entropy against the relation's answers taken alike,
            // weighted as one target each beside the ordinary ones.
            std::vector<int64_t> at;
            for (const auto& [b, r] : blanked)
                at.push_back(answerRow[b]);
            auto logp = torch::log_softmax(
                net->unembed(net->finalNorm(flat.index_select(0, torch::tensor(at)))), -1);
            auto sum = torch::zeros({}, logp.options());
            for (std::size_t i = 0; i < blanked.size(); ++i)
                sum = sum - logp[static_cast<int64_t>(i)]
                                .index_select(0, torch::tensor(answersOf[blanked[i].second]))
                                .mean();
            const double n = static_cast<double>(where.size(0));
            loss = (loss * n + sum) / (n + static_cast<double>(blanked.size()));
        }
        loss.backward();
        torch::nn::utils::clip_grad_norm_(net->parameters(), o.clipNorm);
        optimizer.step();
        const double l = loss.item<double>();
        recent += l;
        ++recentCount;
        if (result.resumedFrom == 0 && step < 20) {
            firstSum += l;
            result.firstLoss = firstSum / ++firstCount;
        }
        if ((step + 1) % 50 == 0 || step + 1 == o.steps) {
            TrainProgress p;
            p.step = step + 1;
            p.steps = o.steps;
            p.loss = recent / recentCount;
            p.learningRate = lr;
            p.elapsedSeconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            result.finalLoss = p.loss;
            recent = 0;
            recentCount = 0;
            if (o.progress && !o.progress(p))
                throw Cancelled();
        }
        if (o.checkpointEvery > 0 && (step + 1) % o.checkpointEvery == 0 && step + 1 < o.steps)
            saveCheckpoint(step + 1);
    }
    net->eval();
    model->save(o.outDir);
    std::error_code ec;
    fs::remove_all(ckptDir, ec);
    result.steps = o.steps;
    result.sentences = static_cast<int>(n);
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.parameters = model->info().parameters;
    nlohmann::ordered_json meta = {{"facts", o.factsPath},
                                   {"seed", o.seed},
                                   {"steps", o.steps},
                                   {"batch_size", batch},
                                   {"learning_rate", o.learningRate},
                                   {"layers", o.layers},
                                   {"hidden", o.hidden},
                                   {"heads", o.heads},
                                   {"sentences", n},
                                   {"answer_only_loss", o.answerOnlyLoss},
                                   {"label_smoothing", o.labelSmoothing},
                                   {"ffn_drop", o.ffnDrop},
                                   {"word_dropout", o.wordDropout},
                                   {"word_insertion", o.wordInsertion},
                                   {"unknown_subject", o.unknownSubject},
                                   {"objective", objective},
                                   {"first_loss", result.firstLoss},
                                   {"final_loss", result.finalLoss},
                                   {"seconds", result.seconds},
                                   {"resumed_from", result.resumedFrom},
                                   {"threads", torch::get_num_threads()}};
    if (o.maskedLm) {
        meta.erase("answer_only_loss"); // the masked objective's targets are its own
        meta["mask_rate"] = o.maskRate;
    }
    writeFileAtomically((fs::path(o.outDir) / "training.json").string(), meta.dump(2) + "\n");
    return result;
}

} // namespace scalpel
