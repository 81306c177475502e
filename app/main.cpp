// The Scalpel studio.
#include "MainWindow.h"

#include <cstdio>

#include <QApplication>
#include <QCommandLineParser>

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("Scalpel"));
    QApplication::setApplicationName(QStringLiteral("Scalpel"));
    QApplication::setApplicationVersion(QStringLiteral("0.1.0"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Find where a GPT-2 keeps a fact and change what it says."));
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption model(QStringLiteral("model"),
                             QStringLiteral("Model folder (Hugging Face layout)."),
                             QStringLiteral("dir"));
    QCommandLineOption serac(QStringLiteral("serac"), QStringLiteral("SERAC weights folder."),
                             QStringLiteral("dir"));
    QCommandLineOption device(QStringLiteral("device"), QStringLiteral("auto, cpu or cuda."),
                              QStringLiteral("device"), QStringLiteral("auto"));
    QCommandLineOption prompt(QStringLiteral("prompt"), QStringLiteral("Prompt to start with."),
                              QStringLiteral("text"));
    QCommandLineOption demo(QStringLiteral("demo"),
                            QStringLiteral("Refine, edit and suppress at start, so every panel "
                                           "shows the Ireland demonstration."));
    QCommandLineOption fresh(QStringLiteral("fresh"),
                             QStringLiteral("Ignore the saved window layout and any autosave."));
    QCommandLineOption session(QStringLiteral("session"), QStringLiteral("Session file to open."),
                               QStringLiteral("file"));
    QCommandLineOption threads(
        QStringLiteral("threads"),
        QStringLiteral("LibTorch threads of the model worker (default: $SCALPEL_THREADS, else "
                       "one fewer than the cores)."),
        QStringLiteral("n"));
    parser.addOptions({model, serac, device, prompt, demo, fresh, session, threads});
    parser.process(app);
    if (parser.isSet(threads)) {
        bool ok = false;
        const int n = parser.value(threads).toInt(&ok);
        if (!ok || n <= 0) {
            std::fprintf(stderr, "scalpel: --threads wants a positive number, got '%s'\n",
                         qPrintable(parser.value(threads)));
            return 2;
        }
    }

    MainWindow::Options options;
    options.modelDir = parser.value(model);
    options.seracDir = parser.value(serac);
    options.device = parser.value(device);
    options.threads = parser.isSet(threads) ? parser.value(threads).toInt() : 0;
    if (parser.isSet(prompt))
        options.initialPrompt = parser.value(prompt);
    options.demo = parser.isSet(demo);
    options.restoreWindowState = !parser.isSet(fresh) && !options.demo;
    options.offerRecovery = !parser.isSet(fresh) && !options.demo;
    MainWindow window(options);
    window.show();
    if (parser.isSet(session)) {
        const QString path = parser.value(session);
        QObject::connect(&window, &MainWindow::modelChanged, &window, [&window, path](bool ok) {
            static bool done = false;
            if (!ok || done)
                return;
            done = true;
            window.openSession(path);
        });
    }
    return app.exec();
}
