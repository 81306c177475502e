#include "Session.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

namespace {

QJsonArray toArray(const QStringList& list) {
    return QJsonArray::fromStringList(list);
}

QStringList toStrings(const QJsonValue& v) {
    QStringList out;
    for (const auto& x : v.toArray())
        out.push_back(x.toString());
    return out;
}

QJsonObject neuronJson(int layer, int neuron) {
    return QJsonObject{{QStringLiteral("layer"), layer}, {QStringLiteral("neuron"), neuron}};
}

const char* kindName(WeightOp::Kind k) {
    switch (k) {
    case WeightOp::Kind::UpdateFact:
        return "update-fact";
    case WeightOp::Kind::EraseRelation:
        return "erase-relation";
    default:
        return "";
    }
}

QJsonArray numbers(const QVector<float>& v) {
    QJsonArray out;
    for (float x : v)
        out.push_back(static_cast<double>(x));
    return out;
}

QJsonObject traceJson(const TraceData& t) {
    QJsonArray grids;
    for (const auto& g : t.grids)
        grids.push_back(QJsonObject{{QStringLiteral("kind"), g.kind},
                                    {QStringLiteral("scores"), numbers(g.scores)}});
    return QJsonObject{{QStringLiteral("prompt"), t.prompt},
                       {QStringLiteral("subject"), t.subject},
                       {QStringLiteral("answer_id"), t.answerId},
                       {QStringLiteral("answer"), t.answer},
                       {QStringLiteral("sigma"), t.sigma},
                       {QStringLiteral("noise"), t.noise},
                       // A string: a 64-bit seed does not survive a JSON double.
                       {QStringLiteral("seed"), QString::number(t.seed)},
                       {QStringLiteral("samples"), t.samples},
                       {QStringLiteral("window"), t.window},
                       {QStringLiteral("tokens"), toArray(t.tokens)},
                       {QStringLiteral("layers"), t.layers},
                       {QStringLiteral("subject_begin"), t.subjectBegin},
                       {QStringLiteral("subject_end"), t.subjectEnd},
                       {QStringLiteral("clean"), t.cleanScore},
                       {QStringLiteral("corrupted"), t.corruptedScore},
                       {QStringLiteral("method"), t.method},
                       {QStringLiteral("elapsed_ms"), t.elapsedMs},
                       {QStringLiteral("grids"), grids}};
}

bool readTrace(const QJsonObject& o, TraceData* out, QString* why) {
    TraceData t;
    t.prompt = o.value(QStringLiteral("prompt")).toString();
    t.subject = o.value(QStringLiteral("subject")).toString();
    t.answerId = o.value(QStringLiteral("answer_id")).toInt(-1);
    t.answer = o.value(QStringLiteral("answer")).toString();
    t.sigma = o.value(QStringLiteral("sigma")).toDouble();
    t.noise = o.value(QStringLiteral("noise")).toDouble();
    bool seedOk = false;
    t.seed = o.value(QStringLiteral("seed")).toString().toULongLong(&seedOk);
    t.samples = o.value(QStringLiteral("samples")).toInt();
    t.window = o.value(QStringLiteral("window")).toInt();
    t.tokens = toStrings(o.value(QStringLiteral("tokens")));
    t.layers = o.value(QStringLiteral("layers")).toInt();
    t.subjectBegin = o.value(QStringLiteral("subject_begin")).toInt();
    t.subjectEnd = o.value(QStringLiteral("subject_end")).toInt();
    t.cleanScore = o.value(QStringLiteral("clean")).toDouble();
    t.corruptedScore = o.value(QStringLiteral("corrupted")).toDouble();
    t.method = o.value(QStringLiteral("method")).toString();
    t.elapsedMs = o.value(QStringLiteral("elapsed_ms")).toDouble();
    if (t.prompt.isEmpty() || t.subject.isEmpty()) {
        *why = QStringLiteral("no prompt or subject");
        return false;
    }
    if (!seedOk || t.samples <= 0 || t.window <= 0 || t.answerId < 0) {
        *why = QStringLiteral("the seed, samples, window or answer_id is missing or not valid");
        return false;
    }
    if (t.layers <= 0 || t.tokens.isEmpty() || t.subjectBegin < 0 ||
        t.subjectEnd > t.tokens.size() || t.subjectBegin >= t.subjectEnd) {
        *why = QStringLiteral("%1 tokens, %2 layers and subject tokens [%3, %4) do not fit")
                   .arg(t.tokens.size())
                   .arg(t.layers)
                   .arg(t.subjectBegin)
                   .arg(t.subjectEnd);
        return false;
    }
    for (const auto& v : o.value(QStringLiteral("grids")).toArray()) {
        const QJsonObject g = v.toObject();
        TraceGridData grid;
        grid.kind = g.value(QStringLiteral("kind")).toString();
        for (const auto& x : g.value(QStringLiteral("scores")).toArray())
            grid.scores.push_back(static_cast<float>(x.toDouble()));
        if (grid.kind != QLatin1String("hidden") && grid.kind != QLatin1String("mlp") &&
            grid.kind != QLatin1String("attn")) {
            *why = QStringLiteral("unknown grid kind '%1'").arg(grid.kind);
            return false;
        }
        if (grid.scores.size() != t.tokens.size() * t.layers) {
            *why = QStringLiteral("the %1 grid has %2 scores for %3 tokens x %4 layers")
                       .arg(grid.kind)
                       .arg(grid.scores.size())
                       .arg(t.tokens.size())
                       .arg(t.layers);
            return false;
        }
        t.grids.push_back(grid);
    }
    if (t.grids.isEmpty()) {
        *why = QStringLiteral("no grids");
        return false;
    }
    *out = t;
    return true;
}

QJsonObject lensJson(const LensData& l) {
    QJsonArray top;
    for (const auto& cell : l.top) {
        QJsonArray rows;
        for (const auto& r : cell)
            rows.push_back(QJsonObject{{QStringLiteral("token"), r.token},
                                       {QStringLiteral("id"), r.id},
                                       {QStringLiteral("prob"), r.prob}});
        top.push_back(rows);
    }
    QJsonArray prob, rank;
    for (double p : l.answerProb)
        prob.push_back(p);
    for (int r : l.answerRank)
        rank.push_back(r);
    return QJsonObject{
        {QStringLiteral("prompt"), l.prompt},          {QStringLiteral("top_k"), l.topK},
        {QStringLiteral("tokens"), toArray(l.tokens)}, {QStringLiteral("layers"), l.layers},
        {QStringLiteral("answer"), l.answer},          {QStringLiteral("answer_prob"), prob},
        {QStringLiteral("answer_rank"), rank},         {QStringLiteral("top"), top}};
}

bool readLens(const QJsonObject& o, LensData* out, QString* why) {
    LensData l;
    l.prompt = o.value(QStringLiteral("prompt")).toString();
    l.topK = o.value(QStringLiteral("top_k")).toInt();
    l.tokens = toStrings(o.value(QStringLiteral("tokens")));
    l.layers = o.value(QStringLiteral("layers")).toInt();
    l.answer = o.value(QStringLiteral("answer")).toString();
    for (const auto& v : o.value(QStringLiteral("answer_prob")).toArray())
        l.answerProb.push_back(v.toDouble());
    for (const auto& v : o.value(QStringLiteral("answer_rank")).toArray())
        l.answerRank.push_back(v.toInt());
    for (const auto& cell : o.value(QStringLiteral("top")).toArray()) {
        QVector<PredictionRow> rows;
        for (const auto& v : cell.toArray()) {
            const QJsonObject r = v.toObject();
            rows.push_back({r.value(QStringLiteral("token")).toString(),
                            r.value(QStringLiteral("id")).toInt(-1),
                            r.value(QStringLiteral("prob")).toDouble()});
        }
        l.top.push_back(rows);
    }
    if (l.layers <= 0 || l.tokens.isEmpty() ||
        l.top.size() != static_cast<qsizetype>(l.layers) * l.tokens.size() ||
        l.answerProb.size() != l.layers || l.answerRank.size() != l.layers) {
        *why = QStringLiteral("%1 cells, %2 answer probabilities and %3 ranks for %4 layers x %5 "
                              "positions")
                   .arg(l.top.size())
                   .arg(l.answerProb.size())
                   .arg(l.answerRank.size())
                   .arg(l.layers)
                   .arg(l.tokens.size());
        return false;
    }
    *out = l;
    return true;
}

} // namespace

QByteArray Session::toJson(const SessionState& s) {
    QJsonObject root;
    root[QStringLiteral("format")] = QStringLiteral("scalpel-session");
    root[QStringLiteral("version")] = kFormatVersion;
    root[QStringLiteral("model")] = s.modelPath;
    root[QStringLiteral("prompt")] = s.prompt;
    root[QStringLiteral("history")] = toArray(s.history);

    QJsonParseError err{};
    const QJsonDocument edits = QJsonDocument::fromJson(s.editsJson, &err);
    root[QStringLiteral("edit_memory")] =
        edits.isObject() ? QJsonValue(edits.object()) : QJsonValue(edits.array());

    QJsonArray changes;
    for (const auto& op : s.weightChanges) {
        QJsonArray neurons;
        for (const auto& n : op.neurons)
            neurons.push_back(neuronJson(n.layer, n.neuron));
        changes.push_back(
            QJsonObject{{QStringLiteral("kind"), QString::fromLatin1(kindName(op.kind))},
                        {QStringLiteral("neurons"), neurons},
                        {QStringLiteral("old_object"), op.oldObject},
                        {QStringLiteral("new_object"), op.newObject},
                        {QStringLiteral("prompt"), op.prompt},
                        {QStringLiteral("description"), op.description}});
    }
    root[QStringLiteral("weight_changes")] = changes;

    QJsonArray neurons;
    for (int i = 0; i < s.neurons.size(); ++i) {
        QJsonObject n = neuronJson(s.neurons[i].layer, s.neurons[i].neuron);
        n[QStringLiteral("label")] = s.neuronLabels.value(i);
        double factor = 1.0;
        for (const auto& sc : s.scales)
            if (sc.layer == s.neurons[i].layer && sc.neuron == s.neurons[i].neuron)
                factor = sc.factor;
        n[QStringLiteral("factor")] = factor;
        neurons.push_back(n);
    }
    root[QStringLiteral("neurons")] = neurons;
    root[QStringLiteral("neurons_source")] = s.neuronSource;

    QJsonArray refined;
    for (const auto& r : s.refined) {
        QJsonObject n = neuronJson(r.layer, r.neuron);
        n[QStringLiteral("prompts")] = r.prompts;
        n[QStringLiteral("mean_score")] = r.meanScore;
        refined.push_back(n);
    }
    root[QStringLiteral("refine")] =
        QJsonObject{{QStringLiteral("prompts"), toArray(s.refinePrompts)},
                    {QStringLiteral("target"), s.refineTarget},
                    {QStringLiteral("share"), s.refineShare},
                    {QStringLiteral("threshold"), s.refineThreshold},
                    {QStringLiteral("steps"), s.refineSteps},
                    {QStringLiteral("neurons"), refined}};

    QJsonObject attribution;
    if (!s.attribution.isEmpty()) {
        QJsonArray scores;
        for (float v : s.attribution.scores)
            scores.push_back(static_cast<double>(v));
        attribution = QJsonObject{{QStringLiteral("layers"), s.attribution.layers},
                                  {QStringLiteral("neurons"), s.attribution.neurons},
                                  {QStringLiteral("prompt"), s.attribution.prompt},
                                  {QStringLiteral("target"), s.attribution.target},
                                  {QStringLiteral("target_prob"), s.attribution.targetProb},
                                  {QStringLiteral("scores"), scores}};
    }
    attribution[QStringLiteral("threshold")] = s.heatmapThreshold;
    root[QStringLiteral("attribution")] = attribution;
    if (!s.trace.isEmpty())
        root[QStringLiteral("trace")] = traceJson(s.trace);
    if (!s.lens.isEmpty())
        root[QStringLiteral("lens")] = lensJson(s.lens);
    return QJsonDocument(root).toJson(QJsonDocument::Indented);
}

bool Session::fromJson(const QByteArray& json, SessionState* out, QString* error) {
    auto fail = [&](const QString& why) {
        if (error)
            *error = why;
        return false;
    };
    QJsonParseError err{};
    const QJsonDocument doc = QJsonDocument::fromJson(json, &err);
    if (err.error != QJsonParseError::NoError)
        return fail(
            QStringLiteral("not JSON: %1 at offset %2").arg(err.errorString()).arg(err.offset));
    const QJsonObject root = doc.object();
    if (root.value(QStringLiteral("format")).toString() != QLatin1String("scalpel-session"))
        return fail(QStringLiteral("not a Scalpel session (no \"format\": \"scalpel-session\")"));
    if (root.value(QStringLiteral("version")).toInt() > kFormatVersion)
        return fail(QStringLiteral("written by a newer Scalpel (format version %1)")
                        .arg(root.value(QStringLiteral("version")).toInt()));

    SessionState s;
    s.modelPath = root.value(QStringLiteral("model")).toString();
    s.prompt = root.value(QStringLiteral("prompt")).toString();
    s.history = toStrings(root.value(QStringLiteral("history")));
    const QJsonValue edits = root.value(QStringLiteral("edit_memory"));
    if (edits.isObject())
        s.editsJson = QJsonDocument(edits.toObject()).toJson(QJsonDocument::Compact);
    else if (edits.isArray())
        s.editsJson = QJsonDocument(edits.toArray()).toJson(QJsonDocument::Compact);

    auto readNeuron = [](const QJsonObject& o) {
        return NeuronRef{o.value(QStringLiteral("layer")).toInt(-1),
                         o.value(QStringLiteral("neuron")).toInt(-1)};
    };
    for (const auto& v : root.value(QStringLiteral("weight_changes")).toArray()) {
        const QJsonObject o = v.toObject();
        WeightOp op;
        const QString kind = o.value(QStringLiteral("kind")).toString();
        if (kind == QLatin1String("update-fact"))
            op.kind = WeightOp::Kind::UpdateFact;
        else if (kind == QLatin1String("erase-relation"))
            op.kind = WeightOp::Kind::EraseRelation;
        else
            return fail(QStringLiteral("unknown weight change kind '%1'").arg(kind));
        for (const auto& n : o.value(QStringLiteral("neurons")).toArray())
            op.neurons.push_back(readNeuron(n.toObject()));
        op.oldObject = o.value(QStringLiteral("old_object")).toString();
        op.newObject = o.value(QStringLiteral("new_object")).toString();
        op.prompt = o.value(QStringLiteral("prompt")).toString(); // absent in older files
        op.description = o.value(QStringLiteral("description")).toString();
        s.weightChanges.push_back(op);
    }
    for (const auto& v : root.value(QStringLiteral("neurons")).toArray()) {
        const QJsonObject o = v.toObject();
        const NeuronRef n = readNeuron(o);
        if (n.layer < 0 || n.neuron < 0)
            return fail(QStringLiteral("a selected neuron has no layer or index"));
        s.neurons.push_back(n);
        s.neuronLabels.push_back(o.value(QStringLiteral("label")).toString());
        s.scales.push_back({n.layer, n.neuron, o.value(QStringLiteral("factor")).toDouble(1.0)});
    }
    s.neuronSource = root.value(QStringLiteral("neurons_source")).toString();
    const QJsonObject refine = root.value(QStringLiteral("refine")).toObject();
    s.refinePrompts = toStrings(refine.value(QStringLiteral("prompts")));
    s.refineTarget = refine.value(QStringLiteral("target")).toString();
    s.refineShare = refine.value(QStringLiteral("share")).toDouble(s.refineShare);
    s.refineThreshold = refine.value(QStringLiteral("threshold")).toDouble(s.refineThreshold);
    s.refineSteps = refine.value(QStringLiteral("steps")).toInt(s.refineSteps);
    for (const auto& v : refine.value(QStringLiteral("neurons")).toArray()) {
        const QJsonObject o = v.toObject();
        const NeuronRef n = readNeuron(o);
        s.refined.push_back({n.layer, n.neuron, o.value(QStringLiteral("prompts")).toInt(),
                             o.value(QStringLiteral("mean_score")).toDouble()});
    }
    const QJsonObject a = root.value(QStringLiteral("attribution")).toObject();
    s.heatmapThreshold = a.value(QStringLiteral("threshold")).toDouble(s.heatmapThreshold);
    if (a.contains(QStringLiteral("scores"))) {
        s.attribution.layers = a.value(QStringLiteral("layers")).toInt();
        s.attribution.neurons = a.value(QStringLiteral("neurons")).toInt();
        s.attribution.prompt = a.value(QStringLiteral("prompt")).toString();
        s.attribution.target = a.value(QStringLiteral("target")).toString();
        s.attribution.targetProb = a.value(QStringLiteral("target_prob")).toDouble();
        const QJsonArray scores = a.value(QStringLiteral("scores")).toArray();
        if (s.attribution.layers <= 0 || s.attribution.neurons <= 0 ||
            static_cast<qint64>(scores.size()) !=
                static_cast<qint64>(s.attribution.layers) * s.attribution.neurons)
            return fail(QStringLiteral("the attribution grid has %1 scores for %2 x %3 neurons")
                            .arg(scores.size())
                            .arg(s.attribution.layers)
                            .arg(s.attribution.neurons));
        s.attribution.scores.reserve(scores.size());
        for (const auto& v : scores)
            s.attribution.scores.push_back(static_cast<float>(v.toDouble()));
    }
    if (root.contains(QStringLiteral("trace"))) {
        QString why;
        if (!readTrace(root.value(QStringLiteral("trace")).toObject(), &s.trace, &why))
            return fail(QStringLiteral("the trace: %1").arg(why));
    }
    if (root.contains(QStringLiteral("lens"))) {
        QString why;
        if (!readLens(root.value(QStringLiteral("lens")).toObject(), &s.lens, &why))
            return fail(QStringLiteral("the logit lens: %1").arg(why));
    }
    *out = std::move(s);
    return true;
}

bool Session::save(const QString& path, const SessionState& state, QString* error) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        if (error)
            *error = QStringLiteral("Cannot write %1: %2").arg(path, file.errorString());
        return false;
    }
    const QByteArray bytes = toJson(state);
    if (file.write(bytes) != bytes.size() || !file.commit()) {
        if (error)
            *error = QStringLiteral("Cannot write %1: %2").arg(path, file.errorString());
        file.cancelWriting();
        return false;
    }
    return true;
}

bool Session::load(const QString& path, SessionState* state, QString* error) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        if (error)
            *error = QStringLiteral("Cannot read %1: %2").arg(path, file.errorString());
        return false;
    }
    if (file.size() > kMaxFileBytes) {
        if (error)
            *error = QStringLiteral("%1 is too large to be a session").arg(path);
        return false;
    }
    QString why;
    if (!fromJson(file.readAll(), state, &why)) {
        if (error)
            *error = QStringLiteral("%1: %2").arg(path, why);
        return false;
    }
    return true;
}
