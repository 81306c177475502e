#pragma once
// The queue between the UI thread and the ModelWorker. The UI posts requests
// from its thread; the worker takes them from its own. A request of a
// replaceable kind (a prompt being typed, a slider being dragged) replaces a
// queued request of the same kind, so the worker only ever computes the
// newest one and a burst of keystrokes costs one forward pass. Requests that
// change the model (loading one, editing its weights) are never replaced and
// keep their order, because each of them must happen.
#include <QMutex>
#include <QVariant>

#include <deque>
#include <optional>
#include <vector>

enum class RequestKind { LoadModel, SyncEdits, Predict, Attribute, Refine, Curve, WeightOp };

class RequestMailbox {
public:
    struct Entry {
        RequestKind kind = RequestKind::Predict;
        QVariant payload;
    };

    static bool isReplaceable(RequestKind kind);
    // Kinds that change the weights the others read.
    static bool isMutating(RequestKind kind);
    // Kinds cheap enough to serve from inside a long job's progress callback.
    static bool isQuick(RequestKind kind);

    // Returns true when the request replaced a queued one of its kind. The
    // newer request goes to the back: it was asked for last.
    bool post(RequestKind kind, const QVariant& payload);
    // The oldest request, or nothing.
    std::optional<Entry> take();
    // The oldest quick request that no model-changing request precedes, so a
    // long job can serve typing without reordering it past a weight edit.
    std::optional<Entry> takeQuick();
    // Drops every queued request of a kind; returns how many.
    int discard(RequestKind kind);
    // Removes and returns every queued request of a kind, oldest first.
    std::vector<Entry> takeAll(RequestKind kind);
    int size() const;
    bool contains(RequestKind kind) const;

private:
    mutable QMutex m_mutex;
    std::deque<Entry> m_queue;
};
