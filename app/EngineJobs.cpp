#include "EngineJobs.h"

#include <QLocale>

#include "Attribution.h"
#include "Error.h"
#include "FactWorld.h"
#include "Intervention.h"
#include "LanguageModel.h"
#include "Resources.h"
#include "SeracEditor.h"

#include <QElapsedTimer>
#include <QFileInfo>

WorkerEngine::WorkerEngine() = default;
WorkerEngine::~WorkerEngine() = default;

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

void loadSerac(WorkerEngine& d) {
    d.serac.reset();
    const QString dir = d.seracDir.isEmpty()
                            ? qs(scalpel::resourceDir()) + QStringLiteral("/models/serac")
                            : d.seracDir;
    try {
        d.serac = scalpel::SeracEditor::load(ss(dir), d.model, "cpu");
        // A large memory's index builds beside the worker; typing goes on
        // with the exact scan (or the index it replaces) meanwhile.
        d.serac->setScopeIndexBuildsInBackground(true);
        d.serac->sync(d.memory);
        d.seracStatus = qs(d.serac->warning());
    } catch (const std::exception& e) {
        d.serac.reset();
        d.seracStatus = QStringLiteral("SERAC weights not available: %1").arg(qs(e.what()));
    }
}

} // namespace

namespace jobs {

ModelLoadResult loadModel(WorkerEngine& d, const QString& path, JobContext& context) {
    ModelLoadResult r;
    r.path = path;
    const QString name = QFileInfo(path).fileName();
    try {
        auto model = scalpel::LanguageModel::load(ss(path), ss(d.device), [&](double f) {
            return context.progress(f, QStringLiteral("Loading %1").arg(name));
        });
        if (context.cancelled())
            throw scalpel::Cancelled();
        // Only a model that loaded replaces the old one: a bad folder leaves
        // the studio as it was.
        d.model = model;
        ++d.stateVersion;
        d.weights = std::make_unique<scalpel::WeightEditor>(model);
        d.changeOfToken.clear();
        const scalpel::ModelInfo info = model->info();
        r.ok = true;
        r.name = name;
        r.device = qs(info.device);
        r.family = qs(info.family);
        r.modelType = qs(info.modelType);
        r.dtypeOnDisk = qs(info.dtypeOnDisk);
        r.layers = info.layers;
        r.neuronsPerLayer = info.neuronsPerLayer;
        r.parameters = info.parameters;
        const auto& tok = model->tokenizer();
        r.openVocabulary = tok.kind() == scalpel::Tokenizer::Kind::ByteLevelBpe;
        if (model->isMaskedLm() && tok.maskId())
            r.maskToken = qs(tok.tokenSpelling(*tok.maskId()));
        if (!d.worldTried) {
            d.worldTried = true;
            try {
                const std::string facts =
                    d.factsPath.isEmpty() ? scalpel::defaultFactsPath() : ss(d.factsPath);
                d.world = std::make_unique<scalpel::FactWorld>(scalpel::FactWorld::load(facts));
            } catch (const std::exception&) {
                // Without the fact world the studio still predicts; it only
                // cannot suggest paraphrases.
            }
        }
        if (d.world) {
            // The fact world's prompts as this model is asked: cloze
            // sentences at a masked model's mask.
            d.world->setClozeMask(ss(r.maskToken));
            for (const auto& entity : d.world->entities()) {
                // A word-level model can only say the words it has.
                if (r.openVocabulary || tok.tokenId(entity))
                    r.entities.push_back(qs(entity));
            }
        }
        loadSerac(d);
        r.seracAvailable = d.serac != nullptr;
        r.seracStatus = d.seracStatus;
        context.setMessage(QStringLiteral("Loaded %1").arg(name));
    } catch (const scalpel::Cancelled&) {
        r.ok = false;
        r.cancelled = true;
        r.error = QStringLiteral("Loading was cancelled.");
        context.setMessage(QStringLiteral("Loading cancelled: the studio keeps its model"));
    } catch (const std::exception& e) {
        r.ok = false;
        r.error = qs(e.what());
        context.setMessage(QStringLiteral("Could not load %1").arg(name));
    }
    return r;
}

namespace {
// The scope classifier's embedding of new edits, as the progress strip says it.
scalpel::SeracEditor::SyncProgress embeddingProgress(JobContext* context) {
    if (!context)
        return {};
    return [context](std::size_t done, std::size_t total) {
        context->report(
            double(done) / double(std::max<std::size_t>(total, 1)),
            QStringLiteral("embedding %1 of %2 edits for the scope classifier")
                .arg(QLocale().toString(qulonglong(done)), QLocale().toString(qulonglong(total))));
    };
}
} // namespace

void syncEdits(WorkerEngine& d, const scalpel::EditMemory& memory, JobContext* context) {
    ++d.stateVersion;
    try {
        d.memory = memory;
        if (d.serac)
            d.serac->sync(d.memory, embeddingProgress(context));
    } catch (const std::exception& e) {
        d.seracStatus = QStringLiteral("The edit memory could not be used: %1").arg(qs(e.what()));
    }
}

bool editChangesSince(const scalpel::EditMemory& memory, uint64_t since, EditChanges& out) {
    std::vector<std::string> ids;
    if (since == 0 || !memory.changedSince(since, ids))
        return false;
    out = EditChanges();
    out.revision = memory.revision();
    out.size = memory.size();
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (const auto& id : ids) {
        EditChange c;
        c.id = id;
        if (const scalpel::Edit* e = memory.find(id)) {
            c.present = true;
            c.edit = *e;
            c.position = memory.indexOf(id);
        }
        out.changes.push_back(std::move(c));
    }
    return true;
}

bool applyEditChanges(WorkerEngine& d, const EditChanges& changes, JobContext* context) {
    ++d.stateVersion;
    try {
        for (const auto& c : changes.changes)
            if (!c.present)
                d.memory.remove(c.id);
        std::vector<const EditChange*> present;
        for (const auto& c : changes.changes)
            if (c.present)
                present.push_back(&c);
        // In order of their final places, so every insert lands where the
        // document has it.
        std::stable_sort(present.begin(), present.end(),
                         [](const auto* a, const auto* b) { return a->position < b->position; });
        for (const EditChange* c : present) {
            if (const scalpel::Edit* was = d.memory.find(c->id)) {
                // Routing reads the prompt, the answer and the flag; the test
                // cards read the descriptor.
                if (!(was->descriptor == c->edit.descriptor))
                    d.memory.setDescriptor(c->id, c->edit.descriptor);
                d.memory.update(c->id, c->edit.prompt, c->edit.answer);
                d.memory.setEnabled(c->id, c->edit.enabled);
            } else {
                d.memory.insert(c->edit, c->position);
            }
        }
        if (d.serac)
            d.serac->sync(d.memory, embeddingProgress(context));
    } catch (const std::exception& e) {
        d.seracStatus = QStringLiteral("The edit memory could not be used: %1").arg(qs(e.what()));
        return false;
    }
    return d.memory.size() == changes.size;
}

PredictResult predict(WorkerEngine& d, const PredictRequest& req) {
    QElapsedTimer timer;
    timer.start();
    PredictResult r;
    r.generation = req.generation;
    r.prompt = req.prompt;
    r.seracAvailable = d.serac != nullptr;
    r.seracStatus = d.seracStatus;
    if (d.serac)
        r.routingThreshold = d.serac->threshold();
    if (!d.model) {
        r.warning = QStringLiteral("No model is loaded.");
        return r;
    }
    const std::string text = ss(req.prompt);
    if (req.prompt.trimmed().isEmpty())
        return r;
    auto& cache = d.predictCache;
    try {
        const auto& model = *d.model;
        const bool cached = cache.stateVersion == d.stateVersion && cache.prompt == req.prompt &&
                            cache.topK == req.topK;
        if (cached) {
            const quint64 generation = r.generation;
            r = cache.result;
            r.generation = generation;
            r.scopeMs = 0;
        } else {
            // Tokenized once: the chips, the base pass and the cache key.
            const scalpel::PreparedPrompt prepared = model.prepare(text);
            // A masked model's mask chips look distinct: the slots it fills.
            const auto mask =
                model.isMaskedLm() ? model.tokenizer().maskId() : std::optional<int>();
            for (std::size_t i = 0; i < prepared.ids.size(); ++i)
                r.tokens.push_back({qs(prepared.tokens[i]), prepared.ids[i], prepared.unknown[i],
                                    mask && prepared.ids[i] == *mask});
            r.warning = qs(prepared.warning);
            r.droppedTokens = prepared.droppedTokens;
            // One base pass, shared by the base column and SERAC's routing;
            // the prompt cache makes it nothing when only the edits changed.
            std::vector<float> baseProbs;
            model.nextTokenProbs(prepared.ids, {}, d.promptCache, &baseProbs);
            r.base = toRows(model.topK(baseProbs, req.topK));

            if (d.serac) {
                QElapsedTimer scopeTimer;
                scopeTimer.start();
                const scalpel::RoutedPrediction routed =
                    d.serac->predict(text, req.topK, baseProbs);
                r.scopeMs = scopeTimer.nsecsElapsed() / 1e6;
                r.edited = toRows(routed.top);
                r.routedTo = qs(routed.routedTo);
                r.routedProb = routed.routedProb;
                r.scopes.reserve(static_cast<int>(routed.scope.size()));
                for (const auto& s : routed.scope)
                    r.scopes.insert(qs(s.editId), {s.prob, qs(s.stage)});
            }
            if (d.world) {
                if (const auto match = d.world->matchTyped(text)) {
                    const auto& fact = match->fact;
                    for (const auto& p : d.world->paraphrases(fact.subject, fact.relation,
                                                              scalpel::TemplateSplit::Train))
                        r.factPrompts.push_back(qs(p));
                    r.factAnswer = qs(fact.object);
                }
            }
            cache.stateVersion = d.stateVersion;
            cache.prompt = req.prompt;
            cache.topK = req.topK;
            cache.ids = prepared.ids;
            cache.result = r;
        }

        std::vector<scalpel::NeuronScale> scales;
        const int layers = model.config().layers;
        const int neurons = model.config().neurons;
        for (const auto& s : req.scales) {
            if (s.factor != 1.0 && s.layer >= 0 && s.layer < layers && s.neuron >= 0 &&
                s.neuron < neurons)
                scales.push_back({s.layer, s.neuron, static_cast<float>(s.factor)});
        }
        if (d.serac) {
            const scalpel::ScopeIndexStatus st = d.serac->scopeIndexStatus();
            if (st.building && st.buildTotal > 0)
                r.scopeIndexNote =
                    QStringLiteral("Scope index of %1 edits %2% built; meanwhile %3.")
                        .arg(QLocale().toString(qulonglong(st.buildTotal)))
                        .arg(100 * st.buildDone / st.buildTotal)
                        .arg(st.active ? QStringLiteral("the index it replaces finds the edits")
                                       : QStringLiteral("every edit is scanned"));
        }
        // A slider drag: the last position only, from the lowest scaled layer.
        r.intervened = scales.empty()
                           ? r.base
                           : toRows(model.topK(
                                 model.nextTokenProbs(cache.ids, scales, d.promptCache), req.topK));
    } catch (const std::exception& e) {
        cache.stateVersion = 0;
        r.warning = qs(e.what());
    }
    r.elapsedMs = timer.nsecsElapsed() / 1e6;
    return r;
}

AttributionResult attribute(WorkerEngine& d, const AttributionRequest& req, JobContext& context) {
    AttributionResult r;
    r.generation = req.generation;
    QElapsedTimer timer;
    timer.start();
    try {
        if (!d.model)
            throw scalpel::Error("No model is loaded.");
        scalpel::AttributionOptions o;
        o.steps = req.steps;
        const QString detail = QStringLiteral("%1 → %2").arg(req.prompt, req.target);
        o.progress = [&](double f) { return context.progress(f, detail); };
        const auto grid = scalpel::attribute(*d.model, ss(req.prompt), ss(req.target), o);
        r.grid = toData(grid, req.prompt);
    } catch (const scalpel::Cancelled&) {
        r.cancelled = true;
    } catch (const std::exception& e) {
        r.error = qs(e.what());
    }
    r.elapsedMs = timer.nsecsElapsed() / 1e6;
    context.setMessage(r.cancelled ? QStringLiteral("Attribution cancelled")
                       : r.error.isEmpty()
                           ? QStringLiteral("Attribution done in %1 ms").arg(qRound(r.elapsedMs))
                           : QStringLiteral("Attribution failed"));
    return r;
}

RefineResult refine(WorkerEngine& d, const RefineRequest& req, JobContext& context) {
    RefineResult r;
    r.generation = req.generation;
    r.prompts = req.prompts;
    r.target = req.target;
    QElapsedTimer timer;
    timer.start();
    try {
        if (!d.model)
            throw scalpel::Error("No model is loaded.");
        std::vector<std::string> prompts;
        for (const auto& p : req.prompts)
            prompts.push_back(ss(p));
        scalpel::AttributionOptions o;
        o.steps = req.steps;
        const QString detail =
            QStringLiteral("%1 prompts → %2").arg(req.prompts.size()).arg(req.target);
        o.progress = [&](double f) { return context.progress(f, detail); };
        const auto search = scalpel::findKnowledgeNeurons(*d.model, prompts, ss(req.target),
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
    context.setMessage(r.cancelled         ? QStringLiteral("Refining cancelled")
                       : r.error.isEmpty() ? QStringLiteral("Refining found %1 neurons in %2 ms")
                                                 .arg(r.neurons.size())
                                                 .arg(qRound(r.elapsedMs))
                                           : QStringLiteral("Refining failed"));
    return r;
}

CurveResult curve(WorkerEngine& d, const CurveRequest& req, JobContext& context) {
    CurveResult r;
    r.generation = req.generation;
    r.answer = req.answer;
    r.prompt = req.prompt;
    try {
        if (!d.model)
            throw scalpel::Error("No model is loaded.");
        const auto ids = d.model->prepare(ss(req.prompt)).ids;
        const auto target = scalpel::encodeTarget(*d.model, ss(req.answer.trimmed()));
        const auto neurons = toIds(req.neurons);
        for (double s : req.scales) {
            const auto p = scalpel::answerProbs(*d.model, {ids}, target,
                                                scalpel::scalesFor(neurons, static_cast<float>(s)));
            r.scales.push_back(s);
            r.probs.push_back(p.front());
            // A curve is a handful of forward passes; still let typing in.
            context.serveQuick();
        }
    } catch (const std::exception& e) {
        r.error = qs(e.what());
        r.scales.clear();
        r.probs.clear();
    }
    return r;
}

WeightOpResult weightOp(WorkerEngine& d, const WeightOp& op) {
    ++d.stateVersion;
    WeightOpResult r;
    r.op = op;
    try {
        if (!d.model || !d.weights)
            throw scalpel::Error("No model is loaded.");
        auto& editor = *d.weights;
        const auto neurons = toIds(op.neurons);
        // A gated MLP's neurons take their signs from the fact's prompt; a
        // plain MLP's are all +1, the paper's rule (WeightEditor::updateFact).
        std::vector<std::vector<int>> signPrompts;
        if (d.model->config().gatedMlp && !op.prompt.trimmed().isEmpty())
            signPrompts.push_back(d.model->prepare(ss(op.prompt)).ids);
        switch (op.kind) {
        case WeightOp::Kind::UpdateFact:
            d.changeOfToken[op.token] = editor.updateFact(
                neurons, ss(op.oldObject), ss(op.newObject), ss(op.description), signPrompts);
            break;
        case WeightOp::Kind::EraseRelation:
            d.changeOfToken[op.token] = editor.eraseRelation(neurons, ss(op.description));
            break;
        case WeightOp::Kind::Restore: {
            const auto it = d.changeOfToken.find(op.token);
            // A change the engine refused was never applied: nothing to undo.
            if (it == d.changeOfToken.end())
                break;
            const int id = it->second;
            editor.restore(id);
            // restore() also undid every later change.
            for (auto t = d.changeOfToken.begin(); t != d.changeOfToken.end();)
                t = t->second >= id ? d.changeOfToken.erase(t) : std::next(t);
            break;
        }
        case WeightOp::Kind::RestoreAll:
            editor.restoreAll();
            d.changeOfToken.clear();
            break;
        case WeightOp::Kind::Preview: {
            const auto& model = *d.model;
            // The prompt itself, then other facts: the same relation for
            // other subjects and other relations of the same subject, so the
            // preview shows what else the change would move.
            QStringList prompts{op.prompt};
            if (d.world) {
                if (const auto match = d.world->match(ss(op.prompt))) {
                    const auto& fact = match->first;
                    int sameRelation = 0;
                    int otherRelation = 0;
                    for (const auto& f : d.world->facts()) {
                        const auto templates =
                            d.world->templates(f.relation, scalpel::TemplateSplit::Train);
                        if (templates.empty())
                            continue;
                        const QString p = qs(d.world->query(templates.front(), f.subject));
                        if (f.relation == fact.relation && f.subject != fact.subject &&
                            sameRelation < 3) {
                            prompts.push_back(p);
                            ++sameRelation;
                        } else if (f.relation != fact.relation && f.subject == fact.subject &&
                                   otherRelation < 3) {
                            prompts.push_back(p);
                            ++otherRelation;
                        }
                    }
                }
            }
            std::vector<std::vector<int>> ids;
            for (const auto& p : prompts)
                ids.push_back(model.prepare(ss(p)).ids);
            auto topOf = [&](std::size_t i) {
                return model.topK(model.nextTokenProbs(ids[i]), 10);
            };
            std::vector<std::vector<scalpel::TokenProb>> before;
            for (std::size_t i = 0; i < ids.size(); ++i)
                before.push_back(topOf(i));
            const int id = op.erase ? editor.eraseRelation(neurons, "preview")
                                    : editor.updateFact(neurons, ss(op.oldObject), ss(op.newObject),
                                                        "preview", signPrompts);
            std::vector<std::vector<scalpel::TokenProb>> after;
            try {
                for (std::size_t i = 0; i < ids.size(); ++i)
                    after.push_back(topOf(i));
            } catch (...) {
                editor.restore(id);
                throw;
            }
            editor.restore(id);
            r.before = toRows(before.front());
            r.after = toRows(after.front());
            for (std::size_t i = 1; i < ids.size(); ++i) {
                PreviewLine line;
                line.prompt = prompts[static_cast<int>(i)];
                if (!before[i].empty())
                    line.before = {qs(before[i].front().token), before[i].front().id,
                                   before[i].front().prob};
                if (!after[i].empty())
                    line.after = {qs(after[i].front().token), after[i].front().id,
                                  after[i].front().prob};
                r.others.push_back(line);
            }
            break;
        }
        }
        r.ok = true;
    } catch (const std::exception& e) {
        r.error = qs(e.what());
    }
    return r;
}

} // namespace jobs
