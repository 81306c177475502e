#pragma once
// Every engine failure a user can cause (a bad file, a bad prompt, a bad
// argument) is reported as scalpel::Error with a message meant to be shown
// as is: it names the file, tensor, key or word at fault.
#include <stdexcept>
#include <string>

namespace scalpel {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Returns false from a progress callback to cancel a long call; the call then
// throws Cancelled and leaves its inputs unchanged.
class Cancelled : public Error {
public:
    Cancelled() : Error("cancelled") {}
};

} // namespace scalpel
