#include "FactWorldEdits.h"

#include "Error.h"
#include "FactWorld.h"

#include <algorithm>
#include <map>
#include <random>

namespace scalpel {

EditMemory factWorldEdits(const FactWorld& world, const FactWorldEditOptions& o) {
    const auto& facts = world.facts();
    if (facts.empty())
        throw Error("the fact world has no facts");
    std::mt19937_64 rng(o.seed * 104729 + 17);
    std::map<std::string, std::vector<std::string>> objects; // relation -> distinct objects
    std::map<std::string, std::vector<const Fact*>> byRelation;
    for (const Fact& f : facts) {
        auto& list = objects[f.relation];
        if (std::find(list.begin(), list.end(), f.object) == list.end())
            list.push_back(f.object);
        byRelation[f.relation].push_back(&f);
    }
    std::map<std::string, std::string> wikidata;
    for (const auto& r : world.relations())
        wikidata[r.id] = r.wikidata.empty() ? r.id : r.wikidata;
    std::vector<std::size_t> order(facts.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    const std::size_t count = o.count < 0 ? facts.size() : static_cast<std::size_t>(o.count);
    EditMemory memory;
    for (std::size_t k = 0; k < count; ++k) {
        const std::size_t index = order[k % order.size()];
        const Fact& f = facts[index];
        const auto train = world.templates(f.relation, TemplateSplit::Train);
        const auto heldout = world.templates(f.relation, TemplateSplit::Heldout);
        if (train.empty())
            continue;
        const FactTemplate& t = train[rng() % train.size()];
        const auto& pool = objects[f.relation];
        std::string answer = f.object;
        for (int tries = 0; tries < 100 && answer == f.object && pool.size() > 1; ++tries)
            answer = pool[rng() % pool.size()];
        if (answer == f.object)
            continue;
        EditDescriptor d;
        d.subject = f.subject;
        d.relationId = wikidata[f.relation];
        d.trueAnswer = f.object;
        std::vector<FactTemplate> para = heldout;
        std::shuffle(para.begin(), para.end(), rng);
        for (std::size_t p = 0; p < para.size() && static_cast<int>(p) < o.paraphrases; ++p)
            d.paraphrases.push_back(FactWorld::prompt(para[p], f.subject));
        // Neighbours: other subjects of the relation, those with the same
        // object first.
        std::vector<const Fact*> same, other;
        for (const Fact* g : byRelation[f.relation])
            if (g->subject != f.subject)
                (g->object == f.object ? same : other).push_back(g);
        std::shuffle(same.begin(), same.end(), rng);
        std::shuffle(other.begin(), other.end(), rng);
        same.insert(same.end(), other.begin(), other.end());
        for (std::size_t n = 0; n < same.size() && static_cast<int>(n) < o.neighbours; ++n)
            d.neighbourhood.push_back(
                {FactWorld::prompt(t, same[n]->subject), {same[n]->object}, ""});
        d.sourceFile = o.sourceFile;
        d.sourceRecord = f.subject + ":" + f.relation;
        memory.add(FactWorld::prompt(t, f.subject), answer, d);
    }
    return memory;
}

} // namespace scalpel
