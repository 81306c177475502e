#pragma once
// Where the built-in resources (models, facts) are: $SCALPEL_RESOURCE_DIR,
// else the source tree's resources/ compiled in, else ../share/scalpel
// beside the executable.
#include <string>
#include <vector>

namespace scalpel {

std::string resourceDir();
std::string defaultModelDir();  // resources/models/factworld
std::string defaultFactsPath(); // resources/facts/facts.json

// The models Scalpel trains on the fact world and ships, the default first.
struct BuiltInModel {
    std::string name;  // the folder's name under resources/models
    std::string title; // what a menu shows
    std::string dir;
};
std::vector<BuiltInModel> builtInModels();

} // namespace scalpel
