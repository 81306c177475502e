#pragma once
// The UI's half of stale-result dropping: every job with a tag gets the next
// generation number for that tag, and only a result carrying the newest
// number is used. An older result can still arrive (the worker was already
// computing it when the newer job came) and would otherwise flash a
// prediction for text the user has typed past. UI thread only.
#include <QHash>
#include <QString>

class GenerationGate {
public:
    quint64 next(const QString& tag) { return ++m_latest[tag]; }
    quint64 latest(const QString& tag) const { return m_latest.value(tag, 0); }
    bool accept(const QString& tag, quint64 generation) const {
        return generation != 0 && generation == latest(tag);
    }

private:
    QHash<QString, quint64> m_latest;
};
