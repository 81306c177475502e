#include "AnalysisJobs.h"

#include "CausalTrace.h"
#include "Error.h"
#include "FactWorld.h"
#include "LogitLens.h"
#include "ValueProjection.h"

namespace {

QString qs(const std::string& s) {
    return QString::fromStdString(s);
}
std::string ss(const QString& s) {
    return s.toStdString();
}

// The fact world's subjects when the tokenizer has every one of them as a
// token (the built-in model), else none.
std::vector<std::string> noiseSubjects(const WorkerEngine& d) {
    std::vector<std::string> out;
    if (!d.world)
        return out;
    for (const auto& f : d.world->facts()) {
        if (!d.model->tokenizer().tokenId(f.subject))
            return {};
        out.push_back(f.subject);
    }
    return out;
}

} // namespace

namespace jobs {

TraceResult trace(WorkerEngine& d, const TraceRequest& req, JobContext& context) {
    TraceResult r;
    try {
        if (!d.model)
            throw scalpel::Error("No model is loaded.");
        std::string subject = ss(req.subject);
        if (subject.empty() && d.world)
            if (const auto match = d.world->matchTyped(ss(req.prompt)))
                subject = match->subjectText;
        if (subject.empty())
            throw scalpel::Error("Name the subject to corrupt (a part of the prompt).");
        scalpel::CausalTraceOptions o;
        o.samples = req.samples;
        o.window = req.window;
        o.noise = req.noise;
        o.seed = req.seed;
        o.method = req.approximate ? scalpel::TraceMethod::Approximate : scalpel::TraceMethod::Fast;
        o.sigma = scalpel::embeddingSigma(*d.model, noiseSubjects(d));
        const QString detail = QStringLiteral("Tracing %1").arg(qs(subject));
        o.progress = [&](double f) { return context.progress(f, detail); };
        const auto tr = scalpel::causalTrace(*d.model, ss(req.prompt), subject, ss(req.answer), o);
        TraceData& t = r.trace;
        t.prompt = req.prompt;
        t.subject = qs(subject);
        t.answerId = tr.answerId;
        t.sigma = tr.sigma;
        t.noise = tr.noise;
        t.seed = tr.seed;
        for (const auto& token : tr.tokens)
            t.tokens << qs(token);
        t.layers = d.model->config().layers;
        t.subjectBegin = tr.subjectBegin;
        t.subjectEnd = tr.subjectEnd;
        t.answer = qs(tr.answer);
        t.cleanScore = tr.cleanScore;
        t.corruptedScore = tr.corruptedScore;
        t.samples = tr.samples;
        t.window = tr.window;
        t.method = qs(tr.method);
        t.elapsedMs = tr.elapsedMs;
        for (const auto& g : tr.grids)
            t.grids.push_back({QString::fromLatin1(scalpel::traceKindName(g.kind)),
                               QVector<float>(g.scores.begin(), g.scores.end())});
        context.setMessage(
            req.approximate ? QStringLiteral("Approximate trace in %1 ms").arg(qRound(t.elapsedMs))
                            : QStringLiteral("Trace done in %1 ms").arg(qRound(t.elapsedMs)));
    } catch (const scalpel::Cancelled&) {
        r.cancelled = true;
        context.setMessage(QStringLiteral("Trace cancelled"));
    } catch (const std::exception& e) {
        r.error = qs(e.what());
        context.setMessage(QStringLiteral("Trace failed: %1").arg(r.error));
    }
    return r;
}

TraceCellResult traceCell(WorkerEngine& d, const TraceCellRequest& req) {
    TraceCellResult r;
    try {
        if (!d.model)
            throw scalpel::Error("No model is loaded.");
        const TraceData& t = req.trace;
        if (t.isEmpty())
            throw scalpel::Error("There is no trace to restore a cell of.");
        scalpel::CausalTraceOptions o;
        o.samples = t.samples;
        o.window = t.window;
        o.noise = t.noise;
        o.sigma = t.sigma;
        o.seed = t.seed;
        const auto x = scalpel::traceRestoration(*d.model, ss(t.prompt), ss(t.subject), t.answerId,
                                                 scalpel::parseTraceKind(ss(req.kind)), req.token,
                                                 req.layer, req.topK, o);
        TraceRestorationData& out = r.restoration;
        out.kind = QString::fromLatin1(scalpel::traceKindName(x.kind));
        out.token = x.token;
        out.layer = x.layer;
        out.firstLayer = x.firstLayer;
        out.lastLayer = x.lastLayer;
        out.answer = qs(x.answer);
        out.score = x.score;
        for (const auto& p : x.top)
            out.top.push_back({qs(p.token), p.id, p.prob});
    } catch (const std::exception& e) {
        r.error = qs(e.what());
    }
    return r;
}

LensResult lens(WorkerEngine& d, const LensRequest& req) {
    LensResult r;
    try {
        if (!d.model)
            throw scalpel::Error("No model is loaded.");
        scalpel::LogitLensOptions o;
        o.topK = req.topK;
        const auto lens = scalpel::logitLens(*d.model, ss(req.prompt), "", o);
        LensData& l = r.lens;
        l.prompt = req.prompt;
        l.topK = req.topK;
        for (const auto& token : lens.tokens)
            l.tokens << qs(token);
        l.layers = lens.layers;
        for (const auto& cell : lens.top) {
            QVector<PredictionRow> rows;
            for (const auto& p : cell)
                rows.push_back({qs(p.token), p.id, p.prob});
            l.top.push_back(rows);
        }
        l.answer = qs(lens.answer);
        l.answerProb = QVector<double>(lens.answerProb.begin(), lens.answerProb.end());
        l.answerRank = QVector<int>(lens.answerRank.begin(), lens.answerRank.end());
    } catch (const std::exception& e) {
        r.error = qs(e.what());
    }
    return r;
}

WritesResult writes(WorkerEngine& d, const WritesRequest& req) {
    WritesResult r;
    try {
        if (!d.model)
            throw scalpel::Error("No model is loaded.");
        for (const NeuronRef& n : req.neurons) {
            const auto p = scalpel::projectValueVector(*d.model, n.layer, n.neuron, req.topK);
            QStringList tokens;
            for (const auto& t : p.top)
                tokens << qs(d.model->tokenizer().tokenText(t.id)).trimmed();
            r.writes.insert(n, tokens);
        }
    } catch (const std::exception& e) {
        r.error = qs(e.what());
    }
    return r;
}

PromoteResult promote(WorkerEngine& d, const PromoteRequest& req) {
    PromoteResult r;
    try {
        if (!d.model)
            throw scalpel::Error("No model is loaded.");
        const int token = scalpel::singleToken(*d.model, ss(req.token));
        std::vector<int> ids;
        if (!req.prompt.isEmpty()) {
            const scalpel::PreparedPrompt p = d.model->prepare(ss(req.prompt));
            if (!p.unknownWords.empty())
                throw scalpel::Error("the prompt's word '" + p.unknownWords[0] +
                                     "' is unknown to the model's tokenizer");
            ids = p.ids;
        }
        const auto s = scalpel::neuronsPromoting(*d.model, token, req.topK, ids);
        r.token = qs(d.model->tokenizer().tokenText(s.tokenId)).trimmed();
        for (const auto& n : s.neurons) {
            r.neurons.push_back({n.layer, n.neuron});
            r.labels << (s.withPrompt ? QStringLiteral("push %1").arg(n.score, 0, 'f', 3)
                                      : QStringLiteral("dot %1").arg(n.score, 0, 'f', 3));
        }
    } catch (const std::exception& e) {
        r.error = qs(e.what());
    }
    return r;
}

} // namespace jobs
