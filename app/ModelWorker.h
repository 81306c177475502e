#pragma once
// The one object that owns the engine: the language model, its weight
// editor, the SERAC editor with its mirror of the edit memory, and the fact
// world. It lives on its own QThread for the whole session. The UI hands it
// plain-value requests through post() and hears back through the signals
// below; no engine object ever leaves this class.
//
// Every crossing between the threads is an event this class builds whole and
// then posts: post() wakes the worker with one, and each result travels back
// in one to a helper object on the thread that created the worker (the
// UI's), which emits the signal there. So the signals fire on the UI thread
// and their receivers (a QSignalSpy too) run there; Qt never copies a result
// behind the worker's back, and TsanHandoff.h can tell ThreadSanitizer
// exactly when each one changes hands.
#include "RequestMailbox.h"
#include "WorkerTypes.h"

#include <QObject>
#include <QString>

#include <atomic>
#include <functional>
#include <memory>

class ModelWorker : public QObject {
    Q_OBJECT

public:
    struct Config {
        QString seracDir;  // empty: resourceDir()/models/serac
        QString factsPath; // empty: defaultFactsPath()
        QString device = QStringLiteral("auto");
    };

    explicit ModelWorker(const Config& config, QObject* parent = nullptr);
    ~ModelWorker() override;

    // Thread-safe. Queues the request (replacing a queued one of the same
    // kind where that is allowed) and wakes the worker.
    void post(RequestKind kind, const QVariant& payload);
    // Thread-safe. Makes the running long job (attribution, refining, curve)
    // stop at its next progress check and drops queued ones; the job then
    // reports cancelled and changes nothing.
    void cancelJobs();
    // Thread-safe. Makes drain() return early so the thread can quit.
    void stop();

    RequestMailbox& mailbox() { return m_mailbox; }

    // Emitted on the thread that created the worker.
Q_SIGNALS:
    void modelLoaded(const ModelLoadResult& result);
    void predicted(const PredictResult& result);
    void attributed(const AttributionResult& result);
    void refined(const RefineResult& result);
    void curveReady(const CurveResult& result);
    void weightOpDone(const WeightOpResult& result);
    void jobStarted(const QString& name);
    void jobProgress(double fraction, const QString& detail);
    void jobFinished(const QString& message);

protected:
    bool event(QEvent* event) override;

private:
    struct Engine;
    // Runs the calls the worker posts to the thread that created it.
    class Home : public QObject {
    public:
        bool event(QEvent* event) override;
    };

    // Posts `call` to run on `receiver`'s thread (the worker's or Home's).
    static void postCall(QObject* receiver, std::function<void()> call);
    // Posts `emitSignal` home, where it emits one of the signals above.
    void report(std::function<void()> emitSignal) { postCall(&m_home, std::move(emitSignal)); }
    // Serves queued requests until the mailbox is empty.
    void drain();

    void handle(const RequestMailbox::Entry& entry);
    void loadModel(const QString& path);
    void syncEdits(const QVector<EditRow>& edits);
    void predict(const PredictRequest& request);
    void attribute(const AttributionRequest& request);
    void refine(const RefineRequest& request);
    void curve(const CurveRequest& request);
    void weightOp(const WeightOp& op);
    void loadSerac();
    // The progress callback of every long job: serves typing meanwhile,
    // reports, and says whether to go on.
    bool longJobTick(double fraction, const QString& detail);

    Config m_config;
    Home m_home; // a member, not a child: it stays on the creating thread
    RequestMailbox m_mailbox;
    std::unique_ptr<Engine> d;
    // Bumped by every cancel; a long job goes on while it sees the value it
    // started with, so a cancel can never be lost to a job starting.
    std::atomic<quint64> m_cancelEpoch{0};
    quint64 m_jobEpoch = 0;
    std::atomic<bool> m_stopping{false};
    std::atomic<bool> m_drainScheduled{false};
    qint64 m_lastProgressMs = 0;
};
