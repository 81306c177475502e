// Saving is atomic: a process killed (SIGKILL) at a random moment of a save
// loop leaves the file as one whole version, never a mix or a truncation,
// both for the engine's writer and for QSaveFile (sessions).
#include "AtomicFile.h"
#include "Error.h"

#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <sstream>
#include <csignal>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

// Returns the version number if `content` is one whole version, else -1.
long wholeVersion(const std::string& content) {
    std::istringstream in(content);
    std::string word, body, endWord;
    long k = -1, k2 = -2;
    if (!(in >> word >> k) || word != "version")
        return -1;
    in.get();
    std::getline(in, body);
    if (!(in >> endWord >> k2) || endWord != "end" || k2 != k)
        return -1;
    const char fill = static_cast<char>('a' + k % 26);
    if (body.size() != 256 * 1024 || body.find_first_not_of(fill) != std::string::npos)
        return -1;
    return k;
}

std::string slurp(const QString& path) {
    std::ifstream f(path.toStdString(), std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

} // namespace

class TestAtomicSave : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void killDuringSaveLeavesAWholeVersion_data() {
        QTest::addColumn<QString>("mode");
        QTest::newRow("engine writer") << "engine";
        QTest::newRow("QSaveFile") << "qsavefile";
    }
    void killDuringSaveLeavesAWholeVersion() {
        QFETCH(QString, mode);
        QTemporaryDir dir;
        const QString path = dir.filePath("memory.json");
        scalpel::writeFileAtomically(path.toStdString(),
                                     "version 0\n" + std::string(256 * 1024, 'a') + "\nend 0\n");
        const int kills = 60;
        long last = 0;
        int advanced = 0;
        for (int i = 0; i < kills; ++i) {
            QProcess child;
            child.start(QCoreApplication::applicationDirPath() + "/save_loop",
                        {mode, path, QString::number(last + 1)});
            QVERIFY(child.waitForReadyRead(10000));
            QThread::usleep(QRandomGenerator::global()->bounded(1000, 40000));
            child.kill(); // SIGKILL
            QVERIFY(child.waitForFinished(10000));
            const long k = wholeVersion(slurp(path));
            QVERIFY2(
                k >= last,
                qPrintable(
                    QString("kill %1: the file is not a whole version (or went back)").arg(i)));
            if (k > last)
                ++advanced;
            last = k;
        }
        qInfo("%s: %d kills, the file advanced %d times and was whole every time", qPrintable(mode),
              kills, advanced);
        QVERIFY(advanced > 0); // the kills did land during saves
        // The next save clears the temporaries the killed writers left.
        scalpel::writeFileAtomically(path.toStdString(),
                                     "version 0\n" + std::string(256 * 1024, 'a') + "\nend 0\n");
        if (mode == "engine")
            QCOMPARE(QDir(dir.path()).entryList(QDir::Files).size(), 1);
    }

    // A writer that fails part-way through its content (a record it cannot
    // write, after more than the buffer has gone to disk) leaves the old file
    // and no temporary behind.
    void failedWriterKeepsThePreviousFile() {
        QTemporaryDir dir;
        const QString path = dir.filePath("memory.json");
        scalpel::writeFileAtomically(path.toStdString(), "old");
        QVERIFY_THROWS_EXCEPTION(
            scalpel::Error,
            scalpel::writeFileAtomically(path.toStdString(), [](const scalpel::AtomicSink& sink) {
                const std::string big(3 << 20, 'x');
                sink(big.data(), big.size());
                sink("y", 1);
                throw scalpel::Error("record 2 cannot be written");
            }));
        QCOMPARE(slurp(path), std::string("old"));
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{"memory.json"});
        // The same writer that finishes replaces the file with every piece.
        scalpel::writeFileAtomically(path.toStdString(), [](const scalpel::AtomicSink& sink) {
            for (int i = 0; i < 300000; ++i)
                sink("0123456789", 10);
        });
        QCOMPARE(slurp(path).size(), std::size_t(3000000));
    }

    void failedSaveOnAFullDiskKeepsThePreviousFile() {
        // A file-size limit makes write() fail part-way, as a full disk does.
        QTemporaryDir dir;
        const QString path = dir.filePath("memory.json");
        scalpel::writeFileAtomically(path.toStdString(), "old");
        std::signal(SIGXFSZ, SIG_IGN);
        rlimit before{};
        getrlimit(RLIMIT_FSIZE, &before);
        rlimit small = before;
        small.rlim_cur = 4096;
        setrlimit(RLIMIT_FSIZE, &small);
        bool threw = false;
        try {
            scalpel::writeFileAtomically(path.toStdString(), std::string(100000, 'x'));
        } catch (const scalpel::Error& e) {
            threw = true;
            qInfo("%s", e.what());
        }
        setrlimit(RLIMIT_FSIZE, &before);
        QVERIFY(threw);
        QCOMPARE(slurp(path), std::string("old"));
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files).size(), 1); // no temporary left behind
    }
};

QTEST_GUILESS_MAIN(TestAtomicSave)
#include "tst_atomicsave.moc"
