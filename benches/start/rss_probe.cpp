// ctbench-rss-probe CMD ARGS...: runs CMD (stdio on /dev/null), waits, prints "<peak RSS KiB>
// <exit status>". Static and tiny on purpose: a process's ru_maxrss starts with the high-water
// mark of the address space it was forked from (exec records the old mm's peak), so a CLI spawned
// straight from the bench process would report the bench's 80 MB. From here it reports its own.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: ctbench-rss-probe CMD [ARGS...]\n");
        return 2;
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        std::perror("ctbench-rss-probe: fork");
        return 2;
    }
    if (pid == 0) {
        int null = ::open("/dev/null", O_RDWR);
        if (null >= 0) {
            ::dup2(null, 0);
            ::dup2(null, 1);
        }
        ::execv(argv[1], argv + 1);
        ::_exit(127);
    }
    int status = 0;
    rusage usage{};
    while (::wait4(pid, &status, 0, &usage) < 0)
        if (errno != EINTR) {
            std::perror("ctbench-rss-probe: wait4");
            return 2;
        }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::printf("%ld %d\n", usage.ru_maxrss, code);
    return 0;
}
