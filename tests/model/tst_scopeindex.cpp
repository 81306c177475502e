// The scope stage's approximate index (FAISS HNSW) against a brute-force
// scan of the same unit vectors: the neighbours it returns, the
// similarities it reports, and that a removed edit never comes back.
#include "Error.h"
#include "ScopeIndex.h"

#include <QtTest>

#include <algorithm>
#include <cmath>
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
