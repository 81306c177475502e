// Child process of tst_atomicsave: saves numbered versions of one file in a
// loop until killed. Each version is self-describing so that a reader can
// tell a whole version from a mix of two.
#include "AtomicFile.h"

#include <QCoreApplication>
#include <QSaveFile>

#include <cstdio>
#include <string>

std::string version(long k) {
    const char fill = static_cast<char>('a' + k % 26);
    return "version " + std::to_string(k) + "\n" + std::string(256 * 1024, fill) + "\nend " +
           std::to_string(k) + "\n";
}

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    if (argc < 4)
        return 2;
    const std::string mode = argv[1], path = argv[2];
    long k = std::stol(argv[3]);
    std::printf("started\n");
    std::fflush(stdout);
    for (;; ++k) {
        const std::string content = version(k);
        if (mode == "engine") {
            scalpel::writeFileAtomically(path, content);
        } else {
            QSaveFile f(QString::fromStdString(path));
            if (!f.open(QIODevice::WriteOnly))
                return 3;
            f.write(content.data(), static_cast<qint64>(content.size()));
            if (!f.commit())
                return 4;
        }
    }
}
