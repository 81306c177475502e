#pragma once
// The one object that owns the engine (WorkerEngine: the language model, its
// weight editor, the SERAC editor with its copy of the edit memory, the fact
// world). It lives on its own QThread for the whole session. The UI hands it
// tagged jobs:
//
//     worker->invoke({"predict"}, [req](WorkerEngine& e, JobContext&) {
//         return jobs::predict(e, req);
//     }, [this](const PredictResult& r) { onPredicted(r); });
//
// The work runs on the worker thread; its result comes back to the UI thread
// and is handed to the second function, unless a newer job with the same tag
// was invoked meanwhile (generation numbers, GenerationGate.h). A newer job
// with the same tag replaces a queued one; RequestMailbox.h says what may
// overtake what. A job with a label shows in the progress strip (jobStarted,
// jobProgress, jobFinished) and a cancellable one stops at its next progress
// check after cancelJobs().
//
// Every crossing between the threads is an event this class builds whole and
// then posts: invoke() wakes the worker with one, and each result travels
// back in one to a helper object on the thread that created the worker (the
// UI's). Qt never copies a result behind the worker's back, and
// TsanHandoff.h can tell ThreadSanitizer exactly when each one changes hands.
#include "GenerationGate.h"
#include "RequestMailbox.h"
#include "WorkerEngine.h"

#include <QObject>
#include <QString>

#include <atomic>
#include <functional>
#include <memory>
#include <type_traits>

struct JobSpec {
    QString tag;
    JobClass cls = JobClass::Quick;
    // Shown in the progress strip while the job runs; empty: a silent job.
    QString label;
    bool cancellable = false;
    // False: every result is delivered, however many jobs with the tag
    // followed (a weight change must be heard of).
    bool dropStale = true;
};

class ModelWorker : public QObject {
    Q_OBJECT

public:
    struct Config {
        QString seracDir;  // empty: resourceDir()/models/serac
        QString factsPath; // empty: defaultFactsPath()
        QString device = QStringLiteral("auto");
        int threads = 0; // LibTorch threads; 0: one fewer than the cores, or $SCALPEL_THREADS
    };

    explicit ModelWorker(const Config& config, QObject* parent = nullptr);
    ~ModelWorker() override;

    // UI thread. Queues `work` to run on the engine; `onUi` then gets its
    // result on the UI thread (not if a newer job with the tag made it
    // stale). `onDropped` runs on the UI thread when a cancel drops the job
    // before it started. Returns the job's generation.
    template <typename Work, typename OnUi>
    quint64 invoke(const JobSpec& spec, Work work, OnUi onUi, std::function<void()> onDropped = {});

    // Thread-safe. Makes the running cancellable job stop at its next
    // progress check and drops queued ones; the job then reports cancelled
    // and changes nothing.
    void cancelJobs();
    // Thread-safe. Makes the worker return early so the thread can quit.
    void stop();

    RequestMailbox& mailbox() { return m_mailbox; }
    // Results dropped because a newer job with their tag was invoked.
    int staleResultsDropped() const { return m_staleDropped; }

    // Emitted on the thread that created the worker.
Q_SIGNALS:
    void jobStarted(const QString& name, bool cancellable);
    void jobProgress(double fraction, const QString& detail);
    void jobFinished(const QString& message);

protected:
    bool event(QEvent* event) override;

private:
    class Context;
    // Runs the calls the worker posts to the thread that created it.
    class Home : public QObject {
    public:
        bool event(QEvent* event) override;
    };

    // Posts `call` to run on `receiver`'s thread (the worker's or Home's).
    static void postCall(QObject* receiver, std::function<void()> call);
    // Posts `call` home, where it runs on the UI thread.
    void report(std::function<void()> call) { postCall(&m_home, std::move(call)); }
    void enqueue(RequestMailbox::Entry entry);
    // Serves queued jobs until the mailbox is empty.
    void drain();
    void serveQuick();
    // Around every job: the context it sees, and the progress strip.
    std::unique_ptr<JobContext> beginJob(const JobSpec& spec, quint64 cancelEpoch);
    void endJob(const JobSpec& spec, const JobContext& context);
    // On the UI thread: hands a result on unless it is stale.
    void deliver(const JobSpec& spec, quint64 generation, std::function<void()> call);

    Home m_home; // a member, not a child: it stays on the creating thread
    RequestMailbox m_mailbox;
    std::unique_ptr<WorkerEngine> m_engine;
    GenerationGate m_gate;  // UI thread only
    int m_staleDropped = 0; // UI thread only
    // Bumped by every cancel; a job goes on while it sees the value it
    // started with, so a cancel can never be lost to a job starting.
    std::atomic<quint64> m_cancelEpoch{0};
    int m_threads = 1;
    bool m_threadsApplied = false; // worker thread only
    std::atomic<bool> m_stopping{false};
    std::atomic<bool> m_drainScheduled{false};
    qint64 m_lastProgressMs = 0;
};

template <typename Work, typename OnUi>
quint64 ModelWorker::invoke(const JobSpec& spec, Work work, OnUi onUi,
                            std::function<void()> onDropped) {
    using Result = std::decay_t<std::invoke_result_t<Work&, WorkerEngine&, JobContext&>>;
    const quint64 generation = m_gate.next(spec.tag);
    RequestMailbox::Entry entry;
    entry.tag = spec.tag;
    entry.cls = spec.cls;
    entry.cancellable = spec.cancellable;
    entry.payload = generation;
    entry.dropped = std::move(onDropped);
    // A cancel issued after this call reaches the job even if the worker has
    // already taken it from the mailbox but not yet started it.
    const quint64 epoch = m_cancelEpoch.load();
    entry.run = [this, spec, generation, epoch, work = std::move(work),
                 onUi = std::move(onUi)]() mutable {
        const std::unique_ptr<JobContext> context = beginJob(spec, epoch);
        if constexpr (std::is_void_v<Result>) {
            work(*m_engine, *context);
            endJob(spec, *context);
            deliver(spec, generation, [onUi] { onUi(); });
        } else {
            Result result = work(*m_engine, *context);
            endJob(spec, *context);
            deliver(spec, generation, [onUi, result = std::move(result)] { onUi(result); });
        }
    };
    enqueue(std::move(entry));
    return generation;
}
