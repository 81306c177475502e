#pragma once

// SeracEditor's private state, shared by SeracEditor.cpp and
// SeracEditorCaptures.cpp (the batch scoring of many texts against every
// edit). Not a public header: it includes LibTorch.
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
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <numeric>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace scalpel::serac_detail {
constexpr int kEmbedBatch = 256;
const char* const kCacheFormat = "scalpel-scope-cache";

inline uint64_t textKey(const std::string& text) {
    return fnv1a(text.data(), text.size());
}
constexpr int kCrossBatch = 512;
const char* const kCross = "cross-attention";
const char* const kEmbedding = "embedding";
} // namespace scalpel::serac_detail

namespace scalpel {

using namespace serac_detail;

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
    std::size_t lastReplayed = 0;

    // An index built on a thread of its own from a snapshot of the rows;
    // the thread reads and writes nothing but this object's snapshot and
    // result until `finished`.
    struct IndexBuild {
        std::vector<std::string> ids; // slot -> edit id at the snapshot
        std::vector<float> vectors;   // the thread's alone; freed once built
        // Edits added, changed or removed since the snapshot (their slots,
        // if any, are stale).
        std::unordered_set<std::string> touched;
        std::atomic<bool> cancel{false}, finished{false};
        std::atomic<std::size_t> done{0};
        std::unique_ptr<ScopeIndex> result;
        std::exception_ptr error;
        std::thread thread;
        ~IndexBuild() {
            cancel = true;
            if (thread.joinable())
                thread.join();
        }
    };
    bool buildInBackground = false;
    std::unique_ptr<IndexBuild> building;

    void noteTouched(const std::string& id) {
        if (building)
            building->touched.insert(id);
    }

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
        return entries.size() >= (index || building ? kScopeIndexFrom / 2 : kScopeIndexFrom);
    }

    void identitySlots() {
        slotOfRow.resize(entries.size());
        std::iota(slotOfRow.begin(), slotOfRow.end(), int64_t(0));
        rowOfSlot = slotOfRow;
    }

    // The cached graph, when its slots are these rows' texts in this order.
    bool takeCachedGraph() {
        if (!cachedGraph || cachedGraph->slots() != entries.size() || cacheCount != entries.size())
            return false;
        for (std::size_t i = 0; i < entries.size(); ++i)
            if (embeddedKey(entries[i].prompt) != cacheKeys[i])
                return false;
        index = std::move(cachedGraph);
        identitySlots();
        return true;
    }

    void startBuild() {
        auto b = std::make_unique<IndexBuild>();
        b->ids.reserve(entries.size());
        for (const Entry& e : entries)
            b->ids.push_back(e.id);
        b->vectors = embeddings;
        IndexBuild* job = b.get();
        const auto width = static_cast<std::size_t>(dim);
        b->thread = std::thread([job, width] {
            // One thread: the build runs beside the worker, whose passes
            // (typing) must not wait for cores that FAISS's OpenMP team
            // would spin on.
            omp_set_num_threads(1);
            try {
                job->result =
                    ScopeIndex::build(static_cast<int>(width), job->vectors.data(),
                                      job->vectors.size() / width, {}, &job->cancel, &job->done);
            } catch (...) {
                job->error = std::current_exception();
            }
            std::vector<float>().swap(job->vectors);
            job->finished.store(true, std::memory_order_release);
        });
        building = std::move(b);
    }

    // Takes a finished build: its slots map to today's rows through the
    // edit ids; slots of edits removed or changed since the snapshot are
    // marked removed, and rows added or changed since are inserted.
    void takeBuild() {
        std::unique_ptr<IndexBuild> b = std::move(building);
        if (b->thread.joinable())
            b->thread.join();
        if (b->error)
            std::rethrow_exception(b->error);
        if (!b->result)
            return; // cancelled
        std::unique_ptr<ScopeIndex> fresh = std::move(b->result);
        std::vector<int64_t> slotOf(entries.size(), -1), rowOf2(fresh->slots(), -1);
        for (std::size_t s = 0; s < b->ids.size(); ++s) {
            const std::string& id = b->ids[s];
            auto row = b->touched.count(id) ? rowOf.end() : rowOf.find(id);
            if (row == rowOf.end()) {
                fresh->remove(static_cast<int64_t>(s));
                continue;
            }
            slotOf[row->second] = static_cast<int64_t>(s);
            rowOf2[s] = static_cast<int64_t>(row->second);
        }
        std::vector<float> missing;
        std::vector<std::size_t> missingRows;
        const auto width = static_cast<std::size_t>(dim);
        for (std::size_t r = 0; r < entries.size(); ++r)
            if (slotOf[r] < 0) {
                missingRows.push_back(r);
                missing.insert(missing.end(),
                               embeddings.begin() + static_cast<std::ptrdiff_t>(r * width),
                               embeddings.begin() + static_cast<std::ptrdiff_t>((r + 1) * width));
            }
        const int64_t first = fresh->add(missing.data(), missingRows.size());
        rowOf2.resize(fresh->slots(), -1);
        for (std::size_t i = 0; i < missingRows.size(); ++i) {
            slotOf[missingRows[i]] = first + static_cast<int64_t>(i);
            rowOf2[static_cast<std::size_t>(first) + i] = static_cast<int64_t>(missingRows[i]);
        }
        index = std::move(fresh);
        slotOfRow = std::move(slotOf);
        rowOfSlot = std::move(rowOf2);
        lastReplayed = b->touched.size();
        ++indexRebuilds;
    }

    // Brings the index in line with indexWanted() after rows changed; a
    // graph with too many removed nodes is built afresh (here, or on the
    // build thread, which takeBuild() collects when it has finished).
    void settleIndex() {
        if (building && building->finished.load(std::memory_order_acquire))
            takeBuild();
        if (!indexWanted()) {
            building.reset();
            index.reset();
            slotOfRow.clear();
            rowOfSlot.clear();
            return;
        }
        if (index && index->deadShare() <= kScopeIndexDeadShare)
            return;
        if (building && buildInBackground)
            return; // under way
        building.reset();
        // A fresh index over every row, in row order: the cached graph when
        // it matches, else built here or on the build thread.
        if (takeCachedGraph())
            return;
        cachedGraph.reset();
        if (buildInBackground) {
            startBuild();
            return;
        }
        index = ScopeIndex::build(dim, embeddings.data(), entries.size());
        identitySlots();
        ++indexRebuilds;
    }

    // At every call: a finished build is taken.
    void pollBuild() {
        if (building && building->finished.load(std::memory_order_acquire))
            settleIndex();
    }

    std::vector<int> encodeForScope(const std::string& text) const {
        std::vector<int> ids = tok.encode(readable(text));
        const int ctx = embedNet->config().nPositions;
        if (static_cast<int>(ids.size()) > ctx)
            ids.erase(ids.begin(), ids.end() - ctx);
        return ids;
    }

    // Told of the embedding's progress during sync(), when its caller asks.
    const SyncProgress* syncProgress = nullptr;

    // Unit vectors of the texts, appended to `out`.
    void embedTexts(const std::vector<std::string>& texts, std::vector<float>& out) const {
        torch::NoGradGuard guard;
        for (std::size_t from = 0; from < texts.size(); from += kEmbedBatch) {
            if (syncProgress && *syncProgress)
                (*syncProgress)(from, texts.size());
            std::vector<std::vector<int>> seqs;
            for (std::size_t i = from; i < std::min(texts.size(), from + kEmbedBatch); ++i)
                seqs.push_back(encodeForScope(texts[i]));
            auto b = makeBatch(seqs, pad);
            auto e = embedNet->embed(b.ids.to(device), b.lengths.to(device)).to(torch::kCPU);
            e = e.contiguous();
            out.insert(out.end(), e.data_ptr<float>(), e.data_ptr<float>() + e.numel());
        }
        if (syncProgress && *syncProgress && !texts.empty())
            (*syncProgress)(texts.size(), texts.size());
    }

    Entry entryOf(const Edit& e) const { return Entry{e.id, e.prompt, e.answer, {}}; }

    // Drops row i in O(1): the last row moves into its place.
    void removeRow(std::size_t i) {
        const std::size_t last = entries.size() - 1;
        noteTouched(entries[i].id);
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
            noteTouched(e->id);
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

} // namespace scalpel
