#include "SeracEditor.h"

#include "AtomicFile.h"
#include "Error.h"
#include "Fnv.h"
#include "JsonFields.h"
#include "ModelInternals.h"
#include "ScopeIndex.h"
#include "SeracEncoder.h"
#include "Safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <numeric>
#include <unordered_map>

namespace scalpel {

namespace fs = std::filesystem;

namespace {
constexpr int kEmbedBatch = 256;
const char* const kCacheFormat = "scalpel-scope-cache";

uint64_t textKey(const std::string& text) {
    return fnv1a(text.data(), text.size());
}
constexpr int kCrossBatch = 512;
const char* const kCross = "cross-attention";
const char* const kEmbedding = "embedding";
} // namespace

struct SeracEditor::Impl {
    std::shared_ptr<LanguageModel> base, counterfactual;
    Tokenizer tok;
    int pad = 0;
    // Inference only; forward() is not const in LibTorch.
    mutable SeracEncoder embedNet{nullptr}, crossNet{nullptr};
    torch::Device device{torch::kCPU};
    double threshold = 0.5;
    int topK = kDefaultTopK;
    CounterfactualBackend backend = CounterfactualBackend::InContext;
    std::string warning;
    // A masked base model: its mask token's spelling, and each of the
    // counterfactual model's token ids as the base's id of the same
    // spelling (-1 for none), to give its distribution over the base's
    // vocabulary.
    std::string baseMask;
    std::vector<int> counterfactualToBase;

    // What the scope classifier and the counterfactual model read: a cloze
    // prompt for a masked base up to its mask ("The capital of Ireland is
    // [MASK]." -> "The capital of Ireland is"), any other text as it is.
    std::string readable(const std::string& text) const {
        const auto at = baseMask.empty() ? std::string::npos : text.find(baseMask);
        if (at == std::string::npos)
            return text;
        const auto end = text.find_last_not_of(" \t\n", at == 0 ? 0 : at - 1);
        return at == 0 || end == std::string::npos ? std::string() : text.substr(0, end + 1);
    }
    // The embedding cache's key of a prompt: the text that is embedded, so
    // a cache made beside a causal base is not taken for a cloze prompt
    // beside a masked one.
    uint64_t embeddedKey(const std::string& prompt) const { return textKey(readable(prompt)); }

    struct Entry {
        std::string id, prompt, answer;
        // "prompt [SEP] answer [SEP] [SEP]", made when the edit is first
        // rescored (opening a large memory tokenizes none of them).
        mutable std::vector<int> crossPart;
    };
    const std::vector<int>& crossPartOf(std::size_t row) const {
        const Entry& e = entries[row];
        if (e.crossPart.empty())
            e.crossPart = crossEditPart(tok, readable(e.prompt), e.answer);
        return e.crossPart;
    }
    // Enabled edits in no particular order (removal swaps the last row in),
    // with their embeddings; a std::vector grows geometrically, so appending
    // a row is O(1) amortised.
    std::vector<Entry> entries;
    std::vector<float> embeddings;                      // entries.size() x dim, row-major
    std::unordered_map<std::string, std::size_t> rowOf; // edit id -> row
    uint64_t syncedRevision = 0; // the memory revision entries reflect (0: empty)
    int dim = 0;
    mutable torch::Tensor deviceEmbeddings; // non-CPU devices: a copy, rebuilt when stale
    mutable bool deviceStale = true;

    // The approximate embedding stage for large memories (see ScopeIndexMode).
    ScopeIndexMode indexMode = ScopeIndexMode::Auto;
    std::unique_ptr<ScopeIndex> index;
    std::vector<int64_t> slotOfRow; // row -> index slot, while the index is on
    std::vector<int64_t> rowOfSlot; // index slot -> row, -1 once removed
    std::size_t indexRebuilds = 0;

    bool indexWanted() const {
        switch (indexMode) {
        case ScopeIndexMode::On:
            return !entries.empty();
        case ScopeIndexMode::Off:
            return false;
        case ScopeIndexMode::Auto:
            break;
        }
        // Hysteresis: on from kScopeIndexFrom, off again below half of it.
        return entries.size() >= (index ? kScopeIndexFrom / 2 : kScopeIndexFrom);
    }

    // A fresh index over every row, in row order: the cached graph when its
    // slots are these rows' texts in this order, else built.
    void buildIndex() {
        if (cachedGraph && cachedGraph->slots() == entries.size() && cacheCount == entries.size()) {
            bool same = true;
            for (std::size_t i = 0; same && i < entries.size(); ++i)
                same = embeddedKey(entries[i].prompt) == cacheKeys[i];
            if (same) {
                index = std::move(cachedGraph);
                slotOfRow.resize(entries.size());
                std::iota(slotOfRow.begin(), slotOfRow.end(), int64_t(0));
                rowOfSlot = slotOfRow;
                return;
            }
        }
        cachedGraph.reset();
        index = std::make_unique<ScopeIndex>(dim);
        index->add(embeddings.data(), entries.size());
        slotOfRow.resize(entries.size());
        std::iota(slotOfRow.begin(), slotOfRow.end(), int64_t(0));
        rowOfSlot = slotOfRow;
        ++indexRebuilds;
    }

    // Brings the index in line with indexWanted() after rows changed; a
    // graph with too many removed nodes is built afresh.
    void settleIndex() {
        if (!indexWanted()) {
            index.reset();
            slotOfRow.clear();
            rowOfSlot.clear();
        } else if (!index || index->deadShare() > kScopeIndexDeadShare) {
            buildIndex();
        }
    }

    std::vector<int> encodeForScope(const std::string& text) const {
        std::vector<int> ids = tok.encode(readable(text));
        const int ctx = embedNet->config().nPositions;
        if (static_cast<int>(ids.size()) > ctx)
            ids.erase(ids.begin(), ids.end() - ctx);
        return ids;
    }

    // Unit vectors of the texts, appended to `out`.
    void embedTexts(const std::vector<std::string>& texts, std::vector<float>& out) const {
        torch::NoGradGuard guard;
        for (std::size_t from = 0; from < texts.size(); from += kEmbedBatch) {
            std::vector<std::vector<int>> seqs;
            for (std::size_t i = from; i < std::min(texts.size(), from + kEmbedBatch); ++i)
                seqs.push_back(encodeForScope(texts[i]));
            auto b = makeBatch(seqs, pad);
            auto e = embedNet->embed(b.ids.to(device), b.lengths.to(device)).to(torch::kCPU);
            e = e.contiguous();
            out.insert(out.end(), e.data_ptr<float>(), e.data_ptr<float>() + e.numel());
        }
    }

    Entry entryOf(const Edit& e) const { return Entry{e.id, e.prompt, e.answer, {}}; }

    // Drops row i in O(1): the last row moves into its place.
    void removeRow(std::size_t i) {
        const std::size_t last = entries.size() - 1;
        rowOf.erase(entries[i].id);
        if (index) {
            const int64_t gone = slotOfRow[i];
            index->remove(gone);
            rowOfSlot[static_cast<std::size_t>(gone)] = -1;
            slotOfRow[i] = slotOfRow[last];
            rowOfSlot[static_cast<std::size_t>(slotOfRow[i])] = static_cast<int64_t>(i);
            slotOfRow.pop_back();
        }
        if (i != last) {
            entries[i] = std::move(entries[last]);
            std::copy_n(embeddings.begin() + static_cast<std::ptrdiff_t>(last * dim), dim,
                        embeddings.begin() + static_cast<std::ptrdiff_t>(i * dim));
            rowOf[entries[i].id] = i;
        }
        entries.pop_back();
        embeddings.resize(last * static_cast<std::size_t>(dim));
    }

    // Embeddings read from a cache file: the text's key -> its row there.
    SafetensorsFile cacheFile;
    const float* cacheRows = nullptr;
    std::unordered_map<uint64_t, std::size_t> cacheRowOf;
    std::size_t cacheHits = 0;
    const uint64_t* cacheKeys = nullptr;
    std::size_t cacheCount = 0;
    std::unique_ptr<ScopeIndex> cachedGraph; // taken by buildIndex() when the rows match
    uint64_t encoderHash = 0;                // of the embedding network's weights

    // Appends the edits and their embeddings: from the cache when it has
    // the text, else one forward pass per batch.
    void appendRows(const std::vector<const Edit*>& edits) {
        const std::size_t firstRow = entries.size();
        const auto width = static_cast<std::size_t>(dim);
        std::vector<std::string> texts;
        std::vector<std::size_t> textRow;
        embeddings.resize((firstRow + edits.size()) * width);
        for (const Edit* e : edits) {
            const std::size_t row = entries.size();
            rowOf[e->id] = row;
            entries.push_back(entryOf(*e));
            auto hit = cacheRows ? cacheRowOf.find(embeddedKey(e->prompt)) : cacheRowOf.end();
            if (hit != cacheRowOf.end()) {
                std::copy_n(cacheRows + hit->second * width, width, &embeddings[row * width]);
                ++cacheHits;
            } else {
                texts.push_back(e->prompt);
                textRow.push_back(row);
            }
        }
        std::vector<float> fresh;
        embedTexts(texts, fresh);
        for (std::size_t i = 0; i < textRow.size(); ++i)
            std::copy_n(&fresh[i * width], width, &embeddings[textRow[i] * width]);
        if (index && !edits.empty()) {
            const int64_t first = index->add(
                embeddings.data() + firstRow * static_cast<std::size_t>(dim), edits.size());
            for (std::size_t r = 0; r < edits.size(); ++r) {
                slotOfRow.push_back(first + static_cast<int64_t>(r));
                rowOfSlot.push_back(static_cast<int64_t>(firstRow + r));
            }
        }
    }

    // Follows the changes of the named edits only.
    void applyChanges(const EditMemory& memory, const std::vector<std::string>& changed) {
        std::unordered_map<std::string, bool> seen;
        std::vector<const Edit*> add;
        for (const std::string& id : changed) {
            if (!seen.emplace(id, true).second)
                continue;
            const Edit* e = memory.find(id);
            const bool want = e && e->enabled;
            auto row = rowOf.find(id);
            if (row != rowOf.end()) {
                const Entry& have = entries[row->second];
                if (want && have.prompt == e->prompt && have.answer == e->answer)
                    continue;
                removeRow(row->second);
            }
            if (want)
                add.push_back(e);
        }
        appendRows(add);
    }

    // Rebuilds from the whole memory, reusing the embeddings of unchanged edits.
    void rebuild(const EditMemory& memory) {
        std::vector<Entry> fresh;
        std::vector<float> rows;
        std::vector<const Edit*> add;
        fresh.reserve(memory.size());
        rows.reserve(memory.size() * static_cast<std::size_t>(dim));
        for (const Edit& e : memory.edits()) {
            if (!e.enabled)
                continue;
            auto row = rowOf.find(e.id);
            if (row != rowOf.end() && entries[row->second].prompt == e.prompt &&
                entries[row->second].answer == e.answer) {
                fresh.push_back(std::move(entries[row->second]));
                rows.insert(
                    rows.end(), embeddings.begin() + static_cast<std::ptrdiff_t>(row->second * dim),
                    embeddings.begin() + static_cast<std::ptrdiff_t>((row->second + 1) * dim));
            } else {
                add.push_back(&e);
            }
        }
        entries = std::move(fresh);
        embeddings = std::move(rows);
        rowOf.clear();
        for (std::size_t i = 0; i < entries.size(); ++i)
            rowOf[entries[i].id] = i;
        index.reset(); // rows were renumbered; settleIndex() builds it afresh
        slotOfRow.clear();
        rowOfSlot.clear();
        appendRows(add);
    }

    torch::Tensor embeddingMatrix() const {
        const auto n = static_cast<int64_t>(entries.size());
        if (device.is_cpu())
            return torch::from_blob(const_cast<float*>(embeddings.data()), {n, dim}, torch::kFloat);
        if (deviceStale || !deviceEmbeddings.defined()) {
            deviceEmbeddings =
                torch::from_blob(const_cast<float*>(embeddings.data()), {n, dim}, torch::kFloat)
                    .to(device);
            deviceStale = false;
        }
        return deviceEmbeddings;
    }

    // In-scope probabilities of x for the given entries, by cross-attention.
    // embeddingLogits: the embedding stage's logit of each of `which`.
    std::vector<float> crossProbs(const std::vector<int>& x, const std::vector<int64_t>& which,
                                  const std::vector<float>& embeddingLogits) const {
        torch::NoGradGuard guard;
        std::vector<float> out;
        out.reserve(which.size());
        const int ctx = crossNet->config().nPositions;
        for (std::size_t from = 0; from < which.size(); from += kCrossBatch) {
            std::vector<std::vector<int>> seqs;
            for (std::size_t i = from; i < std::min(which.size(), from + kCrossBatch); ++i)
                seqs.push_back(crossInput(crossPartOf(static_cast<std::size_t>(which[i])), x, ctx));
            auto b = makeBatch(seqs, pad);
            auto logits = crossNet->pairLogits(b.ids.to(device), b.lengths.to(device));
            const auto count = static_cast<int64_t>(seqs.size());
            auto prior = torch::from_blob(const_cast<float*>(embeddingLogits.data()) + from,
                                          {count}, torch::kFloat)
                             .to(device);
            auto p = torch::sigmoid(logits.sum(1) + prior).to(torch::kCPU).contiguous();
            out.insert(out.end(), p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
        }
        return out;
    }
};

SeracEditor::SeracEditor() : d(std::make_unique<Impl>()) {}
SeracEditor::~SeracEditor() = default;

std::unique_ptr<SeracEditor> SeracEditor::load(const std::string& seracDir,
                                               std::shared_ptr<LanguageModel> base,
                                               const std::string& device) {
    initThreads();
    if (!base)
        throw Error("SERAC needs a base model");
    const fs::path dir(seracDir);
    if (!fs::is_directory(dir))
        throw Error(seracDir + " is not a folder; a SERAC folder holds serac.json, "
                               "tokenizer.json, embedding/ and classifier/");
    for (const char* need : {"serac.json", "tokenizer.json", "embedding/model.safetensors",
                             "classifier/model.safetensors"})
        if (!fs::exists(dir / need))
            throw Error(seracDir + " has no " + need + "; train one with scalpel-cli train-serac");
    std::unique_ptr<SeracEditor> e(new SeracEditor());
    Impl& in = *e->d;
    in.base = std::move(base);
    in.device = torch::Device(resolveDevice(device));
    const std::string metaPath = (dir / "serac.json").string();
    auto meta = nlohmann::json::parse(readFile(metaPath, 1 << 20), nullptr, false);
    if (!meta.is_object())
        throw Error(metaPath + ": not valid JSON");
    in.threshold = jsonField(meta, "threshold", 0.5, metaPath);
    in.topK = std::max(1, jsonField(meta, "top_k", kDefaultTopK, metaPath));
    in.tok = Tokenizer::fromFile((dir / "tokenizer.json").string());
    const auto pad = in.tok.tokenId("[PAD]");
    if (!pad || !in.tok.tokenId("[SEP]"))
        throw Error(seracDir + "/tokenizer.json has no [PAD] or [SEP] token");
    in.pad = *pad;
    in.embedNet = SeracEncoder(
        SeracEncoderImpl::load((dir / "embedding").string(), SeracEncoderKind::Embedding));
    in.crossNet = SeracEncoder(
        SeracEncoderImpl::load((dir / "classifier").string(), SeracEncoderKind::CrossAttention));
    in.embedNet->to(in.device);
    in.crossNet->to(in.device);
    in.dim = in.embedNet->embeddingDim();
    {
        torch::NoGradGuard guard;
        for (const auto& p : in.embedNet->named_parameters()) {
            auto t = p.value().detach().to(torch::kCPU).contiguous();
            in.encoderHash = fnv1a(p.key().data(), p.key().size(), in.encoderHash);
            in.encoderHash =
                fnv1a(t.data_ptr(), static_cast<std::size_t>(t.nbytes()), in.encoderHash);
        }
    }

    const Tokenizer& baseTok = in.base->tokenizer();
    if (in.base->isMaskedLm() && baseTok.maskId())
        in.baseMask = baseTok.tokenSpelling(*baseTok.maskId());
    if (fs::exists(dir / "counterfactual" / "config.json")) {
        in.counterfactual = LanguageModel::load((dir / "counterfactual").string(), device);
        const Tokenizer& cfTok = in.counterfactual->tokenizer();
        const bool same = cfTok.toJson() == baseTok.toJson() &&
                          in.counterfactual->config().vocabSize == in.base->config().vocabSize;
        // A masked base model trained on the same words (the built-in BERT
        // beside the built-in GPT-2) takes the counterfactual model's
        // answers through the tokens' spellings: every word of the
        // counterfactual model must be one of the base's.
        bool mapped = false;
        if (!same && !in.baseMask.empty()) {
            mapped = true;
            in.counterfactualToBase.assign(
                static_cast<std::size_t>(in.counterfactual->config().vocabSize), -1);
            for (int id = 0; id < cfTok.vocabSize(); ++id) {
                const auto to = baseTok.tokenId(cfTok.tokenSpelling(id));
                if (to)
                    in.counterfactualToBase[static_cast<std::size_t>(id)] = *to;
                else if (!cfTok.isSpecial(id))
                    mapped = false;
            }
            if (!mapped)
                in.counterfactualToBase.clear();
        }
        if (same || mapped) {
            in.backend = CounterfactualBackend::Trained;
        } else if (!in.baseMask.empty()) {
            in.warning = "the loaded masked model does not share the trained counterfactual "
                         "model's words, and a masked model cannot answer edits in context; "
                         "edits cannot be answered";
            in.counterfactual.reset();
        } else {
            in.warning = "the loaded model's tokenizer differs from the one the trained "
                         "counterfactual model uses; edits are answered in context by the "
                         "loaded model";
            in.counterfactual.reset();
        }
    } else if (!in.baseMask.empty()) {
        in.warning = seracDir + " has no trained counterfactual model, and a masked model cannot "
                                "answer edits in context; edits cannot be answered";
    } else {
        in.warning = seracDir + " has no trained counterfactual model; edits are answered in "
                                "context by the loaded model";
    }
    return e;
}

void SeracEditor::setBackend(CounterfactualBackend b) {
    if (b == CounterfactualBackend::Trained && !d->counterfactual)
        throw Error("the trained counterfactual backend is not available: " + d->warning);
    if (b == CounterfactualBackend::InContext && !d->baseMask.empty())
        throw Error(inContextRefusal());
    d->backend = b;
}
CounterfactualBackend SeracEditor::backend() const {
    return d->backend;
}
bool SeracEditor::trainedBackendAvailable() const {
    return d->counterfactual != nullptr;
}
std::string SeracEditor::warning() const {
    return d->warning;
}

std::string SeracEditor::inContextRefusal() {
    return "the in-context backend is not available for a masked language model: it answers "
           "an edit by continuing the edit's text, and a masked model does not continue text; "
           "use the trained counterfactual model";
}
void SeracEditor::setThreshold(double p) {
    if (!(p >= 0 && p <= 1))
        throw Error("the scope threshold must be between 0 and 1");
    d->threshold = p;
}
double SeracEditor::threshold() const {
    return d->threshold;
}
void SeracEditor::setTopK(int k) {
    d->topK = std::max(1, k);
}
int SeracEditor::topK() const {
    return d->topK;
}
const LanguageModel& SeracEditor::base() const {
    return *d->base;
}
std::size_t SeracEditor::editCount() const {
    return d->entries.size();
}

void SeracEditor::sync(const EditMemory& memory) {
    Impl& in = *d;
    if (memory.revision() == in.syncedRevision)
        return;
    // Usually one edit changed since the last sync (the user added, edited
    // or toggled it): the memory's journal names it, and only it is looked
    // at. Anything else (another memory, a reload) rebuilds.
    std::vector<std::string> changed;
    if (in.syncedRevision != 0 && memory.changedSince(in.syncedRevision, changed))
        in.applyChanges(memory, changed);
    else
        in.rebuild(memory);
    in.settleIndex();
    in.syncedRevision = memory.revision();
    in.deviceStale = true;
}

std::vector<ScopeScore> SeracEditor::scope(const std::string& prompt, int topK,
                                           int maxResults) const {
    const Impl& in = *d;
    const auto n = static_cast<int64_t>(in.entries.size());
    if (n == 0)
        return {};
    const std::vector<int> x = in.encodeForScope(prompt);
    if (x.empty())
        throw Error("the prompt is empty");
    torch::NoGradGuard guard;
    auto b = makeBatch({x}, in.pad);
    auto q = in.embedNet->embed(b.ids.to(in.device), b.lengths.to(in.device)); // [1, dim]
    const int64_t k = std::min<int64_t>(std::max(0, topK), n);
    // The best `keep` rows by embedding similarity, best first: every row
    // from the exact scan, or the index's nearest neighbours.
    std::vector<int64_t> order;
    torch::Tensor sims;
    if (in.index) {
        const int64_t keep = std::min<int64_t>(
            n, maxResults < 0 ? std::max<int64_t>(k, kScopeIndexListed) : k + maxResults);
        auto qc = q.to(torch::kCPU).contiguous();
        const auto found = in.index->search(qc.data_ptr<float>(), static_cast<int>(keep));
        std::vector<float> s;
        for (const auto& [slot, sim] : found) {
            order.push_back(in.rowOfSlot[static_cast<std::size_t>(slot)]);
            s.push_back(sim);
        }
        sims = torch::tensor(s, torch::kFloat);
    } else {
        const int64_t keep = maxResults < 0 ? n : std::min<int64_t>(n, k + maxResults);
        auto all = torch::matmul(in.embeddingMatrix(), q.t()).view({-1});
        auto [best, at] = torch::topk(all, keep, 0, true, true);
        auto rows = at.to(torch::kCPU).contiguous();
        order.assign(rows.data_ptr<int64_t>(), rows.data_ptr<int64_t>() + keep);
        sims = best;
    }
    const auto kept = static_cast<int64_t>(order.size());
    auto logits =
        in.embedNet->distanceToLogit(2.0 - 2.0 * sims.to(in.device)).to(torch::kCPU).contiguous();
    auto p = torch::sigmoid(logits).contiguous();
    const float* pe = p.data_ptr<float>();
    const int64_t rescoredCount = std::min(k, kept);
    const std::vector<int64_t> rescored(order.begin(), order.begin() + rescoredCount);
    const std::vector<float> prior(logits.data_ptr<float>(),
                                   logits.data_ptr<float>() + rescoredCount);
    const std::vector<float> cross = in.crossProbs(x, rescored, prior);
    std::vector<std::pair<float, int64_t>> scored; // (prob, position in order)
    scored.reserve(order.size());
    for (int64_t i = 0; i < kept; ++i)
        scored.emplace_back(i < rescoredCount ? cross[static_cast<std::size_t>(i)] : pe[i], i);
    std::stable_sort(scored.begin(), scored.end(),
                     [](const auto& a, const auto& c) { return a.first > c.first; });
    if (maxResults >= 0 && static_cast<int64_t>(scored.size()) > maxResults)
        scored.resize(static_cast<std::size_t>(std::max<int64_t>(maxResults, 0)));
    std::vector<ScopeScore> out;
    out.reserve(scored.size());
    for (const auto& [prob, at] : scored)
        out.push_back({in.entries[static_cast<std::size_t>(order[static_cast<std::size_t>(at)])].id,
                       prob, at < rescoredCount ? kCross : kEmbedding});
    return out;
}

std::string SeracEditor::embeddingCachePath(const std::string& memoryPath) {
    return memoryPath + ".scope-cache.safetensors";
}

std::size_t SeracEditor::embeddingCacheHits() const {
    return d->cacheHits;
}

EmbeddingCacheStatus SeracEditor::useEmbeddingCache(const std::string& path) {
    Impl& in = *d;
    in.cacheFile = SafetensorsFile();
    in.cacheRows = nullptr;
    in.cacheKeys = nullptr;
    in.cacheCount = 0;
    in.cachedGraph.reset();
    in.cacheRowOf.clear();
    EmbeddingCacheStatus st;
    try {
        if (!fs::exists(path))
            throw Error(path + " does not exist");
        SafetensorsFile f = SafetensorsFile::open(path);
        auto meta = [&](const char* key) {
            auto it = f.metadata().find(key);
            return it == f.metadata().end() ? std::string() : it->second;
        };
        if (meta("format") != kCacheFormat)
            throw Error(path + " is not a scope-embedding cache");
        if (meta("encoder") != fnvHex(in.encoderHash))
            throw Error(path + " was made with other embedding-network weights");
        if (!f.contains("embeddings") || !f.contains("keys"))
            throw Error(path + " has no \"embeddings\" or \"keys\" tensor");
        const SafetensorsEntry& e = f.entry("embeddings");
        const SafetensorsEntry& k = f.entry("keys");
        if (e.dtype != "F32" || e.shape.size() != 2 || e.shape[1] != in.dim || k.dtype != "I64" ||
            k.shape.size() != 1 || k.shape[0] != e.shape[0])
            throw Error(path + ": the embeddings are not rows of " + std::to_string(in.dim) +
                        " floats with one key each");
        const auto rows = static_cast<std::size_t>(e.shape[0]);
        const auto* keys = static_cast<const uint64_t*>(f.rawData("keys"));
        const auto* data = static_cast<const float*>(f.rawData("embeddings"));
        uint64_t sum = fnv1a(keys, k.byteSize());
        sum = fnv1a(data, e.byteSize(), sum);
        if (meta("checksum") != fnvHex(sum))
            throw Error(path + " is damaged (its checksum does not match its content)");
        in.cacheRowOf.reserve(rows);
        for (std::size_t i = 0; i < rows; ++i)
            in.cacheRowOf.emplace(keys[i], i);
        in.cacheFile = f;
        in.cacheRows = data;
        in.cacheKeys = keys;
        in.cacheCount = rows;
        st.rows = rows;
        const std::string graph = path + ".hnsw";
        if (!meta("graph_checksum").empty() && fs::exists(graph) &&
            fnvHex(fnv1aFile(graph)) == meta("graph_checksum")) {
            in.cachedGraph = ScopeIndex::load(graph, in.dim);
            st.graph = true;
        }
    } catch (const Error& ex) {
        in.cacheRowOf.clear();
        in.cacheRows = nullptr;
        in.cacheKeys = nullptr;
        in.cacheCount = 0;
        in.cachedGraph.reset();
        st.refused = ex.what();
    }
    return st;
}

void SeracEditor::saveEmbeddingCache(const std::string& path) const {
    const Impl& in = *d;
    std::vector<uint64_t> keys;
    keys.reserve(in.entries.size());
    for (const auto& e : in.entries)
        keys.push_back(in.embeddedKey(e.prompt));
    const std::size_t bytes = in.entries.size() * static_cast<std::size_t>(in.dim) * sizeof(float);
    uint64_t sum = fnv1a(keys.data(), keys.size() * sizeof(uint64_t));
    sum = fnv1a(in.embeddings.data(), bytes, sum);
    const auto n = static_cast<int64_t>(in.entries.size());
    // The graph goes first; the cache names it by checksum, so a graph
    // without its cache, or from another save, is never taken.
    const std::string graph = path + ".hnsw";
    std::string graphSum;
    bool identity = in.index && in.index->slots() == in.entries.size();
    for (std::size_t i = 0; identity && i < in.slotOfRow.size(); ++i)
        identity = in.slotOfRow[i] == static_cast<int64_t>(i);
    if (identity) {
        in.index->save(graph);
        graphSum = fnvHex(fnv1aFile(graph));
    } else {
        std::error_code ec;
        fs::remove(graph, ec);
    }
    std::map<std::string, std::string> meta = {
        {"format", kCacheFormat}, {"encoder", fnvHex(in.encoderHash)}, {"checksum", fnvHex(sum)}};
    if (!graphSum.empty())
        meta["graph_checksum"] = graphSum;
    writeSafetensors(
        path,
        {SafetensorsTensor{"embeddings", {n, in.dim}, in.embeddings.data(), nullptr, {}},
         SafetensorsTensor{"keys", {n}, nullptr, keys.data(), "I64"}},
        meta);
}

void SeracEditor::setScopeIndex(ScopeIndexMode mode) {
    d->indexMode = mode;
    d->settleIndex();
}

ScopeIndexMode SeracEditor::scopeIndexMode() const {
    return d->indexMode;
}

ScopeIndexStatus SeracEditor::scopeIndexStatus() const {
    ScopeIndexStatus st;
    st.active = d->index != nullptr;
    if (d->index) {
        st.slots = d->index->slots();
        st.memoryBytes = d->index->memoryBytes();
        st.deadShare = d->index->deadShare();
    }
    st.rebuilds = d->indexRebuilds;
    return st;
}

std::vector<std::vector<ScopeScore>>
SeracEditor::captures(const std::vector<std::string>& texts, int topK,
                      const std::vector<std::vector<std::string>>& exclude,
                      double candidateFloor) const {
    const Impl& in = *d;
    std::vector<std::vector<ScopeScore>> out(texts.size());
    const auto n = static_cast<int64_t>(in.entries.size());
    if (n == 0 || texts.empty())
        return out;
    if (!exclude.empty() && exclude.size() != texts.size())
        throw Error("captures: one exclusion list per text, or none");
    torch::NoGradGuard guard;
    const int64_t k = std::min<int64_t>(std::max(1, topK), n);
    const float threshold = static_cast<float>(in.threshold);
    const float minusInf = -std::numeric_limits<float>::infinity();
    // Only an embedding probability above the threshold captures outside
    // the rescored candidates: logit > logit(threshold).
    const float captureLogit = std::log(threshold / (1 - threshold));
    const float floorLogit =
        candidateFloor <= 0   ? minusInf
        : candidateFloor >= 1 ? std::numeric_limits<float>::infinity()
                              : static_cast<float>(std::log(candidateFloor / (1 - candidateFloor)));
    auto edits = in.embeddingMatrix();
    const int ctx = in.crossNet->config().nPositions;

    // Stage 1, the embedding stage for every text: the (text, candidate)
    // pairs worth rescoring (among the best k, an embedding probability at
    // least candidateFloor) with their embedding logits, and the captures
    // outside the best k, which are the embedding stage's word.
    struct Pair {
        std::size_t text;
        int64_t entry;
        float prior;
    };
    std::vector<Pair> pairs;
    std::vector<std::vector<int>> seqs(texts.size());
    for (std::size_t from = 0; from < texts.size(); from += kEmbedBatch) {
        const std::size_t to = std::min(texts.size(), from + kEmbedBatch);
        const std::size_t count = to - from;
        for (std::size_t i = from; i < to; ++i) {
            seqs[i] = in.encodeForScope(texts[i]);
            if (seqs[i].empty())
                throw Error("text " + std::to_string(i + 1) + " is empty");
        }
        auto b = makeBatch({seqs.begin() + static_cast<std::ptrdiff_t>(from),
                            seqs.begin() + static_cast<std::ptrdiff_t>(to)},
                           in.pad);
        auto q = in.embedNet->embed(b.ids.to(in.device), b.lengths.to(in.device)); // [B, dim]
        auto sims = torch::matmul(q, edits.t());                                   // [B, n]
        auto logits = in.embedNet->distanceToLogit(2.0 - 2.0 * sims).to(torch::kCPU).contiguous();
        float* lp = logits.data_ptr<float>();
        if (!exclude.empty())
            for (std::size_t t = 0; t < count; ++t)
                for (const std::string& id : exclude[from + t]) {
                    const auto row = in.rowOf.find(id);
                    if (row != in.rowOf.end())
                        lp[static_cast<int64_t>(t) * n + static_cast<int64_t>(row->second)] =
                            minusInf;
                }
        // The logit is monotone in the similarity: the best k by logit are
        // the best k by embedding.
        auto best = std::get<1>(torch::topk(logits, k, 1, true, true)).contiguous();
        const int64_t* bp = best.data_ptr<int64_t>();
        for (std::size_t t = 0; t < count; ++t)
            for (int64_t c = 0; c < k; ++c) {
                const int64_t e = bp[static_cast<int64_t>(t) * k + c];
                const float l = lp[static_cast<int64_t>(t) * n + e];
                if (l != minusInf && l >= floorLogit)
                    pairs.push_back({from + t, e, l});
            }
        auto above = torch::nonzero(logits > captureLogit).contiguous(); // [m, 2]
        const int64_t* ap = above.data_ptr<int64_t>();
        for (int64_t r = 0; r < above.size(0); ++r) {
            const int64_t t = ap[2 * r], e = ap[2 * r + 1];
            const int64_t* rescored = bp + t * k;
            if (std::find(rescored, rescored + k, e) != rescored + k)
                continue;
            const float l = lp[t * n + e];
            out[from + static_cast<std::size_t>(t)].push_back(
                {in.entries[static_cast<std::size_t>(e)].id, 1 / (1 + std::exp(-l)), kEmbedding});
        }
    }

    // Stage 2, cross-attention on every pair. The network reads the edit
    // part first, so an edit's part runs once for all its inputs and each
    // input runs after that part's keys and values: pairs grouped by the
    // part's length (a cache without padding), a chunk of edits at a time
    // (bounded memory), inputs sorted by length (little padding). A pair
    // that must be cut to fit the context runs whole.
    auto crossPart = [&](const Pair& p) -> const std::vector<int>& {
        return in.crossPartOf(static_cast<std::size_t>(p.entry));
    };
    std::vector<float> cross(pairs.size());
    auto finish = [&](const std::vector<std::size_t>& which, const torch::Tensor& pairLogits) {
        std::vector<float> prior;
        for (const std::size_t p : which)
            prior.push_back(pairs[p].prior);
        auto pr =
            torch::from_blob(prior.data(), {static_cast<int64_t>(prior.size())}, torch::kFloat)
                .to(in.device);
        auto pp = torch::sigmoid(pairLogits.sum(1) + pr).to(torch::kCPU).contiguous();
        for (std::size_t i = 0; i < which.size(); ++i)
            cross[which[i]] = pp.data_ptr<float>()[i];
    };
    std::vector<std::size_t> whole, cached;
    for (std::size_t p = 0; p < pairs.size(); ++p)
        (crossInputIsWhole(crossPart(pairs[p]).size(), seqs[pairs[p].text].size(), ctx) ? cached
                                                                                        : whole)
            .push_back(p);
    if (!in.crossNet->lm->rowsMayShareCausalPrefix()) {
        whole.insert(whole.end(), cached.begin(), cached.end());
        cached.clear();
    }
    std::sort(cached.begin(), cached.end(), [&](std::size_t x, std::size_t y) {
        const auto lx = crossPart(pairs[x]).size(), ly = crossPart(pairs[y]).size();
        return lx != ly ? lx < ly : pairs[x].entry < pairs[y].entry;
    });
    constexpr std::size_t kPrefixChunk = 512; // distinct edit parts at a time
    for (std::size_t g0 = 0; g0 < cached.size();) {
        // One chunk: pairs of up to kPrefixChunk edits, all of one part length.
        const std::size_t length = crossPart(pairs[cached[g0]]).size();
        std::vector<int64_t> chunkEntries;
        std::vector<int64_t> rowOfPair;
        std::size_t g1 = g0;
        for (; g1 < cached.size(); ++g1) {
            const Pair& p = pairs[cached[g1]];
            if (crossPart(p).size() != length)
                break;
            if (chunkEntries.empty() || chunkEntries.back() != p.entry) {
                if (chunkEntries.size() == kPrefixChunk)
                    break;
                chunkEntries.push_back(p.entry);
            }
            rowOfPair.push_back(static_cast<int64_t>(chunkEntries.size()) - 1);
        }
        std::vector<std::vector<int>> parts;
        for (const int64_t e : chunkEntries)
            parts.push_back(in.crossPartOf(static_cast<std::size_t>(e)));
        const KvCache prefix = in.crossNet->prefixCache(makeBatch(parts, in.pad).ids.to(in.device));
        std::vector<std::size_t> order(g1 - g0);
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
            return seqs[pairs[cached[g0 + x]].text].size() <
                   seqs[pairs[cached[g0 + y]].text].size();
        });
        for (std::size_t b0 = 0; b0 < order.size(); b0 += kCrossBatch) {
            const std::size_t b1 = std::min(order.size(), b0 + kCrossBatch);
            std::vector<std::size_t> which;
            std::vector<std::vector<int>> inputs;
            std::vector<int64_t> rows;
            for (std::size_t i = b0; i < b1; ++i) {
                which.push_back(cached[g0 + order[i]]);
                inputs.push_back(seqs[pairs[which.back()].text]);
                rows.push_back(rowOfPair[order[i]]);
            }
            auto batch = makeBatch(inputs, in.pad);
            finish(which, in.crossNet->pairLogitsAfter(
                              prefix, torch::tensor(rows, torch::kLong).to(in.device),
                              batch.ids.to(in.device), batch.lengths.to(in.device)));
        }
        g0 = g1;
    }
    std::sort(whole.begin(), whole.end(), [&](std::size_t x, std::size_t y) {
        const auto lx = crossPart(pairs[x]).size() + seqs[pairs[x].text].size();
        const auto ly = crossPart(pairs[y]).size() + seqs[pairs[y].text].size();
        return lx != ly ? lx < ly : x < y;
    });
    for (std::size_t p0 = 0; p0 < whole.size(); p0 += kCrossBatch) {
        const std::size_t p1 = std::min(whole.size(), p0 + kCrossBatch);
        const std::vector<std::size_t> which(whole.begin() + static_cast<std::ptrdiff_t>(p0),
                                             whole.begin() + static_cast<std::ptrdiff_t>(p1));
        std::vector<std::vector<int>> inputs;
        for (const std::size_t p : which)
            inputs.push_back(crossInput(crossPart(pairs[p]), seqs[pairs[p].text], ctx));
        auto batch = makeBatch(inputs, in.pad);
        finish(which,
               in.crossNet->pairLogits(batch.ids.to(in.device), batch.lengths.to(in.device)));
    }
    for (std::size_t p = 0; p < pairs.size(); ++p)
        if (cross[p] > threshold)
            out[pairs[p].text].push_back(
                {in.entries[static_cast<std::size_t>(pairs[p].entry)].id, cross[p], kCross});
    for (auto& scores : out)
        std::stable_sort(scores.begin(), scores.end(),
                         [](const ScopeScore& x, const ScopeScore& y) { return x.prob > y.prob; });
    return out;
}

std::vector<ScopeScore> SeracEditor::scopeCrossAttentionAll(const std::string& prompt) const {
    const Impl& in = *d;
    const std::vector<int> x = in.encodeForScope(prompt);
    if (x.empty())
        throw Error("the prompt is empty");
    std::vector<int64_t> all(in.entries.size());
    std::iota(all.begin(), all.end(), 0);
    if (all.empty())
        return {};
    torch::NoGradGuard guard;
    auto b = makeBatch({x}, in.pad);
    auto q = in.embedNet->embed(b.ids.to(in.device), b.lengths.to(in.device));
    auto sims = torch::matmul(in.embeddingMatrix(), q.t()).view({-1});
    auto logits = in.embedNet->distanceToLogit(2.0 - 2.0 * sims).to(torch::kCPU).contiguous();
    const std::vector<float> prior(logits.data_ptr<float>(),
                                   logits.data_ptr<float>() + logits.numel());
    const auto probs = in.crossProbs(x, all, prior);
    std::vector<ScopeScore> out;
    out.reserve(all.size());
    for (std::size_t i = 0; i < all.size(); ++i)
        out.push_back({in.entries[i].id, probs[i], kCross});
    std::stable_sort(out.begin(), out.end(),
                     [](const ScopeScore& a, const ScopeScore& b) { return a.prob > b.prob; });
    return out;
}

std::vector<float> SeracEditor::counterfactualProbs(const std::string& editPrompt,
                                                    const std::string& editAnswer,
                                                    const std::string& prompt) const {
    const std::string text = d->readable(editPrompt) + " " + editAnswer + " " + d->readable(prompt);
    const bool trained = d->backend == CounterfactualBackend::Trained && d->counterfactual;
    if (!trained && !d->baseMask.empty())
        throw Error(inContextRefusal());
    const LanguageModel& m = trained ? *d->counterfactual : *d->base;
    auto probs = m.nextTokenProbs(m.prepare(text).ids);
    if (!trained || d->counterfactualToBase.empty())
        return probs;
    std::vector<float> onBase(static_cast<std::size_t>(d->base->config().vocabSize), 0.0f);
    for (std::size_t i = 0; i < probs.size(); ++i)
        if (const int to = d->counterfactualToBase[i]; to >= 0)
            onBase[static_cast<std::size_t>(to)] += probs[i];
    return onBase;
}

RoutedPrediction SeracEditor::predict(const std::string& prompt, int k) const {
    return route(prompt, k, nullptr);
}

RoutedPrediction SeracEditor::predict(const std::string& prompt, int k,
                                      const std::vector<float>& baseProbs) const {
    return route(prompt, k, &baseProbs);
}

RoutedPrediction SeracEditor::route(const std::string& prompt, int k,
                                    const std::vector<float>* baseProbs) const {
    RoutedPrediction r;
    r.scope = scope(prompt, d->topK);
    r.routedTo = "base";
    if (!r.scope.empty() && r.scope.front().prob > d->threshold) {
        const ScopeScore& best = r.scope.front();
        const Impl::Entry& e = d->entries[d->rowOf.at(best.editId)];
        r.routedTo = best.editId;
        r.routedProb = best.prob;
        r.probs = counterfactualProbs(e.prompt, e.answer, prompt);
    } else {
        if (!r.scope.empty())
            r.routedProb = r.scope.front().prob;
        r.probs = baseProbs ? *baseProbs : d->base->nextTokenProbs(d->base->prepare(prompt).ids);
    }
    r.top = d->base->topK(r.probs, k);
    return r;
}

} // namespace scalpel
