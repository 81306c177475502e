#include "ModelWorker.h"

#include "Attribution.h"
#include "EditMemory.h"
#include "Error.h"
#include "FactWorld.h"
#include "Intervention.h"
#include "LanguageModel.h"
#include "Resources.h"
#include "SeracEditor.h"
#include "TsanHandoff.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QEvent>
#include <QFileInfo>
#include <QThread>

#include <map>
#include <optional>

namespace {

QString qs(const std::string& s) {
    return QString::fromStdString(s);
}

std::string ss(const QString& s) {
    return s.toStdString();
}

QVector<PredictionRow> toRows(const std::vector<scalpel::TokenProb>& top) {
    QVector<PredictionRow> rows;
    rows.reserve(static_cast<int>(top.size()));
    for (const auto& t : top)
        rows.push_back({qs(t.token), t.id, t.prob});
    return rows;
}

std::vector<scalpel::NeuronId> toIds(const QVector<NeuronRef>& neurons) {
    std::vector<scalpel::NeuronId> ids;
    ids.reserve(neurons.size());
    for (const auto& n : neurons)
        ids.push_back({n.layer, n.neuron});
    return ids;
}

AttributionData toData(const scalpel::AttributionGrid& g, const QString& prompt) {
    AttributionData d;
    d.layers = g.layers;
    d.neurons = g.neurons;
    d.scores = QVector<float>(g.scores.begin(), g.scores.end());
    d.prompt = prompt;
    d.target = qs(g.target);
    d.targetProb = g.targetProb;
    return d;
}

QEvent::Type callEventType() {
    static const auto type = static_cast<QEvent::Type>(QEvent::registerEventType());
    return type;
}

// A call made whole on one thread, then posted to run on another.
class CallEvent : public QEvent {
public:
    explicit CallEvent(std::function<void()> c) : QEvent(callEventType()), call(std::move(c)) {}
    std::function<void()> call;
};

bool runCall(QObject* receiver, QEvent* event) {
    // Before reading the event at all: the sender wrote all of it.
    tsan::acquire(receiver);
    if (event->type() != callEventType())
        return false;
    static_cast<CallEvent*>(event)->call();
    return true;
}

} // namespace

struct ModelWorker::Engine {
    std::shared_ptr<scalpel::LanguageModel> model;
    std::unique_ptr<scalpel::WeightEditor> weights;
    std::unique_ptr<scalpel::SeracEditor> serac;
    QString seracStatus;
    scalpel::EditMemory memory;
    std::optional<scalpel::FactWorld> world;
    bool worldTried = false;
    // UI token of a weight change -> the editor's change id.
    std::map<int, int> changeOfToken;
    // Bumped by anything that changes what the base or edited column would
    // say (weights, edits, model). A slider drag changes only the third
    // column, so its predictions reuse the rest.
    quint64 stateVersion = 1;
    struct Cached {
        quint64 stateVersion = 0;
        QString prompt;
        int topK = 0;
        std::vector<int> ids;
        PredictResult result;
    } cache;
};

ModelWorker::ModelWorker(const Config& config, QObject* parent)
    : QObject(parent), m_config(config), d(std::make_unique<Engine>()) {
    registerWorkerTypes();
    // Leave one core to the UI thread: with every core busy in LibTorch's
    // pool, the repaint of a slider move waits for the scheduler, and the
    // studio's small forward passes gain little from more threads. The
    // engine reads this once, at the first model load; a user's own
    // SCALPEL_THREADS wins.
    if (!qEnvironmentVariableIsSet("SCALPEL_THREADS"))
        qputenv("SCALPEL_THREADS", QByteArray::number(qMax(1, QThread::idealThreadCount() - 1)));
}

ModelWorker::~ModelWorker() = default;

void ModelWorker::postCall(QObject* receiver, std::function<void()> call) {
    auto* event = new CallEvent(std::move(call));
    tsan::release(receiver);
    QCoreApplication::postEvent(receiver, event);
}

bool ModelWorker::event(QEvent* event) {
    return runCall(this, event) || QObject::event(event);
}

bool ModelWorker::Home::event(QEvent* event) {
    return runCall(this, event) || QObject::event(event);
}

void ModelWorker::post(RequestKind kind, const QVariant& payload) {
    m_mailbox.post(kind, payload);
    // One queued drain is enough: it empties the mailbox, including requests
    // posted while it runs.
    if (!m_drainScheduled.exchange(true))
        postCall(this, [this] { drain(); });
}

void ModelWorker::cancelJobs() {
    ++m_cancelEpoch;
    // Jobs still waiting are answered as cancelled, on the worker thread and
    // in order, so whoever waits for them (a busy Run button) is released.
    auto attributions = m_mailbox.takeAll(RequestKind::Attribute);
    auto refines = m_mailbox.takeAll(RequestKind::Refine);
    if (attributions.empty() && refines.empty())
        return;
    postCall(this, [this, attributions, refines] {
        for (const auto& e : attributions) {
            AttributionResult r;
            r.generation = e.payload.value<AttributionRequest>().generation;
            r.cancelled = true;
            report([this, r] { Q_EMIT attributed(r); });
        }
        for (const auto& e : refines) {
            RefineResult r;
            r.generation = e.payload.value<RefineRequest>().generation;
            r.cancelled = true;
            report([this, r] { Q_EMIT refined(r); });
        }
        report([this] { Q_EMIT jobFinished(QStringLiteral("Cancelled")); });
    });
}

void ModelWorker::stop() {
    m_stopping = true;
    ++m_cancelEpoch;
}

void ModelWorker::drain() {
    m_drainScheduled = false;
    while (!m_stopping) {
        auto entry = m_mailbox.take();
        if (!entry)
            break;
        handle(*entry);
    }
}

void ModelWorker::handle(const RequestMailbox::Entry& e) {
    switch (e.kind) {
    case RequestKind::LoadModel:
        loadModel(e.payload.toString());
        break;
    case RequestKind::SyncEdits:
        syncEdits(e.payload.value<QVector<EditRow>>());
        break;
    case RequestKind::Predict:
        predict(e.payload.value<PredictRequest>());
        break;
    case RequestKind::Attribute:
        attribute(e.payload.value<AttributionRequest>());
        break;
    case RequestKind::Refine:
        refine(e.payload.value<RefineRequest>());
        break;
    case RequestKind::Curve:
        curve(e.payload.value<CurveRequest>());
        break;
    case RequestKind::WeightOp:
        weightOp(e.payload.value<WeightOp>());
        break;
    }
}

bool ModelWorker::longJobTick(double fraction, const QString& detail) {
    // The engine calls this between layers; answering the prompt being typed
    // here keeps the prediction columns live through a long attribution.
    const bool cancelled = m_cancelEpoch != m_jobEpoch;
    while (!m_stopping && !cancelled) {
        auto quick = m_mailbox.takeQuick();
        if (!quick)
            break;
        handle(*quick);
    }
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    if (now - m_lastProgressMs >= 30 || fraction >= 1.0) {
        m_lastProgressMs = now;
        report([this, fraction, detail] { Q_EMIT jobProgress(fraction, detail); });
    }
    return !cancelled && !m_stopping;
}

void ModelWorker::loadModel(const QString& path) {
    ModelLoadResult r;
    r.path = path;
    try {
        auto model = scalpel::LanguageModel::load(ss(path), ss(m_config.device));
        // Only a model that loaded replaces the old one: a bad folder leaves
        // the studio as it was.
        d->model = model;
        ++d->stateVersion;
        d->weights = std::make_unique<scalpel::WeightEditor>(model);
        d->changeOfToken.clear();
        const scalpel::ModelInfo info = model->info();
        r.ok = true;
        r.name = QFileInfo(path).fileName();
        r.device = qs(info.device);
        r.layers = info.layers;
        r.neuronsPerLayer = info.neuronsPerLayer;
        r.parameters = info.parameters;
        if (!d->worldTried) {
            d->worldTried = true;
            try {
                const std::string facts = m_config.factsPath.isEmpty() ? scalpel::defaultFactsPath()
                                                                       : ss(m_config.factsPath);
                d->world = scalpel::FactWorld::load(facts);
            } catch (const std::exception&) {
                // Without the fact world the studio still predicts; it only
                // cannot suggest paraphrases.
            }
        }
        if (d->world) {
            const auto& tok = model->tokenizer();
            for (const auto& entity : d->world->entities()) {
                // A word-level model can only say the words it has.
                if (tok.kind() == scalpel::Tokenizer::Kind::ByteLevelBpe || tok.tokenId(entity))
                    r.entities.push_back(qs(entity));
            }
        }
        loadSerac();
        r.seracAvailable = d->serac != nullptr;
        r.seracStatus = d->seracStatus;
    } catch (const std::exception& e) {
        r.ok = false;
        r.error = qs(e.what());
    }
    report([this, r] { Q_EMIT modelLoaded(r); });
}

void ModelWorker::loadSerac() {
    d->serac.reset();
    const QString dir = m_config.seracDir.isEmpty()
                            ? qs(scalpel::resourceDir()) + QStringLiteral("/models/serac")
                            : m_config.seracDir;
    try {
        d->serac = scalpel::SeracEditor::load(ss(dir), d->model, "cpu");
        d->serac->sync(d->memory);
        d->seracStatus = qs(d->serac->warning());
    } catch (const std::exception& e) {
        d->serac.reset();
        d->seracStatus = QStringLiteral("SERAC weights not available: %1").arg(qs(e.what()));
    }
}

void ModelWorker::syncEdits(const QVector<EditRow>& edits) {
    ++d->stateVersion;
    scalpel::EditMemory memory;
    try {
        for (const auto& row : edits) {
            scalpel::Edit e;
            e.id = ss(row.id);
            e.prompt = ss(row.prompt);
            e.answer = ss(row.answer);
            e.enabled = row.enabled;
            memory.insert(e);
        }
        d->memory = std::move(memory);
        if (d->serac)
            d->serac->sync(d->memory);
    } catch (const std::exception& e) {
        d->seracStatus = QStringLiteral("The edit memory could not be used: %1").arg(qs(e.what()));
    }
}

void ModelWorker::predict(const PredictRequest& req) {
    QElapsedTimer timer;
    timer.start();
    PredictResult r;
    r.generation = req.generation;
    r.prompt = req.prompt;
    r.seracAvailable = d->serac != nullptr;
    r.seracStatus = d->seracStatus;
    if (!d->model) {
        r.warning = QStringLiteral("No model is loaded.");
        report([this, r] { Q_EMIT predicted(r); });
        return;
    }
    const std::string text = ss(req.prompt);
    if (req.prompt.trimmed().isEmpty()) {
        report([this, r] { Q_EMIT predicted(r); });
        return;
    }
    try {
        const auto& model = *d->model;
        auto& cache = d->cache;
        const bool cached = cache.stateVersion == d->stateVersion && cache.prompt == req.prompt &&
                            cache.topK == req.topK;
        if (cached) {
            const quint64 generation = r.generation;
            r = cache.result;
            r.generation = generation;
            r.scopeMs = 0;
        } else {
            const scalpel::Encoding enc = model.tokenizer().encodeDetailed(text);
            for (std::size_t i = 0; i < enc.ids.size(); ++i)
                r.tokens.push_back(
                    {qs(enc.tokens[i]), enc.ids[i], i < enc.unknown.size() && enc.unknown[i]});
            const scalpel::PreparedPrompt prepared = model.prepare(text);
            r.warning = qs(prepared.warning);
            const auto baseProbs = model.nextTokenProbs(prepared.ids);
            r.base = toRows(model.topK(baseProbs, req.topK));

            if (d->serac) {
                QElapsedTimer scopeTimer;
                scopeTimer.start();
                const scalpel::RoutedPrediction routed = d->serac->predict(text, req.topK);
                r.scopeMs = scopeTimer.nsecsElapsed() / 1e6;
                r.edited = toRows(routed.top);
                r.routedTo = qs(routed.routedTo);
                r.routedProb = routed.routedProb;
                r.scopes.reserve(static_cast<int>(routed.scope.size()));
                for (const auto& s : routed.scope)
                    r.scopes.insert(qs(s.editId), {s.prob, qs(s.stage)});
            }
            if (d->world) {
                if (const auto match = d->world->match(text)) {
                    const auto& fact = match->first;
                    for (const auto& p : d->world->paraphrases(fact.subject, fact.relation,
                                                               scalpel::TemplateSplit::Train))
                        r.factPrompts.push_back(qs(p));
                    r.factAnswer = qs(fact.object);
                }
            }
            cache.stateVersion = d->stateVersion;
            cache.prompt = req.prompt;
            cache.topK = req.topK;
            cache.ids = prepared.ids;
            cache.result = r;
        }

        std::vector<scalpel::NeuronScale> scales;
        const int layers = model.info().layers;
        const int neurons = model.info().neuronsPerLayer;
        for (const auto& s : req.scales) {
            if (s.factor != 1.0 && s.layer >= 0 && s.layer < layers && s.neuron >= 0 &&
                s.neuron < neurons)
                scales.push_back({s.layer, s.neuron, static_cast<float>(s.factor)});
        }
        r.intervened = scales.empty()
                           ? r.base
                           : toRows(model.topK(model.nextTokenProbs(cache.ids, scales), req.topK));
    } catch (const std::exception& e) {
        d->cache.stateVersion = 0;
        r.warning = qs(e.what());
    }
    r.elapsedMs = timer.nsecsElapsed() / 1e6;
    report([this, r] { Q_EMIT predicted(r); });
}

void ModelWorker::attribute(const AttributionRequest& req) {
    AttributionResult r;
    r.generation = req.generation;
    QElapsedTimer timer;
    timer.start();
    m_jobEpoch = m_cancelEpoch;
    report([this] { Q_EMIT jobStarted(QStringLiteral("Attribution")); });
    try {
        if (!d->model)
            throw scalpel::Error("No model is loaded.");
        scalpel::AttributionOptions o;
        o.steps = req.steps;
        const QString detail = QStringLiteral("%1 → %2").arg(req.prompt, req.target);
        o.progress = [&](double f) { return longJobTick(f, detail); };
        const auto grid = scalpel::attribute(*d->model, ss(req.prompt), ss(req.target), o);
        r.grid = toData(grid, req.prompt);
    } catch (const scalpel::Cancelled&) {
        r.cancelled = true;
    } catch (const std::exception& e) {
        r.error = qs(e.what());
    }
    r.elapsedMs = timer.nsecsElapsed() / 1e6;
    const QString message =
        r.cancelled         ? QStringLiteral("Attribution cancelled")
        : r.error.isEmpty() ? QStringLiteral("Attribution done in %1 ms").arg(qRound(r.elapsedMs))
                            : QStringLiteral("Attribution failed");
    report([this, message, r] {
        Q_EMIT jobFinished(message);
        Q_EMIT attributed(r);
    });
}

void ModelWorker::refine(const RefineRequest& req) {
    RefineResult r;
    r.generation = req.generation;
    QElapsedTimer timer;
    timer.start();
    m_jobEpoch = m_cancelEpoch;
    report([this] { Q_EMIT jobStarted(QStringLiteral("Refining")); });
    try {
        if (!d->model)
            throw scalpel::Error("No model is loaded.");
        std::vector<std::string> prompts;
        for (const auto& p : req.prompts)
            prompts.push_back(ss(p));
        scalpel::AttributionOptions o;
        o.steps = req.steps;
        const QString detail =
            QStringLiteral("%1 prompts → %2").arg(req.prompts.size()).arg(req.target);
        o.progress = [&](double f) { return longJobTick(f, detail); };
        const auto search = scalpel::findKnowledgeNeurons(*d->model, prompts, ss(req.target),
                                                          req.threshold, req.share, o);
        for (const auto& n : search.neurons)
            r.neurons.push_back({n.layer, n.neuron, n.prompts, n.meanScore});
        if (!search.grids.empty())
            r.firstGrid = toData(search.grids.front(), req.prompts.value(0));
    } catch (const scalpel::Cancelled&) {
        r.cancelled = true;
    } catch (const std::exception& e) {
        r.error = qs(e.what());
    }
    r.elapsedMs = timer.nsecsElapsed() / 1e6;
    const QString message = r.cancelled ? QStringLiteral("Refining cancelled")
                            : r.error.isEmpty()
                                ? QStringLiteral("Refining found %1 neurons in %2 ms")
                                      .arg(r.neurons.size())
                                      .arg(qRound(r.elapsedMs))
                                : QStringLiteral("Refining failed");
    report([this, message, r] {
        Q_EMIT jobFinished(message);
        Q_EMIT refined(r);
    });
}

void ModelWorker::curve(const CurveRequest& req) {
    CurveResult r;
    r.generation = req.generation;
    r.answer = req.answer;
    try {
        if (!d->model)
            throw scalpel::Error("No model is loaded.");
        const auto ids = d->model->prepare(ss(req.prompt)).ids;
        const auto target = scalpel::encodeTarget(*d->model, ss(req.answer.trimmed()));
        const auto neurons = toIds(req.neurons);
        for (double s : req.scales) {
            const auto p = scalpel::answerProbs(*d->model, {ids}, target,
                                                scalpel::scalesFor(neurons, static_cast<float>(s)));
            r.scales.push_back(s);
            r.probs.push_back(p.front());
            // A curve is a handful of forward passes; still let typing in.
            while (auto quick = m_mailbox.takeQuick())
                handle(*quick);
        }
    } catch (const std::exception& e) {
        r.error = qs(e.what());
        r.scales.clear();
        r.probs.clear();
    }
    report([this, r] { Q_EMIT curveReady(r); });
}

void ModelWorker::weightOp(const WeightOp& op) {
    ++d->stateVersion;
    WeightOpResult r;
    r.op = op;
    try {
        if (!d->model || !d->weights)
            throw scalpel::Error("No model is loaded.");
        auto& editor = *d->weights;
        const auto neurons = toIds(op.neurons);
        switch (op.kind) {
        case WeightOp::Kind::UpdateFact:
            d->changeOfToken[op.token] =
                editor.updateFact(neurons, ss(op.oldObject), ss(op.newObject), ss(op.description));
            break;
        case WeightOp::Kind::EraseRelation:
            d->changeOfToken[op.token] = editor.eraseRelation(neurons, ss(op.description));
            break;
        case WeightOp::Kind::Restore: {
            const auto it = d->changeOfToken.find(op.token);
            // A change the engine refused was never applied: nothing to undo.
            if (it == d->changeOfToken.end())
                break;
            const int id = it->second;
            editor.restore(id);
            // restore() also undid every later change.
            for (auto t = d->changeOfToken.begin(); t != d->changeOfToken.end();)
                t = t->second >= id ? d->changeOfToken.erase(t) : std::next(t);
            break;
        }
        case WeightOp::Kind::RestoreAll:
            editor.restoreAll();
            d->changeOfToken.clear();
            break;
        case WeightOp::Kind::Preview: {
            const auto& model = *d->model;
            const auto ids = model.prepare(ss(op.prompt)).ids;
            r.before = toRows(model.topK(model.nextTokenProbs(ids), 10));
            const int id = op.erase ? editor.eraseRelation(neurons, "preview")
                                    : editor.updateFact(neurons, ss(op.oldObject), ss(op.newObject),
                                                        "preview");
            try {
                r.after = toRows(model.topK(model.nextTokenProbs(ids), 10));
            } catch (...) {
                editor.restore(id);
                throw;
            }
            editor.restore(id);
            break;
        }
        }
        r.ok = true;
    } catch (const std::exception& e) {
        r.error = qs(e.what());
    }
    report([this, r] { Q_EMIT weightOpDone(r); });
}
