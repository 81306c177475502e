// Any bytes as a session file; an accepted session round-trips through its
// own JSON.
#include "Session.h"

#include <QByteArray>
#include <QString>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    SessionState state;
    QString error;
    const QByteArray bytes(reinterpret_cast<const char*>(data), static_cast<qsizetype>(size));
    if (Session::fromJson(bytes, &state, &error)) {
        SessionState again;
        if (!Session::fromJson(Session::toJson(state), &again, &error))
            __builtin_trap();
    }
    return 0;
}
