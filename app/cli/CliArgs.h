#pragma once
// Minimal command-line parsing for scalpel-cli: "--name value" options
// (repeatable), "--flag" switches, and clear errors for unknown options.
#include "Error.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace scalpel::cli {

class Args {
public:
    Args(int argc, char** argv, int first) {
        for (int i = first; i < argc; ++i) {
            std::string a = argv[i];
            if (a.rfind("--", 0) != 0)
                throw Error("unexpected argument '" + a + "'");
            std::string name = a.substr(2), value;
            const auto eq = name.find('=');
            if (eq != std::string::npos) {
                value = name.substr(eq + 1);
                name = name.substr(0, eq);
                m_values[name].push_back(value);
            } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
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
    // Fails on any option not in `known`.
    void allow(const std::set<std::string>& known) const {
        for (const auto& [k, v] : m_values)
            if (!known.count(k))
                throw Error("unknown option --" + k);
    }

private:
    std::map<std::string, std::vector<std::string>> m_values;
    std::set<std::string> m_flags;
};

} // namespace scalpel::cli
