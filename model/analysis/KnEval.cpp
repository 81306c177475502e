#include "KnEval.h"

#include "Error.h"
#include "EvalFacts.h"
#include "Fnv.h"
#include "Intervention.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <random>

namespace scalpel {

namespace {

struct FactPrompts {
    Fact fact;
    std::vector<std::vector<int>> prompts;
    int object = -1;
};

FactPrompts promptsOf(const LanguageModel& m, const FactWorld& w, const Fact& f) {
    FactPrompts fp;
    fp.fact = f;
    fp.object = encodeTarget(m, f.object)[0];
    for (const auto& p : w.paraphrases(f.subject, f.relation, TemplateSplit::Train))
        fp.prompts.push_back(m.prepare(p).ids);
    return fp;
}

PromptSetScore scoreFacts(const LanguageModel& m, const std::vector<FactPrompts>& facts) {
    std::vector<std::vector<int>> prompts;
    std::vector<int> targets;
    for (const auto& f : facts)
        for (const auto& p : f.prompts) {
            prompts.push_back(p);
            targets.push_back(f.object);
        }
    return scorePrompts(m, prompts, targets);
}

// Each relation draws from its own stream, seeded by the seed and the
// relation's name, so a relation's result does not depend on which other
// relations are evaluated with it (a shard of a sharded run evaluates some).
std::mt19937_64 relationRng(uint64_t seed, const std::string& relation) {
    const uint64_t h = fnv1a(relation.data(), relation.size());
    std::seed_seq s{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(h), static_cast<uint32_t>(h >> 32)};
    return std::mt19937_64(s);
}

template <typename T> std::vector<T> sample(std::vector<T> v, std::size_t n, std::mt19937_64& rng) {
    std::shuffle(v.begin(), v.end(), rng);
    if (v.size() > n)
        v.resize(n);
    return v;
}

} // namespace

KnRelationEval averageKnRelations(const std::vector<KnRelationEval>& relations, int layers) {
    // Unweighted mean over relations.
    KnRelationEval a;
    a.relation = "average";
    const double R = static_cast<double>(relations.size());
    a.byLayer.assign(static_cast<std::size_t>(layers), {});
    for (const auto& e : relations)
        for (std::size_t l = 0; l < e.byLayer.size(); ++l) {
            const auto& le = e.byLayer[l];
            auto& al = a.byLayer[l];
            al.facts += le.facts;
            al.meanNeurons += le.meanNeurons * le.facts;
            al.suppressOwn += le.suppressOwn * le.facts;
            al.amplifyOwn += le.amplifyOwn * le.facts;
        }
    for (auto& al : a.byLayer)
        if (al.facts)
            for (double* v : {&al.meanNeurons, &al.suppressOwn, &al.amplifyOwn})
                *v /= al.facts;
    for (const auto& e : relations) {
        a.facts += e.facts;
        a.factsWithNeurons += e.factsWithNeurons;
        a.updates += e.updates;
        a.erasedNeurons += e.erasedNeurons;
        a.seconds += e.seconds;
        a.meanNeurons += e.meanNeurons / R;
        a.suppressOwn += e.suppressOwn / R;
        a.suppressOther += e.suppressOther / R;
        a.suppressRandom += e.suppressRandom / R;
        a.amplifyOwn += e.amplifyOwn / R;
        a.amplifyOther += e.amplifyOther / R;
        a.amplifyRandom += e.amplifyRandom / R;
        a.updateSuccess += e.updateSuccess / R;
        a.updatePplSameBefore += e.updatePplSameBefore / R;
        a.updatePplSameAfter += e.updatePplSameAfter / R;
        a.updatePplOtherBefore += e.updatePplOtherBefore / R;
        a.updatePplOtherAfter += e.updatePplOtherAfter / R;
        a.eraseAccBefore += e.eraseAccBefore / R;
        a.eraseAccAfter += e.eraseAccAfter / R;
        a.erasePplBefore += e.erasePplBefore / R;
        a.erasePplAfter += e.erasePplAfter / R;
        a.eraseOtherAccBefore += e.eraseOtherAccBefore / R;
        a.eraseOtherAccAfter += e.eraseOtherAccAfter / R;
        a.eraseOtherPplBefore += e.eraseOtherPplBefore / R;
        a.eraseOtherPplAfter += e.eraseOtherPplAfter / R;
    }
    return a;
}

KnEvalResult evaluateKnowledgeNeurons(const std::shared_ptr<LanguageModel>& model,
                                      const FactWorld& askedWorld, const KnEvalOptions& o) {
    const auto start = std::chrono::steady_clock::now();
    const LanguageModel& m = *model;
    const FactWorld world = worldAskedBy(askedWorld, m);
    const auto& cfg = m.config();
    KnEvalResult result;
    const auto& relations = world.relations();
    auto usable = [&](const Fact& f) {
        const Encoding e = m.tokenizer().encodeDetailed(f.object, false);
        return e.ids.size() == 1 && e.unknownWords().empty();
    };
    std::map<std::string, std::vector<Fact>> factsByRelation;
    for (const auto& r : relations)
        for (const auto& f : world.factsOf(r.id))
            if (usable(f))
                factsByRelation[r.id].push_back(f);

    // The comparisons draw facts of other relations: one must have usable facts.
    auto requireOtherRelation = [&](const std::string& rel) {
        for (const auto& r : relations)
            if ((r.id != rel || relations.size() == 1) && !factsByRelation[r.id].empty())
                return;
        throw Error("kn-eval: no relation other than '" + rel +
                    "' has a fact whose answer is one token of the model's vocabulary; the "
                    "comparisons with another relation's fact need one");
    };
    std::vector<std::size_t> chosen = o.relations;
    if (chosen.empty())
        for (std::size_t i = 0; i < relations.size(); ++i)
            chosen.push_back(i);
    for (std::size_t i : chosen)
        if (i >= relations.size())
            throw Error("kn-eval: relation " + std::to_string(i) + " is past the fact world's " +
                        std::to_string(relations.size()) + " relations");
    const std::size_t R = chosen.size();
    for (std::size_t ci = 0; ci < R; ++ci) {
        const std::string rel = relations[chosen[ci]].id;
        std::mt19937_64 rng = relationRng(o.seed, rel);
        const auto relationStart = std::chrono::steady_clock::now();
        KnRelationEval e;
        e.relation = rel;
        const auto facts =
            sample(factsByRelation[rel], static_cast<std::size_t>(o.factsPerRelation), rng);
        e.facts = static_cast<int>(facts.size());
        std::vector<FactPrompts> fps;
        std::vector<std::vector<NeuronId>> neuronsOf;
        std::map<NeuronId, int> frequency;
        for (std::size_t fi = 0; fi < facts.size(); ++fi) {
            if (o.progress &&
                !o.progress((ci + 0.5 * fi / facts.size()) / R, rel + ": attribution"))
                throw Cancelled();
            fps.push_back(promptsOf(m, world, facts[fi]));
            AttributionOptions ao;
            ao.steps = o.steps;
            std::vector<AttributionGrid> grids;
            for (const auto& p : fps.back().prompts)
                grids.push_back(attributeIds(m, p, {fps.back().object}, ao));
            std::vector<NeuronId> ns;
            for (const auto& k : refine(grids, o.threshold, o.share))
                ns.push_back({k.layer, k.neuron});
            for (const auto& n : ns)
                ++frequency[n];
            neuronsOf.push_back(ns);
        }
        // Suppress / amplify, own vs another relation's fact vs random neurons.
        int counted = 0;
        double neuronsTotal = 0;
        e.byLayer.assign(static_cast<std::size_t>(cfg.layers), {});
        for (std::size_t fi = 0; fi < facts.size(); ++fi) {
            const auto& ns = neuronsOf[fi];
            neuronsTotal += ns.size();
            if (ns.empty())
                continue;
            ++counted;
            const auto& own = fps[fi];
            requireOtherRelation(rel);
            std::string otherRel;
            do {
                otherRel = relations[rng() % relations.size()].id;
            } while ((otherRel == rel && relations.size() > 1) ||
                     factsByRelation[otherRel].empty());
            const auto& pool = factsByRelation[otherRel];
            const FactPrompts other = promptsOf(m, world, pool[rng() % pool.size()]);
            std::vector<NeuronId> random;
            for (std::size_t k = 0; k < ns.size(); ++k)
                random.push_back(
                    {static_cast<int>(rng() % cfg.layers), static_cast<int>(rng() % cfg.neurons)});
            // The unmodified probabilities of each prompt set, computed once
            // for all the interventions compared against them.
            const auto ownBefore = answerProbs(m, own.prompts, {own.object});
            const auto otherBefore = answerProbs(m, other.prompts, {other.object});
            auto effect = [&](const FactPrompts& f, const std::vector<double>& before,
                              const std::vector<NeuronId>& n, float factor) {
                const auto after = answerProbs(m, f.prompts, {f.object}, scalesFor(n, factor));
                return relativeEffect(before, after);
            };
            e.suppressOwn += effect(own, ownBefore, ns, 0.f);
            e.amplifyOwn += effect(own, ownBefore, ns, 2.f);
            e.suppressOther += effect(other, otherBefore, ns, 0.f);
            e.amplifyOther += effect(other, otherBefore, ns, 2.f);
            e.suppressRandom += effect(own, ownBefore, random, 0.f);
            e.amplifyRandom += effect(own, ownBefore, random, 2.f);
            for (int l = 0; l < cfg.layers; ++l) {
                std::vector<NeuronId> inLayer;
                for (const auto& id : ns)
                    if (id.layer == l)
                        inLayer.push_back(id);
                if (inLayer.empty())
                    continue;
                auto& le = e.byLayer[static_cast<std::size_t>(l)];
                ++le.facts;
                le.meanNeurons += inLayer.size();
                le.suppressOwn += effect(own, ownBefore, inLayer, 0.f);
                le.amplifyOwn += effect(own, ownBefore, inLayer, 2.f);
            }
        }
        for (auto& le : e.byLayer)
            if (le.facts)
                for (double* v : {&le.meanNeurons, &le.suppressOwn, &le.amplifyOwn})
                    *v /= le.facts;
        e.factsWithNeurons = counted;
        e.meanNeurons = facts.empty() ? 0 : neuronsTotal / facts.size();
        if (counted) {
            for (double* v : {&e.suppressOwn, &e.amplifyOwn, &e.suppressOther, &e.amplifyOther,
                              &e.suppressRandom, &e.amplifyRandom})
                *v /= counted;
        }
        if (o.progress && !o.progress((ci + 0.6) / R, rel + ": fact updates"))
            throw Cancelled();

        // Fact updates: drop neurons shared by more than 10% of the
        // relation's sampled facts, rewrite the value slots, restore.
        WeightEditor editor(model);
        std::vector<FactPrompts> sameRel, otherRel;
        for (const auto& f : sample(factsByRelation[rel], 5 + facts.size(), rng))
            if (std::none_of(facts.begin(), facts.end(),
                             [&](const Fact& x) { return x.subject == f.subject; }) &&
                sameRel.size() < 5)
                sameRel.push_back(promptsOf(m, world, f));
        for (int k = 0; k < 5 && !facts.empty(); ++k) {
            requireOtherRelation(rel);
            std::string r2;
            do {
                r2 = relations[rng() % relations.size()].id;
            } while ((r2 == rel && relations.size() > 1) || factsByRelation[r2].empty());
            const auto& pool = factsByRelation[r2];
            otherRel.push_back(promptsOf(m, world, pool[rng() % pool.size()]));
        }
        double success = 0;
        // Every update is restored before the next, so one "before" serves all.
        const auto sb = scoreFacts(m, sameRel), ob = scoreFacts(m, otherRel);
        for (std::size_t fi = 0; fi < facts.size(); ++fi) {
            std::vector<NeuronId> ns;
            for (const auto& n : neuronsOf[fi])
                if (frequency[n] - 1 <= 0.1 * facts.size()) // facts other than this one
                    ns.push_back(n);
            if (ns.empty())
                continue;
            const auto& pool = factsByRelation[rel];
            if (std::none_of(pool.begin(), pool.end(),
                             [&](const Fact& f) { return f.object != facts[fi].object; }))
                continue; // no other answer to update the fact to
            std::string newObject;
            do {
                newObject = factsByRelation[rel][rng() % factsByRelation[rel].size()].object;
            } while (newObject == facts[fi].object);
            // A gated MLP's neurons may be negative: their signs come from the
            // fact's prompts. GELU neurons keep the paper's rule (all +1).
            editor.updateFact(ns, facts[fi].object, newObject, {},
                              m.config().gatedMlp ? fps[fi].prompts
                                                  : std::vector<std::vector<int>>{});
            FactPrompts target = fps[fi];
            target.object = encodeTarget(m, newObject)[0];
            success += scoreFacts(m, {target}).accuracy();
            const auto sa = scoreFacts(m, sameRel), oa = scoreFacts(m, otherRel);
            editor.restoreAll();
            ++e.updates;
            e.updatePplSameBefore += sb.perplexity;
            e.updatePplSameAfter += sa.perplexity;
            e.updatePplOtherBefore += ob.perplexity;
            e.updatePplOtherAfter += oa.perplexity;
        }
        if (e.updates) {
            e.updateSuccess = success / e.updates;
            for (double* v : {&e.updatePplSameBefore, &e.updatePplSameAfter,
                              &e.updatePplOtherBefore, &e.updatePplOtherAfter})
                *v /= e.updates;
        }
        if (o.progress && !o.progress((ci + 0.8) / R, rel + ": erasure"))
            throw Cancelled();

        // Relation erasure: the 20 neurons found most often.
        const std::vector<NeuronId> erase = mostFrequentNeurons(frequency, 20);
        e.erasedNeurons = static_cast<int>(erase.size());
        if (!erase.empty()) {
            std::vector<FactPrompts> relFacts, others;
            for (const auto& f : sample(factsByRelation[rel], 60, rng))
                relFacts.push_back(promptsOf(m, world, f));
            for (const auto& r : relations)
                if (r.id != rel)
                    for (const auto& f : sample(factsByRelation[r.id], 12, rng))
                        others.push_back(promptsOf(m, world, f));
            const auto rb = scoreFacts(m, relFacts), ob = scoreFacts(m, others);
            editor.eraseRelation(erase, "erase " + rel);
            const auto ra = scoreFacts(m, relFacts), oa = scoreFacts(m, others);
            editor.restoreAll();
            e.eraseAccBefore = rb.accuracy();
            e.eraseAccAfter = ra.accuracy();
            e.erasePplBefore = rb.perplexity;
            e.erasePplAfter = ra.perplexity;
            e.eraseOtherAccBefore = ob.accuracy();
            e.eraseOtherAccAfter = oa.accuracy();
            e.eraseOtherPplBefore = ob.perplexity;
            e.eraseOtherPplAfter = oa.perplexity;
        }
        e.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - relationStart).count();
        result.relations.push_back(e);
    }
    result.average = averageKnRelations(result.relations, cfg.layers);
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

} // namespace scalpel
