#include "ModelWorker.h"

#include "LanguageModel.h"
#include "TsanHandoff.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QEvent>
#include <QThread>

namespace {

QEvent::Type callEventType() {
    static const auto type = static_cast<QEvent::Type>(QEvent::registerEventType());
    return type;
}

// A call made whole on one thread, then posted to run on another.
class CallEvent : public QEvent {
public:
    explicit CallEvent(std::function<void()> c) : QEvent(callEventType()), call(std::move(c)) {}
    std::function<void()> call;
};

bool runCall(QObject* receiver, QEvent* event) {
    // Before reading the event at all: the sender wrote all of it.
    tsan::acquire(receiver);
    if (event->type() != callEventType())
        return false;
    static_cast<CallEvent*>(event)->call();
    return true;
}

} // namespace

// What a job sees of the worker while it runs.
class ModelWorker::Context : public JobContext {
public:
    Context(ModelWorker* worker, const JobSpec& spec, quint64 epoch)
        : m_worker(worker), m_spec(spec), m_epoch(epoch) {}

    bool progress(double fraction, const QString& detail) override {
        // The engine calls this between layers; answering the prompt being
        // typed here keeps the prediction columns live through a long job.
        if (!cancelled())
            serveQuick();
        report(fraction, detail);
        return !cancelled();
    }
    void report(double fraction, const QString& detail) override {
        if (m_spec.label.isEmpty())
            return;
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        if (now - m_worker->m_lastProgressMs >= 30 || fraction >= 1.0) {
            m_worker->m_lastProgressMs = now;
            ModelWorker* w = m_worker;
            w->report([w, fraction, detail] { Q_EMIT w->jobProgress(fraction, detail); });
        }
    }
    void serveQuick() override { m_worker->serveQuick(); }
    bool cancelled() const override {
        return m_worker->m_stopping || (m_spec.cancellable && m_worker->m_cancelEpoch != m_epoch);
    }

private:
    ModelWorker* m_worker;
    JobSpec m_spec;
    quint64 m_epoch;
};

ModelWorker::ModelWorker(const Config& config, QObject* parent)
    : QObject(parent), m_engine(std::make_unique<WorkerEngine>()) {
    registerWorkerTypes();
    m_engine->seracDir = config.seracDir;
    m_engine->factsPath = config.factsPath;
    m_engine->device = config.device;
    // Leave one core to the UI thread: with every core busy in LibTorch's
    // pool, the repaint of a slider move waits for the scheduler, and the
    // studio's small forward passes gain little from more threads. A user's
    // own SCALPEL_THREADS, or the configured count, wins.
    m_threads = config.threads > 0 ? config.threads
                : qEnvironmentVariableIsSet("SCALPEL_THREADS")
                    ? scalpel::defaultThreads()
                    : qMax(1, QThread::idealThreadCount() - 1);
}

ModelWorker::~ModelWorker() = default;

void ModelWorker::postCall(QObject* receiver, std::function<void()> call) {
    auto* event = new CallEvent(std::move(call));
    tsan::release(receiver);
    QCoreApplication::postEvent(receiver, event);
}

bool ModelWorker::event(QEvent* event) {
    return runCall(this, event) || QObject::event(event);
}

bool ModelWorker::Home::event(QEvent* event) {
    return runCall(this, event) || QObject::event(event);
}

void ModelWorker::enqueue(RequestMailbox::Entry entry) {
    m_mailbox.post(std::move(entry));
    // One queued drain is enough: it empties the mailbox, including jobs
    // posted while it runs.
    if (!m_drainScheduled.exchange(true))
        postCall(this, [this] { drain(); });
}

void ModelWorker::cancelJobs() {
    ++m_cancelEpoch;
    // Jobs still waiting are answered as dropped, from the worker thread and
    // in order, so whoever waits for them (a busy Run button) is released
    // after any result already on its way.
    const auto dropped = m_mailbox.takeCancellable();
    if (dropped.empty())
        return;
    std::vector<std::function<void()>> calls;
    for (const auto& e : dropped)
        if (e.dropped)
            calls.push_back(e.dropped);
    postCall(this, [this, calls] {
        for (const auto& call : calls)
            report(call);
        report([this] { Q_EMIT jobFinished(QStringLiteral("Cancelled")); });
    });
}

void ModelWorker::stop() {
    m_stopping = true;
    ++m_cancelEpoch;
}

void ModelWorker::drain() {
    m_drainScheduled = false;
    if (!m_threadsApplied) {
        // On the worker thread: OpenMP keeps a thread count per thread.
        scalpel::setThreads(m_threads);
        m_threadsApplied = true;
    }
    while (!m_stopping) {
        auto entry = m_mailbox.take();
        if (!entry)
            break;
        if (entry->run)
            entry->run();
    }
}

void ModelWorker::serveQuick() {
    while (!m_stopping) {
        auto quick = m_mailbox.takeQuick();
        if (!quick)
            break;
        if (quick->run)
            quick->run();
    }
}

std::unique_ptr<JobContext> ModelWorker::beginJob(const JobSpec& spec, quint64 cancelEpoch) {
    if (!spec.label.isEmpty())
        report([this, label = spec.label, cancellable = spec.cancellable] {
            Q_EMIT jobStarted(label, cancellable);
        });
    return std::make_unique<Context>(this, spec, cancelEpoch);
}

void ModelWorker::endJob(const JobSpec& spec, const JobContext& context) {
    if (!spec.label.isEmpty())
        report([this, message = context.message()] { Q_EMIT jobFinished(message); });
}

void ModelWorker::deliver(const JobSpec& spec, quint64 generation, std::function<void()> call) {
    report([this, tag = spec.tag, dropStale = spec.dropStale, generation, call = std::move(call)] {
        if (dropStale && !m_gate.accept(tag, generation)) {
            ++m_staleDropped;
            return;
        }
        call();
    });
}
