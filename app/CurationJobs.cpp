#include "CurationJobs.h"

#include "Attribution.h"
#include "EditChecks.h"
#include "EditDatasets.h"
#include "Error.h"
#include "FactWorld.h"
#include "SeracEditor.h"

#include <algorithm>
#include <set>

namespace {

QString qs(const std::string& s) {
    return QString::fromStdString(s);
}

std::string ss(const QString& s) {
    return s.toStdString();
}

const scalpel::Edit& findEdit(const WorkerEngine& d, const QString& id) {
    const scalpel::Edit* e = d.memory.find(ss(id));
    if (!e)
        throw scalpel::Error("there is no edit '" + ss(id) + "' in the memory");
    return *e;
}

} // namespace

namespace jobs {

MemoryCheckResult checkMemory(WorkerEngine& d, JobContext& context) {
    MemoryCheckResult r;
    try {
        if (!d.model)
            throw scalpel::Error("No model is loaded.");
        scalpel::EditCheckOptions o;
        o.editor = d.serac.get();
        o.model = d.model.get();
        o.world = d.world.get();
        o.progress = [&](double f) { return context.progress(f, QStringLiteral("Checking")); };
        const auto report = scalpel::checkEdits(d.memory, o);
        MemoryCheckData& c = r.check;
        c.edits = report.edits;
        c.inputs = report.inputs;
        c.scopeChecked = d.serac != nullptr;
        c.seconds = report.seconds;
        for (const auto& p : report.problems)
            c.problems.push_back(
                {qs(p.kind), qs(p.editId), qs(p.otherId), qs(p.text), p.prob, qs(p.reason)});
        context.setMessage(
            QStringLiteral("Memory checked: %1 problem(s)").arg(report.problems.size()));
    } catch (const scalpel::Cancelled&) {
        r.cancelled = true;
        context.setMessage(QStringLiteral("Check cancelled"));
    } catch (const std::exception& e) {
        r.error = qs(e.what());
        context.setMessage(QStringLiteral("Check failed: %1").arg(r.error));
    }
    return r;
}

EditCardResult editCard(WorkerEngine& d, const EditCardRequest& req) {
    EditCardResult r;
    try {
        if (!d.model)
            throw scalpel::Error("No model is loaded.");
        const scalpel::Edit& e = findEdit(d, req.editId);
        EditCardData& card = r.card;
        card.editId = req.editId;
        card.prompt = qs(e.prompt);
        card.answer = qs(e.answer);
        const int answerId = scalpel::encodeTarget(*d.model, e.answer).front();
        auto addRow = [&](const QString& kind, const std::string& prompt) {
            EditCardRow row;
            row.kind = kind;
            row.prompt = qs(prompt);
            const auto ids = d.model->prepare(prompt).ids;
            const auto baseProbs = d.model->nextTokenProbs(ids);
            const auto base = d.model->topK(baseProbs, 1).front();
            row.base = qs(base.token).trimmed();
            int editedId = base.id;
            row.edited = row.base;
            row.routedTo = QStringLiteral("base");
            if (d.serac) {
                const auto routed = d.serac->predict(prompt, 1, baseProbs);
                row.routedTo = qs(routed.routedTo);
                if (!routed.top.empty()) {
                    editedId = routed.top.front().id;
                    row.edited = qs(routed.top.front().token).trimmed();
                }
                // The routed list is scope(prompt): every enabled edit, or
                // the best ones the index lists. An edit missing from it
                // (disabled, or below those listed) shows 0.
                for (const auto& s : routed.scope)
                    if (s.editId == e.id)
                        row.scope = s.prob;
            }
            row.pass =
                kind == QLatin1String("neighbour") ? editedId == base.id : editedId == answerId;
            card.rows.push_back(row);
        };
        addRow(QStringLiteral("prompt"), e.prompt);
        for (const auto& p : e.descriptor.paraphrases)
            addRow(QStringLiteral("paraphrase"), p);
        for (const auto& n : e.descriptor.neighbourhood)
            addRow(QStringLiteral("neighbour"), n.prompt);
        for (const auto& row : card.rows) {
            if (row.kind == QLatin1String("paraphrase")) {
                ++card.paraphrases;
                card.paraphrasesPassed += row.pass ? 1 : 0;
            } else if (row.kind == QLatin1String("neighbour")) {
                ++card.neighbours;
                card.neighboursKept += row.pass ? 1 : 0;
            }
        }
    } catch (const std::exception& ex) {
        r.error = qs(ex.what());
        r.card = EditCardData();
    }
    return r;
}

EditCardsResult editCards(WorkerEngine& d, JobContext& context) {
    EditCardsResult r;
    QStringList ids;
    for (const auto& e : d.memory.edits())
        if (e.enabled)
            ids << qs(e.id);
    for (int i = 0; i < ids.size(); ++i) {
        if (!context.progress(double(i) / ids.size(),
                              QStringLiteral("Testing edit %1 of %2").arg(i + 1).arg(ids.size()))) {
            r.cancelled = true;
            context.setMessage(QStringLiteral("Testing cancelled"));
            return r;
        }
        EditCardResult one = editCard(d, {ids[i]});
        if (!one.error.isEmpty()) {
            r.error = one.error;
            return r;
        }
        one.card.rows.clear();
        r.cards.push_back(one.card);
    }
    context.setMessage(QStringLiteral("Tested %1 edit(s)").arg(ids.size()));
    return r;
}

ProposeResult propose(WorkerEngine& d, const ProposeRequest& req) {
    ProposeResult r;
    try {
        if (!d.world)
            throw scalpel::Error("no fact world is loaded to propose prompts from");
        const scalpel::Edit& e = findEdit(d, req.editId);
        const auto match = d.world->matchTyped(e.prompt);
        if (!match)
            throw scalpel::Error("the fact world knows no fact stated by '" + e.prompt + "'");
        const scalpel::Fact& fact = match->fact;
        std::set<std::string> taken = {e.prompt};
        for (const auto& p : e.descriptor.paraphrases)
            taken.insert(p);
        for (const auto& n : e.descriptor.neighbourhood)
            taken.insert(n.prompt);
        // Held-out wording first: it tests more than the wording trained on.
        std::vector<scalpel::FactTemplate> templates = d.world->heldoutTemplates(fact.relation);
        for (const auto& t : d.world->trainingTemplates(fact.relation))
            templates.push_back(t);
        for (const auto& t : templates) {
            if (r.paraphrases.size() >= req.paraphrases)
                break;
            const std::string p = d.world->promptFor(t, fact.subject);
            if (taken.insert(p).second)
                r.paraphrases << qs(p);
        }
        // The same wording about the subjects that follow this one.
        const auto facts = d.world->factsOf(fact.relation);
        const auto self = std::find_if(facts.begin(), facts.end(), [&](const scalpel::Fact& f) {
            return f.subject == fact.subject;
        });
        const std::size_t start = self == facts.end() ? 0 : std::size_t(self - facts.begin()) + 1;
        for (std::size_t i = 0; i < facts.size() && r.neighbours.size() < req.neighbours; ++i) {
            const scalpel::Fact& other = facts[(start + i) % facts.size()];
            // A neighbour answers differently from the edit, before and after.
            if (other.subject == fact.subject || other.object == fact.object ||
                other.object == e.answer)
                continue;
            const std::string p = d.world->promptFor(match->form, other.subject);
            if (taken.insert(p).second)
                r.neighbours << qs(p);
        }
    } catch (const std::exception& ex) {
        r.error = qs(ex.what());
    }
    return r;
}

ImportEditsResult importEdits(WorkerEngine& d, const ImportEditsRequest& req, JobContext& context) {
    ImportEditsResult r;
    try {
        scalpel::EditImportOptions o;
        const QString detail = QStringLiteral("Reading %1").arg(req.path);
        o.progress = [&](double f) { return context.progress(f, detail); };
        if (d.model)
            o.tokenizesToSomething = [&](const std::string& answer) {
                return !d.model->tokenizer().encode(" " + answer, false).empty();
            };
        auto result = scalpel::importEditsFile(ss(req.path), o);
        r.format = qs(scalpel::editFormatName(result.format));
        r.records = static_cast<int>(result.records);
        r.memory = std::make_shared<const scalpel::EditMemory>(std::move(result.memory));
        context.setMessage(QStringLiteral("Read %1 edit(s) from %2 (%3)")
                               .arg(r.memory->size())
                               .arg(req.path, r.format));
    } catch (const scalpel::Cancelled&) {
        r.cancelled = true;
        context.setMessage(QStringLiteral("Import cancelled"));
    } catch (const std::exception& e) {
        r.error = qs(e.what());
        context.setMessage(QStringLiteral("Import failed: %1").arg(r.error));
    }
    return r;
}

} // namespace jobs
