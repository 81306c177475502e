#pragma once
// Approximate nearest neighbours over the scope stage's edit embeddings, for
// memories too large to scan: FAISS's HNSW graph (Malkov and Yashunin 2018)
// with the inner-product metric over unit vectors, so the best neighbours are
// the edits with the highest cosine similarity, as in the exact scan.
//
// Promises:
// - Slots are numbered in insertion order from 0; add() returns the new
//   slot. The caller maps slots to its own rows.
// - remove() only marks a slot dead (HNSW graphs do not delete); search()
//   never returns a dead slot. Once deadShare() passes what the caller
//   accepts, it builds a fresh index from the live vectors (build(), which
//   may run on a thread of its own: it touches nothing but its arguments).
// - search() returns at most k (slot, similarity) pairs, best first, with
//   the similarity recomputed exactly from the stored vector.
// - Vectors added in one batch of more than 100 are inserted in parallel,
//   so two builds of the same vectors may link the graph differently: what
//   is certain is exact similarities and no dead slot, not which near
//   neighbour a search misses. Smaller batches (an edit added in the studio)
//   are inserted one by one, linked exactly as FAISS's own add() links
//   them, in time that does not grow with the index (FAISS's add() sets up
//   per-node locks and a visited table on every call).
// Torch-free header; not thread-safe (the caller serialises).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace scalpel {

struct ScopeIndexOptions {
    int neighbours = 32;     // HNSW's M: links per node on the upper layers
    int efConstruction = 80; // candidate list while inserting
    int efSearch = 96;       // candidate list while searching (>= k)
};

class ScopeIndex {
public:
    ScopeIndex(int dim, ScopeIndexOptions options = {});
    ~ScopeIndex();
    ScopeIndex(const ScopeIndex&) = delete;
    ScopeIndex& operator=(const ScopeIndex&) = delete;

    // A fresh index of n vectors, as one add() would make it; with `cancel`
    // given, inserted in chunks of `chunk` (so the graph links differ from
    // one add's), checking the flag between chunks: nullptr once it is set.
    // `done` counts the vectors inserted so far.
    static constexpr std::size_t kBuildChunk = 2048;
    static std::unique_ptr<ScopeIndex> build(int dim, const float* vectors, std::size_t n,
                                             ScopeIndexOptions options = {},
                                             const std::atomic<bool>* cancel = nullptr,
                                             std::atomic<std::size_t>* done = nullptr,
                                             std::size_t chunk = kBuildChunk);

    int dim() const;
    // Adds n vectors (n x dim, row-major); returns the first new slot.
    int64_t add(const float* vectors, std::size_t n);
    void remove(int64_t slot);
    bool alive(int64_t slot) const;

    std::vector<std::pair<int64_t, float>> search(const float* query, int k) const;

    // The graph and vectors in FAISS's own file format, written atomically;
    // only an index with no removed slot is saved (save() refuses others).
    // load() refuses a file that is not an HNSW index of `dim` inner-product
    // vectors; Error names the file.
    void save(const std::string& path) const;
    static std::unique_ptr<ScopeIndex> load(const std::string& path, int dim,
                                            ScopeIndexOptions options = {});

    std::size_t slots() const; // live and dead
    std::size_t live() const;
    double deadShare() const;
    // Bytes held: the vectors, the graph's links and levels, the dead marks,
    // the insertion's per-node locks and visited table.
    std::size_t memoryBytes() const;

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

} // namespace scalpel
