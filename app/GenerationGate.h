#pragma once
// The UI's half of stale-result dropping: every request of a kind gets the
// next generation number, and only a result carrying the newest number for
// its kind is shown. An older result can still arrive (the worker was already
// computing it when the newer request came) and would otherwise flash a
// prediction for text the user has typed past. UI thread only.
#include "RequestMailbox.h"

#include <QHash>

class GenerationGate {
public:
    quint64 next(RequestKind kind) { return ++m_latest[static_cast<int>(kind)]; }
    quint64 latest(RequestKind kind) const { return m_latest.value(static_cast<int>(kind), 0); }
    bool accept(RequestKind kind, quint64 generation) const {
        return generation != 0 && generation == latest(kind);
    }

private:
    QHash<int, quint64> m_latest;
};
