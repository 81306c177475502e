#include "AnalysisJobs.h"

#include "CausalTrace.h"
#include "Error.h"
#include "FactWorld.h"
#include "LogitLens.h"

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

LensResult lens(WorkerEngine& d, const LensRequest& req) {
    LensResult r;
    try {
        if (!d.model)
            throw scalpel::Error("No model is loaded.");
        scalpel::LogitLensOptions o;
        o.topK = req.topK;
        const auto lens = scalpel::logitLens(*d.model, ss(req.prompt), "", o);
        LensData& l = r.lens;
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

} // namespace jobs
