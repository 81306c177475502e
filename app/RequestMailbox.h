#pragma once
// The queue between the UI thread and the ModelWorker. The UI posts tagged
// jobs from its thread; the worker takes them from its own. What a job may be
// overtaken by is its class:
//
// - Quick (a prompt being typed, an edit-memory change): a newer job with the
//   same tag replaces the queued one, and a long job serves quick jobs from
//   its progress callback, so typing stays live during an attribution.
// - Long (attribution, refining, a curve, a preview): replaced by a newer job
//   with the same tag; runs alone.
// - Mutating (loading a model, changing its weights): never replaced, kept in
//   order, and no quick job is taken past one, because everything after it
//   must see the model it leaves.
#include <QMutex>
#include <QString>
#include <QVariant>

#include <deque>
#include <functional>
#include <optional>
#include <vector>

enum class JobClass { Quick, Long, Mutating };

class RequestMailbox {
public:
    struct Entry {
        QString tag;
        JobClass cls = JobClass::Quick;
        // What the job carries for inspection (tests); the worker runs `run`.
        QVariant payload;
        std::function<void()> run;
        // Runs when a cancel drops the job before it started.
        std::function<void()> dropped;
        bool cancellable = false;
    };

    // Returns true when the job replaced a queued one with its tag. The newer
    // job goes to the back: it was asked for last.
    bool post(Entry entry);
    bool post(const QString& tag, JobClass cls, const QVariant& payload);
    // The oldest job, or nothing.
    std::optional<Entry> take();
    // The oldest quick job that no mutating job precedes, so a long job can
    // serve typing without reordering it past a weight edit.
    std::optional<Entry> takeQuick();
    // Drops every queued job with a tag; returns how many.
    int discard(const QString& tag);
    // Removes and returns every queued cancellable job, oldest first.
    std::vector<Entry> takeCancellable();
    int size() const;
    bool contains(const QString& tag) const;

private:
    mutable QMutex m_mutex;
    std::deque<Entry> m_queue;
};
