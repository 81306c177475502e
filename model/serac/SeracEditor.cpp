#include "SeracEditor.h"

#include "SeracEditorImpl.h"

namespace scalpel {

namespace fs = std::filesystem;

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

void SeracEditor::sync(const EditMemory& memory, const SyncProgress& progress) {
    Impl& in = *d;
    if (memory.revision() == in.syncedRevision) {
        in.pollBuild();
        return;
    }
    in.syncProgress = &progress;
    struct Reset {
        Impl& in;
        ~Reset() { in.syncProgress = nullptr; }
    } reset{in};
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
    d->pollBuild();
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
    // "Every edit" is every row for the exact scan of a small memory, and
    // the best kScopeIndexListed while the index is on or being built.
    const int64_t listed = in.index || in.building ? std::max<int64_t>(k, kScopeIndexListed) : n;
    const int64_t keep = std::min<int64_t>(n, maxResults < 0 ? listed : k + maxResults);
    std::vector<int64_t> order;
    torch::Tensor sims;
    if (in.index) {
        auto qc = q.to(torch::kCPU).contiguous();
        const auto found = in.index->search(qc.data_ptr<float>(), static_cast<int>(keep));
        std::vector<float> s;
        for (const auto& [slot, sim] : found) {
            order.push_back(in.rowOfSlot[static_cast<std::size_t>(slot)]);
            s.push_back(sim);
        }
        sims = torch::tensor(s, torch::kFloat);
    } else {
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

void SeracEditor::setScopeIndexBuildsInBackground(bool on) {
    d->buildInBackground = on;
    d->settleIndex();
}

void SeracEditor::waitForScopeIndex() {
    // A build that finds many edits changed since its snapshot may start
    // another (settleIndex); that one has none.
    while (d->building) {
        if (d->building->thread.joinable())
            d->building->thread.join();
        d->pollBuild();
    }
}

ScopeIndexStatus SeracEditor::scopeIndexStatus() const {
    d->pollBuild();
    ScopeIndexStatus st;
    if (d->building) {
        st.building = true;
        st.buildDone = d->building->done.load(std::memory_order_relaxed);
        st.buildTotal = d->building->ids.size();
    }
    st.replayed = d->lastReplayed;
    st.active = d->index != nullptr;
    if (d->index) {
        st.slots = d->index->slots();
        st.memoryBytes = d->index->memoryBytes();
        st.deadShare = d->index->deadShare();
    }
    st.rebuilds = d->indexRebuilds;
    return st;
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
