// bench/studio: the studio's hot path, driven headless through the real
// document and model worker (MainWindow on the offscreen platform), on a
// GPT-2-small-shaped random model (12 x 768, vocab 50,257) and on the
// built-in model. Each figure is a median of request-to-predictions-shown
// round trips (the prompt is set on the document, so the console's 50 ms
// typing debounce is not counted), printed beside the plain forward pass it
// is compared with, measured in the same process with the same threads:
//  - a keystroke with 1,000 edits in memory and no edit firing, against one
//    base forward of the 16-token prompt: a word changed at the start (no
//    prefix to reuse) and at the end;
//  - a slider drag (neurons of a top layer, and of layer 0), against a full
//    forward;
//  - one word appended to a 30-token prompt, against a full forward of the
//    31 tokens;
//  - adding and toggling one edit with 10,000 edits in memory, to the scope
//    column refreshed (the edit table's scope values are set on screen).
// Prints figures, never fails.
//
// usage: studio [--threads N] [--runs N] [--skip-gpt2] [--skip-builtin]
#include "BenchUtil.h"
#include "EditMemoryModel.h"
#include "EditMemoryView.h"
#include "FactWorld.h"
#include "MainWindow.h"
#include "ModelInternals.h"
#include "Resources.h"
#include "StudioDocument.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <cstdio>
#include <cstring>

using namespace scalpel;
using namespace scalpel::bench;

namespace {

int g_runs = 15;
bool g_engineOnly = false;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

// Runs `action` and returns ms until the newest predictions are shown.
double roundTrip(MainWindow* w, const std::function<void()>& action) {
    QSignalSpy spy(w, &MainWindow::predictionShown);
    QElapsedTimer t;
    t.start();
    action();
    while (spy.isEmpty() && t.elapsed() < 120000)
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 5);
    return t.nsecsElapsed() / 1e6;
}

void settle(MainWindow* w) {
    // Lets earlier requests finish and their results land.
    for (int i = 0; i < 2; ++i)
        roundTrip(w, [w] { w->requestPrediction(); });
    QTest::qWait(50);
}

std::unique_ptr<MainWindow> openStudio(const QString& modelDir, const QString& prompt,
                                       int threads) {
    MainWindow::Options o;
    o.modelDir = modelDir;
    o.threads = threads;
    o.initialPrompt = prompt;
    o.restoreWindowState = false;
    o.offerRecovery = false;
    o.autosaveIntervalMs = 60 * 60 * 1000;
    auto w = std::make_unique<MainWindow>(o);
    w->resize(1400, 900);
    w->show();
    QSignalSpy loaded(w.get(), &MainWindow::modelChanged);
    QElapsedTimer t;
    t.start();
    while (loaded.isEmpty() && t.elapsed() < 600000)
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 20);
    QTest::qWait(200);
    return w;
}

// `count` edits on the fact world's prompts; their answers are words the
// model has.
EditMemory factEdits(std::size_t count, const std::vector<std::string>& answers) {
    const FactWorld world = FactWorld::load(defaultFactsPath());
    const auto& facts = world.facts();
    EditMemory memory;
    std::size_t i = 0;
    while (memory.size() < count) {
        const auto& f = facts[i % facts.size()];
        const auto templates = world.templates(f.relation, TemplateSplit::Train);
        const auto& t = templates[(i / facts.size()) % templates.size()];
        memory.add(FactWorld::prompt(t, f.subject), answers[i % answers.size()]);
        ++i;
    }
    return memory;
}

void importEdits(MainWindow* w, const EditMemory& memory) {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("edits.json"));
    memory.save(path.toStdString());
    QElapsedTimer t;
    t.start();
    roundTrip(w, [&] { w->importEdits(path); });
    settle(w);
    std::printf("  importing %zu edits (embedding them): %.0f ms\n", memory.size(),
                t.nsecsElapsed() / 1e6);
}

std::string words(int first, int n) {
    std::string s;
    for (int i = 0; i < n; ++i)
        s += (i ? " w" : "w") + std::to_string(first + 37 * i);
    return s;
}

void keystrokes(MainWindow* w, const QString& a, const QString& b, const char* what,
                double baseMs) {
    std::vector<double> ms, worker;
    for (int i = 0; i < g_runs; ++i) {
        const QString next = i % 2 ? a : b;
        ms.push_back(roundTrip(w, [&] { w->document()->setPrompt(next); }));
        worker.push_back(w->lastPrediction().elapsedMs);
    }
    const PredictResult& r = w->lastPrediction();
    std::printf("  keystroke, %s: %.1f ms = %.2fx one base forward, on the worker %.1f ms (%s; "
                "scope %.2f ms)\n",
                what, median(ms), median(ms) / baseMs, median(worker),
                r.routedTo.isEmpty() || r.routedTo == QLatin1String("base") ? "no edit fired"
                                                                            : "an edit fired",
                r.scopeMs);
}

void drags(MainWindow* w, int layer, double fullMs, const char* what) {
    StudioDocument* doc = w->document();
    std::vector<double> ms;
    for (int i = 0; i < g_runs; ++i) {
        QVector<::NeuronScale> scales = {{layer, 11, 0.1 * (i % 20)}, {layer, 29, 2.0}};
        ms.push_back(roundTrip(w, [&] { doc->changeScales(scales, 77); }));
    }
    roundTrip(w, [&] { doc->changeScales({}, 0); });
    std::printf("  slider drag, neurons in %s: %.1f ms = %.2fx a full forward\n", what, median(ms),
                median(ms) / fullMs);
}

void editChanges(MainWindow* w, const std::vector<std::string>& answers) {
    StudioDocument* doc = w->document();
    EditMemoryModel* table = w->editMemoryView()->model();
    std::vector<double> add, toggle;
    for (int i = 0; i < g_runs; ++i) {
        QString id;
        add.push_back(roundTrip(w, [&] {
            id = doc->addEdit(QStringLiteral("The currency of Wakanda number %1 is").arg(i),
                              QString::fromStdString(answers[i % answers.size()]));
        }));
        const scalpel::Edit* e = doc->editMemory().find(id.toStdString());
        if (!e) {
            std::printf("  (the edit was not added)\n");
            return;
        }
        scalpel::Edit off = *e;
        off.enabled = false;
        toggle.push_back(roundTrip(w, [&] { doc->modifyEdit(off); }));
    }
    const auto& scopes = w->lastPrediction().scopes;
    std::printf("  with %zu edits: adding one edit %.1f ms, toggling one %.1f ms, to the scope "
                "column refreshed (%lld scored, table %d rows)\n",
                doc->editMemory().size(), median(add), median(toggle),
                static_cast<long long>(scopes.size()), table->rowCount());
}

double forwardMs(const LanguageModel& m, const std::vector<int>& ids) {
    m.nextTokenProbs(ids);
    return medianMs(g_runs, [&] { m.nextTokenProbs(ids); });
}

// The engine alone, on the bench thread: the prompt cache's passes against
// plain ones of the same prompts.
void engineAlone(const LanguageModel& m, const std::string& p16, const std::string& p30) {
    const auto a = m.prepare(p16).ids;
    auto b = a;
    b.back() = b.back() == 4242 ? 4243 : 4242;
    PromptCache cache;
    std::vector<float> base;
    int flip = 0;
    const double lastWord =
        medianMs(g_runs, [&] { m.nextTokenProbs(++flip % 2 ? a : b, {}, cache, &base); });
    const double plain = medianMs(g_runs, [&] { m.nextTokenProbs(a); });
    auto first = a;
    first.front() = first.front() == 4242 ? 4243 : 4242;
    const double firstWord =
        medianMs(g_runs, [&] { m.nextTokenProbs(++flip % 2 ? a : first, {}, cache, &base); });
    std::printf("  engine alone: first word changed (cache, a full pass) %.1f ms\n", firstWord);
    m.nextTokenProbs(a, {}, cache);
    std::vector<scalpel::NeuronScale> top = {{11, 11, 0.0f}, {11, 29, 2.0f}};
    const double dragTop = medianMs(g_runs, [&] {
        top[0].factor = top[0].factor == 0.0f ? 0.5f : 0.0f;
        m.nextTokenProbs(a, top, cache);
    });
    std::vector<scalpel::NeuronScale> low = {{0, 11, 0.0f}};
    const double dragLow = medianMs(g_runs, [&] {
        low[0].factor = low[0].factor == 0.0f ? 0.5f : 0.0f;
        m.nextTokenProbs(a, low, cache);
    });
    const double plainScaled = medianMs(g_runs, [&] { m.nextTokenProbs(a, top); });
    const auto c30 = m.prepare(p30).ids;
    std::vector<double> appendMs;
    for (int i = 0; i < g_runs; ++i) {
        m.nextTokenProbs(c30, {}, cache);
        auto c31 = c30;
        c31.push_back(900 + i);
        const auto t = std::chrono::steady_clock::now();
        m.nextTokenProbs(c31, {}, cache);
        appendMs.push_back(msSince(t));
    }
    auto c31 = c30;
    c31.push_back(77);
    const double plain31 = medianMs(g_runs, [&] { m.nextTokenProbs(c31); });
    std::printf("  engine alone: plain pass 16 tokens %.1f ms; last word changed (cache) %.1f ms "
                "= %.2fx; slider drag, layer 11 %.1f ms = %.2fx, layer 0 %.1f ms = %.2fx (plain "
                "scaled pass %.1f ms); one word appended to 30 tokens %.1f ms = %.2fx a plain pass "
                "of 31 (%.1f ms)\n",
                plain, lastWord, lastWord / plain, dragTop, dragTop / plain, dragLow,
                dragLow / plain, plainScaled, median(appendMs), median(appendMs) / plain31,
                plain31);
}

void gpt2Small(int threads) {
    std::printf("\nGPT-2-small-shaped random model (12 x 768, vocab 50,257), %d threads\n",
                threads);
    auto model = gpt2SmallRandom();
    const QString dir = QString::fromStdString(model->info().path);
    const std::string p16 = words(100, 16), p30 = words(500, 30);
    const double base16 = forwardMs(*model, model->prepare(p16).ids);
    const double base31 = forwardMs(*model, model->prepare(p30 + " w77").ids);
    std::printf("  one base forward: 16 tokens %.1f ms, 31 tokens %.1f ms\n", base16, base31);
    engineAlone(*model, p16, p30);
    if (g_engineOnly)
        return;

    auto w = openStudio(dir, QString::fromStdString(p16), threads);
    if (!w->modelReady()) {
        std::printf("  the studio could not load %s\n", qPrintable(dir));
        return;
    }
    std::vector<std::string> answers;
    for (int i = 1; i < 200; ++i)
        answers.push_back("w" + std::to_string(i * 13));
    importEdits(w.get(), factEdits(1000, answers));
    const QString a = QString::fromStdString(p16);
    QString b = a;
    b.replace(0, 4, QStringLiteral("w9999"));
    keystrokes(w.get(), a, b, "a word changed at the start (full pass), 1,000 edits", base16);
    QString c = QString::fromStdString(words(100, 15) + " w4242");
    keystrokes(w.get(), a, c, "the last word changed, 1,000 edits", base16);
    w->document()->setPrompt(a);
    settle(w.get());
    drags(w.get(), 11, base16, "layer 11 (the top)");
    drags(w.get(), 0, base16, "layer 0");
    std::vector<double> ms;
    for (int i = 0; i < g_runs; ++i) {
        w->document()->setPrompt(QString::fromStdString(p30));
        settle(w.get());
        ms.push_back(roundTrip(w.get(), [&] {
            w->document()->setPrompt(QString::fromStdString(p30 + " w" + std::to_string(77 + i)));
        }));
    }
    std::printf("  appending one word to a 30-token prompt: %.1f ms = %.2fx a full forward of "
                "31 tokens\n",
                median(ms), median(ms) / base31);
    w->document()->setPrompt(a);
    settle(w.get());
    importEdits(w.get(), factEdits(9000, answers));
    editChanges(w.get(), answers);
}

void builtin(int threads) {
    std::printf("\nBuilt-in model, %d threads\n", threads);
    auto model = LanguageModel::load(defaultModelDir(), "cpu");
    const std::string prompt = "The capital of Ireland is";
    const double base = forwardMs(*model, model->prepare(prompt).ids);
    std::printf("  one base forward: %.2f ms\n", base);
    auto w = openStudio({}, QString::fromStdString(prompt), threads);
    if (!w->modelReady()) {
        std::printf("  the studio could not load the built-in model\n");
        return;
    }
    keystrokes(w.get(), QStringLiteral("The capital of Ireland is"),
               QStringLiteral("The capital of France is"), "Ireland / France, no edits", base);
    drags(w.get(), model->config().layers - 1, base, "the top layer");
    std::vector<std::string> answers;
    for (const auto& e : FactWorld::load(defaultFactsPath()).entities())
        if (model->tokenizer().tokenId(e))
            answers.push_back(e);
    importEdits(w.get(), factEdits(10000, answers));
    keystrokes(w.get(), QStringLiteral("The capital of Ireland is"),
               QStringLiteral("The capital of France is"), "Ireland / France, 10,000 edits", base);
    editChanges(w.get(), answers);
}

} // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    int threads = 2;
    bool doGpt2 = true, doBuiltin = true;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--runs") && i + 1 < argc)
            g_runs = std::max(1, std::atoi(argv[++i]));
        else if (!std::strcmp(argv[i], "--skip-gpt2"))
            doGpt2 = false;
        else if (!std::strcmp(argv[i], "--engine-only"))
            g_engineOnly = true;
        else if (!std::strcmp(argv[i], "--skip-builtin"))
            doBuiltin = false;
    }
    QApplication app(argc, argv);
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("ScalpelBench"));
    QCoreApplication::setApplicationName(QStringLiteral("studio"));
    // The bench thread's baselines use the worker's thread count.
    setThreads(threads);
    if (doBuiltin)
        builtin(threads);
    if (doGpt2)
        gpt2Small(threads);
    return 0;
}
