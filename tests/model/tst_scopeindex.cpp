// The scope stage's approximate index (FAISS HNSW) against a brute-force
// scan of the same unit vectors: the neighbours it returns, the
// similarities it reports, and that a removed edit never comes back.
#include "Error.h"
#include "ScopeIndex.h"

#include <faiss/IndexHNSW.h>
#include <faiss/index_io.h>

#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <random>
#include <set>

using namespace scalpel;

namespace {

constexpr int kDim = 48;

std::vector<float> unitVectors(std::size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> g;
    std::vector<float> v(n * kDim);
    for (std::size_t i = 0; i < n; ++i) {
        float norm = 0;
        for (int j = 0; j < kDim; ++j)
            norm += (v[i * kDim + j] = g(rng)) * v[i * kDim + j];
        for (int j = 0; j < kDim; ++j)
            v[i * kDim + j] /= std::sqrt(norm);
    }
    return v;
}

float dot(const float* a, const float* b) {
    float s = 0;
    for (int i = 0; i < kDim; ++i)
        s += a[i] * b[i];
    return s;
}

// The k live slots most similar to q, by scanning them all.
std::vector<int64_t> exactTop(const std::vector<float>& base, const std::vector<bool>& dead,
                              const float* q, int k) {
    std::vector<std::pair<float, int64_t>> all;
    for (std::size_t i = 0; i < dead.size(); ++i)
        if (!dead[i])
            all.emplace_back(dot(&base[i * kDim], q), static_cast<int64_t>(i));
    std::partial_sort(all.begin(), all.begin() + std::min<std::size_t>(k, all.size()), all.end(),
                      [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<int64_t> out;
    for (std::size_t i = 0; i < std::min<std::size_t>(k, all.size()); ++i)
        out.push_back(all[i].second);
    return out;
}

// Share of the exact top k that the index found, over `queries`.
double recall(const ScopeIndex& index, const std::vector<float>& base,
              const std::vector<bool>& dead, const std::vector<float>& queries, int k) {
    std::size_t hit = 0, total = 0;
    for (std::size_t q = 0; q * kDim < queries.size(); ++q) {
        const float* query = &queries[q * kDim];
        const auto want = exactTop(base, dead, query, k);
        const auto got = index.search(query, k);
        std::set<int64_t> found;
        for (const auto& [slot, sim] : got)
            found.insert(slot);
        for (int64_t s : want)
            hit += found.count(s);
        total += want.size();
    }
    return static_cast<double>(hit) / static_cast<double>(total);
}

} // namespace

class TestScopeIndex : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void findsTheExactNeighboursWithExactSimilarities() {
        const auto base = unitVectors(6000, 1), queries = unitVectors(200, 2);
        ScopeIndex index(kDim);
        QCOMPARE(index.add(base.data(), 4000), int64_t(0));
        QCOMPARE(index.add(base.data() + 4000 * kDim, 2000), int64_t(4000)); // grows in place
        QCOMPARE(index.live(), std::size_t(6000));
        const std::vector<bool> dead(6000, false);
        const double r = recall(index, base, dead, queries, 8);
        QVERIFY2(r >= 0.99, qPrintable(QString("recall@8 %1").arg(r)));
        const auto got = index.search(queries.data(), 8);
        QCOMPARE(got.size(), std::size_t(8));
        for (std::size_t i = 0; i < got.size(); ++i) {
            QVERIFY(std::abs(got[i].second - dot(&base[got[i].first * kDim], queries.data())) <
                    1e-5);
            if (i)
                QVERIFY(got[i - 1].second >= got[i].second);
        }
    }

    // The build a background thread runs: chunk by chunk (here 1,000 of
    // 6,050 vectors, the last chunk small enough to be inserted serially),
    // counting what is in, as good as one add() (the bar of the test
    // above); a set cancel flag stops it with nothing.
    void chunkedBuildFindsTheSameAndStopsWhenCancelled() {
        const std::size_t n = 6050;
        const auto base = unitVectors(n, 1), queries = unitVectors(200, 2);
        std::atomic<bool> cancel{false};
        std::atomic<std::size_t> done{0};
        auto index = ScopeIndex::build(kDim, base.data(), n, {}, &cancel, &done, 1000);
        QVERIFY(index);
        QCOMPARE(done.load(), n);
        QCOMPARE(index->slots(), n);
        QCOMPARE(index->live(), n);
        const std::vector<bool> dead(n, false);
        const double r = recall(*index, base, dead, queries, 8);
        QVERIFY2(r >= 0.99, qPrintable(QString("recall@8 %1").arg(r)));
        cancel = true;
        done = 0;
        QVERIFY(!ScopeIndex::build(kDim, base.data(), n, {}, &cancel, &done, 1000));
        QCOMPARE(done.load(), std::size_t(0));
    }

    // Removal marks slots dead; the search never returns one, still finds
    // k live neighbours, and the caller sees the share to rebuild by.
    void removedSlotsNeverComeBack() {
        const auto base = unitVectors(3000, 3), queries = unitVectors(100, 4);
        ScopeIndex index(kDim);
        index.add(base.data(), 3000);
        std::vector<bool> dead(3000, false);
        // Remove each query's nearest neighbour and then every third slot.
        for (std::size_t q = 0; q < 100; ++q) {
            const auto top = exactTop(base, dead, &queries[q * kDim], 1);
            index.remove(top[0]);
            dead[static_cast<std::size_t>(top[0])] = true;
        }
        for (int64_t s = 0; s < 3000; s += 3) {
            index.remove(s);
            dead[static_cast<std::size_t>(s)] = true;
        }
        index.remove(0); // twice is harmless
        const auto deadCount = static_cast<std::size_t>(std::count(dead.begin(), dead.end(), true));
        QCOMPARE(index.live(), 3000 - deadCount);
        QVERIFY(std::abs(index.deadShare() - deadCount / 3000.0) < 1e-12);
        for (std::size_t q = 0; q < 100; ++q) {
            const auto got = index.search(&queries[q * kDim], 8);
            QCOMPARE(got.size(), std::size_t(8));
            for (const auto& [slot, sim] : got) {
                QVERIFY(!dead[static_cast<std::size_t>(slot)]);
                QVERIFY(index.alive(slot));
            }
        }
        const double r = recall(index, base, dead, queries, 8);
        QVERIFY2(r >= 0.99, qPrintable(QString("recall@8 after removal %1").arg(r)));
    }

    // An edit added to a large memory is inserted on its own: the graph
    // (read back from the saved file, byte for byte) is the one FAISS's own
    // add() links, also on an index that was read from a file and after a
    // parallel batch.
    void singleInsertionsLinkTheGraphAsFaissDoes() {
        const auto base = unitVectors(1500, 7);
        const ScopeIndexOptions o;
        faiss::IndexHNSWFlat reference(kDim, o.neighbours, faiss::METRIC_INNER_PRODUCT);
        reference.hnsw.efConstruction = o.efConstruction;
        reference.hnsw.efSearch = o.efSearch;
        ScopeIndex index(kDim, o);
        QTemporaryDir dir;
        const std::string ours = dir.filePath("ours.faiss").toStdString();
        const std::string theirs = dir.filePath("theirs.faiss").toStdString();
        auto sameFiles = [&] {
            index.save(ours);
            faiss::write_index(&reference, theirs.c_str());
            std::ifstream a(ours, std::ios::binary), b(theirs, std::ios::binary);
            const std::string x((std::istreambuf_iterator<char>(a)), {});
            const std::string y((std::istreambuf_iterator<char>(b)), {});
            return !x.empty() && x == y;
        };
        // A first batch small enough for FAISS to insert serially, then
        // single vectors and small batches.
        reference.add(60, base.data());
        index.add(base.data(), 60);
        std::size_t at = 60;
        for (int round = 0; round < 20; ++round)
            for (const std::size_t n : {1, 1, 7, 1, 100, 1, 31})
                if (at + n <= 1400) {
                    reference.add(static_cast<faiss::Index::idx_t>(n), base.data() + at * kDim);
                    QCOMPARE(index.add(base.data() + at * kDim, n), static_cast<int64_t>(at));
                    at += n;
                }
        QVERIFY(at > 1300);
        QVERIFY(sameFiles());
        // Both read back from their files (which start the graph's level
        // generator afresh), they go on inserting the same way.
        auto loaded = ScopeIndex::load(ours, kDim, o);
        std::unique_ptr<faiss::Index> read(faiss::read_index(theirs.c_str()));
        for (std::size_t i = 0; i < 20 && at < 1500; ++i, ++at) {
            read->add(1, base.data() + at * kDim);
            loaded->add(base.data() + at * kDim, 1);
        }
        loaded->save(ours);
        faiss::write_index(read.get(), theirs.c_str());
        std::ifstream a(ours, std::ios::binary), b(theirs, std::ios::binary);
        QVERIFY(std::string((std::istreambuf_iterator<char>(a)), {}) ==
                std::string((std::istreambuf_iterator<char>(b)), {}));
        // Searches agree with the exact scan over everything inserted.
        const auto queries = unitVectors(100, 8);
        std::vector<float> inserted(base.begin(),
                                    base.begin() + static_cast<std::ptrdiff_t>(at * kDim));
        const double r = recall(*loaded, inserted, std::vector<bool>(at, false), queries, 8);
        QVERIFY2(r >= 0.99, qPrintable(QString("recall@8 %1").arg(r)));
    }

    void asksForMoreThanIsLeft() {
        const auto base = unitVectors(5, 5);
        ScopeIndex index(kDim);
        QVERIFY(index.search(base.data(), 3).empty()); // nothing added yet
        index.add(base.data(), 5);
        index.remove(1);
        index.remove(3);
        const auto got = index.search(base.data(), 10);
        QCOMPARE(got.size(), std::size_t(3));
        QCOMPARE(got[0].first, int64_t(0)); // itself, similarity 1
        QVERIFY(std::abs(got[0].second - 1.0f) < 1e-5);
        QVERIFY(index.search(base.data(), 0).empty());
    }

    void refusesBadInput() {
        QVERIFY_THROWS_EXCEPTION(Error, ScopeIndex(0));
        QVERIFY_THROWS_EXCEPTION(Error, ScopeIndex(kDim, ScopeIndexOptions{1, 80, 96}));
        ScopeIndex index(kDim);
        const auto base = unitVectors(2, 6);
        index.add(base.data(), 2);
        QVERIFY_THROWS_EXCEPTION(Error, index.remove(2));
        QVERIFY_THROWS_EXCEPTION(Error, index.remove(-1));
        QVERIFY(!index.alive(7));
    }
};

QTEST_APPLESS_MAIN(TestScopeIndex)
#include "tst_scopeindex.moc"
