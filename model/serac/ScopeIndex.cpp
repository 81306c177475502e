#include "ScopeIndex.h"

#include "Error.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/DistanceComputer.h>
#include <faiss/index_io.h>
#include <faiss/utils/random.h>

#include <omp.h>

#include <cstdio>
#include <unistd.h>

#include <algorithm>
#include <string>

namespace scalpel {

namespace {

// Batches up to this size FAISS inserts serially; insertSerially() does the
// same without FAISS's per-call setup.
constexpr std::size_t kSerialBatch = 100;

// FAISS's HNSW walks distances (smaller is nearer); for inner products it
// negates them, as its own add does.
struct NegatedDistance : faiss::DistanceComputer {
    std::unique_ptr<faiss::DistanceComputer> inner;
    explicit NegatedDistance(faiss::DistanceComputer* d) : inner(d) {}
    void set_query(const float* x) override { inner->set_query(x); }
    float operator()(idx_t i) override { return -(*inner)(i); }
    float symmetric_dis(idx_t i, idx_t j) override { return -inner->symmetric_dis(i, j); }
};

} // namespace

struct ScopeIndex::Impl {
    int dim = 0;
    ScopeIndexOptions options;
    std::unique_ptr<faiss::IndexHNSWFlat> index;
    std::vector<uint8_t> dead; // per slot
    std::size_t deadCount = 0;
    // One lock per node and a visited table over all nodes, which FAISS's
    // add() allocates afresh on every call (O(nodes) for one vector); kept
    // here and grown, a single insertion costs only its graph search.
    std::vector<omp_lock_t> locks;
    std::unique_ptr<faiss::VisitedTable> visited;

    ~Impl() {
        for (auto& l : locks)
            omp_destroy_lock(&l);
    }

    void growScratch(std::size_t nodes) {
        if (nodes > locks.capacity()) {
            // Locks are not moved: a larger table is initialised afresh
            // (amortised O(1) per node, as the capacity doubles).
            std::vector<omp_lock_t> fresh;
            fresh.reserve(std::max(nodes, 2 * locks.capacity()));
            fresh.resize(nodes);
            for (auto& l : fresh)
                omp_init_lock(&l);
            for (auto& l : locks)
                omp_destroy_lock(&l);
            locks.swap(fresh);
        } else {
            const std::size_t old = locks.size();
            locks.resize(nodes);
            for (std::size_t i = old; i < nodes; ++i)
                omp_init_lock(&locks[i]);
        }
        if (!visited)
            visited = std::make_unique<faiss::VisitedTable>(static_cast<int>(nodes));
        else
            visited->visited.resize(nodes, 0);
    }

    // FAISS's serial add() of n vectors, step for step: levels drawn from
    // the graph's generator, the vectors inserted level by level from the
    // highest, each level's in FAISS's shuffled order; the same links,
    // without its O(nodes) setup.
    void insertSerially(const float* x, std::size_t n) {
        const auto n0 = static_cast<int>(index->ntotal);
        index->storage->add(static_cast<faiss::Index::idx_t>(n), x);
        index->ntotal = index->storage->ntotal;
        faiss::HNSW& hnsw = index->hnsw;
        hnsw.prepare_level_tab(n, false);
        growScratch(static_cast<std::size_t>(index->ntotal));
        // Bucketed by level, lowest first.
        auto levelOf = [&](std::size_t i) {
            return static_cast<std::size_t>(hnsw.levels[static_cast<std::size_t>(n0) + i] - 1);
        };
        std::vector<int> count, order(n);
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t level = levelOf(i);
            if (level >= count.size())
                count.resize(level + 1, 0);
            ++count[level];
        }
        std::vector<int> start(count.size() + 1, 0);
        for (std::size_t l = 0; l + 1 < count.size(); ++l)
            start[l + 1] = start[l] + count[l];
        for (std::size_t i = 0; i < n; ++i)
            order[static_cast<std::size_t>(start[levelOf(i)]++)] = n0 + static_cast<int>(i);
        NegatedDistance distance(index->storage->get_distance_computer());
        faiss::RandomGenerator shuffle(789);
        auto end = static_cast<int>(n);
        for (int level = static_cast<int>(count.size()) - 1; level >= 0; --level) {
            const int begin = end - count[static_cast<std::size_t>(level)];
            for (int j = begin; j < end; ++j)
                std::swap(order[static_cast<std::size_t>(j)],
                          order[static_cast<std::size_t>(j + shuffle.rand_int(end - j))]);
            for (int j = begin; j < end; ++j) {
                const int id = order[static_cast<std::size_t>(j)];
                distance.set_query(x + static_cast<std::size_t>(id - n0) *
                                           static_cast<std::size_t>(dim));
                hnsw.add_with_locks(distance, level, id, locks, *visited);
            }
            end = begin;
        }
    }

    const float* vector(int64_t slot) const {
        return static_cast<const faiss::IndexFlat*>(index->storage)->get_xb() +
               static_cast<std::size_t>(slot) * static_cast<std::size_t>(dim);
    }
    float dot(const float* a, const float* b) const {
        float s = 0;
        for (int i = 0; i < dim; ++i)
            s += a[i] * b[i];
        return s;
    }
};

ScopeIndex::ScopeIndex(int dim, ScopeIndexOptions options) : d(std::make_unique<Impl>()) {
    if (dim <= 0)
        throw Error("scope index: dimension " + std::to_string(dim) + " is not positive");
    if (options.neighbours < 2 || options.efConstruction < 1 || options.efSearch < 1)
        throw Error("scope index: neighbours must be at least 2 and ef values at least 1");
    d->dim = dim;
    d->options = options;
    d->index = std::make_unique<faiss::IndexHNSWFlat>(dim, options.neighbours,
                                                      faiss::METRIC_INNER_PRODUCT);
    d->index->hnsw.efConstruction = options.efConstruction;
    d->index->hnsw.efSearch = options.efSearch;
}

ScopeIndex::~ScopeIndex() = default;

std::unique_ptr<ScopeIndex> ScopeIndex::build(int dim, const float* vectors, std::size_t n,
                                              ScopeIndexOptions options,
                                              const std::atomic<bool>* cancel,
                                              std::atomic<std::size_t>* done, std::size_t chunk) {
    auto out = std::make_unique<ScopeIndex>(dim, options);
    if (!cancel || chunk == 0)
        chunk = std::max<std::size_t>(n, 1);
    for (std::size_t from = 0; from < n; from += chunk) {
        if (cancel && cancel->load(std::memory_order_relaxed))
            return nullptr;
        const std::size_t count = std::min(chunk, n - from);
        out->add(vectors + from * static_cast<std::size_t>(dim), count);
        if (done)
            done->store(from + count, std::memory_order_relaxed);
    }
    return out;
}

int ScopeIndex::dim() const {
    return d->dim;
}

int64_t ScopeIndex::add(const float* vectors, std::size_t n) {
    const auto first = static_cast<int64_t>(d->index->ntotal);
    if (n == 0)
        return first;
    if (n <= kSerialBatch)
        d->insertSerially(vectors, n);
    else
        d->index->add(static_cast<faiss::Index::idx_t>(n), vectors);
    d->dead.resize(d->dead.size() + n, 0);
    return first;
}

void ScopeIndex::remove(int64_t slot) {
    if (slot < 0 || static_cast<std::size_t>(slot) >= d->dead.size())
        throw Error("scope index: no slot " + std::to_string(slot));
    if (!d->dead[static_cast<std::size_t>(slot)]) {
        d->dead[static_cast<std::size_t>(slot)] = 1;
        ++d->deadCount;
    }
}

bool ScopeIndex::alive(int64_t slot) const {
    return slot >= 0 && static_cast<std::size_t>(slot) < d->dead.size() &&
           !d->dead[static_cast<std::size_t>(slot)];
}

std::vector<std::pair<int64_t, float>> ScopeIndex::search(const float* query, int k) const {
    std::vector<std::pair<int64_t, float>> out;
    const std::size_t alive = live();
    if (k <= 0 || alive == 0)
        return out;
    const auto want = static_cast<std::size_t>(std::min<std::size_t>(k, alive));
    // Dead slots are dropped after the search, so ask for enough that `want`
    // live ones remain on average, and ask again with more if not.
    const double share = deadShare();
    auto ask = static_cast<int64_t>(static_cast<double>(want) / std::max(0.05, 1.0 - share)) + 4;
    while (true) {
        ask = std::min<int64_t>(ask, static_cast<int64_t>(d->index->ntotal));
        faiss::SearchParametersHNSW params;
        params.efSearch = std::max<int>(d->options.efSearch, static_cast<int>(ask));
        std::vector<float> sims(static_cast<std::size_t>(ask));
        std::vector<faiss::Index::idx_t> slots(static_cast<std::size_t>(ask));
        d->index->search(1, query, ask, sims.data(), slots.data(), &params);
        out.clear();
        for (int64_t i = 0; i < ask && out.size() < want; ++i) {
            const auto s = slots[static_cast<std::size_t>(i)];
            if (s >= 0 && !d->dead[static_cast<std::size_t>(s)])
                out.emplace_back(s, d->dot(query, d->vector(s)));
        }
        if (out.size() >= want || ask >= static_cast<int64_t>(d->index->ntotal))
            break;
        ask *= 2;
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    return out;
}

void ScopeIndex::save(const std::string& path) const {
    if (d->deadCount != 0)
        throw Error("scope index: only an index with no removed edit is saved (" + path + ")");
    const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
    try {
        faiss::write_index(d->index.get(), tmp.c_str());
    } catch (const std::exception& e) {
        std::remove(tmp.c_str());
        throw Error("cannot write " + path + ": " + e.what());
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw Error("cannot replace " + path);
    }
}

std::unique_ptr<ScopeIndex> ScopeIndex::load(const std::string& path, int dim,
                                             ScopeIndexOptions options) {
    std::unique_ptr<faiss::Index> raw;
    try {
        raw.reset(faiss::read_index(path.c_str()));
    } catch (const std::exception& e) {
        throw Error(path + " is not a readable scope index: " + e.what());
    }
    auto* hnsw = dynamic_cast<faiss::IndexHNSWFlat*>(raw.get());
    if (!hnsw || hnsw->d != dim || hnsw->metric_type != faiss::METRIC_INNER_PRODUCT)
        throw Error(path + " is not an HNSW index of " + std::to_string(dim) +
                    "-wide inner-product vectors");
    auto out = std::make_unique<ScopeIndex>(dim, options);
    raw.release();
    out->d->index.reset(hnsw);
    out->d->index->hnsw.efSearch = options.efSearch;
    out->d->dead.assign(static_cast<std::size_t>(hnsw->ntotal), 0);
    return out;
}

std::size_t ScopeIndex::slots() const {
    return d->dead.size();
}

std::size_t ScopeIndex::live() const {
    return d->dead.size() - d->deadCount;
}

double ScopeIndex::deadShare() const {
    return d->dead.empty()
               ? 0.0
               : static_cast<double>(d->deadCount) / static_cast<double>(d->dead.size());
}

std::size_t ScopeIndex::memoryBytes() const {
    const faiss::HNSW& h = d->index->hnsw;
    return d->dead.size() * (static_cast<std::size_t>(d->dim) * sizeof(float) + 1) +
           h.neighbors.size() * sizeof(faiss::HNSW::storage_idx_t) +
           h.offsets.size() * sizeof(std::size_t) + h.levels.size() * sizeof(int) +
           h.assign_probas.size() * sizeof(double) +
           h.cum_nneighbor_per_level.size() * sizeof(int) +
           d->locks.capacity() * sizeof(omp_lock_t) + (d->visited ? d->visited->visited.size() : 0);
}

} // namespace scalpel
