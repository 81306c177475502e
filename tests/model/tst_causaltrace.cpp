// Causal tracing (ROME) and attribution patching on tiny random models of
// every causal family and on the built-in model: the fast trace equals one
// full forward pass per restoration, restoring nothing gives the corrupted
// score and restoring the last layer at the last token the clean one, zero
// noise gives the clean score everywhere, a seed gives the same grids,
// attribution patching is right to first order, subjects are found through
// the tokenizer's offsets, and bad input is a clear error.
#include "CausalTrace.h"
#include "Error.h"
#include "FactWorld.h"
#include "ModelInternals.h"
#include "Resources.h"
#include "TinyModel.h"

#include <QtTest>

#include <cmath>

using namespace scalpel;

namespace {

std::string familyDir(const QString& name) {
    return qEnvironmentVariable("SCALPEL_TEST_DATA").toStdString() + "/families/" +
           name.toStdString();
}

// A family's tiny config with more layers, random weights spread wider than
// the family's initialisation so that restorations move the answer.
std::shared_ptr<LanguageModel> familyModel(const QString& name, int layers, uint64_t seed) {
    const std::string dir = familyDir(name);
    ModelConfig c = ModelConfig::fromFile(dir + "/config.json");
    c.layers = layers;
    auto m =
        LanguageModel::createRandom(c, Tokenizer::fromFile(dir + "/tokenizer.json"), seed, "cpu");
    torch::NoGradGuard g;
    torch::manual_seed(seed);
    for (auto& p : network(*m).parameters())
        p.add_(torch::randn_like(p) * 0.3);
    return m;
}

std::shared_ptr<LanguageModel> modelFor(const QString& name, int layers) {
    if (name == "gpt2")
        return test::tinyModel(3, layers);
    return familyModel(name, layers, 3);
}

// Eight tokens of each tiny vocabulary.
std::vector<int> idsFor(const QString& name) {
    if (name == "gpt2")
        return {4, 5, 6, 14, 15, 7, 8, 9};
    return {3, 17, 42, 5, 9, 60, 2, 11};
}

double maxDiff(const CausalTrace& a, const CausalTrace& b) {
    double worst = 0;
    for (std::size_t k = 0; k < a.grids.size(); ++k)
        for (std::size_t i = 0; i < a.grids[k].scores.size(); ++i)
            worst = std::max(worst, std::abs(double(a.grids[k].scores[i]) - b.grids[k].scores[i]));
    return worst;
}

CausalTraceOptions options(TraceMethod method, int window = 3, int samples = 4) {
    CausalTraceOptions o;
    o.method = method;
    o.window = window;
    o.samples = samples;
    return o;
}

template <class F> QString errorOf(F f) {
    try {
        f();
    } catch (const Cancelled&) {
        return "cancelled";
    } catch (const Error& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

} // namespace

class TestCausalTrace : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // Tiny models run fastest on one thread, and then a busy machine's other
    // work cannot stall LibTorch's thread pool between the many small ops.
    void initTestCase() { setThreads(1); }

    void fastEqualsNaive_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("window");
        for (const char* n : {"gpt2", "llama-gqa-llama3rope", "mistral", "qwen2", "qwen3", "pythia",
                              "neox-sequential"})
            QTest::newRow(n) << n << 3;
        QTest::newRow("gpt2 window 1") << "gpt2" << 1;
        QTest::newRow("gpt2 window 10") << "gpt2" << 10;
    }

    // One full forward pass per restoration against the corrupted run's
    // states and cache reused; subject in the middle so that tokens before,
    // inside and after it are traced.
    void fastEqualsNaive() {
        QFETCH(QString, name);
        QFETCH(int, window);
        auto m = modelFor(name, 5);
        const std::vector<int> ids = idsFor(name);
        const auto fast = causalTraceIds(*m, ids, 2, 4, -1, options(TraceMethod::Fast, window));
        const auto naive = causalTraceIds(*m, ids, 2, 4, -1, options(TraceMethod::Naive, window));
        QCOMPARE(fast.grids.size(), std::size_t(3));
        QCOMPARE(fast.answerId, naive.answerId);
        QCOMPARE(fast.cleanScore, naive.cleanScore);
        QCOMPARE(fast.corruptedScore, naive.corruptedScore);
        // The trace is not trivially flat: restorations move the answer.
        double spread = 0;
        for (float s : fast.grids[0].scores)
            spread = std::max(spread, std::abs(s - fast.corruptedScore));
        QVERIFY2(spread > 1e-3, qPrintable(QString("spread %1").arg(spread)));
        const double d = maxDiff(fast, naive);
        QVERIFY2(d < 1e-5, qPrintable(QString("max |fast - naive| %1").arg(d)));
    }

    void restoringNothingAndEverything_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("method");
        for (const char* n : {"gpt2", "qwen2", "pythia"}) {
            QTest::newRow((std::string(n) + " fast").c_str()) << n << int(TraceMethod::Fast);
            QTest::newRow((std::string(n) + " naive").c_str()) << n << int(TraceMethod::Naive);
        }
    }

    // Before the subject the clean and corrupted runs agree, so a
    // restoration there restores nothing; the last layer's hidden state at
    // the last token is everything the prediction reads.
    void restoringNothingAndEverything() {
        QFETCH(QString, name);
        QFETCH(int, method);
        auto m = modelFor(name, 4);
        const std::vector<int> ids = idsFor(name);
        const auto tr =
            causalTraceIds(*m, ids, 3, 5, -1, options(static_cast<TraceMethod>(method)));
        QVERIFY(std::abs(tr.cleanScore - tr.corruptedScore) > 1e-3);
        const int T = static_cast<int>(ids.size()), L = 4;
        for (const auto& g : tr.grids)
            for (int t = 0; t < 3; ++t)
                for (int l = 0; l < L; ++l)
                    QVERIFY(std::abs(g.at(t, l) - tr.corruptedScore) < 1e-5);
        const auto* hidden = tr.grid(TraceKind::Hidden);
        QVERIFY(hidden);
        QVERIFY(std::abs(hidden->at(T - 1, L - 1) - tr.cleanScore) < 1e-5);
        // Every restored score is a probability.
        for (const auto& g : tr.grids)
            for (float s : g.scores)
                QVERIFY(s >= 0 && s <= 1);
    }

    void zeroNoiseGivesTheCleanScore() {
        for (TraceMethod method :
             {TraceMethod::Fast, TraceMethod::Naive, TraceMethod::Approximate}) {
            auto m = modelFor("llama-gqa-llama3rope", 3);
            auto o = options(method);
            o.noise = 0;
            const auto tr = causalTraceIds(*m, idsFor("llama"), 2, 4, -1, o);
            QVERIFY(std::abs(tr.corruptedScore - tr.cleanScore) < 1e-6);
            for (const auto& g : tr.grids)
                for (float s : g.scores)
                    QVERIFY2(std::abs(s - tr.cleanScore) < 1e-5,
                             qPrintable(QString("%1 vs clean %2").arg(s).arg(tr.cleanScore)));
        }
    }

    void sameSeedSameGrid() {
        auto m = modelFor("gpt2", 3);
        const std::vector<int> ids = {4, 5, 6, 14, 7, 8};
        auto o = options(TraceMethod::Fast);
        o.seed = 7;
        o.keepNoise = true;
        const auto a = causalTraceIds(*m, ids, 3, 4, -1, o);
        const auto b = causalTraceIds(*m, ids, 3, 4, -1, o);
        QCOMPARE(a.corruptedScore, b.corruptedScore);
        for (std::size_t k = 0; k < a.grids.size(); ++k)
            QCOMPARE(a.grids[k].scores, b.grids[k].scores);
        QCOMPARE(a.noiseValues, b.noiseValues);
        // samples x subject tokens x hidden
        QCOMPARE(a.noiseValues.size(), std::size_t(o.samples) * 1 * m->config().hidden);
        o.seed = 8;
        const auto c = causalTraceIds(*m, ids, 3, 4, -1, o);
        QVERIFY(c.noiseValues != a.noiseValues);
        QVERIFY(c.corruptedScore != a.corruptedScore);
    }

    // The noise's standard deviation is noise x sigma.
    void noiseHasTheAskedScale() {
        auto m = modelFor("gpt2", 2);
        auto o = options(TraceMethod::Fast, 3, 50);
        o.keepNoise = true;
        o.sigma = 0.5;
        o.noise = 3;
        const auto tr = causalTraceIds(*m, {4, 5, 6, 14, 15, 7}, 3, 5, -1, o);
        double s2 = 0;
        for (float v : tr.noiseValues)
            s2 += double(v) * v;
        const double sd = std::sqrt(s2 / tr.noiseValues.size());
        QVERIFY2(std::abs(sd - 1.5) < 0.1, qPrintable(QString("sd %1").arg(sd)));
        QCOMPARE(tr.sigma, 0.5);
    }

    // Attribution patching of one site (window 1) is exact to first order in
    // the difference between the clean and the corrupted states: with a
    // small corruption its error is a small fraction of the effects it
    // estimates. (A window's estimate is the sum of its sites' estimates,
    // which is not first-order exact: each site's gradient also runs through
    // the later restored sites.)
    void approximateIsFirstOrder_data() {
        QTest::addColumn<QString>("name");
        for (const char* n : {"gpt2", "qwen3", "pythia"})
            QTest::newRow(n) << n;
    }

    void approximateIsFirstOrder() {
        QFETCH(QString, name);
        auto m = modelFor(name, 3);
        auto o = options(TraceMethod::Fast, 1, 3);
        o.noise = 1e-2;
        const auto exact = causalTraceIds(*m, idsFor(name), 2, 4, -1, o);
        o.method = TraceMethod::Approximate;
        const auto approx = causalTraceIds(*m, idsFor(name), 2, 4, -1, o);
        QCOMPARE(approx.corruptedScore, exact.corruptedScore);
        double effect = 0, error = 0;
        for (std::size_t k = 0; k < exact.grids.size(); ++k)
            for (std::size_t i = 0; i < exact.grids[k].scores.size(); ++i) {
                effect =
                    std::max(effect, std::abs(exact.grids[k].scores[i] - exact.corruptedScore));
                error = std::max(
                    error, std::abs(double(exact.grids[k].scores[i]) - approx.grids[k].scores[i]));
            }
        QVERIFY2(effect > 1e-5, qPrintable(QString("effect %1").arg(effect)));
        QVERIFY2(error < 0.02 * effect,
                 qPrintable(QString("error %1, largest effect %2").arg(error).arg(effect)));
    }

    void subjectFromOffsets() {
        auto m = test::tinyModel(1, 2);
        // "The capital of Ireland is" -> The | capital | of | Ireland | is
        QCOMPARE(subjectTokens(*m, "The capital of Ireland is", "Ireland"), std::make_pair(3, 4));
        QCOMPARE(subjectTokens(*m, "The capital of Ireland is", "capital of"),
                 std::make_pair(1, 3));
        // A part of a word marks the whole token.
        QCOMPARE(subjectTokens(*m, "The capital of Ireland is", "rela"), std::make_pair(3, 4));
    }

    void builtInModelLocatesIreland() {
        auto m = LanguageModel::load(defaultModelDir(), "cpu");
        const FactWorld w = FactWorld::load(defaultFactsPath());
        std::vector<std::string> subjects;
        for (const auto& f : w.facts())
            subjects.push_back(f.subject);
        CausalTraceOptions o;
        o.sigma = embeddingSigma(*m, subjects);
        const auto tr = causalTrace(*m, "The capital of Ireland is", "Ireland", "", o);
        QCOMPARE(QString::fromStdString(tr.answer), QString("Dublin"));
        QCOMPARE(tr.subjectBegin, 3);
        QCOMPARE(tr.subjectEnd, 4);
        QVERIFY(tr.cleanScore > 0.5);
        // Three sigmas of noise on the subject destroy the fact.
        QVERIFY2(tr.corruptedScore < 0.5 * tr.cleanScore,
                 qPrintable(
                     QString("clean %1, corrupted %2").arg(tr.cleanScore).arg(tr.corruptedScore)));
    }

    // Clicking a cell of the studio's trace shows what that restoration
    // predicts; its P(answer) must be the cell's own score, for every kind
    // and for cells before, inside and after the subject.
    void aCellsRestorationIsTheCell() {
        auto m = test::tinyModel(3, 4);
        const std::string p = "The capital of Ireland is";
        CausalTraceOptions o = options(TraceMethod::Fast, 3, 4);
        const auto tr = causalTrace(*m, p, "capital of", "", o);
        double spread = 0; // the cells differ, so agreeing with each one means something
        for (const auto& grid : tr.grids)
            for (float x : grid.scores)
                spread = std::max(spread, std::abs(x - tr.corruptedScore));
        QVERIFY2(spread > 1e-3, qPrintable(QString("spread %1").arg(spread)));
        for (const auto& grid : tr.grids)
            for (int t : {0, 1, 2, 4})
                for (int l = 0; l < grid.layers; ++l) {
                    const auto r = traceRestoration(*m, p, "capital of", -1, grid.kind, t, l, 5, o);
                    QCOMPARE(r.answer, tr.answer);
                    QVERIFY2(std::abs(r.score - grid.at(t, l)) < 1e-5,
                             qPrintable(QString("%1 (%2, %3): %4 vs %5")
                                            .arg(traceKindName(grid.kind))
                                            .arg(t)
                                            .arg(l)
                                            .arg(r.score)
                                            .arg(grid.at(t, l))));
                    QCOMPARE(r.top.size(), std::size_t(5));
                    for (std::size_t i = 1; i < r.top.size(); ++i)
                        QVERIFY(r.top[i - 1].prob >= r.top[i].prob);
                    // The answer is among the top tokens exactly when its
                    // probability is at least the fifth's.
                    const bool listed =
                        std::any_of(r.top.begin(), r.top.end(),
                                    [&](const TokenProb& x) { return x.token == tr.answer; });
                    QCOMPARE(listed, r.score >= r.top.back().prob);
                }
        const auto mlp =
            traceRestoration(*m, p, "capital of", tr.answerId, TraceKind::Mlp, 2, 0, 3, o);
        QCOMPARE(mlp.firstLayer, 0); // window 3 at layer 0: [0, 2)
        QCOMPARE(mlp.lastLayer, 2);
        const auto none =
            traceRestoration(*m, p, "capital of", tr.answerId, TraceKind::Hidden, -1, 0, 3, o);
        QVERIFY(std::abs(none.score - tr.corruptedScore) < 1e-6);
        QVERIFY(errorOf([&] {
                    traceRestoration(*m, p, "Ireland", -1, TraceKind::Hidden, 5, 0, 3, o);
                }).contains("token 5 is outside the prompt's 5 tokens"));
        QVERIFY(errorOf([&] {
                    traceRestoration(*m, p, "Ireland", -1, TraceKind::Hidden, 1, 4, 3, o);
                }).contains("layer 4 is outside the model's 4 layers"));
        QVERIFY(errorOf([&] {
                    traceRestoration(*m, p, "Ireland", -1, TraceKind::Hidden, 1, 0, 0, o);
                }).contains("top-k must be positive"));
    }

    void badInput() {
        auto m = test::tinyModel(1, 2);
        const std::string p = "The capital of Ireland is";
        QVERIFY(errorOf([&] { causalTrace(*m, p, "France"); }).contains("'France' is not in"));
        QVERIFY(errorOf([&] { causalTrace(*m, p, ""); }).contains("subject is empty"));
        QVERIFY(errorOf([&] {
                    causalTrace(*m, "Ireland", "Ireland");
                }).contains("covers the whole prompt"));
        QVERIFY(errorOf([&] { causalTrace(*m, p, p); }).contains("covers the whole prompt"));
        CausalTraceOptions o;
        o.samples = 0;
        QVERIFY(errorOf([&] {
                    causalTrace(*m, p, "Ireland", "", o);
                }).contains("samples must be positive, got 0"));
        o = {};
        o.window = 0;
        QVERIFY(errorOf([&] {
                    causalTrace(*m, p, "Ireland", "", o);
                }).contains("window must be positive, got 0"));
        o = {};
        o.noise = -1;
        QVERIFY(errorOf([&] { causalTrace(*m, p, "Ireland", "", o); }).contains("noise"));
        QVERIFY(errorOf([&] { causalTrace(*m, p, "Ireland", "Atlantis"); }).contains("Atlantis"));
        QVERIFY(errorOf([&] {
                    causalTraceIds(*m, {4, 5, 6}, 1, 2, 999);
                }).contains("outside the vocabulary"));
        QVERIFY(errorOf([&] { parseTraceKind("residual"); }).contains("'residual'"));
    }

    void progressCancels() {
        auto m = test::tinyModel(1, 2);
        for (TraceMethod method :
             {TraceMethod::Fast, TraceMethod::Naive, TraceMethod::Approximate}) {
            CausalTraceOptions o;
            o.method = method;
            o.progress = [](double) { return false; };
            const auto before = test::snapshot(*m);
            QCOMPARE(
                errorOf([&] { causalTrace(*m, "The capital of Ireland is", "Ireland", "", o); }),
                QString("cancelled"));
            QVERIFY(test::bitIdentical(*m, before));
        }
    }
};

QTEST_GUILESS_MAIN(TestCausalTrace)
#include "tst_causaltrace.moc"
