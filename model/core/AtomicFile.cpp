#include "AtomicFile.h"

#include "Error.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <csignal>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

namespace scalpel {

namespace {

// Temporaries left by a writer that was killed mid-save: "<name>.tmp-PID-N"
// whose PID no longer runs.
void removeStaleTemporaries(const std::string& path) {
    const auto slash = path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
    const std::string prefix =
        (slash == std::string::npos ? path : path.substr(slash + 1)) + ".tmp-";
    DIR* d = ::opendir(dir.c_str());
    if (!d)
        return;
    while (dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name.compare(0, prefix.size(), prefix) != 0)
            continue;
        const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
        if (pid > 0 && pid != ::getpid() && ::kill(static_cast<pid_t>(pid), 0) != 0 &&
            errno == ESRCH)
            ::unlink((dir + "/" + name).c_str());
    }
    ::closedir(d);
}

} // namespace

void writeFileAtomically(const std::string& path, const std::string& content) {
    writeFileAtomically(path,
                        [&](const AtomicSink& sink) { sink(content.data(), content.size()); });
}

void writeFileAtomically(const std::string& path,
                         const std::function<void(const AtomicSink&)>& produce) {
    std::random_device rd;
    const std::string tmp =
        path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(rd());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        throw Error("cannot write " + path + ": " + std::strerror(errno));
    bool discarded = false;
    auto discard = [&] {
        if (!discarded) {
            ::close(fd);
            ::unlink(tmp.c_str());
            discarded = true;
        }
    };
    auto fail = [&](const std::string& what, int err) {
        discard();
        throw Error(what + path + ": " + std::strerror(err));
    };
    auto writeAll = [&](const char* p, std::size_t left) {
        while (left > 0) {
            ssize_t n = ::write(fd, p, left);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                fail("cannot write ", errno);
            }
            p += n;
            left -= static_cast<std::size_t>(n);
        }
    };
    constexpr std::size_t kBuffer = 1 << 20;
    std::string buffer;
    buffer.reserve(kBuffer);
    try {
        produce([&](const char* data, std::size_t size) {
            if (buffer.size() + size > kBuffer) {
                writeAll(buffer.data(), buffer.size());
                buffer.clear();
            }
            if (size >= kBuffer)
                writeAll(data, size);
            else
                buffer.append(data, size);
        });
        writeAll(buffer.data(), buffer.size());
    } catch (...) {
        discard();
        throw;
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw Error("cannot write " + path + ": " + std::strerror(err));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw Error("cannot replace " + path + ": " + std::strerror(err));
    }
    removeStaleTemporaries(path);
}

std::string readFile(const std::string& path, std::size_t maxBytes) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("cannot open " + path);
    in.seekg(0, std::ios::end);
    const auto size = static_cast<std::size_t>(in.tellg());
    if (size > maxBytes)
        throw Error(path + " is " + std::to_string(size) + " bytes, over the limit of " +
                    std::to_string(maxBytes));
    in.seekg(0);
    std::string data(size, '\0');
    in.read(data.data(), static_cast<std::streamsize>(size));
    if (!in)
        throw Error("cannot read " + path);
    return data;
}

} // namespace scalpel
