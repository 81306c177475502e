#pragma once
// The fact world rendered as edit descriptors, the way CounterFact is built
// (Meng et al. 2022): each fact is rewritten to another object of its
// relation; the edit prompt is one of its training templates, the
// paraphrases its held-out templates, the neighbourhood the same template
// about other subjects of the relation (those sharing the true object
// first, as CounterFact's neighbours do), each with its own answer.
// Deterministic per seed. Torch-free.
#include "EditMemory.h"

#include <cstdint>
#include <string>

namespace scalpel {

class FactWorld;

struct FactWorldEditOptions {
    int count = -1; // edits; -1 = one per fact. More than the facts cycles through them again
    uint64_t seed = 1;
    int paraphrases = 3; // held-out templates per edit (fewer when the relation has fewer)
    int neighbours = 3;
    std::string sourceFile = "facts.json";
};

EditMemory factWorldEdits(const FactWorld& world, const FactWorldEditOptions& options = {});

} // namespace scalpel
