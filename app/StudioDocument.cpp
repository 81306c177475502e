#include "StudioDocument.h"

#include <QDateTime>
#include <QUndoStack>

#include <unordered_set>

StudioDocument::StudioDocument(QObject* parent) : QObject(parent), m_undo(new QUndoStack(this)) {
    connect(m_undo, &QUndoStack::indexChanged, this, [this] { touch(); });
}

StudioDocument::~StudioDocument() {
    // The stack is a child: it clears itself after this object has stopped
    // being a StudioDocument, and must not call back.
    disconnect(m_undo, nullptr, this, nullptr);
}

QString StudioDocument::factLabel(const QString& prompt, const QString& answer) {
    if (prompt.isEmpty())
        return answer;
    return QStringLiteral("“%1” → %2").arg(prompt.trimmed(), answer.trimmed());
}

void StudioDocument::touch() {
    Q_EMIT changed();
    if (!m_modified) {
        m_modified = true;
        Q_EMIT modifiedChanged(true);
    }
}

void StudioDocument::markSaved() {
    if (m_modified) {
        m_modified = false;
        Q_EMIT modifiedChanged(false);
    }
}

// ---- prompt -------------------------------------------------------------------

void StudioDocument::setPrompt(const QString& prompt) {
    if (prompt == m_prompt)
        return;
    m_prompt = prompt;
    Q_EMIT promptChanged(prompt);
    // Saved with the session (autosave), but typing alone is not worth a
    // question on quit.
    Q_EMIT changed();
}

void StudioDocument::setHistory(const QStringList& history) {
    if (history == m_history)
        return;
    m_history = history;
    Q_EMIT historyChanged();
    Q_EMIT changed();
}

// ---- edit memory ----------------------------------------------------------------

std::string StudioDocument::newEditId() {
    for (;;) {
        std::string id = "e" + std::to_string(m_nextEditId++);
        if (!m_memory.find(id))
            return id;
    }
}

QString StudioDocument::addEdit(const QString& prompt, const QString& answer, QString* error) {
    const QString p = prompt.trimmed();
    const QString a = answer.trimmed();
    if (p.isEmpty() || a.isEmpty()) {
        if (error)
            *error = tr("An edit needs a prompt and an answer.");
        return {};
    }
    scalpel::Edit e;
    e.id = newEditId();
    e.prompt = p.toStdString();
    e.answer = a.toStdString();
    e.createdMs = e.modifiedMs = QDateTime::currentMSecsSinceEpoch();
    m_undo->push(new AddEditCommand(this, e));
    return QString::fromStdString(e.id);
}

void StudioDocument::deleteEdits(const QStringList& ids) {
    std::vector<std::pair<scalpel::Edit, int>> removed;
    for (const auto& id : ids) {
        const int at = m_memory.indexOf(id.toStdString());
        if (at >= 0)
            removed.push_back({m_memory.edits()[static_cast<std::size_t>(at)], at});
    }
    if (!removed.empty())
        m_undo->push(new RemoveEditsCommand(this, std::move(removed)));
}

bool StudioDocument::modifyEdit(const scalpel::Edit& after) {
    const scalpel::Edit* old = m_memory.find(after.id);
    if (!old || after.prompt.empty() || after.answer.empty())
        return false;
    if (old->prompt == after.prompt && old->answer == after.answer &&
        old->enabled == after.enabled && old->descriptor == after.descriptor)
        return false;
    scalpel::Edit now = *old;
    now.prompt = after.prompt;
    now.answer = after.answer;
    now.enabled = after.enabled;
    now.descriptor = after.descriptor;
    m_undo->push(new ModifyEditCommand(this, *old, now));
    return true;
}

int StudioDocument::countDuplicates(const scalpel::EditMemory& incoming) const {
    std::unordered_set<std::string> prompts;
    for (const auto& e : m_memory.edits())
        prompts.insert(e.prompt);
    int n = 0;
    for (const auto& e : incoming.edits())
        n += prompts.count(e.prompt) ? 1 : 0;
    return n;
}

void StudioDocument::importEdits(const scalpel::EditMemory& incoming, Duplicates duplicates) {
    scalpel::EditMemory merged = m_memory;
    std::unordered_map<std::string, std::string> idOfPrompt;
    for (const auto& e : m_memory.edits())
        idOfPrompt.emplace(e.prompt, e.id);
    int added = 0;
    int replaced = 0;
    int skipped = 0;
    for (const auto& e : incoming.edits()) {
        const auto same = idOfPrompt.find(e.prompt);
        if (same != idOfPrompt.end() && duplicates != Duplicates::KeepBoth) {
            if (duplicates == Duplicates::Skip) {
                ++skipped;
                continue;
            }
            merged.update(same->second, e.prompt, e.answer);
            merged.setEnabled(same->second, e.enabled);
            ++replaced;
            continue;
        }
        scalpel::Edit copy = e;
        // An id already here keeps both edits: the import gets a fresh id.
        if (merged.find(copy.id)) {
            do
                copy.id = "e" + std::to_string(m_nextEditId++);
            while (merged.find(copy.id));
        }
        merged.insert(copy);
        ++added;
    }
    if (added == 0 && replaced == 0)
        return;
    QString text = tr("Import %n edit(s)", nullptr, added);
    if (replaced)
        text += tr(", replace %n", nullptr, replaced);
    if (skipped)
        text += tr(", skip %n duplicate(s)", nullptr, skipped);
    m_undo->push(new ReplaceEditsCommand(this, m_memory.edits(), merged.edits(), text));
}

void StudioDocument::insertEdit(const scalpel::Edit& edit, int position) {
    m_memory.insert(edit, position);
    const int at = m_memory.indexOf(edit.id);
    Q_EMIT editInserted(edit, at);
    Q_EMIT editsChanged();
}

void StudioDocument::removeEdit(const QString& id) {
    if (!m_memory.remove(id.toStdString()))
        return;
    Q_EMIT editRemoved(id);
    Q_EMIT editsChanged();
}

void StudioDocument::replaceEdit(const scalpel::Edit& edit) {
    m_memory.update(edit.id, edit.prompt, edit.answer);
    m_memory.setEnabled(edit.id, edit.enabled);
    if (const scalpel::Edit* was = m_memory.find(edit.id);
        was && !(was->descriptor == edit.descriptor))
        m_memory.setDescriptor(edit.id, edit.descriptor);
    if (const scalpel::Edit* now = m_memory.find(edit.id))
        Q_EMIT editReplaced(*now);
    Q_EMIT editsChanged();
}

void StudioDocument::replaceAllEdits(const std::vector<scalpel::Edit>& edits) {
    m_memory.clear();
    for (const auto& e : edits)
        m_memory.insert(e);
    Q_EMIT editsReset();
    Q_EMIT editsChanged();
}

// ---- interventions ------------------------------------------------------------------

void StudioDocument::changeScales(const QVector<NeuronScale>& scales, int dragId) {
    if (scales == m_scales)
        return;
    m_undo->push(new ScalesCommand(this, m_scales, scales, dragId));
}

void StudioDocument::applyScales(const QVector<NeuronScale>& scales) {
    m_scales = scales;
    Q_EMIT scalesChanged();
}

void StudioDocument::applyNeuronSet(const QVector<NeuronRef>& neurons, const QStringList& labels,
                                    const QVector<NeuronScale>& scales, const QString& source) {
    m_neurons = neurons;
    m_neuronLabels = labels;
    while (m_neuronLabels.size() < m_neurons.size())
        m_neuronLabels.push_back({});
    // A factor for every neuron shown, 1 where none was given.
    m_scales.clear();
    for (const auto& n : neurons) {
        double factor = 1.0;
        for (const auto& s : scales)
            if (s.layer == n.layer && s.neuron == n.neuron)
                factor = s.factor;
        m_scales.push_back({n.layer, n.neuron, factor});
    }
    m_neuronSource = source;
    Q_EMIT neuronsChanged();
}

void StudioDocument::selectNeuron(int layer, int neuron, const QString& source) {
    for (const auto& n : m_neurons)
        if (n.layer == layer && n.neuron == neuron)
            return;
    NeuronSetCommand::State before{m_neurons, m_neuronLabels, m_scales, m_neuronSource};
    NeuronSetCommand::State after = before;
    after.neurons.push_back({layer, neuron});
    while (after.labels.size() < after.neurons.size() - 1)
        after.labels.push_back({});
    after.labels.push_back(tr("picked"));
    after.scales.push_back({layer, neuron, 1.0});
    // Neurons picked on another fact's map: the set no longer belongs to one.
    if (before.neurons.isEmpty() || before.source == source)
        after.source = source;
    else
        after.source = tr("several facts");
    m_undo->push(new NeuronSetCommand(this, before, after,
                                      tr("Select neuron L%1 · N%2").arg(layer).arg(neuron)));
}

void StudioDocument::selectRefinedNeurons(const QVector<RefinedNeuron>& refined, int prompts,
                                          const QString& source) {
    QVector<NeuronRef> neurons;
    QStringList labels;
    for (const auto& n : refined) {
        neurons.push_back({n.layer, n.neuron});
        labels.push_back(tr("in %1/%2 prompts").arg(n.prompts).arg(prompts));
    }
    selectNeurons(neurons, labels, source,
                  tr("Select %n refined neuron(s)", nullptr, refined.size()));
}

void StudioDocument::selectNeurons(const QVector<NeuronRef>& neurons, const QStringList& labels,
                                   const QString& source, const QString& what) {
    NeuronSetCommand::State before{m_neurons, m_neuronLabels, m_scales, m_neuronSource};
    NeuronSetCommand::State after;
    for (int i = 0; i < neurons.size(); ++i) {
        after.neurons.push_back(neurons[i]);
        after.labels.push_back(labels.value(i));
        after.scales.push_back({neurons[i].layer, neurons[i].neuron, 1.0});
    }
    after.source = source;
    m_undo->push(new NeuronSetCommand(this, before, after, what));
}

// ---- weights ------------------------------------------------------------------------

void StudioDocument::setWeightOps(const QVector<WeightOp>& ops) {
    const bool was = weightsModified();
    m_weightOps = ops;
    if (was != weightsModified())
        Q_EMIT weightsModifiedChanged(weightsModified());
}

void StudioDocument::changeWeights(WeightOp op) {
    if (op.token == 0)
        op.token = nextWeightToken();
    m_undo->push(new WeightChangeCommand(this, std::move(op)));
}

bool StudioDocument::revertWeights() {
    if (m_weightOps.isEmpty())
        return false;
    m_undo->push(new RevertWeightsCommand(this, m_weightOps));
    return true;
}

void StudioDocument::applyWeightChange(const WeightOp& op) {
    QVector<WeightOp> ops = m_weightOps;
    ops.push_back(op);
    setWeightOps(ops);
    Q_EMIT weightChangeApplied(op);
}

void StudioDocument::restoreWeightChange(int token) {
    QVector<WeightOp> ops = m_weightOps;
    for (int i = 0; i < ops.size(); ++i) {
        if (ops[i].token == token) {
            ops.resize(i); // the engine restores every later change too
            break;
        }
    }
    setWeightOps(ops);
    Q_EMIT weightChangeRestored(token);
}

void StudioDocument::forgetWeightChange(int token) {
    QVector<WeightOp> ops = m_weightOps;
    for (int i = 0; i < ops.size(); ++i)
        if (ops[i].token == token)
            ops.remove(i--);
    setWeightOps(ops);
    Q_EMIT changed();
}

// ---- results --------------------------------------------------------------------------

void StudioDocument::setAttribution(const AttributionData& grid) {
    m_attribution = grid;
    Q_EMIT attributionChanged();
    touch();
}

void StudioDocument::setTrace(const TraceData& trace) {
    m_trace = trace;
    Q_EMIT traceChanged();
    touch();
}

void StudioDocument::setLens(const LensData& lens) {
    m_lens = lens;
    Q_EMIT lensChanged();
    touch();
}

void StudioDocument::setHeatmapThreshold(double fraction) {
    if (fraction == m_heatmapThreshold)
        return;
    m_heatmapThreshold = fraction;
    Q_EMIT heatmapThresholdChanged(fraction);
    Q_EMIT changed();
}

void StudioDocument::setRefineSetup(const QStringList& prompts, const QString& target, double share,
                                    double threshold, int steps) {
    if (prompts == m_refine.prompts && target == m_refine.target && share == m_refine.share &&
        threshold == m_refine.threshold && steps == m_refine.steps)
        return;
    m_refine.prompts = prompts;
    m_refine.target = target;
    m_refine.share = share;
    m_refine.threshold = threshold;
    m_refine.steps = steps;
    Q_EMIT refineChanged();
    Q_EMIT changed();
}

void StudioDocument::setRefineResult(const QVector<RefinedNeuron>& result, const QString& source) {
    m_refine.result = result;
    m_refine.source = source;
    Q_EMIT refineChanged();
    touch();
}

void StudioDocument::resetForNewModel() {
    // Weight changes, neuron indices and results belong to the old model.
    m_undo->clear();
    setWeightOps({});
    m_attribution = {};
    Q_EMIT attributionChanged();
    m_trace = {};
    Q_EMIT traceChanged();
    m_lens = {};
    Q_EMIT lensChanged();
    m_refine.result.clear();
    m_refine.source.clear();
    Q_EMIT refineChanged();
    applyNeuronSet({}, {}, {}, {});
    touch();
}

// ---- sessions ---------------------------------------------------------------------------

SessionState StudioDocument::toSession(const QString& modelPath) const {
    SessionState s;
    s.modelPath = modelPath;
    s.prompt = m_prompt;
    s.history = m_history;
    s.editsJson = QByteArray::fromStdString(m_memory.toJson());
    s.weightChanges = m_weightOps;
    s.neurons = m_neurons;
    s.neuronLabels = m_neuronLabels;
    s.neuronSource = m_neuronSource;
    s.scales = m_scales;
    s.refinePrompts = m_refine.prompts;
    s.refineTarget = m_refine.target;
    s.refineShare = m_refine.share;
    s.refineThreshold = m_refine.threshold;
    s.refineSteps = m_refine.steps;
    s.refined = m_refine.result;
    s.attribution = m_attribution;
    s.heatmapThreshold = m_heatmapThreshold;
    s.trace = m_trace;
    s.lens = m_lens;
    return s;
}

bool StudioDocument::restore(const SessionState& s, QString* error) {
    std::vector<scalpel::Edit> edits;
    try {
        // Parse the edit memory before touching anything, so a bad file
        // leaves the document as it was.
        if (!s.editsJson.isEmpty())
            edits = scalpel::EditMemory::fromJson(s.editsJson.toStdString(), "session").edits();
    } catch (const std::exception& e) {
        if (error)
            *error = QString::fromUtf8(e.what());
        return false;
    }
    m_undo->clear();

    // Weights: back to the model as loaded, then the session's changes in
    // their order, each with a token of this document.
    QVector<WeightOp> ops;
    for (WeightOp op : s.weightChanges) {
        op.token = nextWeightToken();
        ops.push_back(op);
    }
    setWeightOps(ops);
    Q_EMIT weightsReset(ops);

    replaceAllEdits(edits);

    m_refine.prompts = s.refinePrompts;
    m_refine.target = s.refineTarget;
    m_refine.share = s.refineShare;
    m_refine.threshold = s.refineThreshold;
    m_refine.steps = s.refineSteps;
    m_refine.result = s.refined;
    m_refine.source = s.refined.isEmpty() || s.refinePrompts.isEmpty()
                          ? QString()
                          : factLabel(s.refinePrompts.front(), s.refineTarget);
    Q_EMIT refineChanged();

    m_attribution = s.attribution;
    Q_EMIT attributionChanged();
    m_heatmapThreshold = s.heatmapThreshold;
    Q_EMIT heatmapThresholdChanged(m_heatmapThreshold);
    m_trace = s.trace;
    Q_EMIT traceChanged();
    m_lens = s.lens;
    Q_EMIT lensChanged();

    applyNeuronSet(s.neurons, s.neuronLabels, s.scales, s.neuronSource);
    setHistory(s.history);
    setPrompt(s.prompt);
    m_undo->clear();
    m_undo->setClean();
    Q_EMIT restored();
    Q_EMIT changed();
    markSaved();
    return true;
}
