/* evloop.c — epoll-based loop with a binary min-heap of caller-owned timers and signalfd signals. */
#include "evloop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "timeutil.h"
#include "xalloc.h"

struct fd_watch {
    evloop_fd_cb cb;
    void *arg;
    unsigned events;
    bool used;
};

struct signal_watch {
    int signo;
    evloop_signal_cb cb;
    void *arg;
};

struct evloop {
    int epfd;
    int64_t now_us;
    bool stop;
    struct fd_watch *fds;
    size_t n_fds;
    struct evloop_timer **heap;
    size_t heap_len, heap_cap;
    int sigfd;
    sigset_t sigmask;
    struct signal_watch signals[8];
    size_t n_signals;
};

struct evloop *evloop_new(void)
{
    struct evloop *loop = xcalloc(1, sizeof *loop);
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        free(loop);
        return NULL;
    }
    loop->sigfd = -1;
    sigemptyset(&loop->sigmask);
    loop->now_us = time_mono_us();
    return loop;
}

void evloop_free(struct evloop *loop)
{
    if (!loop) return;
    close(loop->epfd);
    if (loop->sigfd >= 0) close(loop->sigfd);
    for (size_t i = 0; i < loop->heap_len; i++) loop->heap[i]->heap_index = SIZE_MAX;
    free(loop->heap);
    free(loop->fds);
    free(loop);
}

static uint32_t to_epoll(unsigned events)
{
    return (events & EVLOOP_READ ? EPOLLIN : 0u) | (events & EVLOOP_WRITE ? EPOLLOUT : 0u);
}

int evloop_fd_set(struct evloop *loop, int fd, unsigned events, evloop_fd_cb cb, void *arg)
{
    if (fd < 0) {
        errno = EBADF;
        return -1;
    }
    if ((size_t)fd >= loop->n_fds) {
        size_t n = (size_t)fd + 64;
        loop->fds = xrealloc(loop->fds, n * sizeof *loop->fds);
        memset(loop->fds + loop->n_fds, 0, (n - loop->n_fds) * sizeof *loop->fds);
        loop->n_fds = n;
    }
    struct epoll_event ev = {.events = to_epoll(events), .data.fd = fd};
    int op = loop->fds[fd].used ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(loop->epfd, op, fd, &ev) < 0) {
        if (op == EPOLL_CTL_MOD && errno == ENOENT) op = EPOLL_CTL_ADD;
        else if (op == EPOLL_CTL_ADD && errno == EEXIST) op = EPOLL_CTL_MOD;
        else return -1;
        if (epoll_ctl(loop->epfd, op, fd, &ev) < 0) return -1;
    }
    loop->fds[fd] = (struct fd_watch){cb, arg, events, true};
    return 0;
}

int evloop_fd_events(struct evloop *loop, int fd, unsigned events)
{
    if (fd < 0 || (size_t)fd >= loop->n_fds || !loop->fds[fd].used) {
        errno = ENOENT;
        return -1;
    }
    if (loop->fds[fd].events == events) return 0;
    struct epoll_event ev = {.events = to_epoll(events), .data.fd = fd};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0) return -1;
    loop->fds[fd].events = events;
    return 0;
}

void evloop_fd_remove(struct evloop *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->n_fds || !loop->fds[fd].used) return;
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL); /* fails harmlessly when fd is already closed */
    loop->fds[fd].used = false;
}

/* ---- timers ---- */

static void heap_swap(struct evloop *loop, size_t a, size_t b)
{
    struct evloop_timer *t = loop->heap[a];
    loop->heap[a] = loop->heap[b];
    loop->heap[b] = t;
    loop->heap[a]->heap_index = a;
    loop->heap[b]->heap_index = b;
}

static void heap_up(struct evloop *loop, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (loop->heap[parent]->due_us <= loop->heap[i]->due_us) break;
        heap_swap(loop, i, parent);
        i = parent;
    }
}

static void heap_down(struct evloop *loop, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < loop->heap_len && loop->heap[l]->due_us < loop->heap[m]->due_us) m = l;
        if (r < loop->heap_len && loop->heap[r]->due_us < loop->heap[m]->due_us) m = r;
        if (m == i) break;
        heap_swap(loop, i, m);
        i = m;
    }
}

void evloop_timer_init(struct evloop_timer *t, evloop_timer_cb cb, void *arg)
{
    t->due_us = 0;
    t->heap_index = SIZE_MAX;
    t->cb = cb;
    t->arg = arg;
}

bool evloop_timer_active(const struct evloop_timer *t) { return t->heap_index != SIZE_MAX; }

void evloop_timer_stop(struct evloop *loop, struct evloop_timer *t)
{
    size_t i = t->heap_index;
    if (i == SIZE_MAX) return;
    loop->heap_len--;
    if (i != loop->heap_len) {
        loop->heap[i] = loop->heap[loop->heap_len];
        loop->heap[i]->heap_index = i;
        heap_down(loop, i);
        heap_up(loop, i);
    }
    t->heap_index = SIZE_MAX;
}

void evloop_timer_start(struct evloop *loop, struct evloop_timer *t, int64_t delay_us)
{
    evloop_timer_stop(loop, t);
    if (delay_us < 0) delay_us = 0;
    t->due_us = time_mono_us() + delay_us;
    if (loop->heap_len == loop->heap_cap) {
        loop->heap_cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
        loop->heap = xrealloc(loop->heap, loop->heap_cap * sizeof *loop->heap);
    }
    t->heap_index = loop->heap_len;
    loop->heap[loop->heap_len++] = t;
    heap_up(loop, t->heap_index);
}

/* ---- signals ---- */

static void on_signalfd(struct evloop *loop, int fd, unsigned events, void *arg)
{
    (void)events;
    (void)arg;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
        for (size_t i = 0; i < loop->n_signals; i++)
            if (loop->signals[i].signo == (int)si.ssi_signo) loop->signals[i].cb(loop, (int)si.ssi_signo, loop->signals[i].arg);
    }
}

int evloop_signal(struct evloop *loop, int signo, evloop_signal_cb cb, void *arg)
{
    if (loop->n_signals == sizeof loop->signals / sizeof loop->signals[0]) return -1;
    sigaddset(&loop->sigmask, signo);
    if (sigprocmask(SIG_BLOCK, &loop->sigmask, NULL) < 0) return -1;
    int fd = signalfd(loop->sigfd, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) return -1;
    if (loop->sigfd < 0) {
        loop->sigfd = fd;
        if (evloop_fd_set(loop, fd, EVLOOP_READ, on_signalfd, NULL) < 0) return -1;
    }
    loop->signals[loop->n_signals++] = (struct signal_watch){signo, cb, arg};
    return 0;
}

/* ---- running ---- */

int64_t evloop_now(struct evloop *loop) { return loop->now_us; }
void evloop_stop(struct evloop *loop) { loop->stop = true; }
bool evloop_stopping(const struct evloop *loop) { return loop->stop; }

static void run_due_timers(struct evloop *loop)
{
    int64_t now = time_mono_us();
    loop->now_us = now;
    /* Bound the work so timers re-armed with delay 0 cannot starve fd handling. */
    for (int budget = 10000; budget > 0 && loop->heap_len > 0 && loop->heap[0]->due_us <= now; budget--) {
        struct evloop_timer *t = loop->heap[0];
        evloop_timer_stop(loop, t);
        t->cb(loop, t->arg);
    }
}

int evloop_run_once(struct evloop *loop, int64_t max_wait_us)
{
    run_due_timers(loop);
    if (loop->stop) return 0;
    int64_t wait_us = max_wait_us;
    if (loop->heap_len > 0) {
        int64_t until = loop->heap[0]->due_us - time_mono_us();
        if (until < 0) until = 0;
        if (wait_us < 0 || until < wait_us) wait_us = until;
    }
    int timeout_ms = wait_us < 0 ? -1 : (int)((wait_us + 999) / 1000);
    struct epoll_event events[64];
    int n = epoll_wait(loop->epfd, events, 64, timeout_ms);
    if (n < 0) {
        if (errno == EINTR) return 0;
        return -1;
    }
    loop->now_us = time_mono_us();
    for (int i = 0; i < n; i++) {
        int fd = events[i].data.fd;
        if ((size_t)fd >= loop->n_fds || !loop->fds[fd].used) continue;
        unsigned ev = 0;
        if (events[i].events & (EPOLLIN | EPOLLHUP)) ev |= EVLOOP_READ;
        if (events[i].events & EPOLLOUT) ev |= EVLOOP_WRITE;
        if (events[i].events & EPOLLERR) ev |= EVLOOP_ERROR | EVLOOP_READ;
        struct fd_watch w = loop->fds[fd];
        w.cb(loop, fd, ev, w.arg);
    }
    run_due_timers(loop);
    return 0;
}

int evloop_run(struct evloop *loop)
{
    while (!loop->stop)
        if (evloop_run_once(loop, -1) < 0) return -1;
    return 0;
}
