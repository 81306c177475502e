#pragma once
// Runs scalpel-cli as a user does, for the CLI tests (SCALPEL_CLI is the
// executable's path): exit code, stdout and stderr; -1 when it did not
// finish within five minutes.
#include <QProcess>
#include <QString>
#include <QStringList>

namespace scalpel::test {

struct CliRun {
    int exitCode = -1;
    QString out, err;
};

// threads > 0 sets the child's SCALPEL_THREADS.
inline CliRun runCli(const QStringList& args, int threads = 0) {
    QProcess p;
    if (threads > 0) {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("SCALPEL_THREADS", QString::number(threads));
        p.setProcessEnvironment(env);
    }
    p.start(QStringLiteral(SCALPEL_CLI), args);
    CliRun r;
    if (!p.waitForFinished(300000))
        return r;
    r.exitCode = p.exitCode();
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

} // namespace scalpel::test
