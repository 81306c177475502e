#pragma once
// Minimal command-line parsing for scalpel-cli: "--name value" options
// (repeatable), "--flag" switches, and clear errors for unknown options.
// Also the options every batch command shares (--shard I/N, --partial FILE).
#include "Error.h"
#include "Shards.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace scalpel::cli {

class Args {
public:
    // `switches` never take a value; with `positional`, arguments that are
    // no option's value are kept in order (merge's file list).
    Args(int argc, char** argv, int first, const std::set<std::string>& switches = {},
         bool positional = false) {
        for (int i = first; i < argc; ++i) {
            std::string a = argv[i];
            if (a.rfind("--", 0) != 0) {
                if (!positional)
                    throw Error("unexpected argument '" + a + "'");
                m_positional.push_back(a);
                continue;
            }
            std::string name = a.substr(2), value;
            const auto eq = name.find('=');
            if (eq != std::string::npos) {
                value = name.substr(eq + 1);
                name = name.substr(0, eq);
                m_values[name].push_back(value);
            } else if (!switches.count(name) && i + 1 < argc &&
                       std::string(argv[i + 1]).rfind("--", 0) != 0) {
                m_values[name].push_back(argv[++i]);
            } else {
                m_values[name].push_back("");
                m_flags.insert(name);
            }
        }
    }
    bool has(const std::string& n) const { return m_values.count(n) != 0; }
    bool flag(const std::string& n) const { return m_flags.count(n) != 0; }
    std::string get(const std::string& n, const std::string& def = "") const {
        auto it = m_values.find(n);
        return it == m_values.end() ? def : it->second.back();
    }
    std::string required(const std::string& n) const {
        auto it = m_values.find(n);
        if (it == m_values.end() || it->second.back().empty())
            throw Error("--" + n + " is required");
        return it->second.back();
    }
    std::vector<std::string> all(const std::string& n) const {
        auto it = m_values.find(n);
        return it == m_values.end() ? std::vector<std::string>() : it->second;
    }
    long long integer(const std::string& n, long long def) const {
        if (!has(n))
            return def;
        const std::string v = get(n);
        try {
            std::size_t used = 0;
            long long x = std::stoll(v, &used);
            if (used != v.size())
                throw 0;
            return x;
        } catch (...) {
            throw Error("--" + n + " must be an integer, got '" + v + "'");
        }
    }
    double number(const std::string& n, double def) const {
        if (!has(n))
            return def;
        const std::string v = get(n);
        try {
            std::size_t used = 0;
            double x = std::stod(v, &used);
            if (used != v.size())
                throw 0;
            return x;
        } catch (...) {
            throw Error("--" + n + " must be a number, got '" + v + "'");
        }
    }
    const std::vector<std::string>& positional() const { return m_positional; }
    // Fails on any option not in `known`.
    void allow(const std::set<std::string>& known) const {
        for (const auto& [k, v] : m_values)
            if (!known.count(k))
                throw Error("unknown option --" + k);
    }
    // allow() for a batch command: `known` and the sharding options.
    void allowBatch(std::set<std::string> known) const {
        known.insert({"shard", "partial"});
        allow(known);
    }

private:
    std::map<std::string, std::vector<std::string>> m_values;
    std::vector<std::string> m_positional;
    std::set<std::string> m_flags;
};

// --shard I/N and --partial FILE of a batch command. Without --shard the
// command runs every item and prints its report; with it, it runs shard I's
// items and writes their records to the partial file (by default
// COMMAND.shard-I-of-N.json) for `scalpel-cli merge`.
struct ShardArgs {
    bool sharded = false;
    ShardSpec spec;
    std::string partial;
};

inline ShardArgs shardArgs(const Args& a, const std::string& command) {
    ShardArgs s;
    if (a.has("partial") && !a.has("shard"))
        throw Error("--partial FILE goes with --shard I/N");
    if (!a.has("shard"))
        return s;
    s.sharded = true;
    s.spec = parseShardSpec(a.get("shard"));
    s.partial = a.get("partial", command + ".shard-" + std::to_string(s.spec.index) + "-of-" +
                                     std::to_string(s.spec.count) + ".json");
    if (s.partial.empty())
        throw Error("--partial needs a file name");
    return s;
}

} // namespace scalpel::cli
