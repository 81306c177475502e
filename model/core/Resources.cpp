#include "Resources.h"

#include <cstdlib>
#include <filesystem>

#ifndef SCALPEL_RESOURCE_DIR
#define SCALPEL_RESOURCE_DIR ""
#endif

namespace scalpel {

std::string resourceDir() {
    namespace fs = std::filesystem;
    if (const char* env = std::getenv("SCALPEL_RESOURCE_DIR"); env && *env)
        return env;
    if (fs::is_directory(SCALPEL_RESOURCE_DIR))
        return SCALPEL_RESOURCE_DIR;
    std::error_code ec;
    const auto exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const auto share = exe.parent_path().parent_path() / "share" / "scalpel";
        if (fs::is_directory(share))
            return share.string();
    }
    return "resources";
}

std::string defaultModelDir() {
    return resourceDir() + "/models/factworld";
}
std::string defaultFactsPath() {
    return resourceDir() + "/facts/facts.json";
}

std::vector<BuiltInModel> builtInModels() {
    const std::string models = resourceDir() + "/models/";
    return {{"factworld", "Fact world GPT-2 (causal, next-token prompts)", models + "factworld"},
            {"factworld-bert", "Fact world BERT (masked, cloze prompts with [MASK])",
             models + "factworld-bert"}};
}

} // namespace scalpel
