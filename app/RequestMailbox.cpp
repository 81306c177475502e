#include "RequestMailbox.h"

#include <QMutexLocker>

#include <algorithm>

bool RequestMailbox::post(Entry entry) {
    QMutexLocker lock(&m_mutex);
    bool replaced = false;
    if (entry.cls != JobClass::Mutating) {
        const auto it = std::find_if(m_queue.begin(), m_queue.end(), [&](const Entry& e) {
            return e.tag == entry.tag && e.cls != JobClass::Mutating;
        });
        if (it != m_queue.end()) {
            m_queue.erase(it);
            replaced = true;
        }
    }
    m_queue.push_back(std::move(entry));
    return replaced;
}

bool RequestMailbox::post(const QString& tag, JobClass cls, const QVariant& payload) {
    Entry e;
    e.tag = tag;
    e.cls = cls;
    e.payload = payload;
    return post(std::move(e));
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
        if (it->cls == JobClass::Mutating)
            return std::nullopt;
        if (it->cls == JobClass::Quick) {
            Entry e = std::move(*it);
            m_queue.erase(it);
            return e;
        }
    }
    return std::nullopt;
}

int RequestMailbox::discard(const QString& tag) {
    QMutexLocker lock(&m_mutex);
    const auto before = m_queue.size();
    m_queue.erase(std::remove_if(m_queue.begin(), m_queue.end(),
                                 [&](const Entry& e) { return e.tag == tag; }),
                  m_queue.end());
    return static_cast<int>(before - m_queue.size());
}

std::vector<RequestMailbox::Entry> RequestMailbox::takeCancellable() {
    QMutexLocker lock(&m_mutex);
    std::vector<Entry> taken;
    for (auto it = m_queue.begin(); it != m_queue.end();) {
        if (it->cancellable) {
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

bool RequestMailbox::contains(const QString& tag) const {
    QMutexLocker lock(&m_mutex);
    return std::any_of(m_queue.begin(), m_queue.end(),
                       [&](const Entry& e) { return e.tag == tag; });
}
