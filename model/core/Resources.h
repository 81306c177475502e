#pragma once
// Where the built-in resources (models, facts) are: $SCALPEL_RESOURCE_DIR,
// else the source tree's resources/ compiled in, else ../share/scalpel
// beside the executable.
#include <string>

namespace scalpel {

std::string resourceDir();
std::string defaultModelDir();  // resources/models/factworld
std::string defaultFactsPath(); // resources/facts/facts.json

} // namespace scalpel
