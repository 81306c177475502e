#pragma once
// The scalpel-cli subcommands. Each prints JSON on stdout and throws
// scalpel::Error for anything the user got wrong.
#include "CliArgs.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace scalpel::cli {

int cmdInfo(const Args& a);
int cmdTokenize(const Args& a);
int cmdPredict(const Args& a);
int cmdGenerate(const Args& a);
int cmdTrainLm(const Args& a);
int cmdEvalFacts(const Args& a);

inline void printJson(const nlohmann::ordered_json& j) {
    std::cout << j.dump(2) << std::endl;
}

} // namespace scalpel::cli
