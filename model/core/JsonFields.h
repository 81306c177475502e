#pragma once
// Reading optional fields of JSON a user supplied. nlohmann's value() throws
// its own type_error when a key holds the wrong type; these turn that into
// the scalpel::Error every loader reports, naming the file and the key.
#include "Error.h"

#include <nlohmann/json.hpp>

#include <string>

namespace scalpel {

// nlohmann's message without its "[json.exception.parse_error.101] " code,
// which means nothing to a user: "parse error at line 3, column 7: ...".
inline std::string jsonMessage(const nlohmann::json::exception& e) {
    std::string m = e.what();
    if (m.rfind("[json.exception.", 0) == 0) {
        const auto close = m.find("] ");
        if (close != std::string::npos)
            m.erase(0, close + 2);
    }
    return m;
}

// `key` of object `j` as T; `fallback` when `j` is not an object or lacks
// the key (or holds null there).
template <typename T>
T jsonField(const nlohmann::json& j, const char* key, T fallback, const std::string& where) {
    if (!j.is_object())
        return fallback;
    const auto it = j.find(key);
    if (it == j.end() || it->is_null())
        return fallback;
    try {
        return it->get<T>();
    } catch (const nlohmann::json::exception&) {
        throw Error(where + ": '" + key + "' has the wrong type");
    }
}

// Runs `read`, turning any exception nlohmann::json throws inside it (a
// wrong type, a missing key) into an Error naming `where`.
template <typename F> auto readingJson(const std::string& where, F&& read) -> decltype(read()) {
    try {
        return read();
    } catch (const nlohmann::json::exception& e) {
        throw Error(where + ": malformed JSON (" + jsonMessage(e) + ")");
    }
}

} // namespace scalpel
