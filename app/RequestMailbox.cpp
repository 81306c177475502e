#include "RequestMailbox.h"

#include <QMutexLocker>

#include <algorithm>

bool RequestMailbox::isReplaceable(RequestKind kind) {
    return kind != RequestKind::WeightOp && kind != RequestKind::LoadModel;
}

bool RequestMailbox::isMutating(RequestKind kind) {
    return kind == RequestKind::WeightOp || kind == RequestKind::LoadModel;
}

bool RequestMailbox::isQuick(RequestKind kind) {
    return kind == RequestKind::Predict || kind == RequestKind::SyncEdits;
}

bool RequestMailbox::post(RequestKind kind, const QVariant& payload) {
    QMutexLocker lock(&m_mutex);
    bool replaced = false;
    if (isReplaceable(kind)) {
        const auto it = std::find_if(m_queue.begin(), m_queue.end(),
                                     [kind](const Entry& e) { return e.kind == kind; });
        if (it != m_queue.end()) {
            m_queue.erase(it);
            replaced = true;
        }
    }
    m_queue.push_back({kind, payload});
    return replaced;
}

std::optional<RequestMailbox::Entry> RequestMailbox::take() {
    QMutexLocker lock(&m_mutex);
    if (m_queue.empty())
        return std::nullopt;
    Entry e = std::move(m_queue.front());
    m_queue.pop_front();
    return e;
}

std::optional<RequestMailbox::Entry> RequestMailbox::takeQuick() {
    QMutexLocker lock(&m_mutex);
    for (auto it = m_queue.begin(); it != m_queue.end(); ++it) {
        if (isMutating(it->kind))
            return std::nullopt;
        if (isQuick(it->kind)) {
            Entry e = std::move(*it);
            m_queue.erase(it);
            return e;
        }
    }
    return std::nullopt;
}

int RequestMailbox::discard(RequestKind kind) {
    QMutexLocker lock(&m_mutex);
    const auto before = m_queue.size();
    m_queue.erase(std::remove_if(m_queue.begin(), m_queue.end(),
                                 [kind](const Entry& e) { return e.kind == kind; }),
                  m_queue.end());
    return static_cast<int>(before - m_queue.size());
}

std::vector<RequestMailbox::Entry> RequestMailbox::takeAll(RequestKind kind) {
    QMutexLocker lock(&m_mutex);
    std::vector<Entry> taken;
    for (auto it = m_queue.begin(); it != m_queue.end();) {
        if (it->kind == kind) {
            taken.push_back(std::move(*it));
            it = m_queue.erase(it);
        } else {
            ++it;
        }
    }
    return taken;
}

int RequestMailbox::size() const {
    QMutexLocker lock(&m_mutex);
    return static_cast<int>(m_queue.size());
}

bool RequestMailbox::contains(RequestKind kind) const {
    QMutexLocker lock(&m_mutex);
    return std::any_of(m_queue.begin(), m_queue.end(),
                       [kind](const Entry& e) { return e.kind == kind; });
}
