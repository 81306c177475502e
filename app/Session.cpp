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
