#pragma once
// Memory-based model editing (SERAC, Mitchell et al. 2022): the base model
// stays untouched; a scope classifier decides whether a prompt falls within
// one of the edits in memory, and if so a counterfactual model answers it
// conditioned on that edit, else the base model answers.
//
// Promises:
// - Scope is two-stage. The embedding stage scores the prompt against every
//   enabled edit with one matrix product over edit embeddings computed once
//   (sync() embeds only new or changed edits and, following the memory's
//   journal, costs O(changes) besides that forward pass, not O(edits)); the
//   cross-attention stage rescores the best k. Each ScopeScore says which stage its probability
//   came from; the list is best first.
// - predict() routes to the counterfactual model exactly when the best
//   scope probability is above threshold(); otherwise its output is the base
//   model's, bit for bit. With no enabled edit it is always the base model.
// - The trained counterfactual backend needs the base model to share the
//   SERAC folder's tokenizer (the built-in model does); with any other model
//   load() selects the in-context backend (the base model reads the edit as
//   a prefix) and warning() says why. The scope classifier always reads text
//   with its own tokenizer, so it works beside any base model.
// - A masked base model (BERT) asks cloze prompts: the scope classifier and
//   the counterfactual model read a prompt up to its mask, and the trained
//   counterfactual model's distribution is carried over to the base's
//   vocabulary by token spelling (every one of its words must be the
//   base's). A masked model cannot answer in context: that backend is an
//   Error naming why, never a silent zero.
// Torch-free header; const methods may be called from one thread at a time.
#include "EditMemory.h"
#include "LanguageModel.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace scalpel {

struct ScopeScore {
    std::string editId;
    double prob = 0;
    std::string stage; // "cross-attention" or "embedding"
};

enum class CounterfactualBackend { Trained, InContext };

// The embedding stage's search: Auto scans every edit's embedding below
// kScopeIndexFrom enabled edits and searches an approximate nearest-neighbour
// index (FAISS HNSW, ScopeIndex.h) from there on; On and Off force one way.
enum class ScopeIndexMode { Auto, On, Off };

struct EmbeddingCacheStatus {
    std::size_t rows = 0; // embeddings the file holds
    std::string refused;  // why the file is not used; empty when it is
    bool graph = false;   // a saved index graph came with it (used when the rows match)
};

struct ScopeIndexStatus {
    bool active = false;
    std::size_t slots = 0;       // edits in the graph, removed ones included
    std::size_t memoryBytes = 0; // vectors and links
    double deadShare = 0;        // removed share; rebuilt past kScopeIndexDeadShare
    std::size_t rebuilds = 0;    // index builds so far
    // A build on the editor's own thread (setScopeIndexBuildsInBackground):
    // its progress, and of the last build taken, how many edits changed
    // while it ran (replayed onto it when it was taken).
    bool building = false;
    std::size_t buildDone = 0, buildTotal = 0;
    std::size_t replayed = 0;
};

struct RoutedPrediction {
    std::string routedTo; // "base" or an edit id
    double routedProb = 0;
    std::vector<ScopeScore> scope; // best first
    std::vector<TokenProb> top;
    // Next-token distribution of the model that answered, over the base
    // tokenizer's vocabulary.
    std::vector<float> probs;
};

class SeracEditor {
public:
    static constexpr int kDefaultTopK = 8;
    // Where Auto switches to the index: the size at which searching it
    // costs less than the exact scan (bench/scope measures the crossing).
    static constexpr std::size_t kScopeIndexFrom = 20000;
    static constexpr double kScopeIndexDeadShare = 0.25;
    // With the index on, scope() without maxResults lists this many edits
    // (the best by embedding; edits beyond them are not scored).
    static constexpr int kScopeIndexListed = 100;

    // seracDir holds serac.json, tokenizer.json, embedding/, classifier/ and
    // (optionally) counterfactual/. Error names what is missing or wrong.
    static std::unique_ptr<SeracEditor> load(const std::string& seracDir,
                                             std::shared_ptr<LanguageModel> base,
                                             const std::string& device = "cpu");
    ~SeracEditor();

    // Error when Trained is unavailable, or InContext on a masked base model.
    void setBackend(CounterfactualBackend backend);
    // Why a masked base model has no in-context backend.
    static std::string inContextRefusal();
    CounterfactualBackend backend() const;
    bool trainedBackendAvailable() const;
    std::string warning() const;

    // Route when best prob > threshold; the default is the calibrated value
    // stored in serac.json (0.5 when none).
    void setThreshold(double p);
    double threshold() const;
    void setTopK(int k);
    int topK() const;

    // Makes the editor's view of enabled edits equal to the memory's.
    // Edits not seen before are embedded (a forward pass per 256);
    // `progress`, when given, hears (embedded so far, to embed) before each
    // pass and once all are done.
    using SyncProgress = std::function<void(std::size_t done, std::size_t total)>;
    void sync(const EditMemory& memory, const SyncProgress& progress = {});
    std::size_t editCount() const; // enabled edits known after sync()

    // Every enabled edit's probability, best first: the top k by embedding
    // rescored by cross-attention, the rest by embedding. maxResults >= 0
    // keeps only the best maxResults (the first k are always computed).
    // While the index is on (or being built in the background), "every
    // edit" is the best kScopeIndexListed (or k + maxResults).
    std::vector<ScopeScore> scope(const std::string& prompt, int topK = kDefaultTopK,
                                  int maxResults = -1) const;
    // For each text, the enabled edits whose scope captures it (probability
    // above threshold()), best first, as a check over a whole memory needs:
    // the texts are embedded in batches; of each text's best `topK` edits by
    // the embedding stage, those with an embedding probability of at least
    // `candidateFloor` are rescored by cross-attention (all pairs of a batch
    // together); an edit outside the best `topK` counts when its embedding
    // probability alone is above the threshold. `exclude` (empty, or one
    // list per text) names edits not to consider for that text (its own,
    // say), so they take no candidate's place. With candidateFloor 0 a
    // text's result is scope(text, topK) cut at the threshold.
    std::vector<std::vector<ScopeScore>>
    captures(const std::vector<std::string>& texts, int topK = kDefaultTopK,
             const std::vector<std::vector<std::string>>& exclude = {},
             double candidateFloor = 0) const;
    // Edit embeddings kept in a file beside the memory (safetensors): each
    // row keyed by its edit's text, the file by a hash of the embedding
    // network's weights and a checksum of its content. useEmbeddingCache()
    // maps the file; from then on sync() takes an edit's embedding from it
    // when the text matches instead of running the encoder. A file made
    // with other weights, damaged or truncated, or not a cache is refused
    // (the status says why) and nothing of it is used; saving afresh after
    // the sync replaces it. saveEmbeddingCache() writes the embeddings of
    // the enabled edits synced and, while the index is on and has no
    // removed edit, its graph ("<path>.hnsw", under the cache's checksum),
    // which a later sync takes instead of building one when its edits are
    // the cache's rows in the same order.
    EmbeddingCacheStatus useEmbeddingCache(const std::string& path);
    void saveEmbeddingCache(const std::string& path) const;
    std::size_t embeddingCacheHits() const; // embeddings taken from the cache so far
    // Where a memory file's cache lives: "<memory>.scope-cache.safetensors".
    static std::string embeddingCachePath(const std::string& memoryPath);

    void setScopeIndex(ScopeIndexMode mode);
    ScopeIndexMode scopeIndexMode() const;
    ScopeIndexStatus scopeIndexStatus() const;
    // Off (the default): sync() and setScopeIndex() build the index before
    // they return, as a batch run wants. On (the studio): an index is built
    // on a thread of the editor's own from a copy of the embeddings, while
    // the embedding stage goes on with what it has: the index whose removed
    // share has grown, or the exact scan when there is none. Edits added,
    // changed or removed meanwhile are noted; the finished index is taken
    // at the next call of this editor (sync, scope, predict or the
    // status) with those edits replayed onto it. Scores never depend on
    // which of the two answered beyond the index's recall. Destroying the
    // editor, or the index no longer wanted, stops a build at its next
    // chunk (ScopeIndex::kBuildChunk edits).
    void setScopeIndexBuildsInBackground(bool on);
    // Waits for a build under way (if any) and takes it.
    void waitForScopeIndex();
    // The paper's single-stage way: cross-attention over every edit.
    std::vector<ScopeScore> scopeCrossAttentionAll(const std::string& prompt) const;

    RoutedPrediction predict(const std::string& prompt, int k = 10) const;
    // The same, for a caller that already has the base model's distribution
    // for `prompt` (its probs): when no edit fires it is the answer, and the
    // base model does not run again.
    RoutedPrediction predict(const std::string& prompt, int k,
                             const std::vector<float>& baseProbs) const;
    // The counterfactual model's next-token distribution for `prompt` given
    // the edit (prompt, answer), with the current backend.
    std::vector<float> counterfactualProbs(const std::string& editPrompt,
                                           const std::string& editAnswer,
                                           const std::string& prompt) const;

    const LanguageModel& base() const;

    struct Impl;

private:
    SeracEditor();
    RoutedPrediction route(const std::string& prompt, int k,
                           const std::vector<float>* baseProbs) const;
    std::unique_ptr<Impl> d;
};

} // namespace scalpel
